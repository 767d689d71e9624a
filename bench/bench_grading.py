"""Benchmark: what grading a class costs, on the cells the grade needs, on the whole notebook,
and with plain serial `nbgrader autograde`, in one run on one machine.

    .venv/bin/python bench/bench_grading.py N [--workers W] [--iterations K] [--keep]

Grades N copies of a correct submission three times, each in a temporary copy of the course
of its own:

1. `python -m instructor grade` as the course is configured: each submission runs the cells
   its grade needs (the source marks the trainings, plots and conclusions as cells grading
   may skip; grading/needed.py);
2. the same command in a copy set to run whole notebooks (c.CourseGrading.run_whole_notebook =
   True), as every route did before the marks;
3. the real `nbgrader autograde` with nbgrader's stock pipeline (serial, one process,
   unsandboxed, no re-check: the course's configuration routes nbgrader's autograde to its
   engine, so this copy puts nbgrader's own preprocessors back).

Each course copy is released first with `python -m instructor release` (the source graded as a
submission, which sets the time limits), outside the timing; the timing holds the command
itself: its start-up, its local Dask cluster (one worker per core, or W) and every grading and
recording. It also executes the answered notebook once with nbclient, the notebook's own run.

It prints, for each way, the wall time, the cost per submission (wall time x the cores it
used / N: 1 for serial nbgrader, W for the Dask cluster), the class throughput (submissions an
hour) and, for the course's command, the median seconds a submission took on its worker; then
the ratios, whether the scores are identical cell by cell on the three, and PASS or MISS for
the target: the cost per submission on the cells the grade needs under a fifth of the whole
notebook's. The machine's load average is printed before each timing: on a shared machine the
figures are only as good as it is quiet.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from answers import CORRECT, fill
from harness import ASSIGNMENT, HELPERS, NOTEBOOK
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course  # noqa: E402
from corpus.build import fast_course, run_whole_notebook  # noqa: E402
from harness import course_env  # noqa: E402

ENV = course_env()
TARGET = 5.0  # the whole notebook's cost per submission over the needed cells', at least


def course_with_submissions(folder, n, iterations=None):
    """A course copy with its release generated and n copies of a correct submission (with
    the model trained for fewer iterations when given, to see a quicker notebook)."""
    if iterations:
        root = fast_course(folder, copy_course, iterations)
    else:
        root = copy_course(folder)
        run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], root)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    answered = fill(release, CORRECT)
    for i in range(1, n + 1):
        target = root / "submitted" / f"bench-{i:03d}" / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(answered, target / NOTEBOOK)
    return root, answered


# nbgrader's own autograde pipeline, for the baseline: the course configures nbgrader's autograde
# to hand each student to its grading engine, so the baseline's course copy puts nbgrader's
# stock preprocessors back (with the course's rule that a test cell's fraction becomes points).
STOCK_AUTOGRADE = """

# --- benchmark baseline: nbgrader's stock autograde (unsandboxed, no re-check) ---
from nbgrader.converters.autograde import Autograde as _Stock
from nbgrader.preprocessors import Execute as _Execute
from instructor.preprocessors.exercise_points import ExercisePoints as _Points

c.Autograde.sanitize_preprocessors = _Stock.class_traits()["sanitize_preprocessors"].default()
_steps = _Stock.class_traits()["autograde_preprocessors"].default()
c.Autograde.autograde_preprocessors = [
    step for pp in _steps for step in ([pp, _Points] if pp is _Execute else [pp])
]
"""


def stock_nbgrader(root):
    """Make a course copy's `nbgrader autograde` nbgrader's own pipeline again."""
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(STOCK_AUTOGRADE)


def run(command, cwd):
    if command[0] == "nbgrader":
        command = [sys.executable, "-m", "nbgrader", *command[1:]]
    result = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def timed(command, cwd):
    started = time.perf_counter()
    result = run(command, cwd)
    return time.perf_counter() - started, result


def load():
    """The machine's load average over the last minute, as a short text."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def scores(root):
    """{(student, grade cell): score} of every submission in a course's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {
            (s.student_id, g.name): g.score
            for s in gb.find_assignment(ASSIGNMENT).submissions
            for n in s.notebooks
            for g in n.grades
        }


def worker_seconds(root):
    """The median seconds a submission took on its worker, from the grading ledger, and what
    each ran (the ledger's `ran`, the same for every copy of one submission)."""
    entries = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())
    seconds = [e["seconds"] for e in entries["students"].values() if e.get("seconds")]
    ran = {e.get("ran") or "every cell" for e in entries["students"].values()}
    return statistics.median(seconds), "; ".join(sorted(ran))


