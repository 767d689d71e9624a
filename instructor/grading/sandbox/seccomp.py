"""The sandbox's system-call filter (seccomp), built with libseccomp through `pyseccomp`.

Used by the "landlock" isolation (launcher.py), next to Landlock's rules (landlock.py). It
refuses, with an error the code can catch, what no notebook needs and what would let it reach
past its sandbox:

- looking into or controlling other processes: ptrace, process_vm_readv/writev, kcmp,
  pidfd_getfd (Landlock refuses these too, outside the domain; this holds on every ABI);
- new namespaces, mounts and the root folder: unshare, setns, clone with a CLONE_NEW* flag,
  mount and the new mount API, pivot_root, chroot; clone3, whose flags a filter cannot read,
  fails with ENOSYS, so that the C library falls back to clone;
- the network: sockets of any family but AF_UNIX, UNIX sockets other than stream ones, and
  connect() altogether (a kernel only binds its own sockets; the grader connects to them), so
  that neither the Dask scheduler, nor a database's socket, nor anything else listening on the
  machine can be reached, on every Landlock ABI;
- kernel facilities that bypass the above or widen the kernel's surface: io_uring, bpf,
  perf_event_open, userfaultfd, the key rings, open_by_handle_at;
- signals to other processes, when Landlock's signal scope (ABI 6) is missing: kill() only to
  the caller's own process group (pid 0), and no tkill, tgkill, sigqueue or pidfd signals.

System calls of another architecture (32-bit calls from a 64-bit process) kill the process:
libseccomp's default for a filter of the native architecture.
"""

import errno
from typing import Any

from ...errors import CourseError

# Namespace flags of clone(2) (sched.h).
CLONE_NEW = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080,
}  # fmt: skip
AF_UNIX, AF_NETLINK, SOCK_TYPE_MASK = 1, 16, 0xF
SOCK_OTHER_TYPES = (2, 3, 4, 5, 10)  # DGRAM, RAW, RDM, SEQPACKET, PACKET

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig",
    "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open",
    "userfaultfd", "keyctl", "add_key", "request_key", "open_by_handle_at", "name_to_handle_at",
)  # fmt: skip
SIGNALS = ("tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal")


class Unavailable(CourseError, OSError):
    """No system-call filter can be built here; the message says why."""


def _library() -> Any:
    try:  # imported here: loading libseccomp can fail, and that is a reason to report, not a crash
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as error:  # RuntimeError: libseccomp missing
        raise Unavailable(
            errno.ENOSYS,
            f"libseccomp cannot be loaded ({error}): install it (Debian and Ubuntu: libseccomp2)",
        ) from None
    return pyseccomp


def check() -> None:
    """Raise Unavailable when the filter cannot be built here."""
    _library()


def load(signals_scoped: bool) -> None:
    """Build the filter and load it into this process (inherited by everything it starts).

    signals_scoped -- Landlock scopes signals already (ABI 6): leave kill() and friends alone
    """
    sc = _library()
    flt = sc.SyscallFilter(sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)

    def deny(action: Any, name: str, *args: Any) -> None:
        try:
            flt.add_rule(action, name, *args)
        except (OSError, ValueError, RuntimeError):
            if sc.resolve_syscall(sc.system_arch(), name) >= 0:  # known, yet refused: say so
                raise
            # a system call this architecture or libseccomp does not know: nothing to refuse

    for name in DENIED:
        deny(eperm, name)
    for flag in CLONE_NEW.values():
        deny(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    deny(sc.ERRNO(errno.ENOSYS), "clone3")
    # families other than AF_UNIX; netlink with EOPNOTSUPP, which libzmq's interface lookup
    # (getifaddrs) takes as "no such interface" instead of aborting the kernel
    for family in [0, *range(AF_UNIX + 1, AF_NETLINK)]:
        deny(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.EQ, family))
    deny(sc.ERRNO(errno.EOPNOTSUPP), "socket", sc.Arg(0, sc.EQ, AF_NETLINK))
    deny(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.GT, AF_NETLINK))
    for kind in SOCK_OTHER_TYPES:
        deny(
            sc.ERRNO(errno.EACCES),
            "socket",
            sc.Arg(0, sc.EQ, AF_UNIX),
            sc.Arg(1, sc.MASKED_EQ, SOCK_TYPE_MASK, kind),
        )
    deny(sc.ERRNO(errno.EAFNOSUPPORT), "socketpair", sc.Arg(0, sc.NE, AF_UNIX))
    deny(sc.ERRNO(errno.EACCES), "connect")
    if not signals_scoped:
        deny(eperm, "kill", sc.Arg(0, sc.NE, 0))
        for name in SIGNALS:
            deny(eperm, name)
    flt.load()
