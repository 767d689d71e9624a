"""`python -m instructor gradebook backup|restore FILE`: the gradebook kept safe for a term.

    python -m instructor gradebook backup FILE [--course DIR]
    python -m instructor gradebook restore FILE [--course DIR]

Both run while the course is in use: the grade-on-submit service grading, the Formgrader
open. They work on the gradebook that the course's nbgrader_config.py names (its db_url):

- SQLite: `backup` copies it with SQLite's online backup (Python's sqlite3, what the sqlite3
  shell's `.backup` does): one consistent snapshot, taken while writers go on (the gradebook is
  in WAL mode: instructor/gradebook_db.py); the copy is checked (PRAGMA integrity_check) and
  written whole, a single file. `restore` first keeps the gradebook as it is now beside it
  (gradebook.db.before-restore-<time>), then copies the backup into it through the same
  online backup, under the busy timeout of the course's db_url: processes that have it open
  (the service, the Formgrader) keep their connections and read the restored content next.
  A plain `cp` over a gradebook in use would corrupt it (its -wal and -shm files).
- PostgreSQL: `backup` is `pg_dump --format=custom` (a consistent snapshot too); `restore` keeps
  a dump of the database as it is now beside FILE, then runs `pg_restore --clean --if-exists
  --single-transaction`: every table dropped and made again from the backup in one
  transaction, so that a failure changes nothing. It waits at most 60 s for the locks it needs.

A backup is refused as the source of a restore when it is not a gradebook of this course (its
course id differs). After a restore the gradebook is what it was at the backup: gradings
recorded since are no longer in it (the service's journal and grading.json still list them);
`python -m instructor grade` grades those submissions again, because the gradebook no longer
holds them.
"""

import argparse
from pathlib import Path

from ..course import NotACourse
from ..gradebook import BackupError, backup, restore
from . import add_course_options, course_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m instructor gradebook", description=__doc__.splitlines()[0]
    )
    parser.add_argument("action", choices=["backup", "restore"])
    parser.add_argument("file", help="the backup: written by backup, read by restore")
    add_course_options(parser, assignment=False)
    args = parser.parse_args(argv)
    try:
        course = course_of(args)
    except NotACourse as error:
        print(error)
        return 2
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
