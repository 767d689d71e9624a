"""The kernel zygote: fresh sandboxed processes without paying for their imports each time.

`serve` runs in a process of its own (the launcher's command with --zygote): it imports the
modules every kernel of a notebook course loads anyway, once, then forks one launcher per
request. Each forked launcher is a fresh process of its own, with the same limits and
isolation as a launcher started from scratch; the zygote itself runs no student code.
`Zygote` is the grader's side: it starts the process and asks it for launchers.
"""

import atexit
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from time import monotonic
from types import FrameType
from typing import Any, NoReturn

from . import launch, launcher
from .exits import ProcessEnd
from .isolation import SINGLE_THREADED, guard_grader_process

# The modules every kernel imports, loaded once by the zygote: the kernel's application, and
# its debugger (IPython's kernel loads it, with debugpy, as it starts: 50 ms a kernel). The
# modules the kernels of an assignment import anyway come from the course's file of the
# assignment ([grading] preload in assignments/<assignment>.toml, carried by the Bundle) and
# are loaded after them. Missing ones are skipped: each kernel forked from the zygote starts
# with them loaded.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger")


def serve() -> NoReturn:
    """A process that imports PRELOAD and the modules of its first line once, then forks one
    launcher per request.

    The first line on stdin is {"preload": [module names]}, the assignment's. Then requests
    arrive on stdin, one JSON line each: {"argv": [launcher arguments], "cwd": ...,
    "stdin": file or null, "stdout": file or null}; the answer on stdout is {"pid": ...}. The
    forked launcher is what the launcher's command (launch.py) would be (new session, same limits and isolation), but it starts with the modules loaded;
    it never serves two kernels, and the zygote itself runs no student code. When stdin closes
    (the grader is gone), the zygote ends, and its launchers stop their kernels.
    """
    os.environ.update(SINGLE_THREADED)
    guard_grader_process()  # it holds the grader's environment: closed to other processes
    first = json.loads(sys.stdin.buffer.readline() or b"{}")
    for name in dict.fromkeys([*PRELOAD, *first.get("preload", ())]):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    launcher.LAUNCHER_PATHS.update(
        [sys.path[0], *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
    )
    signal.signal(signal.SIGCHLD, _reap_launchers)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _launcher_from_zygote(request)
        sys.stdout.write(json.dumps({"pid": pid}) + "\n")
        sys.stdout.flush()
    # The grader is gone or done. Nothing here is left to save (each answer was flushed), and
    # unloading the modules of a kernel takes a fifth of a second the grader's worker waits.
    os._exit(0)


def _reap_launchers(signum: int, frame: FrameType | None) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _launcher_from_zygote(request: dict[str, Any]) -> None:
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
        code = launcher.main(request["argv"])
    except BaseException:  # noqa: BLE001 -- a launcher never returns into the zygote's loop
        code = launcher.SETUP_FAILED
    os._exit(code)


# --- the grader's side -------------------------------------------------------------------------


class Zygote:
    """The grader's handle on a zygote process (see `serve`), started once per process."""

    def __init__(self, font_cache: str | os.PathLike[str], preload: Iterable[str] = ()) -> None:
        env = {**os.environ, **launch.environment(), **SINGLE_THREADED}
        env["MPLCONFIGDIR"] = str(font_cache)
        self.process = subprocess.Popen(
            launch.zygote_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        atexit.register(self.close)
        assert self.process.stdin is not None  # a pipe, as asked
        self.process.stdin.write(json.dumps({"preload": list(preload)}).encode() + b"\n")
        self.process.stdin.flush()

    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(
        self,
        argv: list[str],
        cwd: str | os.PathLike[str],
        stdin: str | os.PathLike[str] | None = None,
        stdout: str | os.PathLike[str] | None = None,
    ) -> "ForkedProcess":
        """Fork a launcher with these arguments (and these files as its standard input and
        output, else /dev/null); return a Popen-like handle on it."""
        files = {"stdin": str(stdin) if stdin else None, "stdout": str(stdout) if stdout else None}
        request = json.dumps({"argv": argv, "cwd": str(cwd), **files}) + "\n"
        assert self.process.stdin is not None and self.process.stdout is not None  # PIPEs
        self.process.stdin.write(request.encode())
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise OSError("the kernel zygote stopped")
        return ForkedProcess(json.loads(answer)["pid"])

    def close(self) -> None:
        if self.alive():
            assert self.process.stdin is not None  # a PIPE
            self.process.stdin.close()
            self.process.wait(timeout=10)


_ZYGOTES: dict[tuple[str | os.PathLike[str], tuple[str, ...]], Zygote] = {}


def zygote(font_cache: str | os.PathLike[str], preload: Iterable[str] = ()) -> Zygote:
    """This process's zygote with these modules loaded, started (again) when needed."""
    key = (font_cache, tuple(preload))
    if key not in _ZYGOTES or not _ZYGOTES[key].alive():
        _ZYGOTES[key] = Zygote(font_cache, preload)
    return _ZYGOTES[key]


class ForkedProcess:
    """What jupyter_client needs of a Popen, for a launcher forked by the zygote (which reaps
    it): is it running, wait for it, signal it."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._end = ProcessEnd(pid)  # opened first: the start time then names the same process
        self._started = self._start_time()

    def _start_time(self) -> str | None:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else fields[19]

    def poll(self) -> int | None:
        if self.returncode is None and (
            self._started is None or self._start_time() != self._started
        ):
            self.returncode = -signal.SIGKILL  # gone (the zygote reaped it)
            self._end.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        """Its exit code, as soon as it has ended (woken by its end, not by polling)."""
        deadline = None if timeout is None else monotonic() + timeout
        while self.poll() is None:
            left = 1.0 if deadline is None else deadline - monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            self._end.sleep(min(left, 1.0))
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)
