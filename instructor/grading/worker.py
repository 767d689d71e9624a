"""Grading one submission as a self-contained task: on a Dask worker, or in-process (--serial).

`grade_submission(task, bundle)` needs nothing from the instructor's file system: the Task holds
the submission (normalised notebook, other files) and the limits, the Bundle (bundle.py) the
assignment (messages.py). In a private Workspace (workspace.py), each notebook goes through:

1. nbgrader's sanitizing (cells.sanitize);
2. the plan: the cells the source marks as ones the grade does not need are left out of the run,
   unless a cell the student wrote needs them (needed.py); then the notebook runs whole, under
   the limits of a whole run (Task.whole_limits);
3. the run, in the sandbox, with nbgrader's output preprocessors (cells.execute), while the
   clean re-check of its exercises runs beside it (recheck/clean.py);
4. the corrections: when the notebook's own run gave more points than an answer earns on its
   own, the clean score replaces it, and the submission is flagged for review; tampering
   patterns and the errors of the student's cells become flags and notes (cells.py).

It returns a Result: the autograded notebooks (JSON text) with per-exercise scores, notes and
flags. The instructor's process then saves the grades with nbgrader's SaveAutoGrades and
AssignLatePenalties (record.py), exactly as `nbgrader autograde` would.
"""

import os
import time
import traceback
from dataclasses import dataclass, replace

import nbformat

from . import needed
from .cells import Notes, errors, execute, logger, nbgrader_notes, revalidate, sanitize, scan
from .messages import Bundle, Result, Score, Task
from .needed import Plan
from .recheck.clean import CleanCheck, correct
from .sandbox import ExitStatus, Limits
from .startup import check_schemas_once
from .workspace import Workspace


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
    workspace.write_files(task.files, bundle.helpers)
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
    log = logger(notes_handler)
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
    revalidate(nb, sanitized, log)
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
        notes=tuple(nbgrader_notes(notes_handler.lines) + incidents + errors(nb)),
        flags=tuple(flags),
        review=tuple(sorted(review | suspicious_in)),
        cell_seconds=durations,
        recheck_seconds=recheck_seconds,
        plan=plan,
    )


def _where() -> str:
    """Which worker grades: its Dask address, or this machine's name outside Dask."""
    try:  # imported here: the serial routes (nbgrader autograde) need no Dask at all
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return os.uname().nodename
