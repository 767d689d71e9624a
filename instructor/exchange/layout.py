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

`check` computes, for every folder from `/` down to these (symbolic links resolved as the
kernel resolves them, POSIX ACL entries and group members counted), which accounts other than
root and the instructor could rename, replace or list what they must not. A folder that no
such account can even pass through (a course copy under a private home, a test's temporary
folder) makes everything under it private: nothing there is at risk, and nothing is reported.
`init` creates the folders, or corrects their modes, owners and groups, and sets aside (with
`replace`) a folder that belongs to somebody else, such as a course folder a student created
before the instructor did.
"""

from __future__ import annotations

import datetime
import grp
import os
import pwd
import shlex
import stat
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traitlets.config import Config

from ..errors import CourseError

ROOT_MODE = 0o1777
COURSE_MODE = 0o755
OUTBOUND_MODE = 0o755
INBOUND_MODE = 0o3733
FEEDBACK_MODE = 0o711

R, W, X = 4, 2, 1
_ACL = "system.posix_acl_access"
_ACL_USER, _ACL_GROUP_OBJ, _ACL_GROUP, _ACL_MASK = 0x02, 0x04, 0x08, 0x10
_MAX_LINKS = 40  # as the kernel's limit on symbolic links in one path
_MAX_WALK = 20000  # entries of outbound looked at, at most


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


# --- who, besides root and the instructor, holds a permission ---------------------------------


def _acl(path: Path) -> list[tuple[int, int, int]] | None:
    """The POSIX access ACL's entries (tag, permission, id) of path, or None without one."""
    try:
        data = os.getxattr(path, _ACL, follow_symlinks=False)
    except OSError:
        return None
    if len(data) < 4:
        return None
    return [struct.unpack_from("<HHI", data, at) for at in range(4, len(data) - 7, 8)]


@cache
def _accounts() -> tuple[tuple[int, int, str], ...]:
    return tuple((p.pw_uid, p.pw_gid, p.pw_name) for p in pwd.getpwall())


@cache
def _members(gid: int) -> frozenset[int]:
    """The uids of a group's members: listed in the group, or with it as primary group."""
    try:
        names = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        names = set()
    return frozenset(uid for uid, primary, name in _accounts() if primary == gid or name in names)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return f"gid {gid}"


class _Who:
    """Who holds a permission on a folder, other than the trusted accounts (root and the
    instructor); the holders as short phrases ("every user", "group students (ann, bob)")."""

    def __init__(self, trusted: Iterable[int]):
        self.trusted = frozenset(trusted)

    def holders(self, path: Path, info: os.stat_result, bits: int) -> list[str]:
        mode = info.st_mode
        found = []
        if mode & bits == bits:  # the "other" class
            found.append("every user")
        group_perm, named_users, named_groups = (mode >> 3) & 7, [], []
        entries = _acl(path)
        if entries:
            mask = next((perm for tag, perm, _ in entries if tag == _ACL_MASK), 7)
            for tag, perm, ident in entries:
                if tag == _ACL_GROUP_OBJ:
                    group_perm = perm & mask
                elif tag == _ACL_USER:
                    named_users.append((ident, perm & mask))
                elif tag == _ACL_GROUP:
                    named_groups.append((ident, perm & mask))
        for uid, perm in named_users:
            if perm & bits == bits and uid not in self.trusted:
                found.append(f"user {login(uid)}")
        for gid, perm in [(info.st_gid, group_perm), *named_groups]:
            if perm & bits != bits:
                continue
            others = sorted(login(u) for u in _members(gid) - self.trusted - {info.st_uid})
            if others:
                shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
                found.append(f"group {_group_name(gid)} ({shown})")
        return found


def _phrase(holders: list[str]) -> str:
    return " and ".join(holders)


# --- the check ---------------------------------------------------------------------------------


