"""The cells of one notebook through nbgrader's own autograde pipeline, around the sandbox.

1. `sanitize`: nbgrader's sanitizing preprocessors (ClearOutput, DeduplicateIds,
   OverwriteKernelspec, OverwriteCells, CheckCellMetadata) against the private copy of the
   bundle's gradebook, which is deleted before any student code runs;
2. `execute`: `SandboxedExecute` (execute.py: nbgrader's Execute with the kernel started by
   the sandbox's launcher, a time limit per cell and per notebook, an output limit, defined
   outcomes when the kernel dies or stops answering) on the cells the plan runs (needed.py),
   ExercisePoints (each test cell's fraction becomes points), then nbgrader's IgnorePattern,
   ClearMetadataPreprocessor and LimitOutput;
3. what the run says of the cells: `errors` raised by the student's cells, `scan` for
   tampering patterns in them (scan.py), nbgrader's warnings worth a note
   (`nbgrader_notes`).

The saving preprocessors (SAVING) run in the instructor's process (record.py), exactly as
`nbgrader autograde` would run them.
"""

import logging
from collections.abc import Iterable, Sequence
from logging import Logger
from pathlib import Path
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

from ..preprocessors.exercise_points import ExercisePoints
from ..preprocessors.sandboxed_execute import STOPPED, SandboxedExecute
from .messages import Bundle, Exercise
from .needed import name_of
from .sandbox import Limits
from .scan import suspicious
from .workspace import Workspace

# Preprocessors the instructor's process runs on the returned notebook (they write grades).
SAVING = (SaveAutoGrades, AssignLatePenalties)
# nbgrader's autograde ends with CheckCellMetadata, which validates again every cell's nbgrader
# metadata against its schema (a tenth of a second or more: it checks the schema itself for
# every cell). Sanitizing validated the same metadata, and nothing since changes it (the
# kernel writes outputs, the engine outputs and the notebook's own metadata): the worker
# runs the final check only when a cell's nbgrader metadata did change (`revalidate`), and
# the instructor's process, the gradebook's one writer, is spared it for every submission.
FINAL_CHECK = CheckCellMetadata


class Notes(logging.Handler):
    """Collects what nbgrader's preprocessors warn about, as notes for the summary."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logger(notes: Notes) -> Logger:
    log = logging.getLogger(f"instructor.worker.{id(notes)}")
    log.propagate = False
    log.handlers[:] = [notes]
    log.setLevel(logging.WARNING)
    return log


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


def _nbgrader_metadata(nb: NotebookNode) -> list[dict[str, Any] | None]:
    return [c.metadata.get("nbgrader") for c in nb.cells]


def revalidate(nb: NotebookNode, sanitized_text: str, log: Logger) -> None:
    """nbgrader's final CheckCellMetadata (FINAL_CHECK), when a cell's nbgrader metadata
    changed since sanitizing validated it."""
    if _nbgrader_metadata(nb) != _nbgrader_metadata(nbformat.reads(sanitized_text, as_version=4)):
        check = FINAL_CHECK()
        check.log = log
        check.preprocess(nb, {})


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


# nbgrader warnings worth a note in the summary; the rest (nbclient's kernel messages, the
# checksum of test cells whose hidden tests are put back) is said better elsewhere or expected.
NBGRADER_WARNINGS = ("Cell with id", "Attribute 'locked'", "Attribute 'points'", "Attribute 'cell_type'",
                     "does not exist in the database", "Missing grade cell")  # fmt: skip


def nbgrader_notes(lines: Iterable[str]) -> list[str]:
    """nbgrader's warnings worth reporting, one line each, without duplicates."""
    notes: list[str] = []
    for line in lines:
        line = line.strip().splitlines()[0] if line.strip() else ""
        if line.startswith(NBGRADER_WARNINGS) or any(w in line for w in NBGRADER_WARNINGS):
            if line not in notes:
                notes.append("nbgrader: " + line)
    return notes
