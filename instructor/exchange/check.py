"""Who could subvert the exchange, and the one command that fixes it.

`check` follows every folder from `/` down to the exchange's folders (layout.py), symbolic links
resolved as the kernel resolves them, and computes which accounts other than root and the
instructor hold a permission they must not: POSIX ACL entries and the members of groups count.
`describe` and `advice` say what it found and the command that fixes it (make.py's `init`).
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import stat
import struct
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from .layout import ROOT_MODE, Layout, Problem, Verdict, login

R, W, X = 4, 2, 1
_ACL = "system.posix_acl_access"
_ACL_USER, _ACL_GROUP_OBJ, _ACL_GROUP, _ACL_MASK = 0x02, 0x04, 0x08, 0x10
_MAX_LINKS = 40  # as the kernel's limit on symbolic links in one path
_MAX_WALK = 20000  # entries of outbound looked at, at most


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
