"""The re-check's side inside the sandbox: run each answer cell alone and call its function.

The launcher (sandbox/launcher.py) runs this module as its program: `preload` before the file
system is hidden, `main` inside the sandbox. The request arrives on stdin:

    {"timeout": seconds per exercise,
     "exercises": [{"name", "function", "source", "calls": [[encoded arguments], ...]}]}

For each exercise a forked process executes ONLY the answer cell's source (with numpy as np),
then calls the function once per call, in order, and sends back plain data (codec.py): for each
call the exception raised or the encoded return value. The answers go to stdout:

    {name: {"outcome": "called", "calls": [{"outcome": "returned", "value": ...}
                                            | {"outcome": "raised", "type", "message"}]}
          | {"outcome": "missing" | "cell_error" | "timeout" | "too_large" | "crashed", ...}}

The expected values never reach the sandbox: only the arguments do.
"""

import builtins
import json
import os
import select
import signal
import sys
import time
from typing import Any

from ..sandbox import python_folders
from .codec import Codec, Reply, Request, decode

MAX_RESULT_BYTES = 16 << 20
# references taken before any student code runs (modules, functions, types), by name
_REFS: dict[str, Any] = {}


def preload() -> None:
    """Load numpy and keep the built-ins the re-check relies on, before student code runs."""
    # imported here, by the sandbox's process before its view is narrowed: the grader imports
    # this module too (for its name), and needs none of this
    import numpy
    import numpy.random

    numpy.random.randn(1)  # numpy loads parts of its random module on first use
    _REFS.update(
        numpy=numpy,
        codec=Codec(),
        list=list,
        dumps=json.dumps,
        write=os.write,
        exit=os._exit,
        exc=BaseException,
        str=str,
    )


def _error(error: BaseException) -> Reply:
    r = _REFS
    try:
        message = r["str"](error)[:500]
    except r["exc"]:
        message = ""
    return {"outcome": "raised", "type": r["codec"].type_name(error), "message": message}


def _run_exercise(exercise: Request, fd: int) -> None:
    """In a forked process: run one answer cell, call its function, send the results to fd."""
    r = _REFS
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "np": r["numpy"]}
    arguments = [[decode(a) for a in call] for call in exercise["calls"]]
    try:
        exec(compile(exercise["source"], "<answer cell>", "exec"), namespace)
        function = namespace.get(exercise["function"])
        answer: Reply
        if function is None:
            answer = {"outcome": "missing"}
        else:
            calls: list[Reply] = []
            for args in arguments:
                try:
                    result = function(*args)
                    calls.append({"outcome": "returned", "value": r["codec"].encode(result)})
                except r["exc"] as error:  # noqa: BLE001 -- the student's error is the result
                    calls.append(_error(error))
            answer = {"outcome": "called", "calls": calls}
    except r["exc"] as error:  # noqa: BLE001
        answer = {"outcome": "cell_error", "error": _error(error)}
    data = r["dumps"](answer).encode()
    while data:
        data = data[r["write"](fd, data) :]
    r["exit"](0)  # the forked process ends here


def _collect(pid: int, fd: int, timeout: float) -> Reply:
    """Read a forked exercise's answer; kill it when it takes longer than timeout seconds."""
    chunks: list[bytes] = []
    size, deadline = 0, time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"outcome": "timeout"}
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_RESULT_BYTES:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"outcome": "too_large"}
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    try:
        reply: Reply = json.loads(b"".join(chunks).decode())
        return reply
    except ValueError:
        crash = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        return {"outcome": "crashed", "signal": crash, "exit": os.waitstatus_to_exitcode(status)}


# What an answer may not do when the re-check runs without namespaces (limits-only isolation):
# an audit hook refuses these events in the forked process (a deterrent, not a wall).
PATH_EVENTS = ("open", "os.listdir", "os.scandir")  # allowed inside the Python installation
GUARDED_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.fork",
    "os.forkpty", "subprocess.Popen", "socket.connect", "socket.bind", "ctypes.dlopen",
    "ctypes.dlsym", "ctypes.call_function", "shutil.copyfile", "os.remove", "os.rename",
)  # fmt: skip


def _guard_files() -> None:
    """Refuse file access outside the Python installation, and process and network access."""
    allowed = tuple(p.rstrip("/") + "/" for p in python_folders()) + ("/dev/null",)
    realpath, fsdecode, isinstance_, int_ = os.path.realpath, os.fsdecode, isinstance, int

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event in PATH_EVENTS and args and not isinstance_(args[0], int_):
            path = realpath(fsdecode(args[0] if args[0] is not None else "."))
            if not (path + "/").startswith(allowed) and path != "/dev/null":
                raise PermissionError(f"the grader does not let answers open {path}")
        elif event in GUARDED_EVENTS:
            raise PermissionError(f"the grader does not let answers use {event}")

    sys.addaudithook(hook)


def main(confined: bool = False) -> None:
    """The re-check's first process: one forked process per exercise; the answers on stdout.

    confined -- install the audit hook of _guard_files in each forked process (when the
        sandbox has no namespaces to hide the file system)
    """
    request = json.loads(sys.stdin.read())
    answers: dict[str, Reply] = {}
    for exercise in request["exercises"]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(devnull, std)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 1 << 16)
            if confined:
                _guard_files()
            _run_exercise(exercise, write_end)
        os.close(write_end)
        answers[exercise["name"]] = _collect(pid, read_end, request["timeout"])
        os.close(read_end)
    sys.stdout.write(json.dumps(answers))
    sys.stdout.flush()
