"""Running a notebook for grading: nbgrader's Execute, with the kernel in a sandbox.

`SandboxedExecute` replaces nbgrader's Execute preprocessor in the grading pipeline (see
worker.py). It behaves the same on a well-behaved notebook, and turns every way a notebook can
misbehave into a defined result: a cell that runs too long, a notebook that runs too long,
output without end, a kernel that dies or stops answering. Each such event is an "incident",
one line for the grading summary.
"""

import asyncio
import json
from collections.abc import Iterable
from time import monotonic
from typing import Any

import nbclient
import nbconvert
import nbformat
import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from ..errors import CourseError
from ..grading.needed import name_of
from ..grading.sandbox import ExitStatus, Limits
from ..grading.sandbox.kernels import KERNEL_NAME, SandboxKernelManager
from ..grading.sandbox.zygote import zygote
from ..grading.workspace import Workspace

# SandboxedExecute overrides private methods of nbclient's NotebookClient and nbconvert's
# ExecutePreprocessor, whose behaviour it was written against; another version of either may
# have changed them silently. These are the versions it was checked with (major.minor).
CHECKED_WITH = {"nbclient": ((0, 10), (0, 11)), "nbconvert": ((7, 16), (7, 17))}
PRIVATE_OVERRIDES = ("_async_poll_output_msg", "_async_handle_timeout", "_check_assign_resources")


class UncheckedVersion(CourseError, ImportError):
    """nbclient or nbconvert is a version SandboxedExecute was not checked with."""


def check_versions(versions: dict[str, str] | None = None, base: type = Execute) -> None:
    """Fail loudly, saying what to do, when nbclient or nbconvert is not a version this module
    was checked with, or when a private method it overrides is gone from the base class."""
    versions = versions or {"nbclient": nbclient.__version__, "nbconvert": nbconvert.__version__}
    problems = []
    for package, version in versions.items():
        if tuple(int(part) for part in version.split(".")[:2]) not in CHECKED_WITH[package]:
            checked = " and ".join(f"{a}.{b}" for a, b in CHECKED_WITH[package])
            problems.append(f"{package} {version} is installed (checked with {checked})")
    missing = [name for name in PRIVATE_OVERRIDES if not hasattr(base, name)]
    if missing:
        problems.append(f"{', '.join(missing)} no longer exist")
    if problems:
        raise UncheckedVersion(
            "the grader's SandboxedExecute (preprocessors/sandboxed_execute.py) overrides the private methods "
            f"{', '.join(PRIVATE_OVERRIDES)} of nbclient and nbconvert, but "
            + "; ".join(problems)
            + ": install the versions of requirements.txt, or check those methods against the "
            "new versions and add them to CHECKED_WITH"
        )


check_versions()

PROBE_SECONDS = 5  # how long a kernel has to answer again after a timed-out cell was interrupted
# Error outputs that an incident explains already (the grader's own, and interrupts).
STOPPED = ("NotRun", "KernelStopped", "CellTimeoutError", "KeyboardInterrupt")


def _output_size(msg: dict[str, Any]) -> int:
    """About how many bytes an output message adds to the notebook."""
    content = msg.get("content", {})
    size = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    for line in content.get("traceback") or []:
        size += len(line)
    return size


def _dropped(why: str) -> NotebookNode:
    """The line a cell shows where the grader dropped its output."""
    line: NotebookNode = nbformat.v4.new_output(
        "stream", name="stdout", text=f"\n[The grader stopped this output: {why}.]\n"
    )
    return line


KEPT_RESULT_CHARS = 10_000  # of a result or error kept past the output limit


def _shortened(msg: dict[str, Any]) -> dict[str, Any]:
    """A result or error message with each text cut to a reasonable length."""
    content = msg.get("content", {})
    for key, value in list((content.get("data") or {}).items()):
        if isinstance(value, str) and len(value) > KEPT_RESULT_CHARS:
            content["data"][key] = value[:KEPT_RESULT_CHARS] + "..."
    if "traceback" in content:
        lines = [line[:KEPT_RESULT_CHARS] for line in content["traceback"] or []]
        content["traceback"] = lines if len(lines) <= 200 else lines[:100] + ["..."] + lines[-100:]
    if isinstance(content.get("evalue"), str):
        content["evalue"] = content["evalue"][:KEPT_RESULT_CHARS]
    return msg


