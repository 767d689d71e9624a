"""`python -m instructor grade`: grade every submission of the assignment, in parallel, safely.

    python -m instructor grade [STUDENT ...] [--demo] [--force] [--serial | --scheduler ADDR]

Grades submitted/<student>/initialization/ for every student (or those named); --demo grades
the demo class in demo/submitted/ instead. A bad submission never stops the batch: each one is
graded, or rejected with a one-line reason, and the submitted files are never changed (a
normalised copy is graded; see intake.py). Student code runs in a sandbox under limits
(sandbox.py), and each answer is re-checked on its own where the rest of the notebook cannot
reach it (verify.py); tampering is flagged for review.

Grading uses nbgrader underneath: the scores land in nbgrader's gradebook as each submission
completes, and autograded/<student>/initialization/ holds what `nbgrader autograde` would write
there, so the formgrader, generate_feedback and export work as usual. The submissions run on a
Dask cluster: a local one with one worker per core by default, or an existing one given by
--scheduler; --serial grades in this process instead. A submission graded before, unchanged,
with the same assignment and limits, is not graded again unless --force.

At the end it prints a summary (graded, rejected and failed submissions with their reasons,
flags for review, notes) and the score table, and writes the summary for a class report to
reports/initialization/grading.json.
"""

import argparse
import os
import sys
import time

from . import scores as scores_module
from .bundle import BundleError, build, load_config
from .course import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK, ROOT
from .intake import Reference, digest, find_submissions, read_submission
from .progress import Progress, duration
from .record import Recorder
from .sandbox import Limits

# Command-line options of the limits: option -> (Limits field, type, help).
LIMIT_OPTIONS = {
    "--cell-timeout": ("cell_timeout", float, "seconds one cell may run (default: nbgrader's Execute.timeout)"),
    "--notebook-timeout": ("notebook_timeout", float, "seconds the whole notebook may run (default 900)"),
    "--memory": ("memory_mb", int, "MB of memory (address space) for each process of a submission (default 2048)"),
    "--max-procs": ("max_procs", int, "processes and threads a submission may run at once (default 256)"),
    "--max-file-size": ("max_file_mb", int, "MB of the largest file a submission may write (default 256)"),
    "--max-output": ("max_output_mb", float, "MB of output a notebook may print (default 10)"),
    "--max-disk": ("max_disk_mb", int, "MB of the private /tmp and working folder of a submission (default 512)"),
    "--verify-timeout": ("verify_timeout", float, "seconds the clean re-check of one answer may take (default 30)"),
}  # fmt: skip


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m instructor grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("students", nargs="*", help="student ids (default: every submission)")
    parser.add_argument(
        "--demo", action="store_true", help="grade the demo class in demo/submitted/"
    )
    parser.add_argument(
        "--force", "--regrade", action="store_true", help="grade unchanged submissions again"
    )
    route = parser.add_mutually_exclusive_group()
    route.add_argument("--serial", action="store_true", help="grade in this process, without Dask")
    route.add_argument(
        "--scheduler", metavar="ADDRESS", help="use this Dask scheduler (tcp://host:port)"
    )
    parser.add_argument(
        "--workers", type=int, help="worker processes of the local cluster (default: one per core)"
    )
    limits = parser.add_argument_group(
        "limits of each submission (also settable as c.GradingLimits.<field> in nbgrader_config.py)"
    )
    for option, (field, kind, text) in LIMIT_OPTIONS.items():
        limits.add_argument(option, dest=field, type=kind, metavar="N", help=text)
    limits.add_argument(
        "--isolation",
        choices=["auto", "limits"],
        help="auto: Linux namespaces when available (default); limits: resource limits only",
    )
    parser.add_argument(
        "--no-zygote",
        action="store_true",
        help="start every kernel as a new interpreter, instead of forking it from a process that "
        "imported numpy, matplotlib and scikit-learn once",
    )
    return parser.parse_args(argv)


def course_directory(config, demo):
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    if demo:
        coursedir.submitted_directory = DEMO_SUBMITTED
    return coursedir


def limits_from(config, args):
    """The limits: defaults, then the course configuration, then the command line."""
    limits = Limits()
    if "Execute" in config and "timeout" in config.Execute:
        limits = limits.replace(cell_timeout=config.Execute.timeout)
    if "GradingLimits" in config:
        limits = limits.replace(**dict(config.GradingLimits))
    options = {field: getattr(args, field) for field, _, _ in LIMIT_OPTIONS.values()}
    zygote = False if args.no_zygote else None
    return limits.replace(isolation=args.isolation, zygote=zygote, **options)


def _hidden_paths(coursedir):
    """What the submissions' code must not see on this machine: the course and its gradebook."""
    paths = [os.path.realpath(coursedir.root), str(ROOT)]
    url = coursedir.db_url
    if url.startswith("sqlite:///"):
        paths.append(os.path.dirname(os.path.realpath(url[len("sqlite:///") :])))
    return sorted(set(paths))


