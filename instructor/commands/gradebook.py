"""`python -m instructor gradebook backup|restore FILE`: the gradebook kept safe for a term.

    python -m instructor gradebook backup FILE [--course DIR]
    python -m instructor gradebook restore FILE [--course DIR]

Both run while the course is in use (the grade-on-submit service grading, the Formgrader
open), on SQLite or PostgreSQL; instructor/gradebook.py says how.
"""

from pathlib import Path

from ..gradebook import BackupError, backup, restore
from . import add_course_options, command_parser, course_of


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("gradebook", __doc__)
    parser.add_argument("action", choices=["backup", "restore"])
    parser.add_argument("file", help="the backup: written by backup, read by restore")
    add_course_options(parser, assignment=False)
    args = parser.parse_args(argv)
    course = course_of(args)
    try:
        if args.action == "backup":
            print(backup(course, Path(args.file).resolve()))
        else:
            print(restore(course, Path(args.file).resolve()))
    except BackupError as error:
        print(f"No {args.action}: {error}.")
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
