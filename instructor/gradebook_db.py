"""The gradebook's database when several writers meet there.

Every writer of the course opens nbgrader's gradebook with SQLAlchemy's
`create_engine(c.CourseDirectory.db_url)`: nbgrader's commands, the Formgrader (as an
instructor types a manual score), the course's grading (grading/record.py) and a grading
service. The URL is set once, in nbgrader_config.py, and makes two databases work:

- SQLite (the default): `sqlite:///PATH?timeout=60`. The timeout, in seconds, is how long a
  writer that finds the database locked by another's transaction waits for it, where pysqlite
  waits 5 s and then fails with "database is locked". `prepare` below puts the file in WAL
  mode, recorded in the file itself: readers and a writer then proceed together (a reader
  never waits for a writer, nor a writer for readers), and writers take turns. WAL needs the
  file on a local disk (it shares memory between the processes of one machine).
- PostgreSQL: `postgresql+psycopg2://USER@HOST/DATABASE` (or `...@/DATABASE?host=SOCKETDIR`
  on a unix socket). The server locks rows and waits on its own; `prepare` does nothing.

`prepare(db_url)` is called where the course creates a gradebook (instructor/release.py,
grading/bundle.py `copy_assignment`, instructor/demo.py) and when a grading starts; a
long-running service calls it once at start.
"""

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

# How long prepare() waits for another writer before it changes the journal mode.
PREPARE_TIMEOUT = 60.0
# Where libpq looks for a server's unix socket when the URL names no host.
POSTGRESQL_SOCKET_DIR = "/var/run/postgresql"


def sqlite_path(db_url: str) -> Path | None:
    """The file of a SQLite gradebook URL (the query, e.g. `?timeout=60`, left out), or None
    for another database or an in-memory one."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database or "")


def local_folders(db_url: str) -> list[str]:
    """The folders of this machine through which the gradebook can be reached: a SQLite
    file's folder, or a PostgreSQL server's unix socket folder (the submissions' sandbox hides
    them). A server reached over the network has none."""
    path = sqlite_path(db_url)
    if path is not None:
        return [os.path.dirname(os.path.realpath(path))]
    url = make_url(db_url)
    if url.get_backend_name() != "postgresql":
        return []
    host = url.query.get("host", url.host)
    hosts: tuple[str | None, ...] | list[str | None] = host if isinstance(host, tuple) else [host]
    return [h if h else POSTGRESQL_SOCKET_DIR for h in hosts if not h or h.startswith("/")]


def prepare(db_url: str) -> str | None:
    """Make a gradebook ready for several writers; returns its SQLite journal mode ("wal"), or
    None for a server database.

    A SQLite file (created empty when missing, with its folder) is put in WAL mode, once: the
    mode stays in the file. A file system where WAL cannot work (a network share) keeps its
    mode, which is returned."""
    path = sqlite_path(db_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    given = make_url(db_url).query.get("timeout", PREPARE_TIMEOUT)
    timeout = float(given if not isinstance(given, tuple) else given[0])
    db = sqlite3.connect(path, timeout=max(timeout, PREPARE_TIMEOUT))
    try:
        (mode,) = db.execute("PRAGMA journal_mode").fetchone()
        if mode.lower() != "wal":
            (mode,) = db.execute("PRAGMA journal_mode=WAL").fetchone()
        return str(mode).lower()
    finally:
        db.close()
