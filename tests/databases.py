"""A throwaway PostgreSQL server for the tests, from Debian's postgresql package.

`make test` installs the package when it is missing (`make db-deps`); no server needs to be
running. The session fixture `postgresql` runs the package's initdb into a temporary folder
owned by the `postgres` user (as root; otherwise as oneself), starts the cluster with pg_ctl on
a unix socket in that folder (no TCP), yields a factory whose every call creates a fresh
database and returns its SQLAlchemy URL, and stops the server at the end:

    from databases import postgresql_server  # noqa: F401 (registers the fixture)

    def test_something(postgresql):
        url = postgresql()  # postgresql+psycopg2://postgres@/gradebook_1?host=...&port=...

Without PostgreSQL or psycopg2 the tests that use it fail, with the fix: they never skip.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

INSTALL = (
    "run `make db-deps` (Debian's postgresql package, which brings initdb and pg_ctl) and "
    "`pip install -r requirements.txt` (psycopg2-binary)"
)


def postgresql_bin():
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, or None."""
    found = [
        Path(p).parent
        for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
        if (Path(p).parent / "pg_ctl").is_file()
    ]
    return max(found, key=lambda p: float(p.parent.name), default=None)


def free_port():
    """A TCP port nobody listens on (the server listens on none: the port names its socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running cluster; calling it creates a new database and returns its SQLAlchemy URL."""

    def __init__(self, bindir, folder, user):
        self.bindir, self.folder, self.user = bindir, Path(folder), user
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = free_port()
        self.count = 0

    def _run(self, *command, timeout=120):
        """A command of the cluster's, as its owner; the CompletedProcess (raises on failure,
        with the output)."""
        owner = {"user": self.user} if os.geteuid() == 0 else {}
        result = subprocess.run(
            [str(c) for c in command], capture_output=True, text=True, timeout=timeout,
            cwd=self.folder, **owner,
        )  # fmt: skip
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(map(str, command))} failed:\n{result.stdout}{result.stderr}{log}"
            )
        return result

    def start(self):
        self._run(
            self.bindir / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{self.folder}' -p {self.port} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            self.bindir / "pg_ctl", "start", "-D", self.data, "-l", self.log, "-w", "-t", "60",
            "-o", options,
        )  # fmt: skip

    def stop(self):
        """Stop the server: pg_ctl's fast shutdown, else the postmaster killed."""
        pidfile = self.data / "postmaster.pid"
        if not pidfile.exists():
            return
        pid = int(pidfile.read_text().split()[0])
        try:
            self._run(self.bindir / "pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w")
        except (RuntimeError, subprocess.TimeoutExpired):
            try:
                os.kill(pid, signal.SIGQUIT)  # the postmaster's immediate shutdown
            except ProcessLookupError:
                pass

    def url(self, database):
        return f"postgresql+psycopg2://postgres@/{database}?host={self.folder}&port={self.port}"

    def admin(self, sql):
        """Run a statement as the server's superuser, outside any transaction (CREATE
        DATABASE, ALTER DATABASE ...)."""
        import psycopg2

        db = psycopg2.connect(dbname="postgres", user="postgres", host=self.folder, port=self.port)
        try:
            db.autocommit = True
            with db.cursor() as cursor:
                cursor.execute(sql)
        finally:
            db.close()

    def __call__(self):
        """A new, empty database on the server; its SQLAlchemy URL."""
        self.count += 1
        name = f"gradebook_{self.count}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session", name="postgresql")
def postgresql_server():
    """A PostgreSQL server for this test session: new_database() -> SQLAlchemy URL."""
    bindir = postgresql_bin()
    if bindir is None:
        pytest.fail(f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): {INSTALL}")
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        pytest.fail(f"psycopg2 is not installed: {INSTALL}")
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.fail(f"there is no `postgres` user to run the server as: {INSTALL}")
    # a short path in /tmp: the socket's path must fit in 107 bytes
    folder = tempfile.mkdtemp(prefix="pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, user=user)
    os.chmod(folder, 0o755)
    server = Server(bindir, folder, user)
    try:
        try:
            server.start()
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            pytest.fail(f"the PostgreSQL server did not start: {error}")
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
