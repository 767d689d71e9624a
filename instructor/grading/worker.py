"""Grading one submission as a self-contained task: on a Dask worker, or in-process (--serial).

`grade_submission(task, bundle)` needs nothing from the instructor's file system: the Task holds
the submission (normalised notebook, other files) and the limits, the Bundle (bundle.py) the
assignment (messages.py). It runs nbgrader's own autograde pipeline in a private temporary folder:

1. sanitize, with nbgrader's preprocessors (ClearOutput, DeduplicateIds, OverwriteKernelspec,
   OverwriteCells, CheckCellMetadata) against the private gradebook of the bundle, which is
   deleted before any student code runs;
2. plan: the cells the source marks as ones the grade does not need are left out of the run,
   unless a cell the student wrote needs them (needed.py); then the notebook runs whole, under
   the limits of a whole run (Task.whole_limits);
3. execute, with `SandboxedExecute` (execute.py: nbgrader's Execute, with the kernel started by
   the sandbox's launcher, a time limit per cell and per notebook, an output limit, and defined outcomes
   when the kernel dies or stops answering), ExercisePoints (each test cell's fraction becomes
   points from its metadata), then IgnorePattern, ClearMetadataPreprocessor and LimitOutput;
4. re-check each declared exercise's answer in a clean sandbox (recheck/): when the notebook's own run gave more
   points than the answer earns on its own, the clean score replaces it in the test cell's
   output, and the submission is flagged for review; tampering patterns in the student's code
   are flagged too (scan.py).

It returns a Result: the autograded notebook (JSON text) with per-exercise scores, notes and
flags. The
instructor's process then saves the grades with nbgrader's SaveAutoGrades and
AssignLatePenalties (record.py), exactly as `nbgrader autograde` would.
"""

import atexit
import json
import logging
import os
import shutil
import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from logging import Logger
from pathlib import Path
from types import TracebackType
from typing import Any

import nbformat
from nbconvert.exporters import NotebookExporter
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.converters.autograde import Autograde
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    SaveAutoGrades,
)
from traitlets.config import Config

from . import needed
from .execute import STOPPED, SandboxedExecute, name_of
from .exercise_points import ExercisePoints
from .messages import Bundle, Exercise, Result, Score, Task
from .needed import Plan
from .recheck import child as recheck_child
from .recheck.codec import Request
from .recheck.run import (
    Answer,
    Checked,
    CleanScore,
    Rounds,
    SandboxRun,
    checks_namespace,
    drive,
    rounds,
)
from .sandbox import ExitStatus, LaunchSpec, Limits, guard_grader_process
from .sandbox.kernels import KERNEL_NAME, kernel_spec
from .sandbox.spec import KERNEL
from .sandbox.zygote import zygote
from .scan import suspicious
from .startup import check_schemas_once

# Preprocessors the instructor's process runs on the returned notebook (they write grades).
SAVING = (SaveAutoGrades, AssignLatePenalties)
# nbgrader's autograde ends with CheckCellMetadata, which validates again every cell's nbgrader
# metadata against its schema (a tenth of a second or more: it checks the schema itself for
# every cell). Sanitizing validated the same metadata, and nothing since changes it (the
# kernel writes outputs, the engine outputs and the notebook's own metadata): the worker
# runs the final check only when a cell's nbgrader metadata did change (`_revalidate`), and
# the instructor's process, the gradebook's one writer, is spared it for every submission.
FINAL_CHECK = CheckCellMetadata
WORKSPACE_PREFIX = "igrade-"


