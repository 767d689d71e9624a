"""The grading command in parallel: on a local Dask cluster, on a separate Dask cluster whose
workers share no files with the course, and with a worker killed in the middle of a task.

The reference is the serial route: the real `nbgrader autograde` of the demo class (conftest's
`graded_demo`). Scores must be identical per cell, and the autograded notebooks the same
(ignoring execution metadata, the course's location, and how the kernel happened to split its
stream output into messages).
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import copy_course, shares_of
from corpus import build as corpus
from harness import BIN, course_env
from nbgrader.api import Gradebook

from instructor import demo

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

ASSIGNMENT, NOTEBOOK_ID = "initialization", "Initialization"


def grade(root, *args, timeout=900):
    """Run `python -m instructor grade` in a course; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "instructor", "grade", *args],
        cwd=root,
        env=course_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


DEMO_DB = "demo/gradebook.db"  # the demo class's own gradebook (demo/nbgrader_config.py)


def cell_scores(root, students, db="gradebook.db"):
    """{student: {grade cell: score}} from a course's gradebook (or the demo class's)."""
    with Gradebook(f"sqlite:///{Path(root) / db}") as gb:
        return {
            s: {
                g.name: g.score
                for g in gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, s).grades
            }
            for s in students
        }


def comparable(path, root):
    """An autograded notebook as JSON, without what legitimately differs between two runs."""
    text = Path(path).read_text().replace(str(Path(root).resolve()), "<course>")
    nb = json.loads(text)
    for cell in nb["cells"]:
        cell["metadata"].pop("execution", None)
        merged = []
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), list):  # lines as saved; streams are joined below
                output["text"] = "".join(output["text"])
            same_stream = (
                merged
                and output["output_type"] == "stream"
                and merged[-1]["output_type"] == "stream"
                and merged[-1]["name"] == output["name"]
            )
            if same_stream:
                merged[-1]["text"] += output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged
    return nb


@pytest.fixture(scope="module")
def demo_graded_in_parallel(tmp_path_factory):
    """A quick course copy, as graded_demo's, whose demo class the command graded on a local
    Dask cluster."""
    root = corpus.fast_course(tmp_path_factory.mktemp("parallel") / "course", copy_course)
    demo.build(root)
    run = grade(root, "--demo", "--workers", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root, run


def test_parallel_and_nbgrader_give_identical_scores_per_cell(demo_graded_in_parallel, graded_demo):
    """Does the local Dask cluster give every demo student nbgrader's score in every cell?"""
    root, _ = demo_graded_in_parallel
    students = sorted(demo.STUDENTS)
    assert cell_scores(root, students, DEMO_DB) == cell_scores(graded_demo, students)


@pytest.mark.parametrize("student", sorted(demo.STUDENTS))
def test_parallel_and_nbgrader_write_the_same_autograded_notebook(
    demo_graded_in_parallel, graded_demo, student
):
    """Is autograded/<student>/ what `nbgrader autograde` writes, file by file?"""
    root, _ = demo_graded_in_parallel
    ours = root / "demo" / "autograded" / student / ASSIGNMENT
    theirs = graded_demo / "autograded" / student / ASSIGNMENT
    assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in theirs.iterdir())
    notebook = f"{NOTEBOOK_ID}.ipynb"
    # the demo class's course folder is demo/ (its autograded/ is demo/autograded/)
    assert comparable(ours / notebook, root / "demo") == comparable(theirs / notebook, graded_demo)


def test_the_command_ends_with_the_summary_and_the_score_table(demo_graded_in_parallel):
    """Does the output say how the class was graded, then show every student's scores?"""
    _, run = demo_graded_in_parallel
    # forked from the server that loaded the engine (grading/fork_server.py)
    assert "on a local Dask cluster of 2 worker processes, forked with the engine loaded" in (
        run.stdout
    )
    assert "9 graded, 0 rejected, 0 failed; 0 flagged for review" in run.stdout
    assert re.search(r"^demo-xavier\s+10\s+10\s+5\s+25$", run.stdout, re.M)
    assert len(re.findall(r"^\[\d/9\] demo-", run.stdout, re.M)) == 9  # plain progress lines


def test_a_second_run_grades_only_what_changed(demo_graded_in_parallel):
    """Are unchanged submissions skipped, and a changed one graded again?"""
    root, _ = demo_graded_in_parallel
    changed = root / "demo" / "submitted" / "demo-untouched" / ASSIGNMENT / "timestamp.txt"
    changed.write_text("2026-11-01 10:00:00.000000 UTC")
    run = grade(root, "--demo", "--serial")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Done: 1 submission(s)" in run.stdout
    assert "8 unchanged, not graded again" in run.stdout
    with Gradebook(f"sqlite:///{root / DEMO_DB}") as gb:
        submission = gb.find_submission(ASSIGNMENT, "demo-untouched")
        assert submission.timestamp.year == 2026 and submission.timestamp.month == 11


