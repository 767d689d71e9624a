"""Does the "landlock" confinement refuse, on this kernel, what it promises to refuse?

A forked child confines itself exactly as the launcher confines student code
(isolation.confine: Landlock's rules, then the seccomp filter), then tries each way past it
and reports what happened. Fast: no kernel, no notebook. The graded corpus
(tests/grading/test_isolation_modes.py) shows the same through real submissions.
"""

import ctypes
import errno
import json
import os
import socket

import pytest

from instructor.grading.sandbox import LaunchSpec, Limits
from instructor.grading.sandbox import landlock as ll
from instructor.grading.sandbox.isolation import PR_SET_NO_NEW_PRIVS, confine, prctl
from instructor.grading.sandbox.modes import landlock_refused

pytestmark = pytest.mark.skipif(bool(landlock_refused()), reason="no Landlock on this kernel")


def _attempts(parent, secret, own, unix_socket):
    """Each way out, tried from inside: (what, errno or 0 when it worked)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def tried(action):
        try:
            action()
            return 0
        except OSError as error:
            return error.errno

    def syscall(call):
        def run():
            if call() != 0:
                raise OSError(ctypes.get_errno(), "")

        return run

    return {
        "read a file outside": tried(lambda: open(secret).close()),
        "write its own folder": tried(lambda: open(os.path.join(own, "x"), "w").close()),
        "read the system": tried(lambda: open("/etc/hostname").close()),
        "list /proc": tried(lambda: os.listdir("/proc")),
        "the grader's working folder": tried(lambda: os.readlink(f"/proc/{parent}/cwd")),
        "the grader's environment": tried(lambda: open(f"/proc/{parent}/environ").close()),
        "signal the grader": tried(lambda: os.kill(parent, 0)),
        "ptrace the grader": tried(syscall(lambda: libc.ptrace(16, parent, 0, 0))),  # ATTACH
        "a user namespace": tried(syscall(lambda: libc.unshare(0x10000000))),
        "a TCP socket": tried(lambda: socket.socket(socket.AF_INET).close()),
        "connect a UNIX socket": tried(lambda: socket.socket(socket.AF_UNIX).connect(unix_socket)),
        "a pair of UNIX sockets": tried(lambda: [s.close() for s in socket.socketpair()]),
    }


# The kernel's own ABI, and Ubuntu 24.04's (4: no signal scope, so seccomp refuses signals).
ABIS = sorted({ll.abi_version(), 4}) if not landlock_refused() else []


@pytest.mark.parametrize("abi", ABIS)
def test_the_landlock_confinement_refuses_each_way_out(tmp_path, abi):
    """On this kernel's ABI, and with the rules of ABI 4 (Ubuntu 24.04's), is each way past
    the sandbox refused, and what a notebook needs still allowed?"""
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    own = tmp_path / "run"
    own.mkdir()
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "server.sock"))
    listening.listen()
    spec = LaunchSpec(program="kernel", limits=Limits(), files_dir=str(tmp_path),
                      status_file=str(tmp_path / "status"), hide=(str(tmp_path / "course"),))  # fmt: skip
    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            used = confine(spec, str(own), str(own), abi=abi)
            result = {"abi": used, **_attempts(parent, secret, own, str(tmp_path / "server.sock"))}
        except BaseException as error:  # noqa: BLE001 -- reported to the test
            result = {"error": repr(error)}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    result = json.loads(os.read(read_end, 1 << 16))
    os.waitpid(pid, 0)
    listening.close()
    used = result.pop("abi", None)
    print(f"Landlock ABI {used}: " + ", ".join(f"{k}: {errno.errorcode.get(v, 'done')}" for k, v in result.items()))  # fmt: skip
    assert "error" not in result, result
    assert result == {
        "read a file outside": errno.EACCES,
        "write its own folder": 0,
        "read the system": 0,
        "list /proc": errno.EACCES,
        "the grader's working folder": errno.EACCES,  # Landlock's ptrace rule
        "the grader's environment": errno.EACCES,
        "signal the grader": errno.EPERM,  # ABI 6's scope, else seccomp
        "ptrace the grader": errno.EPERM,
        "a user namespace": errno.EPERM,
        "a TCP socket": errno.EAFNOSUPPORT,
        "connect a UNIX socket": errno.EACCES,
        "a pair of UNIX sockets": 0,
    }


def test_below_abi_6_only_the_own_process_group_can_be_signalled():
    """Without Landlock's signal scope, does the seccomp filter let the code signal its own
    process group (pid 0) and nothing else, not even by its own pid?"""
    from instructor.grading.sandbox import seccomp

    read_end, write_end = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        outcome = {}
        try:
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            seccomp.load(signals_scoped=False)
            for name, target in (("group", 0), ("grader", parent), ("itself", os.getpid())):
                try:
                    os.kill(target, 0)
                    outcome[name] = 0
                except OSError as error:
                    outcome[name] = error.errno
        except BaseException as error:  # noqa: BLE001
            outcome = {"error": repr(error)}
        os.write(write_end, json.dumps(outcome).encode())
        os._exit(0)
    os.close(write_end)
    outcome = json.loads(os.read(read_end, 1 << 16))
    os.waitpid(pid, 0)
    assert outcome == {"group": 0, "grader": errno.EPERM, "itself": errno.EPERM}
