"""The path one submission takes through the course's code, as a newcomer reading it follows it.

    .venv/bin/python bench/submission_path.py [--all]

Runs the real grade-on-submit service (`watch.service.Service`) on one correct submission of the
quick course, in this process, its Dask cluster's worker a thread of this process (so that
every call of the grading is seen), from `Service.start` to the write of the student's
feedback page. Every function of the course's code that the submission reaches is recorded the
first time it is called (a reader reads a function once), in the order of those first calls.

The path is the sequence of the files those functions are in, a file counted once for a run
of consecutive functions in it: a STOP is entering a file, a RETURN is entering a file already
left before. A reader who follows the submission opens `stops` files, `files` of them distinct,
and comes back `returns` times to a file already read. Only hand-offs count: a call from a
function to another of the same file is not a stop. The sandboxed processes (the kernel, the
re-check's child) run programs of their own and are left out, as are the tests' helpers.

It prints the path, one stop a line (file and the first functions called there), then the
totals. `--all` prints every function of each stop.
"""

import argparse
import datetime
import os
import sys
import tempfile
import threading
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course  # noqa: E402
from corpus import build as corpus  # noqa: E402
from harness import course_env  # noqa: E402

ASSIGNMENT, NOTEBOOK, COURSE_ID = "initialization", "Initialization.ipynb", "initialization-course"


def course_with_a_submission(folder: Path) -> Path:
    """A quick course copy with its exchange, the assignment released, and one correct
    submission in inbound as nbgrader's submit leaves it."""
    import subprocess

    root = corpus.fast_course(folder / "course", copy_course)
    env = course_env(NBGRADER_EXCHANGE=str(root / "exchange"))
    for command in (
        ["instructor", "exchange", "init"],
        ["nbgrader", "release_assignment", ASSIGNMENT],
    ):
        done = subprocess.run(
            [sys.executable, "-m", *command], cwd=root, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    answer = corpus.SCENARIOS["correct"](corpus.Context(release, root))[NOTEBOOK]
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    submitted = root / "exchange" / COURSE_ID / "inbound" / f"alice+{ASSIGNMENT}+{stamp}"
    submitted.mkdir(parents=True)
    (submitted / NOTEBOOK).write_bytes(answer)
    (submitted / "timestamp.txt").write_text(stamp)
    return root


class Reader:
    """Records the first call of every function of the course's code (instructor/)."""

    def __init__(self, package: Path) -> None:
        self.package = str(package) + os.sep
        self.first: list[tuple[str, str]] = []  # (file, function) in the order first called
        self.seen: set[tuple[str, str]] = set()
        self.on = False

    def __call__(self, frame, event, arg):  # sys.setprofile's signature
        if not self.on or event != "call":
            return
        filename = frame.f_code.co_filename
        if not filename.startswith(self.package):
            return
        key = (filename[len(self.package) :], frame.f_code.co_qualname)
        if key not in self.seen:
            self.seen.add(key)
            self.first.append(key)

    def stops(self) -> list[tuple[str, list[str]]]:
        path: list[tuple[str, list[str]]] = []
        for filename, function in self.first:
            if path and path[-1][0] == filename:
                path[-1][1].append(function)
            else:
                path.append((filename, [function]))
        return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="every function of each stop")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="submission-path-") as folder:
        root = course_with_a_submission(Path(folder))
        os.chdir(root)
        sys.path.insert(0, str(root))
        os.environ["NBGRADER_EXCHANGE"] = str(root / "exchange")
        from distributed import Client

        from instructor.course import load_config
        from instructor.grading.dispatch import DaskRunner
        from instructor.watch import service as service_module
        from instructor.watch.service import Service

        reader = Reader(ROOT / "instructor")  # the code that runs: this checkout's
        runner = DaskRunner(workers=1)
        runner.client = Client(
            processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
        )
        runner.description = "one worker thread of this process"
        config = load_config(root)
        config.ExchangeCollect.check_owner = False  # the submission is root's, in alice's name
        service = Service(config, runner, log=lambda line: None)
        service.prepare()
        start, give_feedback = Service.start, Service.give_feedback

        def traced_start(self, record):
            reader.on = True
            return start(self, record)

        def traced_give_feedback(self, record, session, entry):
            try:
                return give_feedback(self, record, session, entry)
            finally:
                reader.on = False

        service_module.Service.start = traced_start
        service_module.Service.give_feedback = traced_give_feedback
        sys.setprofile(reader)
        threading.setprofile(reader)
        try:
            service.run(once=True)
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
            runner.client.close()
        fed_back = list((root / "feedback").rglob("*.html"))
        if not fed_back:
            sys.exit("the submission was not fed back: nothing to follow")
    if os.environ.get("PATH_DUMP"):
        Path(os.environ["PATH_DUMP"]).write_text("\n".join(f"{f}\t{q}" for f, q in reader.first))
    path = reader.stops()
    visited: set[str] = set()
    returns = 0
    for number, (filename, functions) in enumerate(path, 1):
        again = filename in visited
        returns += again
        visited.add(filename)
        shown = functions if args.all else functions[:3] + (["..."] if len(functions) > 3 else [])
        print(f"{number:3d} {'(again) ' if again else ''}{filename}: {', '.join(shown)}")
    print(
        f"\n{len(path)} stops in {len(visited)} files, {returns} returns to a file already "
        f"left; {len(reader.first)} functions"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
