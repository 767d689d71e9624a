"""Benchmark: the grading command against plain serial `nbgrader autograde`, on one machine.

    .venv/bin/python bench/bench_grading.py N [--workers W] [--iterations K] [--keep]

Grades N copies of a correct submission twice, each in its own temporary copy of the course:
first with the real `nbgrader autograde` command with nbgrader's own pipeline (serial, one
process, unsandboxed: the course's configuration routes nbgrader's autograde to its engine, so
the baseline's copy puts nbgrader's stock preprocessors back), then with
`python -m instructor grade` (a local Dask cluster of one worker per core, or W). It also
executes the answered notebook once with nbclient, which is what grading a submission cannot
do faster than. It prints the seconds per submission of both, their ratio, whether the scores
are identical cell by cell, and the cost per core of one submission (wall time x cores / N)
against the notebook's own execution time. Targets on a 2-core machine: at least 1.8 times
faster than nbgrader, and a cost per core at most 1.25 times the notebook's execution.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course  # noqa: E402
from corpus.build import fast_course  # noqa: E402

from instructor import demo  # noqa: E402
from instructor.course import ASSIGNMENT, HELPERS, NOTEBOOK  # noqa: E402

BIN = str(Path(sys.executable).parent)
ENV = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"])


def course_with_submissions(folder, n, iterations=None):
    """A course copy with its release generated and n copies of a correct submission (with
    the model trained for fewer iterations when given, to see a quicker notebook)."""
    if iterations:
        root = fast_course(folder, copy_course, iterations)
    else:
        root = copy_course(folder)
        run(["nbgrader", "generate_assignment", ASSIGNMENT, "--force"], root)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    answered = demo.fill(release, demo.CORRECT)
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
    run(command, cwd)
    return time.perf_counter() - started


def scores(root):
    """{(student, grade cell): score} of every submission in a course's gradebook."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {
            (s.student_id, g.name): g.score
            for s in gb.find_assignment(ASSIGNMENT).submissions
            for n in s.notebooks
            for g in n.grades
        }


def notebook_execution(answered, source):
    """Seconds nbclient takes to execute the answered notebook (kernel start included)."""
    with tempfile.TemporaryDirectory() as folder:
        for name in HELPERS:
            if (source / name).exists():
                shutil.copy(source / name, folder)
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=f"{folder}/kernel")
        started = time.perf_counter()
        NotebookClient(answered, km=km, resources={"metadata": {"path": folder}}).execute()
        return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of submissions (e.g. 40)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary courses")
    parser.add_argument(
        "--iterations", type=int, help="train the model for this many iterations (default 15000)"
    )
    args = parser.parse_args(argv)
    cores = args.workers or os.cpu_count()
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        serial_root, answered = course_with_submissions(work / "serial", args.n, args.iterations)
        stock_nbgrader(serial_root)
        parallel_root, _ = course_with_submissions(work / "parallel", args.n, args.iterations)
        print(
            f"{args.n} submissions, {os.cpu_count()} cores, {cores} workers"
            + (f", {args.iterations} training iterations" if args.iterations else ""),
            flush=True,
        )

        nb_seconds = notebook_execution(answered, serial_root / "source" / ASSIGNMENT)
        print(f"notebook execution (nbclient, once):   {nb_seconds:7.2f} s", flush=True)

        serial = timed(["nbgrader", "autograde", ASSIGNMENT, "--force"], serial_root)
        print(f"nbgrader autograde (serial):           {serial:7.1f} s = "
              f"{serial / args.n:6.2f} s per submission", flush=True)  # fmt: skip

        command = [sys.executable, "-m", "instructor", "grade", "--force"]
        parallel = timed(
            command + (["--workers", str(cores)] if args.workers else []), parallel_root
        )
        print(f"instructor grade (Dask, {cores} workers):    {parallel:7.1f} s = "
              f"{parallel / args.n:6.2f} s per submission", flush=True)  # fmt: skip

        same = scores(serial_root) == scores(parallel_root)
        speedup = serial / parallel
        per_core = parallel * cores / args.n
        print(f"speed-up over nbgrader:                {speedup:7.2f} x   (target >= 1.8)")
        print(f"cost per core per submission:          {per_core:7.2f} s = "
              f"{per_core / nb_seconds:.2f} x the notebook's execution   (target <= 1.25)")  # fmt: skip
        print(f"identical scores, cell by cell:        {'yes' if same else 'NO'} "
              f"({len(scores(parallel_root))} grades)")  # fmt: skip
        return 0 if same else 1
    finally:
        if args.keep:
            print(f"courses kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
