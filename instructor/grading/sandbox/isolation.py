"""Isolation of the sandboxed process: Linux namespaces and a private view of the file system,
or Landlock and seccomp without privilege; resource limits, a clean environment, and the sweep
that leaves no process behind. Everything here runs in the sandbox's processes (see
launcher.py), except `namespaces_refused`, `python_folders` and `guard_grader_process`, which
the grader uses too (modes.py chooses the isolation)."""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import resource
except ImportError:  # Windows has none; the course's configuration still loads there (for the
    # student's lab), and modes.choose refuses to run student code (RESOURCE_LIMITS)
    resource = None  # type: ignore[assignment]

# loaded with the launcher: once the code's view is narrowed, this package may be out of reach
from . import landlock, seccomp
from .limits import Limits
from .spec import LaunchSpec

RESOURCE_LIMITS = resource is not None  # every isolation caps the code's memory, time, files

# Linux constants (sched.h, mount.h, prctl.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
M_ARENA_MAX = -8  # mallopt: how many malloc arenas (MALLOC_ARENA_MAX, read only at start-up)
# The private user ids of sandboxes started by root: SANDBOX_UID_BASE + a number taken from the
# launcher, so that the process limit counts exactly the processes of one submission.
SANDBOX_UID_BASE = 100000
# Without namespaces (the "landlock" isolation started by root), the private user also belongs
# to this group, so that an administrator can let every sandbox through a closed folder on the
# way to Python (`setfacl -m g:99999:x FOLDER`) and no further.
SANDBOX_GID = SANDBOX_UID_BASE - 1
# Environment variables the sandboxed code keeps; everything else is dropped.
KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONHASHSEED")
# Threads of numerical libraries: one per kernel, so that parallel grading does not oversubscribe
# the cores and the kernel's memory map stays small.
SINGLE_THREADED = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
}


def python_folders() -> list[str]:
    """Folders of the Python installation the sandboxed code needs to see."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)})


_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    enc = [None if v is None else str(v).encode() for v in (source, target, fstype, data)]
    _check(libc().mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def prctl(option: int, value: int) -> None:
    _check(libc().prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _unshare(flags: int) -> None:
    _check(libc().unshare(flags), "unshare")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter_namespaces() -> str | None:
    """Enter new namespaces (mount, process, network...); None, or why the system refuses."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    step = "unshare"
    try:
        # a process that is not dumpable (the grader's: guard_grader_process) cannot write its
        # own uid map; the sandbox is the student's, dumpable again
        prctl(PR_SET_DUMPABLE, 1)
        _unshare(flags if root else flags | CLONE_NEWUSER)
        if not root:  # become root inside the new user namespace only
            step = "writing the new user namespace's uid map"
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {uid} 1")
            _write("/proc/self/gid_map", f"0 {gid} 1")
    except OSError as error:
        kind = "namespaces" if root else "a user namespace"
        return f"{kind} refused: {step}: {os.strerror(error.errno) if error.errno else error}"
    return None


_NAMESPACES: dict[str, bool] = {}


def namespaces_refused() -> str | None:
    """Why sandboxes cannot use Linux namespaces here, or None when they can. Tried in a
    throwaway child: new namespaces, a private mount table, a tmpfs and a /proc of its own.
    A success is remembered for the process; a refusal is tried again next time (an
    administrator may have fixed it meanwhile)."""
    if _NAMESPACES.get("ok"):
        return None
    folder = tempfile.mkdtemp(prefix="igrade-probe-")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        why = _probe(folder)
        if why:
            os.write(write_end, why.encode()[:4000])
        os._exit(1 if why else 0)
    os.close(write_end)
    why = os.read(read_end, 4096).decode(errors="replace")
    os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    os.rmdir(folder)
    ok = os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0
    _NAMESPACES["ok"] = ok
    return None if ok else why or "the namespace probe failed"


def namespaces_available() -> bool:
    return namespaces_refused() is None