def notebook_execution(answered, source):
    """Seconds nbclient takes to execute the answered notebook (kernel start included)."""
    with tempfile.TemporaryDirectory() as folder:
        for name in HELPERS:
            if (source / name).exists():
                shutil.copy(source / name, folder)
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=f"{folder}/kernel")
        started = time.perf_counter()
        NotebookClient(answered, km=km, resources={"metadata": {"path": folder}}).execute()
        seconds = time.perf_counter() - started
        # a kernel manager given to nbclient is the caller's to stop: a kernel left running
        # would share the machine with the timings that follow
        run_sync(km.shutdown_kernel)(now=True)
        return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of submissions (e.g. 40)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary courses")
    parser.add_argument(
        "--iterations", type=int, help="train the model for this many iterations (default 15000)"
    )
    args = parser.parse_args(argv)
    n, cores = args.n, args.workers or os.cpu_count()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        stock_root, answered = course_with_submissions(work / "stock", n, args.iterations)
        stock_nbgrader(stock_root)
        needed_root, _ = course_with_submissions(work / "needed", n, args.iterations)
        whole_root, _ = course_with_submissions(work / "whole", n, args.iterations)
        run_whole_notebook(whole_root)
        for root in (needed_root, whole_root):  # the reference run, as an instructor releases
            run([sys.executable, "-m", "instructor", "release"], root)
        print(
            f"{n} submissions, {os.cpu_count()} cores, {cores} workers"
            + (f", {args.iterations} training iterations" if args.iterations else ""),
            flush=True,
        )
        print(f"[{load()}]", flush=True)
        nb_seconds = notebook_execution(answered, stock_root / "source" / ASSIGNMENT)
        print(f"notebook's own run (nbclient, once): {nb_seconds:.2f} s", flush=True)

        grade = [sys.executable, "-m", "instructor", "grade", "--force"]
        grade += ["--workers", str(cores)] if args.workers else []
        rows = []
        for name, root, command, used in (
            ("cells the grade needs", needed_root, grade, cores),
            ("whole notebook", whole_root, grade, cores),
            ("nbgrader autograde, stock, serial", stock_root,
             ["nbgrader", "autograde", ASSIGNMENT, "--force"], 1),
        ):  # fmt: skip
            print(f"[{load()}] {name} ...", flush=True)
            wall, _ = timed(command, root)
            on_worker, ran = (
                worker_seconds(root) if used == cores and command is grade else (None, "")
            )
            rows.append((name, wall, wall * used / n, n / wall * 3600, on_worker, ran))
        print(f"[{load()}]")
        print()
        print(f"{'':36} {'wall':>8} {'cost/submission':>16} {'per hour':>9} {'on a worker':>12}")
        for name, wall, cost, hourly, on_worker, _ in rows:
            worker = f"{on_worker:10.2f} s" if on_worker is not None else f"{'-':>12}"
            print(f"{name:36} {wall:6.1f} s {cost:14.2f} s {hourly:9.0f} {worker}")
        for name, *_, ran in rows:
            if ran:
                print(f"  {name}: ran {ran}")
        needed, whole, stock = rows
        ratio = whole[2] / needed[2]
        print()
        print(f"cost per submission, whole notebook / cells the grade needs: {ratio:6.2f} x   "
              f"(target > {TARGET:g}: {'PASS' if ratio > TARGET else 'MISS'})")  # fmt: skip
        print(f"cost per submission, stock nbgrader / cells the grade needs:  "
              f"{stock[2] / needed[2]:6.2f} x")  # fmt: skip
        print(f"throughput, cells the grade needs / stock nbgrader:           "
              f"{needed[3] / stock[3]:6.2f} x")  # fmt: skip
        print(f"cost per submission / the notebook's own run:                 "
              f"{needed[2] / nb_seconds:6.2f} (cells the grade needs), "
              f"{whole[2] / nb_seconds:.2f} (whole notebook)")  # fmt: skip
        same = scores(needed_root) == scores(whole_root) == scores(stock_root)
        print(f"identical scores, cell by cell, on the three: {'yes' if same else 'NO'} "
              f"({len(scores(needed_root))} grades each)")  # fmt: skip
        return 0 if same else 1
    finally:
        if args.keep:
            print(f"courses kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