class Batch:
    """One run of the command: reads submissions lazily, feeds the runner, records results."""

    def __init__(self, recorder, reference, limits, hide, force, progress_stream=None):
        self.recorder, self.reference, self.limits = recorder, reference, limits
        self.hide, self.force = hide, force
        self.submissions, self.entries, self.skipped = {}, [], []
        self.progress_stream = progress_stream

    def plan(self, folders):
        """The students to grade: every folder, minus those unchanged since their last grading."""
        todo = {}
        for student, folder in folders.items():
            content_hash = digest(folder)
            if not self.force and self.recorder.unchanged(student, content_hash):
                self.skipped.append(student)
            else:
                todo[student] = (folder, content_hash)
        return todo

    def tasks(self, todo):
        """(student, task) for each submission to run; rejected ones are recorded on the way."""
        for student, (folder, content_hash) in todo.items():
            submission = read_submission(student, folder, self.reference, content_hash)
            self.submissions[student] = submission
            if submission.status == "rejected":
                self.record(student, {"status": "rejected", "reason": submission.reason})
                continue
            yield (
                student,
                {
                    "student": student,
                    "notebook": submission.notebook,
                    "files": submission.files,
                    "limits": self.limits.to_dict(),
                    "hide": self.hide,
                    "workdir": str(self.recorder.destination(student).resolve()),
                    "digest": submission.digest,
                },
            )

    def record(self, student, result):
        entry = self.recorder.save(self.submissions[student], result)
        self.entries.append(entry)
        self.progress.update(entry)

    def run(self, runner, todo, bundle):
        self.progress = Progress(len(todo), self.progress_stream)
        try:
            for student, result in runner.run(self.tasks(todo), bundle):
                self.record(student, result)
        finally:
            self.progress.close()


def summary(batch, elapsed, runner_description, missing):
    """The end-of-run summary, as lines."""
    entries = batch.entries
    count = {s: sum(e["status"] == s for e in entries) for s in ("graded", "rejected", "failed")}
    flagged = [e for e in entries if e.get("flags") or e["status"] == "rejected"]
    isolation = sorted({e["isolation"] for e in entries if e.get("isolation")})
    lines = [
        f"Done: {len(entries)} submission(s) in {duration(elapsed)} {runner_description}"
        + (f" (isolation: {', '.join(isolation)})" if isolation else "")
        + ":",
        f"  {count['graded']} graded, {count['rejected']} rejected, {count['failed']} failed; "
        f"{len(flagged)} flagged for review"
        + (f"; {len(batch.skipped)} unchanged, not graded again (--force to regrade)" if batch.skipped else ""),
    ]  # fmt: skip
    if missing:
        lines.append(f"  no submission for: {', '.join(missing)}")
    if "limits" in isolation:
        lines.append(
            "  without Linux namespaces, student code could see this machine's files while it ran "
            "(the clean re-check still ran apart)"
            + ("; and the process limit does not bind root" if os.geteuid() == 0 else "")
        )
    sections = [
        ("Rejected", [(e["student"], [e["reason"]]) for e in entries if e["status"] == "rejected"]),
        ("Failed", [(e["student"], [e["reason"]]) for e in entries if e["status"] == "failed"]),
        ("Flagged for review", [(e["student"], e["flags"]) for e in entries if e.get("flags")]),
        ("Notes", [(e["student"], e["notes"]) for e in entries if e.get("notes") and e["status"] != "rejected"]),
    ]  # fmt: skip
    for title, rows in sections:
        if rows:
            lines.append(f"{title}:")
            for student, texts in sorted(rows):
                for text in texts:
                    lines.append(f"  {student}: {text}")
    return lines


def run_batch(batch, todo, bundle, args):
    """Grade the submissions to do, in this process or on Dask; return how they were run, or
    None when the cluster could not be used."""
    from .dispatch import DaskRunner, SerialRunner

    runner = SerialRunner() if args.serial else DaskRunner(args.scheduler, args.workers)
    print(f"Grading {len(todo)} submission(s) of {ASSIGNMENT} ...", flush=True)
    try:
        runner.__enter__()
    except (OSError, TimeoutError) as error:
        where = (
            f"the Dask scheduler at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        )
        print(f"Cannot grade: {where} could not be used ({error}). Nothing was graded.")
        return None
    try:
        batch.run(runner, todo, bundle)
    finally:
        runner.__exit__(None, None, None)
    return runner.description


def main(argv=None):
    args = parse_args(argv)
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    config = load_config(ROOT)
    coursedir = course_directory(config, args.demo)
    limits = limits_from(config, args)
    try:
        bundle = build(coursedir, config, limits)
    except BundleError as error:
        print(f"Cannot grade {ASSIGNMENT}: {error}.")
        return 2
    release = os.path.join(
        coursedir.format_path(coursedir.release_directory, ".", ASSIGNMENT), NOTEBOOK
    )
    submitted = coursedir.format_path(coursedir.submitted_directory, ".", ".")
    folders = find_submissions(submitted, ASSIGNMENT, args.students)
    missing = [s for s in args.students if s not in folders]
    recorder = Recorder(coursedir, config, bundle, ROOT / "reports" / ASSIGNMENT)
    batch = Batch(
        recorder, Reference.from_file(release), limits, _hidden_paths(coursedir), args.force
    )
    todo = batch.plan(folders)
    started = time.monotonic()
    if not folders:
        print(f"No submissions of {ASSIGNMENT} in {os.path.relpath(submitted, ROOT)}/.")
    try:
        description = run_batch(batch, todo, bundle, args) if todo else "(nothing to grade)"
    except KeyboardInterrupt:
        print(
            f"\nInterrupted after {len(batch.entries)} submission(s). Their results are saved "
            "(gradebook, autograded/, reports/); run the command again to grade the rest."
        )
        return 130
    if description is None:
        return 2
    path = recorder.ledger.write(
        {"students": sorted(todo), "skipped": batch.skipped, "route": description}
    )
    print("\n".join(summary(batch, time.monotonic() - started, description, missing)))
    print(f"Summary for the class report: {os.path.relpath(path, ROOT)}")
    print()
    table = scores_module.main(args.students)
    failed = any(e["status"] == "failed" for e in batch.entries)
    return 1 if failed else table


if __name__ == "__main__":
    sys.exit(main())
