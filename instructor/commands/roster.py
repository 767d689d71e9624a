"""`python -m instructor roster import FILE`: a Canvas roster into nbgrader's student table.

FILE is a CSV exported from Canvas's gradebook (Grades > Export). Its identifying columns are
read; the assignment columns are ignored:

    Student        "Last, First" (or "First Last")
    ID             Canvas's user id             -> Student.lms_user_id
    SIS User ID    the institution's student id -> lms_student.sis_user_id
    SIS Login ID   the login name               -> lms_student.sis_login_id (and the e-mail when
                                                   it is an address; an Email column wins)
    Section        the section(s)               -> lms_student.section

Each student's nbgrader id is the first of --id-from (default: SIS Login ID, then SIS User ID,
then ID) that the row has, so that the exchange's logins and the Canvas download agree. A
student already in the gradebook is updated, never removed; nothing else changes. Canvas's
"Points Possible" row and its "Test Student" are skipped. `nbgrader db student list` shows
the result, and `nbgrader export --exporter=instructor.lms.export.CanvasGradesExport` writes
the ids back next to the grades.
"""

import argparse
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from ..course import NotACourse, load_config
from ..roster import ID_COLUMNS, RosterError, import_roster, read_roster
from . import add_course_options, course_of


def _config(root: Path) -> tuple[str, str]:
    """(the gradebook's URL, the course id) of the course's nbgrader configuration."""
    course = CourseDirectory(config=load_config(root))
    return str(course.db_url), str(course.course_id or "default_course")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m instructor roster", description=__doc__.splitlines()[0]
    )
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
    try:
        root = course_of(args)
    except NotACourse as error:
        print(error)
        return 2
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
