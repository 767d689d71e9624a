"""Landlock, the kernel's unprivileged access control, through its three system calls.

Why a binding of our own: the `landlock` package on PyPI (1.0.0.dev5, an alpha) covers the file
system rules of ABI 1 to 3 and 5 only. The sandbox needs ABI 4's TCP rules and ABI 6's scopes
(signals, abstract UNIX sockets) too, so it calls the kernel directly here: three system calls
and three structures, with every access right masked by the ABI the kernel reports.

What a Landlock domain gives the sandbox, by ABI (the kernel's user-space API documentation):

- every ABI (Linux 5.13+): file system rules -- the code reads, runs and writes only beneath
  the folders given; and ptrace rules -- a process in a domain may not ptrace, nor open the
  ptrace-guarded /proc/<pid> files (cwd, root, environ, fd, mem, maps...) of, any process
  outside its domain (or in a domain that is not nested in its own), whatever their uid or
  dumpable flag: the grader's processes and the other submissions' sandboxes are closed to it;
- ABI 2 (5.19): renaming or linking a file across folders is controlled (REFER);
- ABI 3 (6.2): truncating a file is controlled (TRUNCATE);
- ABI 4 (6.7): binding and connecting TCP sockets is controlled (none is allowed here);
- ABI 5 (6.10): ioctl on devices is controlled;
- ABI 6 (6.12): scopes -- no signal to a process outside the domain, no connection to an
  abstract UNIX socket created outside it;
- ABI 7 (6.15): audit logging only (nothing more to ask for).

What an older ABI lacks, the seccomp filter of seccomp.py makes up for (sockets other than
local stream ones, and signals to other processes, are refused by system call there).
"""

import ctypes
import errno
import os

from ...errors import CourseError

# System call numbers: the same on every architecture (they came after the numbers were unified).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
CREATE_RULESET_VERSION = 1 << 0
RULE_PATH_BENEATH = 1

# File system access rights, and the ABI that introduced each.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
# What may be granted on a file (not a folder).
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR
# Network (ABI 4) and scopes (ABI 6).
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


class Unavailable(CourseError, OSError):
    """Landlock cannot be used here; the message says why."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(number: int, *args: object) -> int:
    result: int = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return result


def abi_version() -> int:
    """The Landlock ABI of this kernel (1, 2, ...); Unavailable says why there is none."""
    try:
        return _syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    except OSError as error:
        if error.errno == errno.ENOSYS:
            why = "this kernel has no Landlock (Linux 5.13 or later has it)"
        elif error.errno == errno.EOPNOTSUPP:
            why = (
                "Landlock is built into this kernel but not enabled (add landlock to lsm= at boot)"
            )
        else:
            why = f"Landlock cannot be used here ({error.strerror})"
        raise Unavailable(error.errno, why) from None


def fs_rights(abi: int) -> int:
    """Every file system right this ABI knows."""
    return FS_BY_ABI[max(a for a in FS_BY_ABI if a <= abi)]


class Ruleset:
    """A Landlock ruleset being built: what it handles, what it allows beneath which folders.

    Every file system right the ABI knows is handled (so denied unless a rule allows it); on
    ABI 4 and later, TCP bind and connect are handled and never allowed; on ABI 6 and later,
    signals and abstract UNIX sockets are scoped to the domain.
    """

    def __init__(self, abi: int) -> None:
        self.abi = abi
        self.fs = fs_rights(abi)
        attr = _RulesetAttr(self.fs, NET_BIND_TCP | NET_CONNECT_TCP, SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET)  # fmt: skip
        size = 8 if abi < 4 else 16 if abi < 6 else 24  # the fields this ABI knows
        self.fd = _syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)

    def allow(self, path: str, rights: int) -> None:
        """Allow these rights beneath path (a folder), or on it (a file); a path that does not
        exist is skipped."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            rights &= self.fs
            if not os.path.isdir(path):
                rights &= FILE_RIGHTS
            rule = _PathBeneath(rights, fd)
            _syscall(SYS_ADD_RULE, self.fd, RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        finally:
            os.close(fd)

    def restrict_self(self) -> None:
        """Enforce the ruleset on this process and everything it starts from now on (needs
        no_new_privs, which the launcher sets first)."""
        try:
            _syscall(SYS_RESTRICT_SELF, self.fd, 0)
        finally:
            os.close(self.fd)

    @property
    def scopes_signals(self) -> bool:
        return self.abi >= 6

    @property
    def handles_tcp(self) -> bool:
        return self.abi >= 4
