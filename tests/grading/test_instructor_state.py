"""The instructor's own state, and what other routes did: never a wrong grade for a student.

A grade another route changed is graded again; a grader failure is "failed", with its trace,
and retried; a misnamed folder is reported; a source edited but not released stops grading,
and a source whose solutions fall short is not released, nor one whose cells marked as ones
grading may skip are needed by a test; points changed in the metadata alone change the grade; an endless loop costs about a minute with the limits derived from the
reference run; Ctrl-C ends the command with one message. Each in a quick course copy.
"""

import json
import os
import re
import signal
import subprocess
import sys

import nbformat
import pytest
from answers import CORRECT, fill
from conftest import copy_course, course_env, instructor_grade, run_in, shares_of
from corpus import build as corpus
from harness import ASSIGNMENT, NOTEBOOK, NOTEBOOK_ID
from nbgrader.api import Gradebook

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

GRADE_IDS = [f"test_initialize_parameters_{k}" for k in ("zeros", "random", "he")]


# --- what another route changed, is graded again ---------------------------------------------


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """A quick course copy with the correct student and the one who redefines a test helper,
    graded by `instructor grade`."""
    root = corpus.fast_course(tmp_path_factory.mktemp("small-class") / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct", "patched-numpy"])
    run = instructor_grade(root, "--serial")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root


def test_grades_changed_by_another_route_are_graded_again(small_class):
    """When something other than the course's grading (an old nbgrader, a script, a hand in the
    database) gives the patched-numpy student full marks and rewrites his graded notebook, does
    the next `instructor grade` notice, grade him again and restore the clean score?"""
    root = small_class
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade_ = gb.find_grade(GRADE_IDS[1], NOTEBOOK_ID, ASSIGNMENT, "patched-numpy")
        assert grade_.score == shares_of(1, 0.5, 1)[1]
        grade_.auto_score = shares_of(1, 1, 1)[1]
        gb.db.commit()
    run = instructor_grade(root, "--serial")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Done: 1 submission(s)" in run.stdout and "1 unchanged" in run.stdout
    assert "[1/1] patched-numpy: graded" in run.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        score = gb.find_grade(GRADE_IDS[1], NOTEBOOK_ID, ASSIGNMENT, "patched-numpy").score
        assert score == shares_of(1, 0.5, 1)[1]
    assert (
        "patched-numpy: graded again: its automatic scores or graded notebook had been changed"
        in run.stdout
    )


def test_a_grader_failure_is_failed_with_its_trace_and_retried(small_class):
    """A kernel that cannot start (here: far too little memory for Python) is the grader's
    failure, not the student's: is the submission "failed" with the real error and its
    traceback in grading.json, its grades untouched, and graded on the next run?"""
    root = small_class
    run = instructor_grade(root, "--serial", "--force", "--memory", "25", "correct")
    assert run.returncode == 1, run.stdout + run.stderr
    entry = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())["students"][
        "correct"
    ]
    assert entry["status"] == "failed"
    assert "the kernel could not start" in entry["reason"]
    assert "Traceback (most recent call last)" in entry["trace"]
    assert "GraderFailure" in entry["trace"]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = tuple(
            gb.find_grade(g, NOTEBOOK_ID, ASSIGNMENT, "correct").score for g in GRADE_IDS
        )
        assert scores == shares_of(1, 1, 1)
    again = instructor_grade(root, "--serial")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"[1/1] correct: graded, {sum(shares_of(1, 1, 1)):g} points" in again.stdout


def test_a_misnamed_assignment_folder_is_reported(small_class):
    """A student who named the folder Initialization/ instead of initialization/: does the
    summary say that it was not graded and how to fix it, instead of nothing?"""
    folder = small_class / "submitted" / "hank" / "Initialization"
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(
        (small_class / "submitted" / "correct" / ASSIGNMENT / NOTEBOOK).read_bytes()
    )
    run = instructor_grade(small_class, "--serial")
    assert "hank: the folder hank/Initialization/ is not graded" in run.stdout
    assert "hank/initialization/ (rename it)" in run.stdout


