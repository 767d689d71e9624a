"""The launcher: the one program through which every piece of student code starts.

    python -m instructor.grading.sandbox SPEC.json [CONNECTION_FILE [KERNEL ARGUMENTS...]]

SPEC.json is a `LaunchSpec` (spec.py): what to run -- an IPython kernel for nbclient, or a
program module such as the clean re-check's child -- and under which limits. The launcher
confines the code with the isolation the grader chose (modes.py), never with less:

- "namespaces" (root, or unprivileged user namespaces): its own Linux namespaces
  (isolation.py): a private process tree (killing its first process ends every process it
  started), no network, and a private view of the file system where the course directory, the
  grader's working directories, the home directory and /tmp are replaced by empty folders; the
  code runs in a fresh private folder (at the path where nbgrader would run the notebook, or
  /tmp/run) holding only the files the grader gave it, as an unprivileged user;
- "landlock" (no privilege needed): the code runs in the task's own folders and is confined
  there by Landlock (landlock.py: it reads only the system's and Python's folders, writes only
  its own, cannot look into or signal a process outside its sandbox) and seccomp (seccomp.py: no
  ptrace, no namespaces, no network); started by root, it runs as a private user as well;
- "limits": resource limits only, asked for by name; every grade says so.

In every mode it applies resource limits (address space, processes and threads, file size,
CPU time, no core dumps), the code can gain no privileges, and no process outlives the code:
the private process tree ends with its first process (namespaces); otherwise the launcher's
child is a child subreaper that stays out of the grader's reach (a process group of its own),
and when the code ends, or the launcher is stopped or dies, it ends every process the code
started, daemons that left their parent included. The launcher records how the code ended in
a status file (ExitStatus). Its own process stays outside, so that jupyter_client can watch and
signal it as usual. launch.py builds its command line; zygote.py can fork it with the heavy
modules already loaded.
"""

import importlib
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import NoReturn

from ...errors import CourseError
from . import seccomp
from .exits import ProcessEnd
from .isolation import (
    M_ARENA_MAX,
    PR_SET_CHILD_SUBREAPER,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_PDEATHSIG,
    SANDBOX_GID,
    SANDBOX_UID_BASE,
    apply_limits,
    check_reachable,
    clean_env,
    confine,
    drop_capabilities,
    enter_namespaces,
    guard_grader_process,
    is_real_root,
    isolate,
    landlock_inside_namespaces,
    libc,
    own_folders,
    prctl,
    sweep,
)
from .spec import LaunchSpec

# Exit code of the sandboxed process when the sandbox itself could not be set up.
SETUP_FAILED = 70
# What the launcher added to its import path (its start folder, this package): not the kernel's.
LAUNCHER_PATHS: set[str] = set()


def _extra_files(spec: LaunchSpec, connection_file: str | None) -> dict[str, bytes]:
    """Small files the sandboxed code needs, read before the file system is hidden."""
    files: dict[str, bytes] = {}
    if spec.mpl_cache and os.path.isdir(spec.mpl_cache):
        for name in os.listdir(spec.mpl_cache):
            if name.endswith(".json"):
                files[f".config/matplotlib/{name}"] = Path(spec.mpl_cache, name).read_bytes()
    if connection_file:
        files[".kernel/connection.json"] = Path(connection_file).read_bytes()
    return files


def _child(
    spec: LaunchSpec,
    connection_file: str | None,
    kernel_args: list[str],
    status_fd: int,
    owner: int,
) -> NoReturn:
    """The first process of a sandbox in its own namespaces: isolate, limit, then run the
    kernel or the program in a process of its own, and reap.

    owner -- process id of the launcher, which picks the private user id
    """
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_DUMPABLE, 1)  # the launcher is not; the sandbox is the student's
        limits = spec.limits
        root = os.geteuid() == 0 and os.getuid() == 0
        real_root = is_real_root()
        extra = _extra_files(spec, connection_file)
        _log_to(spec)
        uid = SANDBOX_UID_BASE + owner % SANDBOX_UID_BASE if real_root else 0
        work, home = isolate(spec, uid, extra)
        os.chdir(work)
        apply_limits(limits, exact_process_count=True)  # a private user, or user namespace
        if real_root:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if not real_root and root:
            drop_capabilities()
        landlock_inside_namespaces(spec, work, home)
        os.environ.clear()
        os.environ.update(clean_env(home, work))
        libc().mallopt(M_ARENA_MAX, 2)  # each thread's malloc arena would reserve 64 MB
        code = os.fork()  # process 1 of a private tree: reap, and report
    except Exception as error:  # the sandbox could not be built: say why, run nothing
        os.write(status_fd, json.dumps({"setup_error": str(error)}).encode())
        os._exit(SETUP_FAILED)
    os.close(status_fd)
    if code != 0:
        _reap(code)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    _run(spec, home, work, kernel_args, confined=False)


