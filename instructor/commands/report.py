"""`python -m instructor report`: a class report from the gradebook and the graded notebooks.

    python -m instructor report [--students ID ...] [--out DIR] [--demo] [--course DIR]
                                [--assignment NAME]

It writes scores.csv and report.html to reports/<assignment>/ (or --out DIR), then prints the
score table, the late and the left-out students, the forgeries and where the report is. What
the report holds and where each part comes from: instructor/report/__init__.py.
"""

from collections.abc import Sequence

from ..course import demo_root
from ..report import build
from ..report.model import left_out
from ..report.sources import read_forgeries, read_lateness, read_status
from ..scores import table
from . import add_course_options, assignment_in, command_parser, course_of


def main(argv: Sequence[str] | None = None) -> int:
    parser = command_parser("report", __doc__)
    parser.add_argument(
        "--students", nargs="+", metavar="ID", help="only these students (default: all graded)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="where to write (default: reports/ASSIGNMENT/)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the demo class's report (its own course folder demo/, reports in demo/reports/)",
    )
    add_course_options(parser)
    args = parser.parse_args(argv)
    course = course_of(args)
    args.assignment = assignment_in(course, args)
    root = demo_root(course) if args.demo else course
    out, scores, maxima = build(
        root=root, out=args.out, students=args.students, assignment=args.assignment
    )
    if out is None:
        who = f" for {', '.join(args.students)}" if args.students else ""
        print(f"No graded submissions in the gradebook{who} yet: grade them first.")
        return 1
    print("\n".join(table(scores, maxima)))
    for student, info in sorted(read_lateness(root, scores, args.assignment).items()):
        if info["seconds"] > 0:
            print(f"Late: {student}, {info['days']} started day(s), penalty {info['penalty']:g}")
    excluded = left_out(scores, read_status(root, args.assignment))
    if excluded:
        print(
            f"Left out of the averages ({len(excluded)}): "
            + "; ".join(f"{s} ({r})" for s, r in excluded.items())
        )
    for forgery in read_forgeries(root, args.students, args.assignment):
        print(f"Made in {forgery.student}'s name by {forgery.owner}, refused: {forgery.folder}")
    missing = sorted(set(args.students or ()) - set(scores))
    if missing:
        print(f"Not graded, so not in the report: {', '.join(missing)}")
    print(f"\nClass report: {out / 'report.html'}  (scores: {out / 'scores.csv'})")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