# --- the instructor's own state -----------------------------------------------------------------


def _source(root):
    return root / "source" / ASSIGNMENT / NOTEBOOK


def _edit_test_cell(root, grade_id, edit):
    nb = nbformat.read(_source(root), 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    edit(cell)
    nbformat.write(nb, _source(root))


def test_a_new_gradebook_asks_for_a_release_without_saying_the_source_changed(course):
    """A fresh clone: the committed release, no gradebook yet. Does grading say that the
    gradebook does not have the assignment, with the fix, and not that the source changed?"""
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, course / "submitted", course, ["correct"])
    run = instructor_grade(course, "--serial")
    assert run.returncode == 2
    assert "the gradebook does not have this assignment yet" in run.stdout, run.stdout
    assert "the source notebook changed" not in run.stdout
    assert "run `python -m instructor release` first" in run.stdout
    assert not (course / "autograded" / "correct").exists()


def test_a_stale_release_stops_grading_and_a_broken_source_is_not_released(tmp_path):
    """The instructor adds a hidden case with a typo (W1's shape transposed) to the zeros tests
    and forgets to release. Does grading refuse with the one-line fix instead of flagging an
    honest student, and does `release` then refuse a source whose own solutions fall short?"""
    root = corpus.fast_course(tmp_path / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct"])
    typo = '    ([3, 2], {"W1": np.zeros((3, 2)), "b1": np.zeros((2, 1))}),\n'

    def add_case(cell):
        cell.source = cell.source.replace("hidden_cases = [\n", "hidden_cases = [\n" + typo, 1)
        assert typo in cell.source

    _edit_test_cell(root, GRADE_IDS[0], add_case)
    run = instructor_grade(root, "--serial")
    assert run.returncode == 2
    assert "the source notebook changed since the last release" in run.stdout
    assert GRADE_IDS[0] in run.stdout
    assert "run `python -m instructor release` first" in run.stdout
    assert not (root / "autograded" / "correct").exists()

    released = run_in(root, sys.executable, "-m", "instructor", "release")
    assert released.returncode == 1
    assert "own solutions do not earn full marks" in released.stdout
    assert re.search(rf"zeros \d+(\.\d+)? / {shares_of(1, 1, 1)[0]:g}", released.stdout)
    assert "The release was not regenerated; the previous one is unchanged." in released.stdout
    assert nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4) == release


def test_points_changed_in_the_metadata_alone_change_the_grade(tmp_path):
    """The Create Assignment panel sets the zeros exercise to 15 points, in the cell's
    metadata only. Once released, does a correct student get 15 for it, 35 in all?"""
    root = corpus.fast_course(tmp_path / "course", copy_course)
    _edit_test_cell(root, GRADE_IDS[0], lambda cell: cell.metadata.nbgrader.update(points=15))
    stale = instructor_grade(root, "--serial")
    assert stale.returncode == 2 and "points changed" in stale.stdout, stale.stdout
    released = run_in(root, sys.executable, "-m", "instructor", "release")
    assert released.returncode == 0, released.stdout + released.stderr
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct"])
    run = instructor_grade(root, "--serial")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^correct\s+15\s+10\s+10\s+35$", run.stdout, re.M), run.stdout
    assert re.search(r"^\(out of\)\s+15\s+10\s+10\s+35$", run.stdout, re.M)