class _Checker:
    def __init__(self, layout: Layout, instructor: int):
        self.layout = layout
        self.instructor = instructor
        self.who = _Who({0, instructor})
        self.verdict = Verdict(layout, instructor)
        self._said: set[tuple[Path, str]] = set()

    def problem(self, path: Path, reason: str, where: str = "layout") -> None:
        if (path, reason) not in self._said:
            self._said.add((path, reason))
            self.verdict.problems.append(Problem(path, reason, where))

    def private(self, folder: Path, info: os.stat_result) -> bool:
        """Nobody but root and the instructor can pass through this folder."""
        return not self.who.holders(folder, info, X)

    def owner(self, path: Path, info: os.stat_result, where: str) -> None:
        if info.st_uid not in self.who.trusted:
            self.problem(
                path,
                f"belongs to {login(info.st_uid)}, who can replace it and everything in it",
                where,
            )

    def writers(
        self, folder: Path, info: os.stat_result, where: str, sticky_is_enough: bool
    ) -> None:
        """A folder that others may write into: with the sticky bit they can only add entries
        of their own (enough for the root and inbound), without it they can rename or delete
        any entry."""
        holders = self.who.holders(folder, info, W | X)
        if not holders:
            return
        if sticky_is_enough and info.st_mode & stat.S_ISVTX:
            return
        if sticky_is_enough:
            reason = (
                f"{_phrase(holders)} may write in it and it has no sticky bit: they can rename, "
                "replace or delete what others put there"
            )
        else:
            reason = f"{_phrase(holders)} may write in it: they can rename or replace what it holds"
        self.problem(folder, reason, where)

    def chain(self, target: Path) -> tuple[Path, os.stat_result] | None:
        """Walk from / to target as the kernel resolves it, checking every folder on the way;
        (the real folder, its stat) at the end, or None when the walk stopped: a private
        folder (verdict.private), or a missing one (a problem)."""
        current, info = Path("/"), os.stat("/")
        self.owner(current, info, "outside")
        parts = list(Path(os.path.abspath(target)).parts[1:])
        links = 0
        while parts:
            name = parts.pop(0)
            if name in ("", "."):
                continue
            if self.private(current, info):
                self.verdict.private = True
                return None
            if name == "..":
                current = current.parent
                info = os.stat(current)
                continue
            self.writers(current, info, "outside", sticky_is_enough=True)
            entry = current / name
            try:
                entry_info = os.lstat(entry)
            except FileNotFoundError:
                self.problem(entry, "does not exist yet")
                return None
            except OSError as error:
                self.problem(entry, f"cannot be examined ({error.strerror})", "outside")
                return None
            self.owner(entry, entry_info, "outside")
            if stat.S_ISLNK(entry_info.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    self.problem(entry, "too many symbolic links on the way", "outside")
                    return None
                pointed = os.readlink(entry)
                if os.path.isabs(pointed):
                    current, info = Path("/"), os.stat("/")
                parts = [p for p in Path(pointed).parts if p != "/"] + parts
                continue
            if not stat.S_ISDIR(entry_info.st_mode):
                self.problem(entry, "is not a folder", "outside")
                return None
            current, info = entry, entry_info
        if self.private(current, info):
            self.verdict.private = True
            return None
        return current, info

    def run(self) -> Verdict:
        layout = self.layout
        reached = self.chain(layout.root)
        if reached is None:
            return self.verdict
        root, root_info = reached
        self.writers(root, root_info, "layout", sticky_is_enough=True)
        self.usable(layout.root, root_info, W | X, "nbgrader's commands refuse to run for them")
        parent = root
        for folder, _ in layout.folders():
            real = parent / folder.name
            try:
                info = os.lstat(real)
            except FileNotFoundError:
                self.problem(folder, "does not exist yet")
                if folder == layout.course:
                    return self.verdict
                continue
            if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
                kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a folder"
                self.problem(folder, f"is {kind}, not a folder of the instructor's")
                if folder == layout.course:
                    return self.verdict
                continue
            if info.st_uid != self.instructor:
                if info.st_uid in self.who.trusted:
                    reason = (
                        f"belongs to {login(info.st_uid)}, not to the instructor "
                        f"{login(self.instructor)}: nbgrader refuses to release into it"
                    )
                else:
                    reason = (
                        f"belongs to {login(info.st_uid)}, not to the instructor "
                        f"{login(self.instructor)}: whoever made it controls what students "
                        "fetch and where they submit"
                    )
                self.problem(folder, reason)
            if folder == layout.course:
                if info.st_uid not in self.who.trusted:
                    return self.verdict  # what lies under it is its owner's to change
                self.writers(real, info, "layout", sticky_is_enough=False)
                parent = real
            elif folder == layout.inbound:
                self.writers(real, info, "layout", sticky_is_enough=True)
                self.usable(folder, info, W | X, "they cannot submit")
                listers = self.who.holders(real, info, R)
                if listers:
                    self.problem(
                        folder,
                        f"{_phrase(listers)} may list it: the name of a classmate's submission, "
                        "whose folder nbgrader's submit leaves writable by all, is then known",
                    )
            elif folder == layout.feedback:
                self.writers(real, info, "layout", sticky_is_enough=False)
                self.usable(folder, info, X, "they cannot fetch their feedback")
                listers = self.who.holders(real, info, R)
                if listers:
                    self.problem(
                        folder,
                        f"{_phrase(listers)} may list it, and so read every student's feedback",
                    )
            else:
                self.writers(real, info, "layout", sticky_is_enough=False)
                self.usable(folder, info, R | X, "they cannot fetch the assignments")
                self.released(real)
        return self.verdict

    def usable(self, folder: Path, info: os.stat_result, bits: int, otherwise: str) -> None:
        """A note when students (every user) lack what they need on a folder."""
        if info.st_mode & bits != bits:
            self.verdict.notes.append(f"{folder}: students may not use it so ({otherwise})")

    def released(self, outbound: Path) -> None:
        """Every file and folder of the released assignments: the instructor's (or root's),
        and writable by nobody else."""
        seen = 0
        stack = [outbound]
        while stack and seen < _MAX_WALK:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                seen += 1
                path = Path(entry.path)
                info = entry.stat(follow_symlinks=False)
                self.owner(path, info, "layout")
                if stat.S_ISDIR(info.st_mode):
                    self.writers(path, info, "layout", sticky_is_enough=False)
                    stack.append(path)
                elif not stat.S_ISLNK(info.st_mode):
                    holders = self.who.holders(path, info, W)
                    if holders:
                        self.problem(path, f"{_phrase(holders)} may change it")


def check(layout: Layout, instructor: int | None = None) -> Verdict:
    """The problems of an exchange run by the account `instructor` (default: this process's)."""
    _accounts.cache_clear()  # accounts made since the last check (a service runs for a term)
    _members.cache_clear()
    return _Checker(layout, os.geteuid() if instructor is None else instructor).run()


# --- the fix -----------------------------------------------------------------------------------


def fix_command(
    layout: Layout, instructor: int, problems: list[Problem], course: Path | None = None
) -> str:
    """The one command that fixes the layout's problems, run from the course root; problems
    above the exchange's root are for the administrator (see `advice`)."""
    needs_root = instructor != 0 and _needs_root(layout, instructor, problems)
    command = [sys.executable, "-m", "instructor", "exchange", "init", "--root", str(layout.root)]
    if needs_root:
        command += ["--owner", login(instructor)]
    if any(_foreign(p, layout, instructor) for p in problems if p.where == "layout"):
        command.append("--replace")
    text = ("sudo " if needs_root else "") + shlex.join(command)
    return f"cd {shlex.quote(str(course))} && {text}" if course else text


def _foreign(problem: Problem, layout: Layout, instructor: int) -> bool:
    """A folder of the course in the exchange that belongs to neither root nor the instructor,
    or is not a folder: init sets it aside only when told to (--replace)."""
    if problem.path == layout.root:
        return False
    try:
        info = os.lstat(problem.path)
    except OSError:
        return False
    odd = problem.path in [f for f, _ in layout.folders()] and not stat.S_ISDIR(info.st_mode)
    return odd or info.st_uid not in (0, instructor)


def _needs_root(layout: Layout, instructor: int, problems: list[Problem]) -> bool:
    """Whether `init` needs root to fix these problems: the root to create where the
    instructor cannot, or to change when it is not theirs; a folder to give to the instructor
    (root's) or to set aside where the instructor cannot rename it."""
    root = layout.root
    if not os.path.lexists(root):
        parent = root.parent
        while not os.path.lexists(parent):
            parent = parent.parent
        info = os.stat(parent)
        return info.st_uid != instructor and not info.st_mode & 0o002
    info = os.stat(root)
    if info.st_uid != instructor and stat.S_IMODE(info.st_mode) != ROOT_MODE:
        return True
    for problem in problems:
        if problem.where != "layout" or problem.path == root:
            continue
        try:
            owner = os.lstat(problem.path).st_uid
            parent_owner = os.lstat(problem.path.parent).st_uid
        except OSError:
            continue
        if owner != instructor and (owner == 0 or parent_owner != instructor):
            return True
    return False


def advice(verdict: Verdict, course: Path | None = None) -> str:
    """What to do about the verdict's problems: the init command, and for folders above the
    exchange's root, what the administrator must change."""
    lines = []
    layout_problems = [p for p in verdict.problems if p.where == "layout"]
    outside = [p for p in verdict.problems if p.where == "outside"]
    if layout_problems:
        lines.append(
            "Fix: "
            + fix_command(verdict.layout, verdict.instructor, verdict.problems, course=course)
        )
    for problem in outside:
        lines.append(
            f"Above the exchange: make {problem.path} root's and writable by its owner only (as "
            f"root: chown root: {shlex.quote(str(problem.path))} && chmod go-w "
            f"{shlex.quote(str(problem.path))}), or put the exchange elsewhere (--root)."
        )
    return "\n".join(lines)


def describe(verdict: Verdict, course: Path | None = None) -> str:
    """The verdict as text: the problems, one per line, then what to do."""
    layout = verdict.layout
    if all(p.reason == "does not exist yet" for p in verdict.problems):
        state = "is not made yet"
    else:
        state = "is not safe: students could subvert it"
    head = f"The exchange at {layout.root} (course {layout.course_id}) {state}."
    body = "\n".join(f"  - {p}" for p in verdict.problems)
    return f"{head}\n{body}\n{advice(verdict, course)}"


# --- init --------------------------------------------------------------------------------------


def init(
    layout: Layout,
    owner: int | None = None,
    replace: bool = False,
    say: Callable[[str], None] = print,
) -> Verdict:
    """Create the exchange's folders for the course, or correct their modes and owners, as
    the account `owner` (default: this process's) will run it; return the check afterwards.

    Run as root, it can make the exchange for another account (a system path, for the
    instructor named); run by the instructor, only for themselves (a folder they own). A
    folder of the course that belongs to somebody else is set aside (renamed, left to be
    inspected) with `replace`; without it, init refuses and says so. Raises ExchangeError when
    it cannot do its part.
    """
    me = os.geteuid()
    owner = me if owner is None else owner
    if me != 0 and owner != me:
        raise ExchangeError(
            f"Only root can make the exchange for another account ({login(owner)}); run this "
            "as root, or as that account."
        )
    try:
        group = pwd.getpwuid(owner).pw_gid
    except KeyError:
        raise ExchangeError(f"There is no account with uid {owner}.") from None
    maker = _Maker(layout, owner, group, replace, say)
    maker.root()
    for folder, mode in layout.folders():
        maker.folder(folder, mode)
    maker.outbound()
    return check(layout, owner)


class _Maker:
    def __init__(
        self, layout: Layout, owner: int, group: int, replace: bool, say: Callable[[str], None]
    ) -> None:
        self.layout, self.owner, self.group = layout, owner, group
        self.replace, self.say = replace, say
        self.trusted = {0, owner}
        self.as_root = os.geteuid() == 0

    def _denied(self, path: Path, what: str) -> ExchangeError:
        return ExchangeError(
            f"{path}: {what} needs root. Run: sudo {sys.executable} -m instructor exchange init "
            f"--root {shlex.quote(str(self.layout.root))} --owner {login(self.owner)}"
            + (" --replace" if self.replace else "")
        )

    def root(self) -> None:
        root = self.layout.root
        if not os.path.lexists(root):
            missing = []
            parent = root
            while not os.path.lexists(parent):
                missing.append(parent)
                parent = parent.parent
            try:
                for folder in reversed(missing[1:]):
                    folder.mkdir(mode=0o755)
                    os.chmod(folder, 0o755)
                    self.say(f"created {folder} (0755, {login(os.geteuid())}'s)")
                root.mkdir()
            except PermissionError:
                raise self._denied(root, "creating the exchange here") from None
            os.chmod(root, ROOT_MODE)
            self.say(f"created {root} ({ROOT_MODE:04o}, {login(os.geteuid())}'s)")
            return
        info = os.stat(root)
        if not stat.S_ISDIR(info.st_mode):
            raise ExchangeError(f"{root} is not a folder: choose another place (--root).")
        if info.st_uid not in self.trusted:
            raise ExchangeError(
                f"{root} belongs to {login(info.st_uid)}, who could replace anything in it: "
                "choose another place for the exchange (--root), or have root remove it."
            )
        if stat.S_IMODE(info.st_mode) != ROOT_MODE:
            if info.st_uid != os.geteuid() and not self.as_root:
                raise self._denied(root, "changing its mode")
            os.chmod(root, ROOT_MODE)
            self.say(f"{root}: mode {mode_text(info.st_mode)} -> {ROOT_MODE:04o}")

    def set_aside(self, path: Path, info: os.stat_result) -> None:
        """Rename a folder that belongs to somebody else, beside itself, to be inspected."""
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f".{path.name}.set-aside-{stamp}-{login(info.st_uid)}")
        try:
            os.rename(path, aside)
        except PermissionError:
            raise self._denied(path, "setting aside a folder of another account") from None
        self.say(
            f"{path} belonged to {login(info.st_uid)}: set aside as {aside} (nothing reads it "
            "there; look at it, then remove it)"
        )

    def folder(self, path: Path, mode: int) -> None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            info = None
        if info is not None:
            foreign = info.st_uid not in self.trusted
            odd = stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode)
            if foreign or odd:
                if not self.replace:
                    what = f"belongs to {login(info.st_uid)}" if foreign else "is not a folder"
                    raise ExchangeError(
                        f"{path} {what}: somebody may have made it to take the course over. "
                        "Run again with --replace to set it aside and make the course's own "
                        "(what students submitted there is kept, set aside with it)."
                    )
                self.set_aside(path, info)
                info = None
        if info is None:
            try:
                path.mkdir()
            except PermissionError:
                raise self._denied(path, "creating it") from None
            self.take(path)
            os.chmod(path, mode)
            self.say(f"created {path} ({mode:04o}, {login(self.owner)}'s)")
            return
        if info.st_uid != self.owner or info.st_gid != self.group:
            self.take(path, info)
        if stat.S_IMODE(info.st_mode) != mode:
            os.chmod(path, mode)
            self.say(f"{path}: mode {mode_text(info.st_mode)} -> {mode:04o}")

    def take(self, path: Path, info: os.stat_result | None = None) -> None:
        """Give path to the owner and their group: root does it; the owner's own folder needs
        nothing (its group stays as it is); another account's cannot be taken without root."""
        if info is not None and (info.st_uid, info.st_gid) == (self.owner, self.group):
            return
        if not self.as_root:
            if info is None or info.st_uid == self.owner:
                return
            raise self._denied(path, "giving it to its instructor")
        os.chown(path, self.owner, self.group, follow_symlinks=False)
        if info is not None and info.st_uid != self.owner:
            self.say(f"{path}: now {login(self.owner)}'s (was {login(info.st_uid)}'s)")

    def outbound(self) -> None:
        """Released assignments writable by nobody but the owner; one that belongs to
        somebody else is set aside (with replace), to be released again."""
        outbound = self.layout.outbound
        for entry in sorted(os.scandir(outbound), key=lambda e: e.name):
            path = Path(entry.path)
            foreign = [path] if entry.stat(follow_symlinks=False).st_uid not in self.trusted else []
            for folder, dirs, files in os.walk(path):
                for name in dirs + files:
                    if os.lstat(os.path.join(folder, name)).st_uid not in self.trusted:
                        foreign.append(Path(folder, name))
            if foreign:
                if not self.replace:
                    raise ExchangeError(
                        f"{foreign[0]} belongs to {login(os.lstat(foreign[0]).st_uid)}: the "
                        f"released assignment {entry.name} may not be yours any more. Run again "
                        "with --replace to set it aside, then release it again."
                    )
                self.set_aside(path, entry.stat(follow_symlinks=False))
                continue
            for folder, _dirs, files in os.walk(path):
                for name in ["", *files]:
                    target = Path(folder, name) if name else Path(folder)
                    info = os.lstat(target)
                    if stat.S_ISLNK(info.st_mode):
                        continue
                    if info.st_uid != self.owner and self.as_root:
                        os.chown(target, self.owner, self.group, follow_symlinks=False)
                    if info.st_mode & 0o022:
                        os.chmod(target, stat.S_IMODE(info.st_mode) & ~0o022)
                        self.say(f"{target}: no longer writable by others")