def _key(cell: NotebookNode, index: int) -> str:
    """A cell's name in the durations: its nbgrader id, or its position."""
    grade_id: str | None = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id or f"#{index + 1}"


_ZMQ_CONTEXTS: dict[int | None, zmq.asyncio.Context] = {}


# How soon a socket of the grader tries again to reach a kernel that is not listening yet
# (ZeroMQ's default is 100 ms): the client connects as the kernel starts, and a kernel forked
# from the zygote listens some 40 ms later.
RECONNECT_MS = 10


def _zmq_context(limits: Limits) -> zmq.asyncio.Context:
    """The ZeroMQ context of the grader's kernel manager (its control channel): a message
    larger than the output limit disconnects the kernel."""

    largest = int(2 * limits.max_output_mb * 2**20) + (1 << 20)
    if largest not in _ZMQ_CONTEXTS:
        _ZMQ_CONTEXTS[largest] = _new_context(MAXMSGSIZE=largest)
    return _ZMQ_CONTEXTS[largest]


def _client_context() -> zmq.asyncio.Context:
    """The ZeroMQ context of the grader's kernel clients, one per process (jupyter_client would
    start and stop one per kernel). It has no message-size limit: the kernel's output is
    counted and cut message by message (`SandboxedExecute.output`), and a kernel that printed
    too much in one flush still gets its note; one message is bounded by the kernel's own
    memory limit."""
    if None not in _ZMQ_CONTEXTS:
        _ZMQ_CONTEXTS[None] = _new_context()
    return _ZMQ_CONTEXTS[None]


