"""The instructor's commands, one module each: `python -m instructor COMMAND [options]`.

Each parses its options, calls the library modules of instructor/ (the grading engine, the
exchange, the report...) and says what happened. Nothing else imports them.
"""

import argparse
from pathlib import Path

from ..course import assignment_of, course_root

COMMANDS = {
    "release": "regenerate release/ from source/ (or --check that it is in sync)",
    "demo": "rebuild the demo class from the release",
    "grade": "grade every submission: sandboxed, re-checked, in parallel on Dask (nbgrader underneath)",
    "scores": "print every student's score per exercise from the gradebook",
    "lab": "JupyterLab on localhost: `lab student` (a copy of the release) or `lab instructor`",
    "report": "write the class report (scores.csv, report.html) to reports/initialization/",
    "watch": "grade each submission as it arrives and release its feedback (a service)",
    "roster": "`roster import FILE`: a Canvas roster (gradebook CSV) into nbgrader's student table",
    "exchange": "`exchange init|check`: the exchange's folders, made so that students cannot subvert it",
    "gradebook": "`gradebook backup|restore FILE`: the gradebook copied while in use, and put back",
}


def add_course_options(parser: argparse.ArgumentParser, assignment: bool = True) -> None:
    """--course DIR (the current folder by default) and, with assignment, --assignment NAME
    (the course's only assignment by default)."""
    parser.add_argument(
        "--course", metavar="DIR", help="the course's folder (default: the current folder)"
    )
    if assignment:
        parser.add_argument(
            "--assignment", metavar="NAME", help="the assignment (default: the course's only one)"
        )


def course_of(args: argparse.Namespace) -> Path:
    """The course's folder the options name (NotACourse: the message says what to give)."""
    return course_root(getattr(args, "course", None))


def assignment_in(root: Path, args: argparse.Namespace) -> str:
    """The assignment the options name in the course at root (NotACourse when it is not one,
    or when none is named and the course has several)."""
    return assignment_of(root, getattr(args, "assignment", None))
