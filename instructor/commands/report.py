"""`python -m instructor report`: a class report from the gradebook and the graded notebooks.

It writes reports/<assignment>/ (or --out DIR):

    scores.csv    one row per student: student, one column per exercise, total, late_penalty,
                  final (total minus the late penalty) and status (graded, rejected, failed)
    report.html   one self-contained page: every student's scores, the class average per
                  exercise, a histogram of the totals, and the mistakes the tests named, ranked
                  by how many students made them, with the instructor's note on each; then
                  the late submissions (lateness and penalty), the submissions flagged for
                  review, the rejected or failed ones and the files not collected from the LMS
                  download, each with its reason; the folders of the exchange made in another
                  student's name, with the login that made each (forgeries.jsonl, written by
                  the collect routes and the grade-on-submit service); and the latest changes
                  of the grading history

How it is made, in three steps, one module each: sources.py reads the sources (`read_*`);
model.py builds the page's data model from them (`class_report` returns a `ClassReport`: the
cards, each student's row, each mistake, each section's rows), with every number computed and
nothing formatted as HTML, and charts.py draws its two charts (small functions returning a
PNG data URL); page.py renders the model with the Jinja2 template
instructor/templates/report.html.j2 (autoescaped; its CSS in report.css beside it). This
module writes the files and is the command.

The sources: the scores and the lateness from nbgrader's gradebook; the mistakes from the
outputs of the test cells of the autograded notebooks (autograded/<student>/<assignment>/),
where the tests print each recognised mistake as ` - Mistake: <title>. <explanation> Hint:
<hint>`; the status, flags and reasons from reports/<assignment>/grading.json (written by
`python -m instructor grade`), the history from history.jsonl next to it, the files not
collected from collection.json (written by zip_collect's Canvas collector), the forgeries from
forgeries.jsonl; the teaching notes from the course's own file of the assignment
(assignments/<assignment>.toml, instructor/course_data.py). Nothing of one assignment is
written here: a second assignment is reported with its own exercises, mistakes and notes.

The averages are taken over the graded students only: rejected and failed submissions are
left out of them, and the page says how many and why. The command ends with the score table
and the path of the report.
"""

import argparse
from collections.abc import Sequence

from ..course import NotACourse, demo_root
from ..report import build
from ..report.model import left_out
from ..report.sources import read_forgeries, read_lateness, read_status
from ..scores import table
from . import add_course_options, assignment_in, course_of


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m instructor report", description=(__doc__ or "").splitlines()[0]
    )
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
    try:
        course = course_of(args)
        args.assignment = assignment_in(course, args)
    except NotACourse as error:
        print(error)
        return 2
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