# --- a separate cluster -------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fast_demo_course(tmp_path_factory):
    """A course copy with a quicker notebook and the demo class built from its release."""
    root = corpus.fast_course(tmp_path_factory.mktemp("cluster") / "course", copy_course)
    demo.build(root)
    return root


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real `dask scheduler` and two `dask worker`s on 127.0.0.1, started from an empty
    folder with no access to the course's code (it is uploaded by the command)."""
    home = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = {"PATH": f"{BIN}{os.pathsep}/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    common = dict(cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    scheduler = subprocess.Popen(
        [f"{BIN}/dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
         "--no-dashboard"], **common,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            [
                f"{BIN}/dask",
                "worker",
                address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                str(home / f"w{i}"),
            ],
            **common,
        )  # fmt: skip
        for i in range(2)
    ]
    from distributed import Client

    client = Client(address, timeout="60s")
    client.wait_for_workers(2, timeout=120)
    yield address, client
    client.close()
    for process in [*workers, scheduler]:
        process.terminate()
    for process in [*workers, scheduler]:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_separate_cluster_gives_identical_scores(fast_demo_course, dask_cluster, graded_demo):
    """Graded through a scheduler and two workers that see none of the course's files, does
    the demo class get exactly the serial scores?"""
    address, _ = dask_cluster
    run = grade(fast_demo_course, "--demo", "--scheduler", address)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"on the Dask cluster at {address}" in run.stdout
    students = sorted(demo.STUDENTS)
    assert cell_scores(fast_demo_course, students, DEMO_DB) == cell_scores(graded_demo, students)


def _busy_worker(client, batch, student, timeout=300):
    """(address, pid) of the worker that is grading this student's submission."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert batch.poll() is None, batch.communicate()[0][-3000:]
        workers = client.scheduler_info()["workers"]
        for address, keys in client.processing().items():
            if address in workers and any(
                re.match(rf"grade-{student}-[0-9a-f]{{8}}$", str(key)) for key in keys
            ):
                return address, client.run(os.getpid, workers=[address])[address]
        time.sleep(0.1)
    raise AssertionError(f"no worker started grading {student}")


# A cell the demo-slow student added, which sleeps while the kernel runs it: a submission on
# the cells the grade needs is graded in well under a second, too soon to kill its worker.
SLOW_CELL = "import time\ntime.sleep(SLEEP)"


def test_a_task_whose_worker_is_killed_is_graded_elsewhere(fast_demo_course, dask_cluster):
    """When the worker grading a submission is killed mid-task, is the task run again on
    another worker, and does the batch complete with every submission graded?"""
    address, client = dask_cluster
    victim = "demo-slow"
    submitted = fast_demo_course / "demo" / "submitted"
    slow = nbformat.read(submitted / "demo-correct" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    slow.cells.append(nbformat.v4.new_code_cell(SLOW_CELL.replace("SLEEP", "6")))
    (submitted / victim / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(slow, submitted / victim / ASSIGNMENT / corpus.NOTEBOOK)
    students = ["demo-correct", "demo-xavier", victim]
    command = [sys.executable, "-m", "instructor", "grade", "--demo", "--force", "--scheduler",
               address, "--cell-timeout", "60", "--notebook-timeout", "120", *students]  # fmt: skip
    batch = subprocess.Popen(
        command, cwd=fast_demo_course, env=course_env(), stdout=subprocess.PIPE, text=True
    )
    killed, pid = _busy_worker(client, batch, victim)
    time.sleep(2)  # well inside the task: its kernel is running the sleeping cell
    os.kill(pid, signal.SIGKILL)
    out, _ = batch.communicate(timeout=900)
    assert batch.returncode == 0, out[-3000:]
    summary = json.loads(
        (fast_demo_course / "demo" / "reports" / ASSIGNMENT / "grading.json").read_text()
    )
    assert {summary["students"][s]["status"] for s in students} == {"graded"}
    assert summary["students"][victim]["worker"] != killed  # graded again, elsewhere
    assert cell_scores(fast_demo_course, [victim], DEMO_DB)[victim]
    assert "3 graded, 0 rejected, 0 failed" in out
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_without_namespaces_the_clean_recheck_still_defeats_reading_the_hidden_tests(
    fast_demo_course,
):
    """With resource limits only (no Linux namespaces), the notebook can read the source's
    hidden tests while it runs; does the clean re-check still score the answer on its own,
    flag it, and leave an honest submission alone?"""
    release = nbformat.read(fast_demo_course / "release" / ASSIGNMENT / corpus.NOTEBOOK, 4)
    corpus.build(
        release, fast_demo_course / "submitted", fast_demo_course, ["reads-hidden-tests", "correct"]
    )
    run = grade(
        fast_demo_course, "--serial", "--isolation", "limits", "reads-hidden-tests", "correct"
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "(isolation: limits)" in run.stdout
    summary = json.loads((fast_demo_course / "reports" / ASSIGNMENT / "grading.json").read_text())
    cheat, honest = summary["students"]["reads-hidden-tests"], summary["students"]["correct"]
    full = shares_of(1, 1, 1)
    assert tuple(cheat["scores"].values()) == shares_of(1, 1, 0.5)
    claimed = f"he: the notebook's run reported {full[2]:g} / {full[2]:g}"
    assert any(f.startswith(claimed) for f in cheat["flags"])
    assert tuple(honest["scores"].values()) == full and not honest["flags"]