def _probe(folder: str) -> str | None:
    why = enter_namespaces()
    if why:
        return why
    pid = os.fork()  # the first process of the new process namespace
    if pid == 0:
        probes: tuple[tuple[str, tuple[Any, ...]], ...] = (
            ("a private mount table", (None, "/", None, MS_REC | MS_PRIVATE)),
            ("a tmpfs", ("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")),
            ("a /proc of its own", ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)),
        )
        for what, args in probes:
            try:
                _mount(*args)
            except OSError:
                os._exit(1 + ["a private mount table", "a tmpfs", "a /proc of its own"].index(what))
        os._exit(0)
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0:
        return None
    code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else 0
    what = {1: "a private mount table", 2: "a tmpfs", 3: "a /proc of its own"}.get(code, "mounts")
    return f"namespaces without mounts: {what} refused"


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# Folders that are never hidden, whatever the grader asks: the system itself.
SYSTEM_FOLDERS = {"/", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/proc",
                  "/sys", "/dev", "/var", "/opt", "/home", "/run", "/srv", "/mnt", "/media"}  # fmt: skip


def _outermost(paths: Iterable[str]) -> list[str]:
    """The paths that are not inside another one of them (system folders left out)."""
    real = {os.path.realpath(p) for p in paths if os.path.isdir(p)} - SYSTEM_FOLDERS
    kept: list[str] = []
    for p in sorted(real, key=len):
        if not any(_under(p, q) for q in kept):
            kept.append(p)
    return kept


def _copy_files(src_fd: int, dest: str, uid: int | None) -> None:
    """Copy the regular files of a folder tree (given as an open descriptor) into dest, owned
    by uid (None: by this process's user)."""
    for dirpath, _, filenames, dir_fd in os.fwalk(".", dir_fd=src_fd):
        folder = os.path.normpath(os.path.join(dest, dirpath))
        os.makedirs(folder, exist_ok=True)
        if uid is not None:
            os.chown(folder, uid, uid)
        for name in filenames:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if info.st_mode & 0o170000 != 0o100000:  # regular files only
                continue
            fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
            target = os.path.join(folder, name)
            with os.fdopen(fd, "rb") as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            if uid is not None:
                os.chown(target, uid, uid)


# Scratch folders that stay writable in the private view (size of each, in MB; None: max_disk).
SCRATCH: dict[str, int | None] = {"/tmp": None, "/var/tmp": 64, "/dev/shm": 64}


def isolate(spec: LaunchSpec, uid: int, extra_files: dict[str, bytes]) -> tuple[str, str]:
    """Build the private view of the file system; return (working folder, home folder).

    The working folder is spec.workdir (where nbgrader would run the notebook) when that
    path lies in a hidden folder, else /tmp/run; it is a private tmpfs holding a copy of the
    files folder.
    """
    disk = int(spec.limits.max_disk_mb)
    hidden = _outermost(list(spec.hide) + list(SCRATCH) + [os.path.expanduser("~"), "/root"])
    keep = _outermost(
        p
        for p in list(spec.keep) + python_folders() + ([spec.ipc_dir] if spec.ipc_dir else [])
        if any(_under(os.path.realpath(p), h) for h in hidden)
    )
    kept_fds = {k: os.open(k, os.O_PATH | os.O_DIRECTORY) for k in keep}
    files_fd = os.open(spec.files_dir, os.O_RDONLY | os.O_DIRECTORY)
    workdir = spec.workdir or ""
    if not (os.path.isabs(workdir) and any(_under(workdir, h) for h in hidden)):
        workdir = "/tmp/run"

    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    try:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass  # some containers forbid a new /proc; the private process tree still applies
    for folder in hidden:
        size = SCRATCH.get(folder, 1) or disk
        _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}m,mode=1777")
        for path, fd in kept_fds.items():
            if _under(path, folder):
                os.makedirs(path, exist_ok=True)
                _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
                if path != spec.ipc_dir:
                    _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    made = [p for p in Path(workdir).parents if not p.exists()]
    os.makedirs(workdir, exist_ok=True)
    for way in made:  # only a way to the working folder, where nothing can be created
        os.chmod(way, 0o555)  # (also for root of a user namespace, without capabilities)
    _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk}m,mode=755")
    home = "/tmp/home"
    for folder in (workdir, home, home + "/.config/matplotlib"):
        os.makedirs(folder, exist_ok=True)
        os.chown(folder, uid, uid)
    _copy_files(files_fd, workdir, uid)
    for name, data in extra_files.items():
        path = os.path.join(home, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(path).write_bytes(data)
        os.chown(path, uid, uid)
    if spec.ipc_dir:
        os.chown(spec.ipc_dir, uid, uid)
    for folder in hidden:
        if folder not in SCRATCH:
            _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m")
    for fd in [*kept_fds.values(), files_fd]:
        os.close(fd)
    return workdir, home


def apply_limits(limits: Limits, exact_process_count: bool) -> None:
    """Resource limits of this process and everything it starts."""
    mb = 1 << 20

    def cap(kind: int, value: float) -> None:
        soft, hard = resource.getrlimit(kind)
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_AS, limits.memory_mb * mb)
    cap(resource.RLIMIT_FSIZE, limits.max_file_mb * mb)
    cap(resource.RLIMIT_CORE, 0)
    cpu = int(limits.notebook_timeout) + 1
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(
        resource.RLIMIT_CPU, (cpu, cpu + 5 if hard == resource.RLIM_INFINITY else hard)
    )
    procs = limits.max_procs
    if not exact_process_count:  # the limit counts every process of this user: allow N more
        procs += _tasks_of_user(os.getuid())
    cap(resource.RLIMIT_NPROC, procs)