def _new_context(**options: int) -> zmq.asyncio.Context:
    """A context whose sockets reach a kernel within RECONNECT_MS of its listening."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
    for name, value in options.items():
        context.setsockopt(getattr(zmq, name), value)
    return context


class GraderFailure(CourseError):
    """The grader itself failed (not the student's code): the submission is "failed", with
    this message and its traceback, and graded again on the next run."""


class SandboxedExecute(Execute):  # type: ignore[misc]  # nbgrader ships no types
    """nbgrader's Execute, with the kernel in a sandbox and every failure ending in a score.

    - the kernel is started by the sandbox's launcher (limits, isolation), over IPC sockets;
    - each cell may run `limits.cell_timeout` seconds (nbgrader interrupts it, the cell fails);
      a kernel that does not answer again within a few seconds is stopped;
    - the whole notebook may run `limits.notebook_timeout` seconds;
    - output beyond `limits.max_output_mb` is not stored; the cell is interrupted, and a kernel
      that goes on printing for a few seconds after that is stopped;
    - when the kernel dies or is stopped, the cell that was running and every code cell not run
      yet get an error output saying why, so that their tests score zero (nbgrader would give
      full points to a test cell without output), and the run continues to the end;
    - the cells at the positions `skip` (the cells the grade does not need, needed.py) are
      not run: they keep no output and no execution count, and no time limit counts them.

    `incidents` lists what happened, one line each.
    """

    # the state of one run, set by `preprocess`
    incidents: list[str]
    durations: dict[str, float]
    _stop_reason: str | None
    _timed_out: int | None
    _output_capped: float  # when the output limit was reached (monotonic)
    _capped_cell: int | None  # the cell that reached it (interrupted)
    _output_bytes: int
    _later_bytes: int  # output of the cells after it, dropped
    _marked_cells: set[int]  # the later cells whose output was dropped, each told so once
    _garbled: int
    _deadline: float
    _current: int

    def __init__(
        self,
        workspace: "Workspace",
        limits: Limits,
        skip: Iterable[int] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.limits = limits
        self.skip = frozenset(skip)
        self.timeout = int(min(limits.longest_cell(), limits.notebook_timeout))
        self.startup_timeout = int(min(60, limits.notebook_timeout))
        self.shutdown_kernel = "immediate"
        self.timeout_func = self._cell_timeout

    # the kernel
    def create_kernel_manager(self) -> SandboxKernelManager:
        specs = KernelSpecManager(kernel_dirs=[str(self.workspace.kernels)])
        specs.ensure_native_kernel = False
        self.km = SandboxKernelManager(
            zygote=(
                zygote(self.workspace.font_cache, self.workspace.preload)
                if self.workspace.use_zygote
                else None
            ),
            kernel_name=KERNEL_NAME,
            kernel_spec_manager=specs,
            transport="ipc",
            ip=str(self.workspace.ipc / "k"),
            connection_file=str(self.workspace.private / "connection.json"),
            context=_zmq_context(self.limits),
            client_context=_client_context(),
            config=self.config,
        )
        return self.km

    # time limits
    def _cell_timeout(self, cell: NotebookNode) -> int:
        left = self._deadline - monotonic()
        own = self.limits.cell_limit(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
        return max(1, int(min(own, left)))

    async def _async_handle_timeout(
        self, timeout: int, cell: NotebookNode | None = None
    ) -> dict[str, Any] | None:
        self._timed_out = timeout
        reply: dict[str, Any] | None = await super()._async_handle_timeout(timeout, cell)
        return reply

    async def _async_answers_again(self, seconds: float) -> bool:
        """After an interrupt: does the kernel answer a request within seconds?"""
        msg_id = self.kc.execute("", silent=True, store_history=False)
        deadline = monotonic() + seconds
        while (left := deadline - monotonic()) > 0:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Exception:  # noqa: BLE001 -- Empty or a closed channel: no answer
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    answers_again = run_sync(_async_answers_again)

    # output
    async def _async_poll_output_msg(
        self, parent_msg_id: str, cell: NotebookNode, cell_index: int
    ) -> None:
        """nbclient's output loop, dropping a message that fails its signature check (a kernel
        that ran out of memory while sending can garble one) instead of ending the run."""
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            except ValueError:
                self._garbled += 1
                continue
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        if msg["msg_type"] in ("execute_result", "error"):  # results and errors are always kept:
            kept: NotebookNode | None = super().output(
                outs, _shortened(msg), display_id, cell_index
            )
            return kept  # they score
        size = _output_size(msg)
        self._output_bytes += size
        cap = self.limits.max_output_mb * 2**20
        if self._output_bytes <= cap:
            shown: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
            return shown
        if self._capped_cell is None:  # the cell that went past the limit: interrupt it
            self._capped_cell, self._output_capped = cell_index, monotonic()
            outs.append(
                _dropped(f"the notebook printed more than {self.limits.max_output_mb:g} MB")
            )
            self.incidents.append(
                f"{name_of(self.nb.cells[cell_index], cell_index)} printed past the "
                f"{self.limits.max_output_mb:g} MB output limit; the rest of its output was "
                "dropped and the cell interrupted"
            )
            asyncio.ensure_future(self.km.interrupt_kernel())
            return None
        # Past the limit, every output is dropped; the run is stopped only if the printing goes
        # on: in the interrupted cell after the kernel had time to stop it, or, from a later
        # cell (a thread left printing), another limit's worth. A later cell's own few lines
        # (a training's costs) are dropped, with a line saying so, and its run goes on.
        if cell_index == self._capped_cell:
            printing_on = monotonic() - self._output_capped > PROBE_SECONDS
        else:
            self._later_bytes += size
            printing_on = self._later_bytes > cap
            if cell_index not in self._marked_cells:
                self._marked_cells.add(cell_index)
                outs.append(
                    _dropped(
                        f"the notebook had already printed more than "
                        f"{self.limits.max_output_mb:g} MB in an earlier cell"
                    )
                )
        if printing_on and not self._stop_reason:
            self._stop(
                "the notebook went on printing after it was interrupted for its output limit"
            )
            asyncio.ensure_future(self.km.shutdown_kernel(now=True))
        return None

    # the run
    def preprocess(
        self,
        nb: NotebookNode,
        resources: dict[str, Any] | None = None,
        km: SandboxKernelManager | None = None,
    ) -> tuple[NotebookNode, dict[str, Any]]:
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.incidents, self._stop_reason = [], None
        self.durations = {}  # seconds each code cell ran, by grade id (or position)
        self._output_bytes, self._output_capped, self._garbled = 0, 0.0, 0
        self._capped_cell, self._later_bytes, self._marked_cells = None, 0, set()
        self._deadline = monotonic() + self.limits.notebook_timeout
        self._current = 0  # the cell being run
        started = False
        try:
            with self.setup_kernel():
                started = True
                info = self.wait_for_reply(self.kc.kernel_info())
                if info:
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
                self._run_cells(resources)
        except Exception as error:  # noqa: BLE001 -- any failure ends the run, with a reason
            if not started:  # before any student code ran: the grader's failure, not a score
                raise GraderFailure(
                    f"the kernel could not start ({type(error).__name__}: {error})"
                    + (f"; {self._exit_reason(all_lines=True)}" if self._exit_reason() else "")
                ) from error
            else:
                name = name_of(self.nb.cells[self._current], self._current)
                self._stop(f"the run failed in {name} ({type(error).__name__}: {error})")
                self._fail(self.nb.cells[self._current], self._stop_reason)
            self._fail_remaining(self._current + 1 if started else 0)
        if self._garbled:
            self.incidents.append(
                f"{self._garbled} unreadable output message(s) of the kernel dropped"
            )
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _run_cells(self, resources: dict[str, Any] | None) -> None:
        for index, cell in enumerate(self.nb.cells):
            self._current = index
            if index in self.skip:
                continue
            if self._stop_reason:
                self._fail_remaining(index)
                return
            if monotonic() >= self._deadline and self._runs(cell):
                self._stop(
                    f"the notebook reached its {self.limits.notebook_timeout:g} s time limit "
                    f"before {name_of(cell, index)}"
                )
                continue
            self._timed_out = None
            started = monotonic()
            try:
                self.preprocess_cell(cell, resources, index)
            except DeadKernelError:
                why = (
                    self._stop_reason
                    or f"the kernel died while running {name_of(cell, index)} ({self._exit_reason()})"
                )
                self._stop(why)
                self._fail(cell, why)
                continue
            except CellTimeoutError:  # the reply came, its output did not: go on
                if self._timed_out is None:
                    self.incidents.append(f"{name_of(cell, index)}: its output stopped arriving")
            finally:
                if self._runs(cell):
                    self.durations[_key(cell, index)] = round(monotonic() - started, 3)
            if self._timed_out is not None:
                self._after_timeout(index)

    def _after_timeout(self, index: int) -> None:
        name = name_of(self.nb.cells[index], index)
        if monotonic() >= self._deadline:
            why = (
                f"the notebook reached its {self.limits.notebook_timeout:g} s time limit while "
                f"running {name}"
            )
            self._kill(why)
        elif not self.answers_again(PROBE_SECONDS):
            self._kill(
                f"{name} ran past its {self._timed_out} s time limit and the kernel did not stop "
                "when interrupted"
            )
        else:
            self.incidents.append(
                f"{name} ran past its {self._timed_out} s time limit and was interrupted"
            )

    def _kill(self, why: str) -> None:
        self._stop(why)
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 -- already gone
            pass

    def _stop(self, why: str) -> None:
        if not self._stop_reason:
            self._stop_reason = why
            self.incidents.append(why + "; the cells after it were not run (their tests score 0)")

    def _exit_reason(self, all_lines: bool = False) -> str:
        """How the kernel's sandbox ended, with the last line its kernel wrote, if any (the
        last lines of its log with all_lines, for a kernel that could not start)."""
        status = ExitStatus.read(self.workspace.status_file)
        reason = status.describe() if status.recorded else ""
        try:
            lines = (self.workspace.private / "kernel.log").read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        lines = [line.rstrip() for line in lines if line.strip()]
        if all_lines and lines:
            reason += "; its log ends:\n" + "\n".join(line[:300] for line in lines[-20:])
        elif lines and status.exit not in (None, 0):
            reason += f"; it said: {lines[-1].strip()[:200]}"
        return reason

    @staticmethod
    def _runs(cell: NotebookNode) -> bool:
        return bool(cell.cell_type == "code" and cell.source.strip())

    def _fail(self, cell: NotebookNode, why: str | None, ename: str = "KernelStopped") -> None:
        if self._runs(cell):
            cell.setdefault("outputs", []).append(
                nbformat.v4.new_output(
                    "error", ename=ename, evalue=why, traceback=[f"{ename}: {why}"]
                )
            )

    def _fail_remaining(self, start: int) -> None:
        for index, cell in enumerate(self.nb.cells[start:], start):
            if index in self.skip:
                continue
            if self._runs(cell) and not any(
                o.output_type == "error" for o in cell.get("outputs", [])
            ):
                self._fail(cell, f"not run: {self._stop_reason}", ename="NotRun")
