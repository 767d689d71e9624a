"""Making the exchange's folders, or correcting them, and the check commands run before they
start.

`init` creates the course's folders in the exchange with the modes, owners and groups of
layout.py, or corrects them, and sets aside (with `replace`) a folder that belongs to somebody
else, such as a course folder a student created before the instructor did. `require_safe` is what
`watch`, `release` and `lab instructor` call before they start: the course's exchange, when
students cannot subvert it (check.py), else UnsafeExchange with the command that fixes it.
"""

from __future__ import annotations

import datetime
import os
import pwd
import shlex
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from traitlets.config import Config

from .check import check, describe
from .layout import (
    ROOT_MODE,
    ExchangeError,
    Layout,
    UnsafeExchange,
    Verdict,
    for_config,
    login,
    mode_text,
)

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