def _log_to(spec: LaunchSpec) -> None:
    """The sandboxed process's stderr (and stdout, for a kernel) go to the spec's log file."""
    log = os.open(spec.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for std in (1, 2) if spec.is_kernel else (2,):  # a program answers on stdout
        os.dup2(log, std)
    os.close(log)


def _run(
    spec: LaunchSpec, home: str, work: str, kernel_args: list[str], confined: bool
) -> NoReturn:
    """Run the kernel, or the program, in this process; never returns."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if not spec.is_kernel:
        importlib.import_module(spec.program).main(confined=confined)
        os._exit(0)
    _run_kernel(os.path.join(home, ".kernel", "connection.json"), kernel_args, work)
    os._exit(0)


class _End(CourseError):
    """The launcher asked the guardian to end the sandbox, or died."""


def _end(signum: int, frame: FrameType | None) -> NoReturn:
    raise _End()


END_SIGNAL = signal.SIGUSR1  # launcher -> guardian: end the code and everything it started


def _guardian(
    spec: LaunchSpec,
    mode: str,
    connection_file: str | None,
    kernel_args: list[str],
    status_fd: int,
    owner: int,
    group: int,
) -> NoReturn:
    """The launcher's child without namespaces: prepare the folders, start the code in a
    process of its own, and when it ends (or the launcher asks, or dies) end every process it
    started. A child subreaper, in a process group of its own, so that the grader's signals to
    the kernel's group (interrupt, kill) never reach it and the processes that leave their
    parent come back to it; its exit code is the code's, or 128 + the signal that ended it.

    mode -- "landlock" or "limits"; owner -- process id of the launcher; group -- its group
    """
    try:
        signal.signal(END_SIGNAL, _end)
        prctl(PR_SET_CHILD_SUBREAPER, 1)
        prctl(PR_SET_PDEATHSIG, END_SIGNAL)
        if os.getppid() != owner:
            raise OSError("the launcher ended before its sandbox started")
        os.setpgid(0, 0)
        if mode == "landlock":  # libseccomp loaded now, while everything can be read
            seccomp.check()
        private = mode == "landlock" and is_real_root()
        uid = SANDBOX_UID_BASE + owner % SANDBOX_UID_BASE if private else os.getuid()
        work, home = own_folders(spec, uid, _extra_files(spec, connection_file))
    except Exception as error:  # noqa: BLE001 -- the sandbox could not be built: say why
        os.write(status_fd, json.dumps({"setup_error": str(error)}).encode())
        os._exit(SETUP_FAILED)
    signal.pthread_sigmask(signal.SIG_BLOCK, [END_SIGNAL])  # held until the code is known
    code = os.fork()
    if code == 0:
        signal.signal(END_SIGNAL, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [END_SIGNAL])
        _confined(spec, mode, work, home, uid if private else None, kernel_args, status_fd, group)
    os.close(status_fd)
    exit_code = SETUP_FAILED
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [END_SIGNAL])
        while True:
            pid, wait_status = os.wait()  # the code, or a process that left its parent
            if pid == code:
                exit_code = os.waitstatus_to_exitcode(wait_status)
                exit_code = 128 - exit_code if exit_code < 0 else exit_code
                break
    except _End:
        exit_code = 128 + signal.SIGKILL
    except ChildProcessError:
        pass
    signal.signal(END_SIGNAL, signal.SIG_IGN)
    sweep()
    os._exit(exit_code)


def _confined(
    spec: LaunchSpec,
    mode: str,
    work: str,
    home: str,
    private_uid: int | None,
    kernel_args: list[str],
    status_fd: int,
    group: int,
) -> NoReturn:
    """The code's process without namespaces: limits, the private user when started by root,
    no privileges, and in "landlock" mode Landlock and seccomp; then the kernel or program."""
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_DUMPABLE, 1)  # the student's own process again (the grader's are not)
        os.setpgid(0, group)  # the launcher's group: the grader's interrupts reach the kernel
        _log_to(spec)
        os.chdir(work)
        apply_limits(spec.limits, exact_process_count=private_uid is not None)
        if private_uid is not None:
            os.setgroups([SANDBOX_GID])
            os.setgid(private_uid)
            os.setuid(private_uid)
            check_reachable(private_uid)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if mode == "landlock":
            confine(spec, work, home)
        os.environ.clear()
        os.environ.update(clean_env(home, work))
        libc().mallopt(M_ARENA_MAX, 2)
    except Exception as error:  # noqa: BLE001 -- say why, run nothing
        os.write(
            status_fd, json.dumps({"setup_error": f"{type(error).__name__}: {error}"}).encode()
        )
        os._exit(SETUP_FAILED)
    os.close(status_fd)
    _run(spec, home, work, kernel_args, confined=mode == "limits")


def _reap(code_pid: int) -> NoReturn:
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


def _run_kernel(connection_file: str, kernel_args: list[str], work: str) -> None:
    """Start an IPython kernel in this process, as `python -m ipykernel_launcher` would."""
    sys.argv = ["ipykernel_launcher", "-f", connection_file, *kernel_args]
    sys.path[:] = [p for p in sys.path if p not in ("", work) and p not in LAUNCHER_PATHS]
    # imported here: only a kernel's launcher needs it (the zygote has it loaded already), and
    # it takes a third of a second that the re-check's launcher would spend for nothing
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    LAUNCHER_PATHS.update([sys.path[0], *os.environ.get("PYTHONPATH", "").split(os.pathsep)])
    spec = LaunchSpec.read(argv[0])
    connection_file = argv[1] if len(argv) > 1 else None
    kernel_args = argv[2:]
    if not spec.is_kernel:  # its modules, loaded before the file system is hidden
        importlib.import_module(spec.program).preload()
    try:  # the session decided the isolation and derived the limits: they are only checked
        mode = spec.limits.checked().isolation
    except ValueError as wrong:
        return _refuse(spec, None, str(wrong))
    if mode == "namespaces":
        why = enter_namespaces()
        if why:  # never less isolation than asked for
            return _refuse(spec, mode, f"Linux namespaces were asked for, but {why}")
    guard_grader_process()  # from here on, the launcher holds what the sandbox must not see
    status_path = Path(spec.status_file)
    status_dir = os.open(status_path.parent, os.O_RDONLY | os.O_DIRECTORY)
    status: dict[str, str | int | None] = {"isolation": mode}  # ExitStatus.read reads it back
    _write_status(status_dir, status_path.name, status)
    read_end, write_end = os.pipe()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts reach the kernel directly
    owner, group = os.getpid(), os.getpgid(0)  # (a child in a new process namespace cannot see it)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        if mode == "namespaces":
            _child(spec, connection_file, kernel_args, write_end, owner)
        _guardian(spec, mode, connection_file, kernel_args, write_end, owner, group)
    os.close(write_end)
    stop = signal.SIGKILL if mode == "namespaces" else END_SIGNAL
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, stop))
    setup = os.read(read_end, 1 << 16)
    wait_status = _wait(pid, parent=os.getppid(), stop=stop)
    if setup:
        status.update(json.loads(setup.decode()))
    if os.WIFSIGNALED(wait_status):
        status.update(signal=os.WTERMSIG(wait_status), exit=None)
        code = 128 + os.WTERMSIG(wait_status)
    else:
        code = os.WEXITSTATUS(wait_status)
        status.update(exit=code)
        if code > 128 and code - 128 in signal.Signals._value2member_map_:
            status.update(signal=code - 128, exit=None)  # reported by the launcher's child
    _write_status(status_dir, status_path.name, status)
    return code


def _refuse(spec: LaunchSpec, mode: str | None, why: str) -> int:
    """Record that the sandbox could not be built as asked, and run nothing."""
    status_path = Path(spec.status_file)
    status_dir = os.open(status_path.parent, os.O_RDONLY | os.O_DIRECTORY)
    _write_status(status_dir, status_path.name, {"isolation": mode, "setup_error": why})
    return SETUP_FAILED


def _wait(pid: int, parent: int, stop: int = signal.SIGKILL) -> int:
    """Wait for the sandbox's first process, woken as it ends; stop it if the grader that
    started us dies (checked every 0.2 s)."""
    end = ProcessEnd(pid)
    try:
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                return wait_status
            if os.getppid() != parent:  # the grader is gone: nobody will read the results
                os.kill(pid, stop)
            end.sleep(0.2)
    finally:
        end.close()


def _write_status(dir_fd: int, name: str, status: dict[str, str | int | None]) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "w") as f:
        json.dump(status, f)


if __name__ == "__main__":
    sys.exit(main())
