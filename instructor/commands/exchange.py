"""`python -m instructor exchange init|check`: the exchange made so that students cannot subvert it.

    python -m instructor exchange init  [--course DIR] [--root PATH] [--owner LOGIN] [--replace]
    python -m instructor exchange check [--course DIR] [--root PATH] [--owner LOGIN]

init creates the exchange's root and the course's folders in it (outbound, inbound, feedback),
or corrects their modes and owners, so that every student can fetch, submit and fetch feedback
but nobody can rename, replace or delete the course's folder, its outbound, or a classmate's
submission or feedback (instructor/exchange/layout.py has the modes and the reasons). check
says whether an exchange is so, and what fixes it; it changes nothing.

The exchange is the course's (its nbgrader_config.py: NBGRADER_EXCHANGE when set, else
exchange/ in the course) unless --root names another. On a shared server the administrator
makes it once, as root, for the instructor's account:

    sudo .venv/bin/python -m instructor exchange init --root /srv/nbgrader/exchange --owner teacher

An instructor makes the course's own exchange folder with no option. A folder of the course
that belongs to another account (a student who created the course's folder first) is set
aside only with --replace; as root, when the instructor cannot rename it.
"""

import argparse
import os
import sys
from pathlib import Path

from ..course import NotACourse, load_config
from ..exchange import layout as exchange_layout
from ..exchange.check import check, describe
from ..exchange.make import init
from . import add_course_options, command_parser, course_of


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = command_parser("exchange", __doc__, epilog=True)
    parser.add_argument("action", choices=["init", "check"])
    add_course_options(parser, assignment=False)
    parser.add_argument(
        "--root", metavar="PATH", help="the exchange's root (default: the course's exchange)"
    )
    parser.add_argument(
        "--owner",
        metavar="LOGIN",
        help="the instructor's account, who runs the course (default: the one running this; "
        "only root may name another)",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="init: set aside a folder of the course that belongs to another account",
    )
    return parser.parse_args(argv)


def layout_of(args: argparse.Namespace) -> tuple[Path, exchange_layout.Layout]:
    course = course_of(args)
    config = load_config(course)
    found = exchange_layout.for_config(config)
    root = Path(os.path.abspath(args.root)) if args.root else found.root
    return course, exchange_layout.Layout(root, found.course_id)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        course, layout = layout_of(args)
        if not layout.course_id:
            print(
                "The course's nbgrader_config.py sets no course id (c.CourseDirectory.course_id)."
            )
            return 1
        owner = exchange_layout.uid_of(args.owner) if args.owner else os.geteuid()
        if args.action == "init":
            verdict = init(layout, owner, replace=args.replace)
        else:
            verdict = check(layout, owner)
    except (exchange_layout.ExchangeError, NotACourse) as error:
        print(error)
        return 1
    return report(verdict, course, args.action)


def report(verdict: exchange_layout.Verdict, course: Path, action: str) -> int:
    layout = verdict.layout
    who = exchange_layout.login(verdict.instructor)
    if not verdict.safe:
        print(describe(verdict, course if action == "check" else None))
        return 1
    if verdict.private:
        print(
            f"The exchange at {layout.root} (course {layout.course_id}) is private: no account "
            f"but root and {who} can reach it. Safe for one instructor on this machine; students "
            "with logins of their own need an exchange they can reach (--root)."
        )
        return 0
    usable = "" if verdict.notes else "every student can fetch, submit and fetch feedback, and "
    print(
        f"The exchange at {layout.root} (course {layout.course_id}, instructor {who}) is safe: "
        f"{usable}nobody but the instructor can rename or replace the course's folders or "
        "another student's submission or feedback."
    )
    for folder, _ in [(layout.root, 0), *layout.folders()]:
        info = os.stat(folder)
        print(
            f"  {exchange_layout.mode_text(info.st_mode)}  "
            f"{exchange_layout.login(info.st_uid):<12} {folder}"
        )
    for note in verdict.notes:
        print(f"Note: {note}; `exchange init` sets the modes students need.")
    return 0