def _tasks_of_user(uid: int) -> int:
    """Processes and threads that belong to a user, as the kernel counts them for RLIMIT_NPROC."""
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            if int(status["Uid"].split()[0]) == uid:
                count += int(status["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def clean_env(home: str, work: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update(SINGLE_THREADED)
    env.update(
        PATH=os.pathsep.join(
            [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        HOME=home,
        USER="student",
        LOGNAME="student",
        TMPDIR="/tmp" if work == "/tmp/run" else home,
        MPLCONFIGDIR=os.path.join(home, ".config", "matplotlib"),
        IPYTHONDIR=os.path.join(home, ".ipython"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        LANG=os.environ.get("LANG", "C.UTF-8"),
    )
    return env


def own_folders(spec: LaunchSpec, uid: int, extra_files: dict[str, bytes]) -> tuple[str, str]:
    """Working and home folders without namespaces: next to the files folder, in the task's
    private workspace, new for each sandbox (a re-check never finds what the notebook's run
    left), owned by the user the code runs as; return (work, home)."""
    owner = None if uid == os.getuid() else uid
    base = os.path.dirname(spec.files_dir)
    work, home = (
        tempfile.mkdtemp(prefix="run-", dir=base),
        tempfile.mkdtemp(prefix="home-", dir=base),
    )
    for folder in (work, home, home + "/.config", home + "/.config/matplotlib"):
        os.makedirs(folder, exist_ok=True)
        if owner is not None:
            os.chown(folder, owner, owner)
    fd = os.open(spec.files_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _copy_files(fd, work, owner)
    finally:
        os.close(fd)
    for name, data in extra_files.items():
        path = os.path.join(home, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Path(path).write_bytes(data)
        if owner is not None:
            for made in (os.path.dirname(path), path):
                os.chown(made, owner, owner)
    if owner is not None:  # a private user: it may pass through the workspace, not read it
        os.chmod(base, 0o711)
        if spec.ipc_dir:
            os.chown(spec.ipc_dir, uid, uid)
    return work, home


# --- the "landlock" isolation: no privilege needed --------------------------------------------

# What the code may read and run, besides Python's folders: the system's programs, libraries
# and settings, a few devices, and what numerical libraries ask about the processors. Nothing
# of /proc: no other process can even be listed, and no /tmp, /home, /root, /srv, /var or /run.
SYSTEM_READ = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
               "/sys/devices/system/cpu")  # fmt: skip
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def _landlock_rules(
    spec: LaunchSpec, work: str, home: str, scratch: tuple[str, ...] = ()
) -> tuple[list[str], list[str]]:
    """(folders and files the code may read, folders it may write), checked against what it
    must not see: a readable folder may not hold a hidden one (the course, the grader's)."""
    readable = [*SYSTEM_READ, *python_folders()]
    for folder in readable:
        real = os.path.realpath(folder)
        for hidden in spec.hide:
            if os.path.isdir(real) and _under(os.path.realpath(hidden), real):
                raise OSError(
                    f"{hidden} lies inside {real}, which student code must be able to read "
                    "(the system's or Python's folders): move the course or the grader's "
                    "folders out of it"
                )
    writable = [work, home, *scratch] + ([spec.ipc_dir] if spec.ipc_dir else [])
    return readable, writable


def confine(
    spec: LaunchSpec,
    work: str,
    home: str,
    scratch: tuple[str, ...] = (),
    filter_calls: bool = True,
    abi: int | None = None,
) -> int:
    """Confine this process and everything it starts from now on: Landlock's rules (read the
    system and Python, write the submission's own folders; on ABI 4+ no TCP; on ABI 6+ no
    signal out of the domain), then the seccomp filter (seccomp.py) unless filter_calls is
    False. Returns the ABI used: the kernel's, or abi when lower (the rules of an older
    kernel, which the tests use to check what holds there)."""
    abi = min(abi or landlock.abi_version(), landlock.abi_version())
    readable, writable = _landlock_rules(spec, work, home, scratch)
    ruleset = landlock.Ruleset(abi)
    for path in readable:
        ruleset.allow(path, landlock.READ)
    for path in DEVICES:
        ruleset.allow(path, landlock.READ_FILE | landlock.WRITE_FILE)
    for path in writable:
        ruleset.allow(path, ruleset.fs)
    ruleset.restrict_self()
    if filter_calls:
        seccomp.load(signals_scoped=ruleset.scopes_signals)
    return abi


def landlock_inside_namespaces(spec: LaunchSpec, work: str, home: str) -> int | None:
    """In the "namespaces" isolation, where the kernel has Landlock: the same file rules as the
    "landlock" isolation, as a second wall. The namespaces hide the course and the grader's
    folders from a list; Landlock then lets the code read only the system's and Python's
    folders, so that no other folder of the machine (another course's checkout, a folder
    where the grader's Python lives) is readable either. Nothing changes without Landlock."""
    try:
        landlock.abi_version()
    except landlock.Unavailable:
        return None
    return confine(spec, work, home, scratch=tuple(SCRATCH), filter_calls=False)


def check_reachable(uid: int) -> None:
    """As the sandbox's private user: can it reach this interpreter and its modules?"""
    for folder in [os.path.realpath(sys.executable), *python_folders()]:
        if not os.access(folder, os.R_OK | (os.X_OK if os.path.isdir(folder) else 0)):
            closed = [
                str(parent)
                for parent in reversed(Path(folder).parents)
                if not os.access(parent, os.X_OK)
            ]
            raise OSError(
                f"the sandbox's private user (uid {uid}) cannot reach {folder}"
                + (f" (closed: {closed[0]})" if closed else "")
                + ": install Python where every user can read it, or let the sandboxes' "
                f"group through with `setfacl -m g:{SANDBOX_GID}:x {closed[0] if closed else folder}`"
            )


def guard_grader_process() -> None:
    """Make this process of the grader's not dumpable: then /proc/<pid>/cwd, environ, fd, mem
    and the like are closed to every other process of the same user that lacks CAP_SYS_PTRACE,
    Landlock or not (in the "landlock" isolation, Landlock's ptrace rule closes them to the
    sandbox already, on every ABI; this is a second lock that does not depend on it)."""
    try:
        prctl(PR_SET_DUMPABLE, 0)
    except OSError:
        pass


# --- no survivors ----------------------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    """{parent pid: [child pids]} of every process this one can see."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below pid."""
    children, found, todo = _children_map(), [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sweep() -> None:
    """End every process below this one, the processes that left their parent included (this
    process is their child subreaper, so they come back to it), and reap them."""
    for _ in range(1000):
        below = descendants(os.getpid())
        for pid in below:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        while True:
            try:
                done, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                done = 0
            if not done:
                break
        if not below:
            return


def is_real_root() -> bool:
    """True when this process is root of the machine, not only of a user namespace."""
    try:
        with open("/proc/self/uid_map") as f:
            first = f.read().split()
        return os.getuid() == 0 and first[:2] == ["0", "0"]
    except OSError:
        return os.getuid() == 0


def drop_capabilities() -> None:
    """Give up every capability (inside a user namespace), also across exec."""
    secbit_noroot, secbit_noroot_locked = 1 << 0, 1 << 1
    prctl(28, secbit_noroot | secbit_noroot_locked)  # PR_SET_SECUREBITS

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(libc().capset(ctypes.byref(header), data), "capset")
