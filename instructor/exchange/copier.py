"""Copying one submission folder of the exchange's inbound, trusting nothing in it.

collect() walks the folder through directory file descriptors, every entry opened with
O_NOFOLLOW, never a link, FIFO, socket, device or hard link; bounded in files, depth and size (a
folder of a million files costs a thousand entries); copied again when it changed while it was
copied; installed atomically (the previous copy stays when anything goes wrong). It reads
nothing outside the submission and writes nothing outside the destination and a temporary
folder beside it. Every reason is one line, names escaped by inbound.printable().
"""

import errno
import fnmatch
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NoReturn

from ..errors import CourseError
from .inbound import TIMESTAMP, Skipped, account_name, name_problem, printable

# Directories and files of the submission are opened relative to their folder's descriptor and
# never through a symbolic link; O_NONBLOCK so that a FIFO swapped in at the last moment does
# not block the open (it is then refused: not the regular file lstat saw).
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_GONE = {errno.ENOENT, errno.ENOTDIR, errno.ELOOP}  # an entry vanished or was swapped
_DENIED = {errno.EACCES, errno.EPERM}
_CHUNK = 1 << 20


class FolderRefused(CourseError):
    """A submission that cannot be collected; str(error) is a one-line reason, printable (no
    control characters)."""


class Incomplete(FolderRefused):
    """Not ready yet (no timestamp.txt: nbgrader's submit writes it last); try again later."""


# --- copying one submission ----------------------------------------------------------------------


@dataclass(frozen=True)
class Collected:
    """What collect() copied."""

    files: tuple[str, ...]  # relative paths copied (posix)
    skipped: tuple[Skipped, ...]  # (printable relative path, reason) of what was not
    size: int  # bytes copied


@dataclass(frozen=True)
class _Limits:
    ignore: tuple[str, ...]  # nbgrader's CourseDirectory.ignore: names left out silently
    include: tuple[str, ...]  # nbgrader's CourseDirectory.include: only these files (fnmatch)
    max_file_size: int  # bytes
    max_dir_size: int  # bytes
    max_files: int  # entries (files, folders, anything) in the whole submission
    max_depth: int  # folders below the submission's own
    owner: int | None = None  # with the owner check: the uid every entry must belong to