class Notes(logging.Handler):
    """Collects what nbgrader's preprocessors warn about, as notes for the summary."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(notes: Notes) -> Logger:
    log = logging.getLogger(f"instructor.worker.{id(notes)}")
    log.propagate = False
    log.handlers[:] = [notes]
    log.setLevel(logging.WARNING)
    return log


# --- the workspace of one task ---------------------------------------------------------------


class Workspace:
    """Private temporary folders of one task, removed at the end."""

    def __init__(
        self,
        limits: Limits,
        hide: Iterable[str],
        workdir: str | None = None,
        preload: Iterable[str] = (),
    ) -> None:
        guard_grader_process()  # the worker holds the bundle: closed to other processes
        resolved = limits.resolved()  # IsolationRefused: the submission fails, saying why
        _remove_stale_workspaces()
        self.workdir = workdir
        self.base = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
        self.private = self.base / "private"  # gradebook copy, kernelspec, status: never visible
        self.files = self.base / "files"  # what the notebook's folder holds when it runs
        self.ipc = self.base / "ipc"  # the kernel's sockets
        self.kernels = self.private / "kernels"
        self.empty = self.base / "empty"
        for folder in (
            self.private,
            self.files,
            self.ipc,
            self.kernels / KERNEL_NAME,
            self.empty,
        ):
            folder.mkdir(parents=True, mode=0o700)
        self.status_file = self.private / "status.json"
        self.limits = resolved
        self.font_cache = _font_cache()
        self.use_zygote = limits.zygote
        self.preload = tuple(preload)  # the modules the zygote loads (Bundle.preload)
        self.hide = [*hide, str(self.base.parent), os.getcwd(), *_dask_folders()]

    def spec(
        self,
        name: str,
        program: str,
        files_dir: Path,
        status_file: Path,
        ipc_dir: Path | None = None,
        limits: Limits | None = None,
    ) -> Path:
        """Write the LaunchSpec of a sandboxed process of this task (under limits, resolved,
        or the workspace's); return its path."""
        spec = LaunchSpec(
            program=program, limits=limits.resolved() if limits else self.limits,
            files_dir=str(files_dir),
            status_file=str(status_file), hide=tuple(map(str, self.hide)),
            ipc_dir=str(ipc_dir) if ipc_dir else None, mpl_cache=str(self.font_cache),
            log_file=str(self.private / f"{name}.log"), workdir=self.workdir,
        )  # fmt: skip
        return spec.write(self.private / f"{name}.json")

    def write_kernelspec(self, limits: Limits | None = None) -> None:
        spec = self.spec(
            "kernel", KERNEL, self.files, self.status_file, ipc_dir=self.ipc, limits=limits
        )
        kernel_json = self.kernels / KERNEL_NAME / "kernel.json"
        kernel_json.write_text(json.dumps(kernel_spec(spec)))

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _remove_stale_workspaces() -> None:
    """Folders left by workers that were killed mid-task (their process is gone)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{WORKSPACE_PREFIX}*-*"):
        pid = folder.name[len(WORKSPACE_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _where() -> str:
    """Which worker grades: its Dask address, or this machine's name outside Dask."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return os.uname().nodename


def _dask_folders() -> list[str]:
    try:
        from distributed import get_worker

        return [str(get_worker().local_directory)]
    except (ImportError, ValueError):
        return []


_FONT_CACHE: dict[str, Path] = {}


def _font_cache() -> Path:
    """A folder with matplotlib's font list for the kernels, made once per process: a copy of
    this machine's cached list when there is one, else built (which takes a few seconds)."""
    if "path" not in _FONT_CACHE:
        import subprocess
        import sys

        folder = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-fonts-"))
        atexit.register(shutil.rmtree, folder, True)
        for cache in _matplotlib_caches():
            for found in sorted(Path(cache).glob("fontlist-*.json")):
                shutil.copy(found, folder / found.name)
        if not any(folder.iterdir()):
            subprocess.run(
                [sys.executable, "-c", "import matplotlib.font_manager"],
                env={**os.environ, "MPLCONFIGDIR": str(folder)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        _FONT_CACHE["path"] = folder
    return _FONT_CACHE["path"]


def _matplotlib_caches() -> list[str | Path]:
    """Where matplotlib keeps its font list for this user (without importing it)."""
    home = Path.home()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(home / ".cache")
    return [
        p for p in (os.environ.get("MPLCONFIGDIR"), f"{xdg}/matplotlib", home / ".matplotlib") if p
    ]


# --- the pipeline ------------------------------------------------------------------------------


def _exporter(preprocessors: Iterable[type], config: Config, log: Logger) -> NotebookExporter:
    exporter = NotebookExporter(config=config)
    exporter.log = log
    for pp in preprocessors:
        exporter.register_preprocessor(pp)
    return exporter


def _resources(
    bundle: Bundle, notebook_id: str, student: str, db_url: str, path: Path
) -> dict[str, Any]:
    return {
        "unique_key": notebook_id,
        "output_files_dir": f"{notebook_id}_files",
        "metadata": {"path": str(path)},
        "nbgrader": {
            "student": student,
            "assignment": bundle.assignment,
            "notebook": notebook_id,
            "db_url": db_url,
        },
    }


def _pipelines(config: Config) -> tuple[list[type], list[type]]:
    """nbgrader's own autograde preprocessors: (sanitizing, executing), the saving ones apart.

    These are nbgrader's defaults, not the course's configuration: the course configures
    `nbgrader autograde` to call this engine (preprocessors/course_grading.py). nbgrader's
    Execute becomes SandboxedExecute, followed by ExercisePoints (fractions become points)."""
    converter = Autograde(config=Config())
    sanitize = list(converter.sanitize_preprocessors)
    execute: list[type] = []
    for pp in converter.autograde_preprocessors:
        if pp in SAVING or pp is FINAL_CHECK:
            continue
        if pp is Execute or (isinstance(pp, type) and issubclass(pp, Execute)):
            execute += [SandboxedExecute, ExercisePoints]
        else:
            execute.append(pp)
    return sanitize, execute


def sanitize(
    nb_text: str, bundle: Bundle, notebook_id: str, student: str, workspace: Workspace, log: Logger
) -> str:
    """nbgrader's sanitizing preprocessors, with the private gradebook (deleted afterwards)."""
    config = Config(bundle.config)
    config.Exporter.default_preprocessors = []
    db = workspace.private / "gradebook.db"
    db.write_bytes(bundle.gradebook)
    try:
        steps, _ = _pipelines(config)
        resources = _resources(bundle, notebook_id, student, f"sqlite:///{db}", workspace.files)
        output: str
        output, _ = _exporter(steps, config, log).from_notebook_node(
            nbformat.reads(nb_text, as_version=4), resources
        )
    finally:
        db.unlink(missing_ok=True)
    return output


def execute(
    nb_text: str,
    bundle: Bundle,
    notebook_id: str,
    student: str,
    workspace: Workspace,
    limits: Limits,
    log: Logger,
    skip: frozenset[int] = frozenset(),
) -> tuple[str, list[str], dict[str, float]]:
    """Run the notebook in the sandbox, but the cells at the positions skip, then nbgrader's
    output preprocessors; (text, incidents, seconds each code cell ran)."""
    config = Config(bundle.config)
    config.Exporter.default_preprocessors = []
    workspace.write_kernelspec(limits)
    _, steps = _pipelines(config)
    exporter = NotebookExporter(config=config)
    exporter.log = log
    runner = None
    for pp in steps:
        if pp is SandboxedExecute:
            runner = SandboxedExecute(workspace, limits, skip, parent=exporter, config=config)
            runner.log = log
            exporter.register_preprocessor(runner)
        else:
            exporter.register_preprocessor(pp)
    resources = _resources(bundle, notebook_id, student, "", workspace.files)
    output, _ = exporter.from_notebook_node(nbformat.reads(nb_text, as_version=4), resources)
    return output, (runner.incidents if runner else []), (runner.durations if runner else {})


def _write_files(workspace: Workspace, task: Task, bundle: Bundle) -> None:
    """The notebook's folder: the student's files, then the assignment's helpers over them."""
    for relative, data in {**task.files, **bundle.helpers}.items():
        target = (workspace.files / relative).resolve()
        if workspace.files.resolve() not in target.parents:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _nbgrader_metadata(nb: NotebookNode) -> list[dict[str, Any] | None]:
    return [c.metadata.get("nbgrader") for c in nb.cells]


def _revalidate(nb: NotebookNode, sanitized_text: str, log: Logger) -> None:
    """nbgrader's final CheckCellMetadata (FINAL_CHECK), when a cell's nbgrader metadata
    changed since sanitizing validated it."""
    if _nbgrader_metadata(nb) != _nbgrader_metadata(nbformat.reads(sanitized_text, as_version=4)):
        check = FINAL_CHECK()
        check.log = log
        check.preprocess(nb, {})


# --- the clean re-check and the corrections ---------------------------------------------------


def _cells_by_id(nb: NotebookNode) -> dict[str | None, NotebookNode]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


# The re-check's program in the sandbox, started by the launcher by its module name.
CHILD = recheck_child.__name__


# What the re-check's child may answer because something else ran beside it, not because of
# the answer: the notebook's kernel shares the worker's processor, and without root its
# process count. A first answer started beside the notebook's run that says one of these is
# asked again alone (see CleanCheck).
DISTURBED = frozenset({"timeout", "too_large", "crashed"})


def disturbed(answer: Answer) -> bool:
    """Is this answer of the re-check's child one to ask again alone (DISTURBED, or no answer
    at all)?"""
    replies, _ = answer
    return replies is None or any(reply.get("outcome") in DISTURBED for reply in replies.values())


class CleanCheck:
    """The clean re-check of a notebook's exercises (recheck/), started before the notebook
    runs so that the two run side by side.

    `start` runs the test cells with no answers yet and starts the sandbox on the calls they
    ask for; `result`, after the notebook's run, reads the answers and finishes the rounds.
    A first answer that might owe something to the notebook's run beside it (the re-check
    could not run, or an answer timed out, crashed or was too large: DISTURBED) is asked
    again alone, after the notebook's kernel has ended: such a submission is graded exactly
    as if the re-check had waited for the notebook.
    """

    def __init__(
        self,
        nb: NotebookNode,
        bundle: Bundle,
        exercises: Sequence[Exercise],
        workspace: Workspace,
        limits: Limits,
    ) -> None:
        cells = _cells_by_id(nb)
        self.exercises = exercises
        self.sources = {e.answer_cell: cells[e.answer_cell].source for e in exercises
                        if e.answer_cell in cells}  # fmt: skip
        self.checks = {
            name: checks_namespace(bundle.helpers[f"{name}.py"])
            for name in {e.checks for e in exercises}
        }
        self.limits = limits
        status = workspace.private / "recheck-status.json"
        self.spec = workspace.spec("recheck", CHILD, workspace.empty, status)
        self.zygote = (
            zygote(workspace.font_cache, workspace.preload) if workspace.use_zygote else None
        )
        self.steps: Rounds | None = None
        self.first: list[Request] = []
        self.running: SandboxRun | None = None
        self.checked: Checked | None = None if exercises else ({}, None)
        self.seconds = 0.0  # the sandbox's runs and this process's rounds

    def start(self) -> None:
        """The first round, and the sandbox started on its request (when it has one)."""
        if self.checked is not None:
            return
        began = time.monotonic()
        self.steps = rounds(self.exercises, self.sources, self.checks)
        try:
            self.first = next(self.steps)
        except StopIteration as finished:
            self.checked = finished.value
        else:
            self.running = self._run(self.first)
        self.seconds += time.monotonic() - began

    def result(self) -> Checked:
        """({exercise name: CleanScore}, None) or (None, why it could not run)."""
        if self.steps is None:
            self.start()
        if self.checked is None and self.steps is not None and self.running is not None:
            answer = self._answer(self.running)
            if disturbed(answer):
                answer = self._ask(self.first)  # again, alone
            began = time.monotonic()
            self.checked = drive(self.steps, self._ask, answer)
            self.seconds += time.monotonic() - began
        assert self.checked is not None  # every branch above sets it
        return self.checked

    def stop(self) -> None:
        """End a sandbox run not read yet (the notebook's run failed: nobody will read it)."""
        if self.checked is None and self.running is not None:
            self.running.stop()

    def _run(self, request: list[Request]) -> SandboxRun:
        return SandboxRun(
            request, self.spec, timeout=self.limits.verify_timeout * len(request) + 60,
            per_exercise=self.limits.verify_timeout, zygote=self.zygote,
        )  # fmt: skip

    def _answer(self, run: SandboxRun) -> Answer:
        answer = run.result()
        self.seconds += run.seconds
        return answer

    def _ask(self, request: list[Request]) -> Answer:
        return self._answer(self._run(request))


def _in_kernel_points(cell: NotebookNode) -> float:
    points, _ = nbgrader_utils.determine_grade(cell)
    return float(points or 0)


def _ran(cell: NotebookNode) -> bool:
    return not any(o.get("ename") in ("NotRun",) for o in cell.get("outputs", []))


def correct(
    nb: NotebookNode,
    exercises: Sequence[Exercise],
    clean: dict[str, CleanScore] | None,
    flags: list[str],
) -> dict[str, Score]:
    """Put the clean score in each test cell whose notebook run gave more; return the scores."""
    cells = _cells_by_id(nb)
    scores: dict[str, Score] = {}
    for e in exercises:
        cell = cells.get(e.test_cell)
        if cell is None:
            continue
        in_kernel = _in_kernel_points(cell)
        found = clean.get(e.name) if clean else None
        clean_points, messages = (found.points, found.messages) if found else (None, "")
        final = in_kernel
        if not _ran(cell):
            flags.append(
                f"{e.name}: its test did not run (scored 0)"
                + (
                    f"; the answer on its own earns {clean_points:g} / {e.points:g}"
                    if found
                    else ""
                )
            )
        elif found and in_kernel > found.points + 1e-9:
            final = found.points
            first = _first_problem(messages)
            flags.append(
                f"{e.name}: the notebook's run reported {in_kernel:g} / {e.points:g} but the "
                f"answer run on its own earns {clean_points:g}; scored {clean_points:g}"
                + (f" ({first})" if first else "")
            )
            cell.outputs = [
                nbformat.v4.new_output(
                    "stream",
                    name="stdout",
                    text=(
                        f"The grader re-checked this answer on its own, away from the rest of "
                        f"the notebook: it earns {clean_points:g} / {e.points:g} (the "
                        f"notebook's run reported {in_kernel:g}).\n{messages}"
                    ),
                ),
                nbformat.v4.new_output(
                    "execute_result",
                    data={"text/plain": repr(float(found.points))},
                    execution_count=cell.get("execution_count"),
                ),
            ]
        scores[e.name] = Score(in_kernel, clean_points, final, float(e.points))
    return scores


def _first_problem(messages: str) -> str:
    for line in messages.splitlines():
        line = line.strip()
        if line.startswith("- "):
            return line[2:200]
    return ""


MAX_ERROR_NOTES = 5


def errors(nb: NotebookNode) -> list[str]:
    """Notes for the errors raised by the student's own cells (answers and added cells)."""
    notes: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or nbgrader_utils.is_locked(cell):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") not in STOPPED:
                evalue = str(output.get("evalue", "")).splitlines()
                notes.append(
                    f"{name_of(cell, index)} raised {output.get('ename')}"
                    + (f": {evalue[0][:120]}" if evalue else "")
                )
    if len(notes) > MAX_ERROR_NOTES:
        notes = notes[:MAX_ERROR_NOTES] + [f"and {len(notes) - MAX_ERROR_NOTES} more errors"]
    return notes


def scan(
    nb: NotebookNode, bundle: Bundle, exercises: Sequence[Exercise]
) -> tuple[list[str], set[str]]:
    """(flags, test cells to review) for tampering patterns in the cells the student wrote."""
    tests = {e.answer_cell: e.test_cell for e in exercises}
    flags: list[str] = []
    review: set[str] = set()
    for index, cell in enumerate(nb.cells):
        nbgrader = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or nbgrader_utils.is_locked(cell):
            continue
        found = suspicious(cell.source, bundle.guarded)
        if found:
            where = nbgrader.get("grade_id") or f"cell {index + 1} (added by the student)"
            flags.append(f"suspicious code in {where}: {'; '.join(found)}")
            review |= {tests[where]} if where in tests else set(tests.values())
    return flags, review


# --- the task --------------------------------------------------------------------------------


def grade_submission(task: Task, bundle: Bundle) -> Result:
    """Grade one submission; always returns a Result (status graded or failed)."""
    started = time.time()
    check_schemas_once()  # nbgrader's metadata schema checked once, not per cell (startup.py)
    try:
        with Workspace(task.limits, task.hide, task.workdir, bundle.preload) as workspace:
            result = _grade(task, bundle, workspace, task.limits)
    except Exception as error:  # noqa: BLE001 -- reported, never raised: the batch goes on
        result = Result(
            task.student, "failed",
            reason=f"the grader failed: {type(error).__name__}: {error}",
            trace=traceback.format_exc(),
        )  # fmt: skip
    return replace(result, worker=_where(), seconds=round(time.time() - started, 2))


def _grade(task: Task, bundle: Bundle, workspace: Workspace, limits: Limits) -> Result:
    """Grade every notebook the student submitted, one after the other, in one workspace."""
    _write_files(workspace, task, bundle)
    # as with nbgrader, the notebooks are in the folder they run in; the submitted ones, though:
    # the sanitized ones hold the hidden tests
    for notebook_id, text in task.notebooks.items():
        (workspace.files / f"{notebook_id}.ipynb").write_text(text, encoding="utf-8")
    graded = [
        _grade_notebook(task, bundle, notebook_id, workspace, limits)
        for notebook_id in bundle.notebooks
        if notebook_id in task.notebooks
    ]
    several = len(bundle.notebooks) > 1
    scores: dict[str, Score] = {}
    notebooks: dict[str, str] = {}
    cell_seconds: dict[str, float] = {}
    notes: list[str] = []
    flags: list[str] = []
    review: list[tuple[str, str]] = []
    skipped: list[str] = []
    ran: list[str] = []
    for part in graded:
        notebook_id = part.notebook_id
        prefix = f"{notebook_id}: " if several else ""
        notebooks[notebook_id] = part.notebook
        skipped += [prefix.replace(": ", "/") + grade_id for grade_id in part.plan.cells]
        if part.plan.describe():
            ran.append(prefix + part.plan.describe())
        scores.update(part.scores)
        notes += [prefix + line for line in part.notes]
        flags += [prefix + line for line in part.flags]
        review += [(notebook_id, grade_id) for grade_id in part.review]
        for key, seconds in part.cell_seconds.items():
            cell_seconds[key] = max(seconds, cell_seconds.get(key, 0))
    return Result(
        task.student, "graded",
        notebooks=notebooks,
        scores=scores,
        notes=tuple(notes),
        flags=tuple(flags),
        review=tuple(sorted(review)),
        isolation=ExitStatus.read(workspace.status_file).isolation or "unknown",
        cell_seconds=cell_seconds,
        recheck_seconds=round(sum(part.recheck_seconds for part in graded), 3),
        skipped=tuple(skipped),
        ran="; ".join(ran),
    )  # fmt: skip


@dataclass(frozen=True)
class NotebookGrade:
    """One notebook of a submission graded: its part of the Result (worker -> `_grade`).

    notebook -- the graded notebook, as JSON text
    scores -- {exercise name: Score} of the notebook's exercises
    notes, flags -- one line each, as in Result
    review -- grade ids of the notebook's test cells to mark for manual grading, in order
    cell_seconds -- seconds each code cell ran, by grade id (or position)
    recheck_seconds -- seconds its clean re-check took
    plan -- which of its cells ran (needed.py)
    """

    notebook_id: str
    notebook: str
    scores: dict[str, Score]
    notes: tuple[str, ...]
    flags: tuple[str, ...]
    review: tuple[str, ...]
    cell_seconds: dict[str, float]
    recheck_seconds: float
    plan: Plan


def _grade_notebook(
    task: Task, bundle: Bundle, notebook_id: str, workspace: Workspace, limits: Limits
) -> NotebookGrade:
    """One notebook: nbgrader's pipeline around the sandboxed run, the re-check of its
    exercises, the corrections and the scan; its part of the Result."""
    notes_handler = Notes()
    log = _logger(notes_handler)
    exercises = tuple(e for e in bundle.exercises if e.notebook == notebook_id)
    text = task.notebooks[notebook_id]
    sanitized = sanitize(text, bundle, notebook_id, task.student, workspace, log)
    sanitized_nb = nbformat.reads(sanitized, as_version=4)
    plan = needed.plan(sanitized_nb, bundle.skippable_in(notebook_id))
    if not plan.skip and task.whole_limits is not None:
        limits = task.whole_limits  # the whole notebook runs: its own time limits
    check = CleanCheck(sanitized_nb, bundle, exercises, workspace, limits)
    check.start()  # the re-check's sandbox runs beside the notebook's
    try:
        executed, incidents, durations = execute(
            sanitized, bundle, notebook_id, task.student, workspace, limits, log, plan.skip
        )
    except BaseException:
        check.stop()
        raise
    nb = nbformat.reads(executed, as_version=4)
    _revalidate(nb, sanitized, log)
    needed.record(nb, plan)
    clean, error = check.result()
    recheck_seconds = round(check.seconds, 3)
    flags: list[str] = []
    if error:
        flags.append(f"the clean re-check could not run ({error}); the notebook's scores were kept")
    scores = correct(nb, exercises, clean, flags)
    review = {e.test_cell for e in exercises if any(f.startswith(e.name + ":") for f in flags)}
    scanned, suspicious_in = scan(nb, bundle, exercises)
    flags.extend(scanned)
    return NotebookGrade(
        notebook_id=notebook_id,
        notebook=nbformat.writes(nb),
        scores=scores,
        notes=tuple(_nbgrader_notes(notes_handler.lines) + incidents + errors(nb)),
        flags=tuple(flags),
        review=tuple(sorted(review | suspicious_in)),
        cell_seconds=durations,
        recheck_seconds=recheck_seconds,
        plan=plan,
    )


# nbgrader warnings worth a note in the summary; the rest (nbclient's kernel messages, the
# checksum of test cells whose hidden tests are put back) is said better elsewhere or expected.
NBGRADER_WARNINGS = ("Cell with id", "Attribute 'locked'", "Attribute 'points'", "Attribute 'cell_type'",
                     "does not exist in the database", "Missing grade cell")  # fmt: skip


def _nbgrader_notes(lines: Iterable[str]) -> list[str]:
    """nbgrader's warnings worth reporting, one line each, without duplicates."""
    notes: list[str] = []
    for line in lines:
        line = line.strip().splitlines()[0] if line.strip() else ""
        if line.startswith(NBGRADER_WARNINGS) or any(w in line for w in NBGRADER_WARNINGS):
            if line not in notes:
                notes.append("nbgrader: " + line)
    return notes
