"""Where student code runs when a notebook is graded: resource limits and isolation.

Every piece of student code the grader runs (the notebook's kernel, and the clean re-check of
the answers, see verify.py) starts through this module's launcher:

    python -m instructor.sandbox SPEC.json [CONNECTION_FILE [KERNEL ARGUMENTS...]]

SPEC.json (written by the grader, see `write_spec`) says what to run ("kernel": an IPython
kernel for nbclient; "verify": the clean re-check, reading a request on stdin) and under which
limits. The launcher

1. applies resource limits: address space (memory), processes and threads, file size, CPU
   time, no core dumps;
2. when the system allows it (root, or unprivileged user namespaces), isolates the code in its
   own Linux namespaces: a private process tree (killing its first process ends every process
   it started), no network, and a private view of the file system where the course directory,
   the grader's working directories, the home directory and /tmp are replaced by empty
   folders; the code then runs in a fresh private folder (at the path where nbgrader would run
   the notebook, or /tmp/run) holding only the files the grader gave it, as an unprivileged
   user, and can gain no privileges;
3. runs the kernel (or the re-check), and records how it ended in a status file.

Without namespaces the limits still apply ("limits" isolation); the grader reports which
isolation was used. The launcher's own process stays outside the private process tree so that
jupyter_client can watch and signal it as usual.
"""

import ctypes
import json
import os
import resource
import signal
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

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
PR_SET_NO_NEW_PRIVS = 38
M_ARENA_MAX = -8  # mallopt: how many malloc arenas (MALLOC_ARENA_MAX, read only at start-up)

# The name of the sandboxed kernel in the grader's private kernelspec folder: the course's
# notebooks ask for python3.
KERNEL_NAME = "python3"
# Exit code of the sandboxed process when the sandbox itself could not be set up.
SETUP_FAILED = 70
# The unprivileged user ids that sandboxes run as when the grader runs as root: one per
# launcher, so that the process limit counts exactly the processes of one submission.
SANDBOX_UID_BASE = 100000
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


@dataclass(frozen=True)
class Limits:
    """Bounds on one submission's code; every one ends in a defined score and a reason.

    cell_timeout -- seconds one cell may run before it is interrupted (and scores zero if it
        is a test cell); nbgrader's Execute.timeout
    notebook_timeout -- seconds the whole notebook may run; when reached, the kernel is stopped
        and the cells not run yet score zero; also the CPU-time limit of each process
    memory_mb -- address space of each process, in MB (a bigger allocation raises MemoryError)
    max_procs -- processes and threads the submission's code may have at once
    max_file_mb -- largest file it may write, in MB
    max_output_mb -- output the notebook may print or display in total, in MB; past it the
        output is dropped (results and errors are kept) and the cell interrupted; a kernel that
        goes on printing is stopped
    max_disk_mb -- size of the private /tmp, and of the working folder, of an isolated sandbox
    verify_timeout -- seconds the clean re-check of one answer may take
    cell_limits -- (grade id, seconds) of cells with a limit of their own, derived from the
        reference run (reference.py); other cells may run cell_timeout seconds
    isolation -- "auto": namespaces when the system allows them (see namespaces_available),
        else limits only; "limits": limits only; "namespaces": namespaces (as auto resolves)
    zygote -- start kernels from a process that imported their heavy modules once (each kernel
        is still a fresh process of its own); False: start each kernel as a new interpreter
    """

    cell_timeout: float = 300
    notebook_timeout: float = 900
    memory_mb: int = 2048
    max_procs: int = 256
    max_file_mb: int = 256
    max_output_mb: float = 10
    max_disk_mb: int = 512
    verify_timeout: float = 30
    isolation: str = "auto"
    zygote: bool = True
    cell_limits: tuple = ()

    def to_dict(self):
        values = asdict(self)
        values["cell_limits"] = [list(pair) for pair in self.cell_limits]
        return values

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        values["cell_limits"] = tuple(tuple(pair) for pair in values.get("cell_limits", ()))
        return cls(**values)

    def cell_limit(self, grade_id):
        """Seconds the cell with this nbgrader id may run (cell_timeout for other cells)."""
        return dict(self.cell_limits).get(grade_id, self.cell_timeout)

    def longest_cell(self):
        return max([self.cell_timeout, *(seconds for _, seconds in self.cell_limits)])

    def replace(self, **changes):
        """A copy with the given limits changed (None values are ignored)."""
        values = {**asdict(self), **{k: v for k, v in changes.items() if v is not None}}
        values["cell_limits"] = tuple(tuple(pair) for pair in values["cell_limits"])
        return Limits(**values)

    def resolved(self):
        """These limits with "auto" isolation decided for this machine."""
        if self.isolation != "auto":
            return self
        return self.replace(isolation="namespaces" if namespaces_available() else "limits")


