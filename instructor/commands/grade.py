"""`python -m instructor grade`: grade every submission of the assignment, in parallel, safely.

    python -m instructor grade [STUDENT ...] [--assignment NAME] [--course DIR | --demo]
                               [--force] [--serial | --scheduler ADDR] [--memory N ...]
    python -m instructor grade --help-all

Grades submitted/<student>/initialization/ for every student (or those named), or the
submissions of another assignment of the course with --assignment; --demo grades
the demo class, which lives apart under demo/ (its own gradebook, autograded/, feedback/ and
reports/; demo/nbgrader_config.py). A bad submission never stops the batch: each one is graded,
or rejected with a one-line reason, and the submitted files are never changed (a normalised
copy is graded; see grading/intake.py). Student code runs in a sandbox under limits
(grading/sandbox/), and each declared exercise's answer is re-checked on its own where the rest
of the notebook cannot reach it (grading/recheck/); tampering is flagged for review. Each
submission runs the cells its grade needs: the cells the source marks as ones grading may skip
(the trainings, the plots) are left out unless a cell the student wrote needs them
(grading/needed.py; c.CourseGrading.run_whole_notebook runs every cell).
The limits and the course's grading options are c.GradingLimits.<option> and
c.CourseGrading.<option> in nbgrader_config.py, or the options made from them here (--memory N,
--GradingLimits.memory_mb=N, ...); --help-all prints every one with its help
(grading/settings.py).

This command is the parallel, incremental driver of the course's grading engine
(grading/session.py), which
`nbgrader autograde` and the Formgrader's Autograde button run too: the same scores, flags and
notes on every route. The scores land in nbgrader's gradebook as each submission completes,
and autograded/<student>/initialization/ holds the graded notebook, so the Formgrader,
generate_feedback and export work as usual. The submissions run on a Dask cluster: a local one
with one worker per core by default, or an existing one given by --scheduler (tls://, with the
instructor's certificate); --serial grades in this process instead. Every comm of the cluster is
TLS with mutual authentication: no other account of the machine can run code on its workers
(grading/cluster_security.py). A submission graded before, unchanged, with the same assignment and
limits, and whose grades nothing else changed since, is not graded again unless --force.

It refuses to start while the source notebook, the release and the gradebook disagree (run
`python -m instructor release`). At the end it prints a summary (graded, rejected and failed
submissions with their reasons, flags for review, notes) and the score table, and writes the
summary for a class report to reports/initialization/grading.json.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .. import scores as scores_module
from ..course import demo_root, load_config
from ..exchange import forgeries
from ..grading.cluster_security import SchedulerRefused, for_scheduler
from ..grading.progress import duration
from ..grading.sandbox import LIMITS_ONLY, shared_process_limit
from ..grading.session import CannotGrade, Session, Todo
from ..grading.settings import (
    CourseGrading,
    GradingLimits,
    SettingsError,
    add_options,
    apply_options,
    check,
    course_grading,
)
from ..grading.status import Status
from ..lms.late import days_late
from . import add_course_options, add_route_options, assignment_in, command_parser, course_of

# The settings the command line may give, each an option made from its trait (grading/settings.py).
SETTINGS = (GradingLimits, CourseGrading)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = command_parser("grade", __doc__)
    parser.add_argument("students", nargs="*", help="student ids (default: every submission)")
    add_course_options(parser)
    parser.add_argument(
        "--demo", action="store_true", help="grade the demo class (demo/submitted/, apart)"
    )
    parser.add_argument(
        "--force", "--regrade", action="store_true", help="grade unchanged submissions again"
    )
    add_route_options(parser, serial=True)
    add_options(parser, *SETTINGS)
    return parser.parse_args(argv)


def summary(
    session: Session,
    elapsed: float,
    runner_description: str,
    missing: list[str],
    side_by_side: bool = False,
) -> list[str]:
    """The end-of-run summary, as lines; side_by_side: submissions were graded at the same
    time on one machine's account (a local cluster of several workers, or a scheduler's)."""
    entries = session.entries
    count = {s: sum(e.status == s for e in entries) for s in ("graded", "rejected", "failed")}
    flagged = [e for e in entries if e.flags or e.status == "rejected"]
    isolation = sorted({e.isolation for e in entries if e.isolation})
    lines = [
        f"Done: {len(entries)} submission(s) in {duration(elapsed)} {runner_description}"
        + (f" (isolation: {', '.join(isolation)})" if isolation else "")
        + ":",
        f"  {count['graded']} graded, {count['rejected']} rejected, {count['failed']} failed; "
        f"{len(flagged)} flagged for review"
        + (f"; {len(session.skipped)} unchanged, not graded again (--force to regrade)" if session.skipped else ""),
    ]  # fmt: skip
    whole = [e for e in entries if (e.ran or "").startswith("the whole notebook")]
    if any(e.ran for e in entries):
        lines.append(
            f"  {sum(bool(e.ran) for e in entries) - len(whole)} graded on the cells the grade "
            f"needs, {len(whole)} on the whole notebook (a cell the student wrote needs it)"
        )
    if missing:
        lines.append(f"  no submission for: {', '.join(missing)}")
    for mode in isolation:
        if warning := shared_process_limit(mode, side_by_side):
            lines.append(f"  {warning}")
    if "limits" in isolation:
        lines.append(
            "  NOT ISOLATED: with --isolation limits, student code could read and change whatever "
            "this machine's user can (the gradebook, the other submissions) while it ran"
            + ("; and the process limit does not bind root" if os.geteuid() == 0 else "")
        )
    sections: list[tuple[str, list[tuple[str, Sequence[str]]]]] = [
        ("Not isolated", [(e.student, [f"the grader {LIMITS_ONLY}"]) for e in entries
                          if e.isolation == "limits"]),
        ("Rejected", [(e.student, [e.reason]) for e in entries if e.status == "rejected"]),
        ("Failed", [(e.student, [e.reason]) for e in entries if e.status == "failed"]),
        ("Flagged for review", [(e.student, e.flags) for e in entries if e.flags]),
        ("Notes", [(e.student, e.notes) for e in entries if e.notes and e.status != "rejected"]),
        ("Ran the whole notebook", [(e.student, [(e.ran or "").split(": ", 1)[1]]) for e in whole]),
    ]  # fmt: skip
    # Lateness and late penalty from the gradebook (the due date, the submission's time, the
    # penalty of the course's late policy); versions that zip_collect left out for later ones.
    late: list[tuple[str, Sequence[str]]] = []
    try:
        with session.gradebook() as gb:
            for e in entries:
                if e.status == "failed":
                    continue
                try:
                    sub = gb.find_submission(session.assignment, e.student)
                except Exception:  # no submission in the gradebook
                    continue
                if sub.total_seconds_late > 0:
                    days = days_late(sub.total_seconds_late)
                    late.append((e.student, [
                        f"late by {days} started day(s) (submitted {sub.timestamp:%Y-%m-%d %H:%M}, "
                        f"due {sub.duedate:%Y-%m-%d %H:%M} UTC), penalty {sub.late_submission_penalty or 0:g} point(s)"
                    ]))  # fmt: skip
    except Exception as error:  # the summary never fails for want of lateness
        late = [("(gradebook)", [f"lateness could not be read: {error}"])]
    sections.insert(0, ("Late", late))
    collection = session.reports / "collection.json"  # next to grading.json
    if collection.is_file():
        try:
            collected = json.loads(collection.read_text()).get("students", {})
        except ValueError:
            collected = {}
        graded_now = {e.student for e in entries}
        sections.append(("Earlier versions in the LMS download, not graded", [
            (student, [f"{old} (the later {', '.join(r.get('files', []))} was graded)" for old in r["superseded"]])
            for student, r in collected.items() if r.get("superseded") and student in graded_now
        ]))  # fmt: skip
    sections.append(("Made in another student's name, refused (never graded)", [
        (f.student, [f"{f.folder}: made by {f.owner}"])
        for f in forgeries.read(session.reports)
    ]))  # fmt: skip
    for title, rows in sections:
        if rows:
            lines.append(f"{title}:")
            for student, texts in sorted(rows):
                for text in texts:
                    lines.append(f"  {student}: {text}")
    return lines


def run_batch(session: Session, todo: Todo, args: argparse.Namespace) -> tuple[str, int] | None:
    """Grade the submissions to do, in this process or on Dask; return how they were run and
    on how many workers, or None when the cluster could not be used."""
    # imported here: Dask and the engine's workers load for a batch, not for --help or a refusal
    from ..grading.dispatch import DaskRunner, SerialRunner

    runner = (
        SerialRunner()
        if args.serial
        else DaskRunner(args.scheduler, args.workers, grading=course_grading(session.config))
    )
    print(f"Grading {len(todo)} submission(s) of {args.assignment} ...", flush=True)
    try:
        runner.__enter__()
    except (OSError, TimeoutError) as error:
        where = (
            f"the Dask scheduler at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        )
        print(f"Cannot grade: {where} could not be used ({error}). Nothing was graded.")
        return None
    try:
        workers = runner.workers  # the cluster's own count (an existing scheduler's included)
        session.run(runner, todo)
    except BaseException as error:
        runner.__exit__(type(error), error, None)
        raise
    runner.__exit__(None, None, None)
    return runner.description, workers


def _misnamed(session: Session, students: list[str]) -> list[str]:
    """Folders of students whose assignment folder is named in another case (Initialization/):
    nbgrader does not see them either; the summary says so."""
    submitted = Path(session.submitted)
    assignment = session.assignment
    found = []
    for folder in sorted(submitted.iterdir()) if submitted.is_dir() else []:
        if students and folder.name not in students:
            continue
        if (folder / assignment).is_dir() or not folder.is_dir():
            continue
        for other in sorted(folder.iterdir()):
            if other.is_dir() and other.name.lower() == assignment.lower():
                found.append(
                    f"{folder.name}: the folder {folder.name}/{other.name}/ is not graded; the "
                    f"assignment's folder is {folder.name}/{assignment}/ (rename it)"
                )
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.serial and not args.scheduler:
        from ..grading import fork_server  # (the same: Dask only when it grades)

        fork_server.start()  # the workers' imports, on a core idle while the course is read
    root = course_of(args)
    args.assignment = assignment_in(root, args)
    config = load_config(demo_root(root) if args.demo else root)
    apply_options(args, config, *SETTINGS)  # over nbgrader_config.py, as nbgrader's options
    try:
        check(config, SETTINGS)
        if args.scheduler:  # refused before anything is read: say why
            for_scheduler(args.scheduler, course_grading(config))
        session = Session(config, args.assignment, force=args.force)
    except (CannotGrade, SettingsError, SchedulerRefused) as error:
        print(f"Cannot grade {args.assignment}: {error}.")
        return 2
    print(f"Limits: {session.limits_note}.")
    print(f"Isolation: {session.isolation.describe()}.")
    if session.run_note:
        print(f"Cells: {session.run_note}.")
    folders = session.folders(args.students)
    misnamed = _misnamed(session, args.students)
    missing = [
        s
        for s in args.students
        if s not in folders and not any(m.startswith(s + ":") for m in misnamed)
    ]
    todo = session.plan(folders)
    started = time.monotonic()
    if not folders:
        print(
            f"No submissions of {args.assignment} in "
            f"{os.path.relpath(session.submitted, session.coursedir.root)}/."
        )
    try:
        ran = run_batch(session, todo, args) if todo else ("(nothing to grade)", 0)
    except KeyboardInterrupt:
        print(
            f"\nInterrupted after {len(session.entries)} submission(s). Their results are saved "
            "(gradebook, autograded/, reports/); run the command again to grade the rest."
        )
        return 130
    if ran is None:
        return 2
    description, workers = ran
    path = session.write_ledger(
        {"students": sorted(todo), "skipped": session.skipped, "route": description}
    )
    elapsed = time.monotonic() - started
    print("\n".join(summary(session, elapsed, description, missing, workers > 1)))
    if misnamed:
        print("Not graded:")
        for line in misnamed:
            print(f"  {line}")
    print(f"Summary for the class report: {os.path.relpath(path, session.coursedir.root)}")
    print()
    table = scores_module.print_table(session.coursedir, args.students, args.assignment)
    failed = any(e.status == Status.FAILED for e in session.entries)
    return 1 if failed else table


if __name__ == "__main__":
    sys.exit(main())
