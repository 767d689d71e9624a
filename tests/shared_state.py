"""The machine's shared state the suite touches: what it may change, and the proof it did not.

Tests of multi-user promises make real Unix accounts and groups; the accounts must reach this
checkout and its interpreter, and the "landlock" sandboxes started by root (private users of
group SANDBOX_GID) must reach the interpreter. A folder's POSIX ACL is one shared record:
`setfacl -m` and `setfacl -x` each read it whole and write it back, so two pytest workers that
grant and revoke entries on the same folder at the same time drop each other's entries (and
recompute its mask). The suite therefore never changes a shared folder's ACL from a test:

- `make setup` makes the course's environment with `python -m venv --copies` from an
  interpreter that every account can run (the Makefile's PYTHON), so on a checkout in an open
  folder nothing needs to be granted at all;
- where something on the way is still closed (a checkout under /root, an environment made
  before), `SessionPassage` lets one group made for the run (every account made by a test
  joins it) and the sandboxes' group through, once, in pytest's controller process before any
  worker starts, and puts each folder's ACL back as it was after the last worker has ended.

`Snapshot` records /root's ACL and those of the folders on the way, the accounts and groups
(/etc/passwd, /etc/group, /etc/shadow, /etc/gshadow) and what lies in /srv; the controller
takes one before the run and compares it after, and the run fails on any difference
(tests/conftest.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from harness import ROOT

# Set by the controller when it made the run's group: the accounts made by tests join it.
GROUP_VARIABLE = "COURSE_SUITE_GROUP"
ACCOUNT_FILES = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow")
SHARED_FOLDER = Path("/srv")


def reached_paths() -> list[Path]:
    """What other accounts run from this machine: the checkout, the environment's interpreter
    (the file itself), its standard library and its packages."""
    paths = [ROOT, Path(sys.executable), Path(sys.prefix) / "pyvenv.cfg"]
    paths += [Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib")]
    return [Path(os.path.realpath(path)) for path in paths]


def closed_folders(paths: list[Path]) -> list[Path]:
    """The folders on the way to paths that other accounts cannot pass through, in order."""
    found: list[Path] = []
    for path in paths:
        for folder in reversed(path.parents):
            if not folder.stat().st_mode & 0o001 and folder not in found:
                found.append(folder)
    return found


def acl_of(folder: Path) -> str:
    """The folder's whole ACL as getfacl prints it (numeric ids, absolute name); the same
    placeholder for every folder where getfacl is not installed (`make test` installs it)."""
    if shutil.which("getfacl") is None:
        return "(getfacl is not installed)"
    return subprocess.run(
        ["getfacl", "--absolute-names", "--numeric", str(folder)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@dataclass
class Snapshot:
    """The shared state a test run may touch, as text to compare."""

    parts: dict[str, str] = field(default_factory=dict)

    @classmethod
    def take(
        cls, acl_folders: list[Path] | None = None, shared_folder: Path = SHARED_FOLDER
    ) -> Snapshot:
        """The ACLs of acl_folders (default: /root and every folder on the way to what other
        accounts run), the account files and the listing of shared_folder."""
        if acl_folders is None:
            acl_folders = [Path("/root"), *(p for path in reached_paths() for p in path.parents)]
        parts: dict[str, str] = {}
        for folder in sorted(set(acl_folders)):
            if folder.is_dir():
                parts[f"ACL of {folder}"] = acl_of(folder)
        for name in ACCOUNT_FILES:
            if os.access(name, os.R_OK):
                parts[name] = Path(name).read_text()
        parts[f"{shared_folder}/"] = listing(shared_folder)
        return cls(parts)

    def differences(self, later: Snapshot) -> list[str]:
        """One line per part that changed, with the lines added and removed."""
        found = []
        for name in sorted(set(self.parts) | set(later.parts)):
            before, after = self.parts.get(name, ""), later.parts.get(name, "")
            if before != after:
                old, new = set(before.splitlines()), set(after.splitlines())
                gone = "; ".join(sorted(old - new)) or "nothing"
                added = "; ".join(sorted(new - old)) or "nothing"
                found.append(f"{name}: added {added!r}, removed {gone!r}")
        return found


def listing(folder: Path) -> str:
    """Every entry under folder with its mode and owner, one a line (links not followed)."""
    if not folder.is_dir():
        return ""
    lines = []
    for top, folders, files in os.walk(folder):
        for name in sorted(folders + files):
            info = os.lstat(os.path.join(top, name))
            lines.append(f"{os.path.join(top, name)} {info.st_mode:o} {info.st_uid}:{info.st_gid}")
        folders.sort()
    return "\n".join(lines)


@dataclass
class SessionPassage:
    """The run's one grant through closed folders: a group of its own for the accounts the
    tests make, and the sandboxes' group, each given `x` on every closed folder on the way to
    this checkout and its interpreter, and nothing more.

    Only pytest's controller process uses it, once: `grant` before the first worker starts,
    `revoke` after the last has ended. No two processes of the run ever write a folder's ACL
    at the same time, because only this one process writes them, and only while no test
    runs. `revoke` writes back each folder's ACL exactly as `grant` found it (mask included),
    rather than removing entries one by one."""

    group: str | None = None
    saved: dict[Path, str] = field(default_factory=dict)

    def grant(self) -> list[Path]:
        """Let the run's accounts and the sandboxes through; the folders it opened."""
        from instructor.grading.sandbox.isolation import SANDBOX_GID

        folders = closed_folders(reached_paths())
        if not folders:
            return []
        self.group = f"csuite{secrets.token_hex(3)}"
        subprocess.run(["groupadd", self.group], check=True, capture_output=True)
        os.environ[GROUP_VARIABLE] = self.group  # the workers, started after this, inherit it
        for folder in folders:
            self.saved[folder] = acl_of(folder)
            for entry in (f"g:{self.group}:x", f"g:{SANDBOX_GID}:x"):
                subprocess.run(["setfacl", "-m", entry, str(folder)], check=True)
        return folders

    def revoke(self) -> None:
        for acl in self.saved.values():  # each dump names its folder
            subprocess.run(["setfacl", "--restore=-"], input=acl, text=True, check=False)
        self.saved.clear()
        if self.group:
            subprocess.run(["groupdel", self.group], capture_output=True, check=False)
            os.environ.pop(GROUP_VARIABLE, None)
            self.group = None


def run_group() -> str | None:
    """The group the accounts made by tests join (None: nothing on the way is closed)."""
    return os.environ.get(GROUP_VARIABLE)


class SharedStateGuard:
    """pytest plugin of the controller process: the snapshot and the run's grant before the
    first worker starts (xdist starts them in its own pytest_sessionstart, which runs last),
    the grant revoked and the state compared after everything else has ended; a difference
    fails the run, each part named."""

    def __init__(self) -> None:
        self.before: Snapshot | None = None
        self.passage = SessionPassage()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.before = Snapshot.take()
        if os.geteuid() == 0:
            self.passage.grant()

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session):  # type: ignore[no-untyped-def]
        result = yield  # the workers stopped, the durations recorded, the summary printed
        self.passage.revoke()
        if self.before is None:
            return result
        changed = self.before.differences(Snapshot.take())
        if changed:
            reporter = session.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.section("the machine's shared state differs from the start", red=True)
                for line in changed:
                    reporter.line(line, red=True)
                reporter.line(
                    "(a test left this behind, or another process of the machine, such as a "
                    "second test run at the same time, changed it)"
                )
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return result