# --- the grader's side -------------------------------------------------------------------------


def write_spec(path, mode, limits, files_dir, status_file, hide=(), keep=(), ipc_dir=None,
               mpl_cache=None, log_file=None, workdir=None):  # fmt: skip
    """Write the launcher's SPEC.json; return its path.

    mode -- "kernel" or "verify"
    files_dir -- folder whose regular files are copied into the sandbox's working folder
    status_file -- where the launcher records the isolation used and how the code ended
    hide -- folders the code must not see (the course, the grader's folders...)
    keep -- folders inside hidden ones that stay visible (read-only), e.g. the Python install
    ipc_dir -- folder of the kernel's IPC sockets, shared with the grader
    mpl_cache -- folder with a prebuilt matplotlib font cache to copy in
    log_file -- where the sandboxed process's own stderr goes (and stdout, for a kernel)
    workdir -- where the code should run when it is isolated (the folder nbgrader would use)
    """
    spec = {
        "mode": mode,
        "limits": limits.to_dict(),
        "files_dir": str(files_dir),
        "status_file": str(status_file),
        "hide": [str(p) for p in hide],
        "keep": [str(p) for p in keep],
        "ipc_dir": str(ipc_dir) if ipc_dir else None,
        "mpl_cache": str(mpl_cache) if mpl_cache else None,
        "log_file": str(log_file) if log_file else os.devnull,
        "workdir": str(workdir) if workdir else None,
    }
    Path(path).write_text(json.dumps(spec, indent=1))
    return Path(path)


def launcher_command(spec_path):
    """The command that starts the launcher with this interpreter."""
    return [sys.executable, "-m", "instructor.sandbox", str(spec_path)]


def launcher_env():
    """Environment for the launcher: it must be able to import this package."""
    package_parent = str(Path(__file__).resolve().parent.parent)
    if ".zip" in package_parent:  # uploaded to a Dask worker as a zip archive
        package_parent = package_parent[: package_parent.index(".zip") + 4]
    path = [package_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(path))}


def kernel_spec(spec_path):
    """A kernelspec (kernel.json content) whose kernel is started by the launcher."""
    return {
        "argv": launcher_command(spec_path) + ["{connection_file}"],
        "display_name": "Python 3 (sandboxed)",
        "language": "python",
        "env": launcher_env(),
    }


def python_folders():
    """Folders of the Python installation the sandboxed code needs to see."""
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.add(os.path.dirname(os.path.realpath(sys.executable)))
    return sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)})


def read_status(status_file):
    """What the launcher recorded: {"isolation": ..., "exit": code or None, "signal": ...}."""
    try:
        return json.loads(Path(status_file).read_text())
    except (OSError, ValueError):
        return {}


def describe_exit(status):
    """How the sandboxed code ended, in words, from read_status()."""
    if status.get("setup_error"):
        return f"the sandbox could not be set up ({status['setup_error']})"
    sig = status.get("signal")
    if sig:
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        meaning = {
            "SIGSEGV": "a crash (segmentation fault)",
            "SIGKILL": "killed",
            "SIGXCPU": "CPU time limit reached",
            "SIGXFSZ": "file size limit reached",
            "SIGABRT": "aborted",
            "SIGBUS": "a crash (bus error)",
        }.get(name, "stopped by a signal")
        return f"{meaning}, {name}"
    code = status.get("exit")
    if code is None:
        return "it stopped"
    return f"exit code {code}"


# --- the launcher: runs in the sandboxed process ------------------------------------------------

_libc = None