class _Changed(CourseError):
    """The submission changed under a walk (an entry vanished, grew or was swapped): this
    attempt is given up and the next one starts from a new snapshot."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "other"


_NOT_COPIED = {
    "link": "a symbolic link (not followed)",
    "fifo": "a FIFO (never opened: opening one blocks)",
    "socket": "a socket (never opened)",
    "device": "a device (never opened)",
    "other": "not a regular file (never opened)",
}


def _same(fd: int, seen: os.stat_result) -> None:
    """Raise _Changed unless an open descriptor is the entry that lstat saw (the same inode,
    type and, for a file, still a single name)."""
    now = os.fstat(fd)
    if (
        (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino)
        or stat.S_IFMT(now.st_mode) != stat.S_IFMT(seen.st_mode)
        or (stat.S_ISREG(now.st_mode) and now.st_nlink != 1)
    ):
        raise _Changed


class _Walk:
    """One pass over a submission folder, through directory file descriptors.

    Every entry it sees is lstat'ed once and recorded in `snapshot` (relative path, type, size,
    mtime, inode), so that passes can be compared. With `into` (an empty folder of ours), the
    pass also copies what may be copied; without it, it only looks (and counts, so that the
    limits refuse a submission before anything is copied).
    """

    def __init__(self, limits: _Limits, label: str, into: Path | None = None) -> None:
        self.limits, self.label, self.into = limits, label, into
        # (relative path, kind, size, mtime in ns, inode) of every entry seen, in order
        self.snapshot: list[tuple[str, str, int, int, int]] = []
        self.files: list[str] = []
        self.skipped: list[Skipped] = []
        self.size = 0
        self.entries = 0

    def run(self, top: int) -> "_Walk":
        # a descriptor of its own: a listing's position is shared by duplicated descriptors
        try:
            fd = os.open(".", _DIR_FLAGS, dir_fd=top)
        except OSError as error:
            raise FolderRefused(f"{self.label}: it could not be read ({error.strerror})") from None
        try:
            self._folder(fd, ())
        finally:
            os.close(fd)
        return self

    def _open(self, name: str, dir_fd: int, relative: str, flags: int) -> int | None:
        """A descriptor of a source entry; None when access is denied (skipped, with the
        reason); _Changed when it vanished or became a link; FolderRefused on other errors."""
        try:
            return os.open(name, flags, dir_fd=dir_fd)
        except OSError as error:
            if error.errno in _DENIED:
                self.skipped.append((printable(relative), f"could not be read ({error.strerror})"))
                return None
            self._failed(error, relative)

    def _failed(self, error: OSError, relative: str) -> NoReturn:
        if error.errno in _GONE:
            raise _Changed from None
        where = printable(relative) if relative else "the folder"
        raise FolderRefused(f"{self.label}: {where} could not be read ({error.strerror})") from None

    def _folder(self, fd: int, parts: tuple[str, ...]) -> None:
        names: list[str] = []
        try:
            with os.scandir(fd) as listing:
                for entry in listing:
                    self.entries += 1
                    if self.entries > self.limits.max_files:
                        raise FolderRefused(
                            f"{self.label}: it has more than {self.limits.max_files} files "
                            "and folders"
                        )
                    names.append(entry.name)
        except OSError as error:
            self._failed(error, "/".join(parts))
        for name in sorted(names):
            self._entry(fd, name, (*parts, name))

    def _entry(self, fd: int, name: str, parts: tuple[str, ...]) -> None:
        limits = self.limits
        if any(fnmatch.fnmatch(name, pattern) for pattern in limits.ignore):
            return
        relative = "/".join(parts)
        try:
            seen = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as error:
            if error.errno not in _DENIED:
                self._failed(error, relative)
            self.skipped.append((printable(relative), f"could not be read ({error.strerror})"))
            return
        kind = _kind(seen.st_mode)
        if kind != "folder" and not any(fnmatch.fnmatch(name, p) for p in limits.include):
            return
        self.snapshot.append((relative, kind, seen.st_size, seen.st_mtime_ns, seen.st_ino))
        problem = name_problem(name) or _NOT_COPIED.get(kind)
        if not problem and limits.owner is not None and seen.st_uid != limits.owner:
            # nbgrader's submit leaves the folder writable by all: a classmate who learnt its
            # name could have put this here
            problem = (
                f"written by {printable(account_name(seen.st_uid))}, not by the submission's owner"
            )
        if kind == "file" and not problem:
            if seen.st_nlink > 1:
                problem = f"a hard link ({seen.st_nlink} names: it may be another user's file)"
            elif seen.st_size > limits.max_file_size:
                problem = (
                    f"{seen.st_size} bytes, more than the {limits.max_file_size // 1000} KB "
                    "limit for a file (not read)"
                )
        if problem:
            self.skipped.append((printable(relative), problem))
        elif kind == "folder":
            self._subfolder(fd, name, parts, seen)
        else:
            self._file(fd, name, relative, seen)

    def _subfolder(self, fd: int, name: str, parts: tuple[str, ...], seen: os.stat_result) -> None:
        relative = "/".join(parts)
        if len(parts) > self.limits.max_depth:
            raise FolderRefused(
                f"{self.label}: its folders are nested more than {self.limits.max_depth} deep "
                f"({printable(relative)})"
            )
        sub = self._open(name, fd, relative, _DIR_FLAGS)
        if sub is None:
            return
        try:
            _same(sub, seen)
            if self.into is not None:
                target = self.into.joinpath(*parts)
                target.mkdir()
                target.chmod(0o755)
            self._folder(sub, parts)
        finally:
            os.close(sub)

    def _file(self, fd: int, name: str, relative: str, seen: os.stat_result) -> None:
        size = seen.st_size
        if self.into is not None:
            copied = self._copy(fd, name, relative, seen)
            if copied is None:
                return
            size = copied
        self.size += size
        if self.size > self.limits.max_dir_size:
            raise FolderRefused(
                f"{self.label}: its files total more than the "
                f"{self.limits.max_dir_size // 1000} KB limit"
            )
        self.files.append(relative)

    def _copy(self, fd: int, name: str, relative: str, seen: os.stat_result) -> int | None:
        """Copy one file (at most the size limit + 1 bytes are read, in case it grows); the
        bytes copied, or None when it could not be opened."""
        into = self.into
        assert into is not None, "only a copying pass copies"
        source = self._open(name, fd, relative, _FILE_FLAGS)
        if source is None:
            return None
        copied = 0
        try:
            _same(source, seen)
            with open(os.open(into / relative, _WRITE_FLAGS, 0o644), "wb") as out:
                left = self.limits.max_file_size + 1
                while left > 0:
                    try:
                        chunk = os.read(source, min(_CHUNK, left))
                    except OSError as error:
                        self._failed(error, relative)
                    if not chunk:
                        break
                    out.write(chunk)
                    copied += len(chunk)
                    left -= len(chunk)
                out.flush()
                os.fchmod(out.fileno(), 0o644)
                os.utime(out.fileno(), ns=(seen.st_atime_ns, seen.st_mtime_ns))
        finally:
            os.close(source)
        if copied != seen.st_size:
            raise _Changed
        return copied


def _copy_tree(top: int, into: Path, limits: _Limits, label: str) -> _Walk:
    """The copying pass of an attempt (a function of its own: tests slow it down)."""
    return _Walk(limits, label, into).run(top)


def _open_submission(source: Path, label: str, student: str | None) -> int:
    """A descriptor of the submission folder itself, which must be a real folder (and the
    student's own, when `student` is given); every later pass starts from it."""
    try:
        top = os.open(source, _DIR_FLAGS)
    except OSError as error:
        try:
            mode = os.lstat(source).st_mode
        except OSError:
            raise FolderRefused(f"{label}: it could not be read ({error.strerror})") from None
        if stat.S_ISLNK(mode):
            raise FolderRefused(f"{label}: it is a symbolic link (not followed)") from None
        if not stat.S_ISDIR(mode):
            raise FolderRefused(f"{label}: it is not a folder") from None
        raise FolderRefused(f"{label}: it could not be opened ({error.strerror})") from None
    if student is not None:
        owner = account_name(os.fstat(top).st_uid)
        if owner != student:
            os.close(top)
            raise FolderRefused(
                f"{label}: it is owned by {printable(owner)}, not by {printable(student)}"
            )
    return top


def _require_timestamp(top: int, label: str) -> None:
    try:
        seen = os.stat(TIMESTAMP, dir_fd=top, follow_symlinks=False)
    except FileNotFoundError:
        raise Incomplete(
            f"{label}: no {TIMESTAMP} yet (nbgrader's submit writes it last)"
        ) from None
    except OSError as error:
        raise FolderRefused(
            f"{label}: its {TIMESTAMP} could not be read ({error.strerror})"
        ) from None
    if not stat.S_ISREG(seen.st_mode):
        kind = _NOT_COPIED.get(_kind(seen.st_mode), "a folder").split(" (")[0]
        raise FolderRefused(f"{label}: its {TIMESTAMP} is {kind}, not a regular file")


def _install(temp: Path, dest: Path) -> None:
    """Put the new copy in place of dest: the old one is moved aside (a folder cannot be renamed
    over a non-empty one), then removed; when the rename fails, the old one is put back."""
    temp.chmod(0o755)
    aside = None
    if os.path.lexists(dest):
        aside = Path(tempfile.mkdtemp(prefix=f".{dest.name}.replaced-", dir=dest.parent))
        os.rename(dest, aside / "old")
    try:
        os.rename(temp, dest)
    except BaseException:
        if aside is not None:
            os.rename(aside / "old", dest)
            aside.rmdir()
        raise
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def _attempt(top: int, dest: Path, limits: _Limits, label: str) -> Collected | None:
    """One try: look, copy into a new folder beside dest, look again; install the copy when
    the three passes saw the same submission. The Collected, or None when it changed."""
    try:
        before = _Walk(limits, label).run(top)
    except _Changed:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.collecting-", dir=dest.parent))
    installed = False
    try:
        try:
            copy = _copy_tree(top, temp, limits, label)
            after = _Walk(limits, label).run(top)
        except _Changed:
            return None
        if not before.snapshot == copy.snapshot == after.snapshot:
            return None
        _install(temp, dest)
        installed = True
        return Collected(tuple(copy.files), tuple(copy.skipped), copy.size)
    finally:
        if not installed:
            shutil.rmtree(temp, ignore_errors=True)


def collect(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    student: str | None = None,
    ignore: Sequence[str] = (),
    include: Sequence[str] = ("*",),
    max_file_size_kb: int = 100000,
    max_dir_size_kb: int = 1000000,
    max_files: int = 1000,
    max_depth: int = 8,
    settle_seconds: float = 0.5,
    attempts: int = 4,
) -> Collected:
    """Copy a submission folder of inbound to dest (e.g. submitted/<student>/<assignment>/);
    the Collected, or raise FolderRefused (Incomplete when timestamp.txt is not there yet).

    Nothing in source is modified, nothing outside source is read, nothing outside dest (and
    a temporary folder beside it) is written, and nothing blocks. Links, FIFOs, sockets,
    devices, hard links, files over max_file_size_kb and names with control characters or not
    UTF-8 are skipped with a reason, the rest collected; nbgrader's ignore and include patterns
    leave files out silently. More than max_files entries, folders deeper than max_depth or
    more than max_dir_size_kb in all refuse the submission. A submission that changes while it
    is copied is copied again after settle_seconds, `attempts` times at most. When anything
    fails, dest stays as it was.

    student -- when given, the folder's owner must be this user (nbgrader's check_owner), and
               every file and folder in it must be that user's too: what another account
               wrote into it (nbgrader's submit leaves the folder writable by all) is skipped
    """
    source, dest = Path(source), Path(dest)
    label = printable(source.name)
    limits = _Limits(
        tuple(ignore),
        tuple(include),
        max_file_size_kb * 1000,
        max_dir_size_kb * 1000,
        max_files,
        max_depth,
    )
    attempts = max(1, attempts)
    top = _open_submission(source, label, student)
    if student is not None:  # what another account wrote into the folder is not the student's
        limits = replace(limits, owner=os.fstat(top).st_uid)
    try:
        _require_timestamp(top, label)
        for attempt in range(attempts):
            if attempt:
                time.sleep(settle_seconds)
            collected = _attempt(top, dest, limits, label)
            if collected is not None:
                return collected
    finally:
        os.close(top)
    raise FolderRefused(
        f"{label}: it kept changing while it was collected ({attempts} attempts, "
        f"{settle_seconds:g} s apart)"
    )
