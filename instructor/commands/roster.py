"""`python -m instructor roster import FILE`: a Canvas roster into nbgrader's student table.

    python -m instructor roster import FILE [--id-from COLUMN ...] [--course DIR]

FILE is a CSV exported from Canvas's gradebook; which of its columns are read, and what
becomes of them: instructor/roster.py.
"""

from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from ..course import load_config
from ..roster import ID_COLUMNS, RosterError, import_roster, read_roster
from . import add_course_options, command_parser, course_of


def _config(root: Path) -> tuple[str, str]:
    """(the gradebook's URL, the course id) of the course's nbgrader configuration."""
    course = CourseDirectory(config=load_config(root))
    return str(course.db_url), str(course.course_id or "default_course")


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("roster", __doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    do_import = sub.add_parser("import", help="import a Canvas gradebook export (CSV)")
    do_import.add_argument("file", help="the CSV file exported from Canvas's gradebook")
    do_import.add_argument(
        "--id-from",
        nargs="+",
        default=list(ID_COLUMNS),
        metavar="COLUMN",
        help="columns giving the nbgrader student id, first non-empty wins "
        "(default: 'SIS Login ID' 'SIS User ID' ID)",
    )
    add_course_options(do_import, assignment=False)
    args = parser.parse_args(argv)
    root = course_of(args)
    try:
        students, skipped = read_roster(args.file, args.id_from)
    except RosterError as error:
        print(f"Cannot import the roster: {error}.")
        return 2
    if not students:
        print(f"Cannot import the roster: {args.file} holds no student with a Canvas user id.")
        return 2
    db_url, course_id = _config(root)
    added, updated, conflicts = import_roster(students, db_url, course_id)
    print(
        f"Roster: {len(added)} student(s) added and {len(updated)} updated in the gradebook "
        f"({len(students)} in {Path(args.file).name})."
    )
    for number, reason in skipped:
        print(f"  skipped row {number}: {reason}")
    for text in conflicts:
        print(f"  not imported: {text}")
    return 1 if conflicts else 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