def test_a_mark_a_test_depends_on_is_refused_by_release_and_by_grading(tmp_path):
    """The instructor makes the He test also check that the two trainings before it ran,
    reaching their results through globals() (no variable a marked cell sets is named, and the
    clean re-check, where the notebook's variables do not exist, passes it: only running the
    notebook both ways shows the need). Does `release`, which grades the source both ways,
    refuse and name the test cell, keeping the previous release; and does grading, with the
    source released by nbgrader alone, refuse to start with the same reason?"""
    root = corpus.fast_course(tmp_path / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    check = 'assert len(globals().get("trained", "re")) == 2, "train first"\n'
    _edit_test_cell(root, GRADE_IDS[2], lambda cell: setattr(cell, "source", check + cell.source))
    why = (
        f"cells marked as ones grading may skip are needed by the grade: the test cell "
        f"{GRADE_IDS[2]} scores 0 without the marked cells and {shares_of(1, 1, 1)[2]:g} with them"
    )
    released = run_in(root, sys.executable, "-m", "instructor", "release")
    assert released.returncode == 1, released.stdout + released.stderr
    assert "The release was not regenerated; the previous one is unchanged." in released.stdout
    assert why in released.stdout, released.stdout
    assert nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4) == release

    generated = run_in(root, sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force")  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    corpus.build(nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4), root / "submitted", root, ["correct"])  # fmt: skip
    run = instructor_grade(root, "--serial")
    assert run.returncode == 2 and why in run.stdout, run.stdout
    assert not (root / "autograded" / "correct").exists()


# --- limits from the reference run ---------------------------------------------------------------


def test_an_endless_loop_costs_about_a_minute_with_default_limits(small_class):
    """An answer that never returns, called by the public test, the grade cell and the
    training: with the default limits, derived from the source's own run, does it cost a
    worker about a minute instead of 15, while its other exercises are still graded? (It
    waits rather than spins: the limits are on the clock, and the corpus's infinite-loop
    spins already.)"""
    root = small_class
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    loop = "import time\nwhile True:\n    time.sleep(0.05)"
    nb = fill(release, dict(CORRECT, he=loop))
    folder = root / "submitted" / "looper" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)
    run = instructor_grade(root, "--serial", "looper")
    assert run.returncode == 0, run.stdout + run.stderr
    limits = re.search(r"^Limits: time limits from the reference run .*$", run.stdout, re.M)
    assert limits, run.stdout
    entry = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())["students"][
        "looper"
    ]
    assert tuple(entry["scores"].values()) == shares_of(1, 1, 0)
    assert any("time limit" in note for note in entry["notes"]), entry["notes"]
    # The notebook's limit and the re-checks' bound the cost (about a minute here: the limits
    # come from the reference run on this machine, so they grow with its load); the rest is
    # the kernel's start and the saving, which a busy machine slows.
    notebook, recheck = map(
        float, re.search(r"([\d.]+) s per notebook, ([\d.]+) s per re-check", limits[0]).groups()
    )
    assert entry["seconds"] < notebook + 3 * recheck + 60, (entry["seconds"], limits[0])


def test_the_interrupted_command_says_so_without_tracebacks(tmp_path):
    """Ctrl-C in the terminal reaches every process of the command: does it stop with its one
    clean message, and no screens of Dask tracebacks? (It comes once the correct submission
    is graded, while the other one's endless loop holds its worker for its cell's limit, set
    long enough that a loaded machine cannot reach it before the interrupt.)"""
    root = corpus.fast_course(tmp_path / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct", "infinite-loop"])
    command = [sys.executable, "-m", "instructor", "grade", "--workers", "2"]
    command += ["--cell-timeout", "600", "--notebook-timeout", "1200"]
    # Started as a terminal starts a command: Ctrl-C not ignored, whatever this suite inherited
    # (a shell's background job, `make test &`, starts with SIGINT ignored, and so would it).
    process = subprocess.Popen(
        command, cwd=root, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    seen = []
    for line in process.stdout:  # until the first submission is graded
        seen.append(line)
        if line.startswith("[1/2] "):
            break
    assert seen[-1].startswith("[1/2] correct: graded"), "".join(seen)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    out, err = process.communicate(timeout=120)
    out = "".join(seen) + out
    assert process.returncode == 130, out + err
    assert "Interrupted after 1 submission(s)" in out, out
    assert "Traceback" not in out + err, err[-3000:]
    assert "CancelledError" not in out + err and "KeyboardInterrupt" not in out + err