def _c():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(result, what):
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(source, target, fstype, flags, data=None):
    enc = [None if v is None else str(v).encode() for v in (source, target, fstype, data)]
    _check(_c().mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def _prctl(option, value):
    _check(_c().prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _unshare(flags):
    _check(_c().unshare(flags), "unshare")


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _enter_namespaces():
    """Enter new namespaces (mount, process, network...); False when the system refuses."""
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    try:
        _unshare(flags if root else flags | CLONE_NEWUSER)
        if not root:  # become root inside the new user namespace only
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {uid} 1")
            _write("/proc/self/gid_map", f"0 {gid} 1")
    except OSError:
        return False
    return True


_NAMESPACES = {}


def namespaces_available():
    """Can sandboxes use Linux namespaces here? Tried once per process, in a throwaway child:
    new namespaces, a private mount table, a tmpfs and a /proc of its own."""
    if "available" not in _NAMESPACES:
        import tempfile

        folder = tempfile.mkdtemp(prefix="igrade-probe-")
        pid = os.fork()
        if pid == 0:
            os._exit(0 if _probe(folder) else 1)
        _, wait_status = os.waitpid(pid, 0)
        os.rmdir(folder)
        _NAMESPACES["available"] = os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0
    return _NAMESPACES["available"]


def _probe(folder):
    if not _enter_namespaces():
        return False
    pid = os.fork()  # the first process of the new process namespace
    if pid == 0:
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            _mount("tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError:
            os._exit(1)
        os._exit(0)
    _, wait_status = os.waitpid(pid, 0)
    return os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0


def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


# Folders that are never hidden, whatever the grader asks: the system itself.
SYSTEM_FOLDERS = {"/", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/proc",
                  "/sys", "/dev", "/var", "/opt", "/home", "/run", "/srv", "/mnt", "/media"}  # fmt: skip


def _outermost(paths):
    """The paths that are not inside another one of them (system folders left out)."""
    paths = {os.path.realpath(p) for p in paths if os.path.isdir(p)} - SYSTEM_FOLDERS
    paths = sorted(paths, key=len)
    kept = []
    for p in paths:
        if not any(_under(p, q) for q in kept):
            kept.append(p)
    return kept


def _copy_files(src_fd, dest, uid):
    """Copy the regular files of a folder tree (given as an open descriptor) into dest."""
    for dirpath, _, filenames, dir_fd in os.fwalk(".", dir_fd=src_fd):
        folder = os.path.normpath(os.path.join(dest, dirpath))
        os.makedirs(folder, exist_ok=True)
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
            os.chown(target, uid, uid)


# Scratch folders that stay writable in the private view (size of each, in MB; None: max_disk).
SCRATCH = {"/tmp": None, "/var/tmp": 64, "/dev/shm": 64}


def _isolate(spec, uid, extra_files):
    """Build the private view of the file system; return (working folder, home folder).

    The working folder is spec["workdir"] (where nbgrader would run the notebook) when that
    path lies in a hidden folder, else /tmp/run; it is a private tmpfs holding a copy of the
    files folder.
    """
    disk = int(spec["limits"]["max_disk_mb"])
    hidden = _outermost(spec["hide"] + list(SCRATCH) + [os.path.expanduser("~"), "/root"])
    keep = _outermost(
        p
        for p in spec["keep"] + python_folders() + ([spec["ipc_dir"]] if spec["ipc_dir"] else [])
        if any(_under(os.path.realpath(p), h) for h in hidden)
    )
    kept_fds = {k: os.open(k, os.O_PATH | os.O_DIRECTORY) for k in keep}
    files_fd = os.open(spec["files_dir"], os.O_RDONLY | os.O_DIRECTORY)
    workdir = spec.get("workdir") or ""
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
                if path != spec["ipc_dir"]:
                    _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    os.makedirs(workdir, exist_ok=True)
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
    if spec["ipc_dir"]:
        os.chown(spec["ipc_dir"], uid, uid)
    for folder in hidden:
        if folder not in SCRATCH:
            _mount(None, folder, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m")
    for fd in [*kept_fds.values(), files_fd]:
        os.close(fd)
    return workdir, home


def _apply_limits(limits, exact_process_count):
    """Resource limits of this process and everything it starts."""
    mb = 1 << 20

    def cap(kind, value):
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


def _tasks_of_user(uid):
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


def _clean_env(home, work):
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


def _fallback_folders(spec):
    """Working and home folders when there are no namespaces: next to the files folder."""
    base = os.path.dirname(spec["files_dir"])
    work, home = os.path.join(base, "run"), os.path.join(base, "home")
    os.makedirs(os.path.join(home, ".config", "matplotlib"), exist_ok=True)
    os.makedirs(work, exist_ok=True)
    fd = os.open(spec["files_dir"], os.O_RDONLY | os.O_DIRECTORY)
    try:
        _copy_files(fd, work, os.getuid())
    finally:
        os.close(fd)
    return work, home


def _extra_files(spec, connection_file):
    """Small files the sandboxed code needs, read before the file system is hidden."""
    files = {}
    if spec["mpl_cache"] and os.path.isdir(spec["mpl_cache"]):
        for name in os.listdir(spec["mpl_cache"]):
            if name.endswith(".json"):
                files[f".config/matplotlib/{name}"] = Path(spec["mpl_cache"], name).read_bytes()
    if connection_file:
        files[".kernel/connection.json"] = Path(connection_file).read_bytes()
    return files


def _child(spec, isolated, connection_file, kernel_args, status_fd, owner):
    """The first process of the sandbox: isolate, limit, then run the kernel or the re-check.

    owner -- process id of the launcher, which picks the private user id
    """
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        limits = Limits.from_dict(spec["limits"])
        root = os.geteuid() == 0 and os.getuid() == 0
        real_root = _real_root()
        extra = _extra_files(spec, connection_file)
        log = os.open(spec["log_file"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for std in (2,) if spec["mode"] == "verify" else (1, 2):  # stdout answers the grader
            os.dup2(log, std)
        os.close(log)
        if isolated:
            uid = SANDBOX_UID_BASE + owner % SANDBOX_UID_BASE if real_root else 0
            work, home = _isolate(spec, uid, extra)
        else:
            uid, (work, home) = os.getuid(), _fallback_folders(spec)
            for name, data in extra.items():
                os.makedirs(os.path.dirname(os.path.join(home, name)), exist_ok=True)
                Path(home, name).write_bytes(data)
        os.chdir(work)
        exact = isolated  # a private user id (root) or user namespace: the count is exact
        _apply_limits(limits, exact_process_count=exact)
        if isolated and real_root:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if isolated and not real_root and root:
            _drop_capabilities()
        os.environ.clear()
        os.environ.update(_clean_env(home, work))
        _c().mallopt(M_ARENA_MAX, 2)  # each thread's malloc arena would reserve 64 MB
        code = os.fork() if isolated else 0  # process 1 of a private tree: reap, and report
    except Exception as error:  # the sandbox could not be built: say why, run nothing
        os.write(status_fd, json.dumps({"setup_error": str(error)}).encode())
        os._exit(SETUP_FAILED)
    os.close(status_fd)
    if code != 0:
        _reap(code)
    if isolated:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if spec["mode"] == "verify":
        from . import verify

        verify.child_main(guard_files=not isolated)
        os._exit(0)
    _run_kernel(os.path.join(home, ".kernel", "connection.json"), kernel_args, work)
    os._exit(0)


def _reap(code_pid):
    """Process 1 of the private tree: reap every orphan; end as the code's process ends.

    Its exit code is the code's, or 128 + the signal that ended it. When it ends, the kernel
    ends every other process of the tree.
    """
    while True:
        try:
            pid, wait_status = os.wait()
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == code_pid:
            if os.WIFSIGNALED(wait_status):
                os._exit(128 + os.WTERMSIG(wait_status))
            os._exit(os.WEXITSTATUS(wait_status))


def _real_root():
    """True when this process is root of the machine, not only of a user namespace."""
    try:
        with open("/proc/self/uid_map") as f:
            first = f.read().split()
        return os.getuid() == 0 and first[:2] == ["0", "0"]
    except OSError:
        return os.getuid() == 0


def _drop_capabilities():
    """Give up every capability (inside a user namespace), also across exec."""
    secbit_noroot, secbit_noroot_locked = 1 << 0, 1 << 1
    _prctl(28, secbit_noroot | secbit_noroot_locked)  # PR_SET_SECUREBITS

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(_c().capset(ctypes.byref(header), data), "capset")


# What the launcher added to its import path (its start folder, this package): not the kernel's.
_LAUNCHER_PATHS = set()


def _run_kernel(connection_file, kernel_args, work):
    """Start an IPython kernel in this process, as `python -m ipykernel_launcher` would."""
    sys.argv = ["ipykernel_launcher", "-f", connection_file, *kernel_args]
    sys.path[:] = [p for p in sys.path if p not in ("", work) and p not in _LAUNCHER_PATHS]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


# --- the kernel zygote: fresh kernels without paying for their imports -------------------------

# Modules a kernel of this course imports anyway, loaded once by the zygote (missing ones are
# skipped): each kernel forked from it starts with them loaded.
PRELOAD = ("ipykernel.kernelapp", "numpy", "matplotlib.pyplot", "sklearn.datasets")


def zygote_main():
    """A process that imports PRELOAD once, then forks one launcher per request.

    Requests arrive on stdin, one JSON line each: {"argv": [launcher arguments], "cwd": ...,
    "stdin": file or null, "stdout": file or null}; the answer on stdout is {"pid": ...}. The forked launcher is what `python -m instructor.sandbox`
    would be (new session, same limits and isolation), but it starts with the modules loaded;
    it never serves two kernels, and the zygote itself runs no student code. When stdin closes
    (the grader is gone), the zygote ends, and its launchers stop their kernels.
    """
    os.environ.update(SINGLE_THREADED)
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    _LAUNCHER_PATHS.update([sys.path[0], *os.environ.get("PYTHONPATH", "").split(os.pathsep)])
    signal.signal(signal.SIGCHLD, _reap_launchers)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _launcher_from_zygote(request)
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()


def _reap_launchers(*_):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _launcher_from_zygote(request):
    """In a process forked by the zygote: become a launcher, as if freshly started."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    # the zygote's requests and answers are none of the launcher's business
    stdin = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
    stdout = os.open(
        request.get("stdout") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.close(stdin)
    os.close(stdout)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    os.chdir(request["cwd"])
    try:
        code = main(request["argv"])
    except BaseException:  # noqa: BLE001 -- a launcher never returns into the zygote's loop
        code = SETUP_FAILED
    os._exit(code)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--zygote"]:
        zygote_main()
        return 0
    _LAUNCHER_PATHS.update([sys.path[0], *os.environ.get("PYTHONPATH", "").split(os.pathsep)])
    spec = json.loads(Path(argv[0]).read_text())
    connection_file = argv[1] if len(argv) > 1 else None
    kernel_args = argv[2:]
    limits = Limits.from_dict(spec["limits"])
    if spec["mode"] == "verify":
        from . import verify

        verify.preload()  # numpy and the re-check, loaded before the file system is hidden
    isolated = limits.isolation == "namespaces" and _enter_namespaces()
    status_path = Path(spec["status_file"])
    status_dir = os.open(status_path.parent, os.O_RDONLY | os.O_DIRECTORY)
    status = {"isolation": "namespaces" if isolated else "limits"}
    _write_status(status_dir, status_path.name, status)
    read_end, write_end = os.pipe()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts reach the kernel directly
    owner = os.getpid()  # (the child, in a new process namespace, cannot see it)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(spec, isolated, connection_file, kernel_args, write_end, owner)
    os.close(write_end)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    setup = os.read(read_end, 1 << 16)
    wait_status = _wait(pid, parent=os.getppid())
    if setup:
        status.update(json.loads(setup.decode()))
    if os.WIFSIGNALED(wait_status):
        status.update(signal=os.WTERMSIG(wait_status), exit=None)
        code = 128 + os.WTERMSIG(wait_status)
    else:
        code = os.WEXITSTATUS(wait_status)
        status.update(exit=code)
        if isolated and code > 128 and code - 128 in signal.Signals._value2member_map_:
            status.update(signal=code - 128, exit=None)  # reported by process 1 of the tree
    _write_status(status_dir, status_path.name, status)
    return code


def _wait(pid, parent):
    """Wait for the sandbox's first process; stop it if the grader that started us dies."""
    import time

    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return wait_status
        if os.getppid() != parent:  # the grader is gone: nobody will read the results
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _write_status(dir_fd, name, status):
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "w") as f:
        json.dump(status, f)


if __name__ == "__main__":
    sys.exit(main())