# --- the course's exchange ---------------------------------------------------------------------


def for_config(config: Config) -> Layout:
    """The exchange layout of a loaded nbgrader configuration (its Exchange.root, with
    nbgrader's default, and its course id)."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.exchange import Exchange

    root = Exchange(config=config).root
    return Layout(Path(os.path.abspath(root)), CourseDirectory(config=config).course_id)


def require_safe(
    config: Config,
    course: Path | None = None,
    create: bool = False,
    say: Callable[[str], None] = print,
) -> Layout:
    """The course's exchange layout, when students cannot subvert it; else UnsafeExchange,
    whose message lists the problems and the command that fixes them.

    create -- the course's own exchange folder: made as `init` makes it when missing, and its
    missing folders added when it is this account's; a folder with unsafe permissions is
    still refused (nothing is changed silently)."""
    layout = for_config(config)
    if not layout.course_id:
        raise ExchangeError("The course's nbgrader_config.py sets no course id.")
    if create and not os.path.lexists(layout.root):
        init(layout, say=say)
    verdict = check(layout)
    missing_only = all(p.reason == "does not exist yet" for p in verdict.problems)
    if create and verdict.problems and missing_only and os.stat(layout.root).st_uid == os.geteuid():
        verdict = init(layout, say=say)
    if not verdict.safe:
        raise UnsafeExchange(describe(verdict, course), verdict.problems)
    return layout
