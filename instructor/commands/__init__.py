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


def command_parser(command: str, doc: str | None, epilog: bool = False) -> argparse.ArgumentParser:
    """The parser of `python -m instructor COMMAND`, described by the first line of the
    command module's docstring `doc`; with epilog, the rest of it follows the options as written."""
    lines = (doc or "").splitlines()
    return argparse.ArgumentParser(
        prog=f"python -m instructor {command}",
        description=lines[0] if lines else None,
        formatter_class=argparse.RawDescriptionHelpFormatter if epilog else argparse.HelpFormatter,
        epilog="\n".join(lines[2:]) if epilog else None,
    )


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


def add_route_options(parser: argparse.ArgumentParser, serial: bool = False) -> None:
    """Where the grading runs: --scheduler ADDRESS (an existing Dask cluster) or a local cluster
    of --workers N processes; with serial, --serial (in this process) too, and --workers then
    stands beside the route as it always did for `grade`."""
    route = parser.add_mutually_exclusive_group()
    if serial:
        route.add_argument(
            "--serial", action="store_true", help="grade in this process, without Dask"
        )
    route.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on this Dask scheduler (tls://host:port, with --tls-ca-file, --tls-cert "
        "and --tls-key; a plain tcp:// one only with --plain-tcp-scheduler)",
    )
    (parser if serial else route).add_argument(
        "--workers", type=int, help="worker processes of the local cluster (default: one per core)"
    )


def course_of(args: argparse.Namespace) -> Path:
    """The course's folder the options name (NotACourse: the message says what to give)."""
    return course_root(getattr(args, "course", None))


def assignment_in(root: Path, args: argparse.Namespace) -> str:
    """The assignment the options name in the course at root (NotACourse when it is not one,
    or when none is named and the course has several)."""
    return assignment_of(root, getattr(args, "assignment", None))
