"""The gradebook kept safe for a term: backed up and restored while the course is in use
(`python -m instructor gradebook backup|restore FILE`).

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

import datetime
import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from sqlalchemy.engine import make_url

from .course import load_config
from .errors import CourseError
from .gradebook_db import PREPARE_TIMEOUT, prepare, sqlite_path

LOCK_TIMEOUT = "60s"  # how long a PostgreSQL restore waits for the tables' locks


class BackupError(CourseError):
    """A backup or a restore that cannot be made; the message says why, and what to do."""


def course_settings(course: Path) -> tuple[str, str]:
    """(db_url, course_id) of the course in the folder."""
    coursedir = CourseDirectory(config=load_config(course))
    return str(coursedir.db_url), str(coursedir.course_id)


def stamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


# --- SQLite -------------------------------------------------------------------------------------


def _timeout(db_url: str) -> float:
    given = make_url(db_url).query.get("timeout", PREPARE_TIMEOUT)
    return max(float(given if not isinstance(given, tuple) else given[0]), PREPARE_TIMEOUT)


def _sqlite_copy(source: Path, dest: Path, timeout: float) -> None:
    """Copy a SQLite database with the online backup, into dest written whole (a temporary
    file beside it, renamed), a single file (journal mode DELETE), checked."""
    temporary = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    temporary.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=timeout)
    out = sqlite3.connect(temporary)
    try:
        src.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")
        (verdict,) = out.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"the copy of {source} is damaged: {verdict}")
    finally:
        out.close()
        src.close()
    os.chmod(temporary, 0o600)  # the class's grades: its owner's only
    os.replace(temporary, dest)


def sqlite_course_id(path: Path) -> str | None:
    """The course id a SQLite gradebook holds (None: not a gradebook)."""
    try:
        db = sqlite3.connect(path)
        try:
            row = db.execute("SELECT id FROM course").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None
    return None if row is None else str(row[0])


def sqlite_counts(path: Path) -> str:
    db = sqlite3.connect(path, timeout=PREPARE_TIMEOUT)
    try:
        students = db.execute("SELECT count(*) FROM student").fetchone()[0]
        submissions = db.execute("SELECT count(*) FROM submitted_assignment").fetchone()[0]
    finally:
        db.close()
    return f"{students} student(s), {submissions} submission(s)"


def sqlite_backup(db_url: str, dest: Path) -> str:
    source = sqlite_path(db_url)
    assert source is not None
    if not source.is_file():
        raise BackupError(f"there is no gradebook at {source} yet")
    _sqlite_copy(source, dest, _timeout(db_url))
    return f"Backed up the gradebook {source} ({sqlite_counts(dest)}) to {dest}."


def sqlite_restore(db_url: str, backup: Path, course_id: str) -> str:
    live = sqlite_path(db_url)
    assert live is not None
    found = sqlite_course_id(backup)
    if found != course_id:
        what = "not a gradebook" if found is None else f"the gradebook of course {found!r}"
        raise BackupError(f"{backup} is {what}, not one of {course_id!r}: nothing was changed")
    lines = []
    if live.is_file():
        kept = live.with_name(f"{live.name}.before-restore-{stamp()}")
        _sqlite_copy(live, kept, _timeout(db_url))
        lines.append(f"The gradebook as it was is kept in {kept}.")
    src = sqlite3.connect(backup)
    out = sqlite3.connect(live, timeout=_timeout(db_url))
    try:
        src.backup(out)
    except sqlite3.OperationalError as error:
        raise BackupError(f"{live} could not be written: {error}; nothing was changed") from None
    finally:
        out.close()
        src.close()
    prepare(db_url)  # WAL again, where the backup's single file had the journal DELETE
    lines.append(f"Restored {live} from {backup} ({sqlite_counts(live)}).")
    return "\n".join(lines)


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgresql_tool(name: str) -> str:
    """pg_dump or pg_restore: the newest of Debian's PostgreSQL versions, else the one on
    PATH (it must be at least the server's version)."""
    found = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: float(Path(p).parent.parent.name),
    )
    tool = found[-1] if found else shutil.which(name)
    if tool is None:
        raise BackupError(
            f"{name} is not installed: install PostgreSQL's client (Debian: postgresql-client)"
        )
    return tool


def postgresql_environment(db_url: str) -> dict[str, str]:
    """libpq's settings of the URL (host, unix-socket folder, port, user, password, database)."""
    url = make_url(db_url)
    env = dict(os.environ)
    host = url.query.get("host", url.host)
    port = url.query.get("port", url.port)
    settings = {
        "PGHOST": host[0] if isinstance(host, tuple) else host,
        "PGPORT": port[0] if isinstance(port, tuple) else port,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    env.update({name: str(value) for name, value in settings.items() if value})
    return env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {detail[-1] if detail else done.returncode}")


def postgresql_backup(db_url: str, dest: Path) -> str:
    env = postgresql_environment(db_url)
    temporary = dest.with_name(f".{dest.name}.{os.getpid()}.partial")
    try:
        _run([postgresql_tool("pg_dump"), "--format=custom", f"--file={temporary}"], env, "pg_dump")
        os.chmod(temporary, 0o600)  # the class's grades: its owner's only
        os.replace(temporary, dest)
    finally:
        temporary.unlink(missing_ok=True)
    return f"Backed up the gradebook {env['PGDATABASE']} (PostgreSQL, pg_dump) to {dest}."


def postgresql_restore(db_url: str, backup: Path) -> str:
    env = postgresql_environment(db_url)
    listed = subprocess.run(
        [postgresql_tool("pg_restore"), "--list", str(backup)], env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    if listed.returncode != 0 or "TABLE public course" not in listed.stdout:
        raise BackupError(f"{backup} is not a pg_dump of a gradebook: nothing was changed")
    kept = backup.with_name(f"{env['PGDATABASE']}.before-restore-{stamp()}.dump")
    postgresql_backup(db_url, kept)
    env["PGOPTIONS"] = f"-c lock_timeout={LOCK_TIMEOUT}"
    _run(
        [postgresql_tool("pg_restore"), "--clean", "--if-exists", "--single-transaction",
         "--no-owner", "--exit-on-error", f"--dbname={env['PGDATABASE']}", str(backup)],
        env,
        f"pg_restore (the database is as it was; a session that held its tables for more "
        f"than {LOCK_TIMEOUT} makes it fail: try again)",
    )  # fmt: skip
    return (
        f"The gradebook as it was is kept in {kept}.\n"
        f"Restored {env['PGDATABASE']} (PostgreSQL) from {backup}."
    )


# --- the command ----------------------------------------------------------------------------------


def backup(course: Path, dest: Path) -> str:
    db_url, _ = course_settings(course)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if sqlite_path(db_url) is not None:
        return sqlite_backup(db_url, dest)
    if make_url(db_url).get_backend_name() == "postgresql":
        return postgresql_backup(db_url, dest)
    raise BackupError(f"the gradebook {db_url} is neither SQLite nor PostgreSQL")


def restore(course: Path, source: Path) -> str:
    db_url, course_id = course_settings(course)
    if not source.is_file():
        raise BackupError(f"there is no backup {source}")
    if sqlite_path(db_url) is not None:
        return sqlite_restore(db_url, source, course_id)
    if make_url(db_url).get_backend_name() == "postgresql":
        return postgresql_restore(db_url, source)
    raise BackupError(f"the gradebook {db_url} is neither SQLite nor PostgreSQL")
