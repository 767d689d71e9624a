"""The exchange's folders, and who may change them: what `python -m instructor exchange` makes
and what `watch`, `release` and `lab instructor` check before they start.

On a shared server every student is a Unix user with a login of their own, and nbgrader's
exchange is a folder they all reach. nbgrader asks for its root to be writable by everyone
(students' commands refuse to run otherwise), and makes the course's folders as the instructor
runs `release_assignment`. With the root made as nbgrader's documentation says (`chmod 777`), any
student can rename the course's folder, put a folder of their own in its place and have every
classmate fetch their notebook (jupyter/nbgrader#1225); a student who creates the course's
folder before the instructor owns the course; inbound without the sticky bit lets a student
rename or delete a classmate's submission whose name they learnt; a listable inbound or
feedback folder gives every name away (jupyter/nbgrader#978). The permissions below let every
student fetch, submit and fetch feedback, and nothing else:

    <root>/                       1777  root's (a system path) or the instructor's: anyone may
                                        create a folder, nobody may rename or delete another's
                                        (the sticky bit); nbgrader wants it writable by all
      <course>/                   0755  the instructor's
        outbound/                 0755  the instructor's: released assignments, read by all
        inbound/                  3733  the instructor's: anyone may add a submission; nobody
                                        may list the folder (setgid: the instructor's group;
                                        sticky: nobody renames or deletes another's entry)
        feedback/                 0711  the instructor's: a page is fetched by a name only its
                                        student can compute; nobody may list the folder

check.py's `check` computes, for every folder from `/` down to these (symbolic links resolved as the
kernel resolves them, POSIX ACL entries and group members counted), which accounts other than
root and the instructor could rename, replace or list what they must not. A folder that no
such account can even pass through (a course copy under a private home, a test's temporary
folder) makes everything under it private: nothing there is at risk, and nothing is reported.
make.py's `init` creates the folders, or corrects their modes, owners and groups, and sets aside (with
`replace`) a folder that belongs to somebody else, such as a course folder a student created
before the instructor did.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default.exchange import Exchange
from traitlets.config import Config

from ..errors import CourseError

ROOT_MODE = 0o1777
COURSE_MODE = 0o755
OUTBOUND_MODE = 0o755
INBOUND_MODE = 0o3733
FEEDBACK_MODE = 0o711


class ExchangeError(CourseError):
    """The exchange cannot be used as it is, or cannot be made; the message says why and what
    to do."""


class UnsafeExchange(ExchangeError):
    """Students could subvert the exchange; str() lists how and gives the command that fixes
    it."""

    def __init__(self, message: str, problems: list[Problem]):
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """One way a student could subvert the exchange, or one folder it still lacks."""

    path: Path
    reason: str
    where: str = "layout"  # "layout": init fixes it; "outside": a folder above the root

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class Layout:
    """The exchange's folders for one course."""

    root: Path
    course_id: str

    @property
    def course(self) -> Path:
        return self.root / self.course_id

    @property
    def outbound(self) -> Path:
        return self.course / "outbound"

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"

    def folders(self) -> list[tuple[Path, int]]:
        """(folder, mode) of the course's folders, parents first."""
        return [
            (self.course, COURSE_MODE),
            (self.outbound, OUTBOUND_MODE),
            (self.inbound, INBOUND_MODE),
            (self.feedback, FEEDBACK_MODE),
        ]


@dataclass
class Verdict:
    """What `check` found: the problems (none: safe), and whether nobody but root and the
    instructor can even reach the exchange (private)."""

    layout: Layout
    instructor: int
    problems: list[Problem] = field(default_factory=list)
    private: bool = False
    notes: list[str] = field(default_factory=list)  # what students could not do (not unsafe)

    @property
    def safe(self) -> bool:
        return not self.problems


def login(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def uid_of(name: str) -> int:
    """The uid of a login (or of a number given as text); ExchangeError when unknown."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        if name.isdigit():
            return int(name)
        raise ExchangeError(f"There is no account named {name!r} on this machine.") from None


def mode_text(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


# --- the course's exchange ---------------------------------------------------------------------


def for_config(config: Config) -> Layout:
    """The exchange layout of a loaded nbgrader configuration (its Exchange.root, with
    nbgrader's default, and its course id)."""
    root = Exchange(config=config).root
    return Layout(Path(os.path.abspath(root)), CourseDirectory(config=config).course_id)
