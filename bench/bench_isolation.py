"""Benchmark: the cost of each isolation, per submission, on the same class in one run.

    .venv/bin/python bench/bench_isolation.py N [--workers W] [--iterations K] [--rounds R]

Builds one course copy with N copies of a correct submission (its model trained for K
iterations, 500 by default, as the tests' quick course), runs the reference run once, then
grades the whole class with `python -m instructor grade --force` once per isolation and round,
the modes taking turns so that a busy moment of the machine falls on all of them:

    namespaces   Linux namespaces, kernels forked from the zygote (the default here)
    landlock     Landlock and seccomp, kernels forked from the zygote (auto's choice where
                 namespaces are refused)
    limits       resource limits only (asked for by name)

It prints, per mode, the best round's seconds per submission (wall time / N, start of the local
cluster included) with the cost per core (x W), the median time one submission took on its
worker (from the ledger: the grading alone, what the isolation changes), the ratio of that to
namespaces, and whether every mode gave the same scores. Run as root,
the landlock sandboxes run as private users, which must reach the interpreter: where a folder on
the way is closed (an environment not made by `make setup`), the script lets their group
through for the time of the run, as the test suite's controller does (tests/shared_state.py).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import nbformat
from answers import CORRECT, fill
from harness import ASSIGNMENT, NOTEBOOK

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course  # noqa: E402
from corpus.build import fast_course  # noqa: E402
from harness import course_env  # noqa: E402

MODES = ("namespaces", "landlock", "limits")
ENV = course_env()


def grade(root, *args):
    command = [sys.executable, "-m", "instructor", "grade", *args]
    done = subprocess.run(command, cwd=root, env=ENV, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="submissions in the class")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="Dask workers")
    parser.add_argument("--iterations", type=int, default=500, help="training iterations")
    parser.add_argument("--rounds", type=int, default=1, help="gradings of the class per mode")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as folder, ExitStack() as stack:
        os.chmod(folder, 0o755)
        if os.geteuid() == 0:
            from shared_state import SessionPassage

            passage = SessionPassage()
            passage.grant()
            stack.callback(passage.revoke)
        root = fast_course(Path(folder) / "course", copy_course, args.iterations)
        release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
        answered = fill(release, CORRECT)
        for i in range(1, args.n + 1):
            target = root / "submitted" / f"bench-{i:03d}" / ASSIGNMENT
            target.mkdir(parents=True)
            nbformat.write(answered, target / NOTEBOOK)
        grade(root, "--serial", "bench-001")  # the reference run, once, outside the timings
        seconds = {mode: [] for mode in MODES}
        on_worker = {mode: [] for mode in MODES}
        scores = {}
        for _ in range(args.rounds):
            for mode in MODES:
                started = time.monotonic()
                grade(root, "--force", "--workers", str(args.workers), "--isolation", mode)
                seconds[mode].append(time.monotonic() - started)
                ledger = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())
                students = ledger["students"]
                assert {e["isolation"] for e in students.values()} == {mode}, mode
                scores[mode] = {s: e["scores"] for s, e in students.items()}
                on_worker[mode] += [e["seconds"] for e in students.values()]

    print(f"{args.n} submissions, {args.workers} workers, {args.iterations} iterations, "
          f"best of {args.rounds} round(s), grader run as {'root' if os.geteuid() == 0 else 'a user'}")  # fmt: skip
    base = statistics.median(on_worker["namespaces"])
    print(f"{'isolation':<12}{'s / submission':>16}{'cost per core':>16}{'on its worker':>16}"
          f"{'vs namespaces':>16}")  # fmt: skip
    for mode in MODES:
        each, worker = min(seconds[mode]) / args.n, statistics.median(on_worker[mode])
        print(f"{mode:<12}{each:>16.2f}{each * args.workers:>16.2f}{worker:>16.2f}"
              f"{worker / base:>15.2f}x")  # fmt: skip
    same = all(scores[m] == scores["namespaces"] for m in MODES)
    print(f"scores identical in every mode: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
