"""The launcher: the one program through which every piece of student code starts.

    python -m instructor.grading.sandbox SPEC.json [CONNECTION_FILE [KERNEL ARGUMENTS...]]

SPEC.json is a `LaunchSpec` (spec.py): what to run -- an IPython kernel for nbclient, or a
program module such as the clean re-check's child -- and under which limits. The launcher

1. applies resource limits: address space (memory), processes and threads, file size, CPU
   time, no core dumps;
2. when the system allows it (root, or unprivileged user namespaces), isolates the code in its
   own Linux namespaces (isolation.py): a private process tree (killing its first process ends
   every process it started), no network, and a private view of the file system where the
   course directory, the grader's working directories, the home directory and /tmp are
   replaced by empty folders; the code then runs in a fresh private folder (at the path where
   nbgrader would run the notebook, or /tmp/run) holding only the files the grader gave it, as
   an unprivileged user, and can gain no privileges;
3. runs the kernel (or the program), and records how it ended in a status file (ExitStatus).

Without namespaces the limits still apply ("limits" isolation); the grader reports which
isolation was used. The launcher's own process stays outside the private process tree so that
jupyter_client can watch and signal it as usual. launch.py builds its command line; zygote.py
can fork it with the heavy modules already loaded.
"""

import importlib
import json
import os
import signal
import sys
from pathlib import Path

from .isolation import (
    M_ARENA_MAX,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    SANDBOX_UID_BASE,
    _apply_limits,
    _c,
    _clean_env,
    _drop_capabilities,
    _enter_namespaces,
    _fallback_folders,
    _isolate,
    _prctl,
    _real_root,
)
from .spec import LaunchSpec

# Exit code of the sandboxed process when the sandbox itself could not be set up.
SETUP_FAILED = 70
# The argument that makes the launcher's program the kernel zygote instead (zygote.py).
ZYGOTE_FLAG = "--zygote"
# What the launcher added to its import path (its start folder, this package): not the kernel's.
_LAUNCHER_PATHS = set()


def _extra_files(spec, connection_file):
    """Small files the sandboxed code needs, read before the file system is hidden."""
    files = {}
    if spec.mpl_cache and os.path.isdir(spec.mpl_cache):
        for name in os.listdir(spec.mpl_cache):
            if name.endswith(".json"):
                files[f".config/matplotlib/{name}"] = Path(spec.mpl_cache, name).read_bytes()
    if connection_file:
        files[".kernel/connection.json"] = Path(connection_file).read_bytes()
    return files


def _child(spec, isolated, connection_file, kernel_args, status_fd, owner):
    """The first process of the sandbox: isolate, limit, then run the kernel or the program.

    owner -- process id of the launcher, which picks the private user id
    """
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        limits = spec.limits
        root = os.geteuid() == 0 and os.getuid() == 0
        real_root = _real_root()
        extra = _extra_files(spec, connection_file)
        log = os.open(spec.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for std in (1, 2) if spec.is_kernel else (2,):  # a program answers on stdout
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
    if not spec.is_kernel:
        importlib.import_module(spec.program).main(confined=not isolated)
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


def _run_kernel(connection_file, kernel_args, work):
    """Start an IPython kernel in this process, as `python -m ipykernel_launcher` would."""
    sys.argv = ["ipykernel_launcher", "-f", connection_file, *kernel_args]
    sys.path[:] = [p for p in sys.path if p not in ("", work) and p not in _LAUNCHER_PATHS]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == [ZYGOTE_FLAG]:
        from .zygote import serve

        serve()
        return 0
    _LAUNCHER_PATHS.update([sys.path[0], *os.environ.get("PYTHONPATH", "").split(os.pathsep)])
    spec = LaunchSpec.read(argv[0])
    connection_file = argv[1] if len(argv) > 1 else None
    kernel_args = argv[2:]
    if not spec.is_kernel:  # its modules, loaded before the file system is hidden
        importlib.import_module(spec.program).preload()
    isolated = spec.limits.isolation == "namespaces" and _enter_namespaces()
    status_path = Path(spec.status_file)
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
