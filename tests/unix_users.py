"""Real Unix users for the tests of multi-user and unprivileged promises.

A shared server gives every student and instructor a login of their own, and an instructor
there is not root. A test of such a promise creates the real situation: `unix_user()` makes a
throwaway account with `useradd`, `User.run` runs a command as that account (its own uid, gid
and groups, a clean environment, no capability), and everything is removed afterwards: the
account, its home, its processes and the access it was given.

Creating users needs root, which CI has. Elsewhere the tests that need it are skipped with the
reason (`needs_root`).

The account must reach this checkout and its interpreter. `make setup` makes the environment
from an interpreter that every account can run, so that on a checkout in an open folder nothing
needs to be granted; where a folder on the way is still closed, the run's controller process
has let one group through it, once, before any test started, and every account made here joins
that group (tests/shared_state.py says why no test changes a shared folder's ACL itself).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from shared_state import run_group

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="creating Unix users for the test needs root (CI runs as root)"
)


@dataclass
class User:
    """A throwaway Unix account made by `unix_user`."""

    name: str
    uid: int
    gid: int
    home: Path
    groups: tuple[str, ...] = ()

    def env(self, **extra: str) -> dict[str, str]:
        """A clean login environment for this account, with this interpreter's scripts first
        on PATH (nbgrader, jupyter)."""
        path = os.pathsep.join(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        )
        base = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": path,
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return {**base, **extra}

    def command(
        self, argv: Sequence[str | os.PathLike[str]], env: dict[str, str] | None = None
    ) -> list[str]:
        """argv as this account: setpriv with its uid, gid and supplementary groups, no
        capability kept, and `env -i` with its environment."""
        environment = self.env() if env is None else env
        return [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--",
            "env", "-i", *(f"{k}={v}" for k, v in environment.items()),
            *map(str, argv),
        ]  # fmt: skip

    def run(
        self,
        argv: Sequence[str | os.PathLike[str]],
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = 900,
        check: bool = False,
        **kwargs: object,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv as this account; the CompletedProcess, output captured as text."""
        return subprocess.run(
            self.command(argv, env), cwd=cwd or self.home, capture_output=True, text=True,
            timeout=timeout, check=check, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    def popen(
        self,
        argv: Sequence[str | os.PathLike[str]],
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        **kwargs: object,
    ) -> subprocess.Popen[str]:
        """Start argv as this account (text mode); the Popen."""
        return subprocess.Popen(
            self.command(argv, env),
            cwd=cwd or self.home,
            text=True,
            **kwargs,  # type: ignore[arg-type]
        )

    def python(
        self, *args: str | os.PathLike[str], **kwargs: object
    ) -> subprocess.CompletedProcess[str]:
        """This checkout's interpreter run as this account."""
        return self.run([sys.executable, *args], **kwargs)  # type: ignore[arg-type]

    def give(self, path: str | os.PathLike[str]) -> Path:
        """Make this account the owner of path and everything under it; return it."""
        path = Path(path)
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(path)], check=True)
        return path

    def folder(self, name: str = "work") -> Path:
        """A new empty folder of this account's, outside pytest's private temporary folders
        (which only root can reach)."""
        folder = Path(tempfile.mkdtemp(prefix=f"{self.name}-{name}-"))
        os.chmod(folder, 0o755)
        return self.give(folder)

    def set_password(self, password: str) -> None:
        """Give this account a password (for a login through PAM, as JupyterHub's)."""
        subprocess.run(
            ["chpasswd"], input=f"{self.name}:{password}\n", text=True, check=True,
            capture_output=True,
        )  # fmt: skip

    def make_home_private(self) -> None:
        """Close this account's home to other users (mode 0700), as a shared server must."""
        os.chmod(self.home, 0o700)

    def remove(self) -> None:
        subprocess.run(["pkill", "-KILL", "-u", self.name], capture_output=True, check=False)
        # userdel refuses an account that still has a process, and a killed process takes a
        # moment to end: wait for the last one (at most 10 s)
        deadline = time.monotonic() + 10
        while (
            time.monotonic() < deadline
            and subprocess.run(
                ["pgrep", "-u", self.name], capture_output=True, check=False
            ).returncode
            == 0
        ):
            time.sleep(0.1)
        subprocess.run(["userdel", "--remove", self.name], capture_output=True, check=False)
        for leftover in Path(tempfile.gettempdir()).glob(f"{self.name}-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def _require_tools() -> None:
    missing = [tool for tool in ("useradd", "setpriv") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} not found: install Debian's passwd and util-linux packages"
        )


def new_name(prefix: str) -> str:
    """A login name that no other test uses: the prefix and 6 random letters or digits."""
    return f"{prefix}{secrets.token_hex(3)}"[:32]


@contextmanager
def unix_group(prefix: str = "tgroup") -> Iterator[str]:
    """A new Unix group with a random name, removed on exit; yields its name."""
    _require_tools()
    name = new_name(prefix)
    subprocess.run(["groupadd", name], check=True, capture_output=True)
    try:
        yield name
    finally:
        subprocess.run(["groupdel", name], capture_output=True, check=False)


@contextmanager
def unix_user(prefix: str = "tuser", groups: Sequence[str] = ()) -> Iterator[User]:
    """A new Unix account with a home of its own, which can run this checkout's interpreter;
    removed on exit with its home and its processes.

    prefix -- the start of its login name (a random part follows)
    groups -- supplementary groups (they must exist: `unix_group` makes one)
    """
    _require_tools()
    name = new_name(prefix)
    joined = [*groups, *filter(None, [run_group()])]
    extra = ["--groups", ",".join(joined)] if joined else []
    subprocess.run(
        ["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", *extra, name],
        check=True, capture_output=True,
    )  # fmt: skip
    info = pwd.getpwnam(name)
    user = User(name, info.pw_uid, info.pw_gid, Path(info.pw_dir), tuple(groups))
    try:
        yield user
    finally:
        user.remove()
