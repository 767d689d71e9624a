"""What a worker needs to grade any submission of an assignment: the Bundle (messages.py).

Workers share no file system with the instructor's machine: every task carries the
submission, and the bundle built here (sent once to every worker) carries the rest:

- a private gradebook, in SQLite bytes, holding only the assignment's notebook and cells (not a
  single student or grade), for nbgrader's sanitizing preprocessors (OverwriteCells needs the
  locked cells' sources, with the hidden tests);
- the helper files of the source assignment (its helper modules and data), which overwrite
  any file of the same name a student submitted, as nbgrader does;
- the exercises the SOURCE notebook declares in its test cells' metadata (`declared`), for the
  clean re-check;
- the cells the SOURCE notebook marks as ones a grading may skip (`marked`, needed.py), unless
  the course runs whole notebooks (`run_whole_notebook`);
- the nbgrader configuration of the course, for the preprocessors' settings.

Nothing here knows an assignment's name, notebook or functions: they come from the source
folder, its notebook's metadata and the gradebook.
"""

import ast
import fnmatch
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypedDict

import nbformat
import nbgrader
from alembic.script import ScriptDirectory
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from .. import course_data
from ..errors import CourseError
from ..gradebook_db import prepare, sqlite_path
from . import needed
from .messages import Bundle, Exercise, Skippable
from .sandbox import Limits
from .scan import Guarded, bound_and_called
from .settings import course_grading

# Changes whenever the way submissions are graded changes, so that --force is not needed then.
GRADER_VERSION = "4"

# nbgrader configuration sections the worker's preprocessors read.
WORKER_SECTIONS = (
    "Execute",
    "ExecutePreprocessor",
    "NotebookClient",
    "LimitOutput",
    "IgnorePattern",
    "ClearMetadataPreprocessor",
    "ClearOutput",
    "ClearOutputPreprocessor",
    "DeduplicateIds",
    "OverwriteKernelspec",
    "OverwriteCells",
    "CheckCellMetadata",
    "NbGraderPreprocessor",
)


class BundleError(CourseError):
    """The assignment cannot be graded yet; the message says what to do."""


class GradebookCells(TypedDict):
    """One notebook of an assignment as a gradebook holds it (`assignment_cells`), as plain
    data: its kernelspec, its cells (name, max score, cell type), its solution cells' names,
    and its source cells (name, cell type, locked, source, checksum)."""

    kernelspec: str | None
    grade: list[tuple[str, float, str]]
    solution: list[str]
    task: list[tuple[str, float, str]]
    source: list[tuple[str, str, bool, str, str | None]]


def _plain(config: Config, sections: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The given sections of a traitlets Config as plain dictionaries (safe to send)."""
    return {s: {k: v for k, v in dict(config[s]).items()} for s in sections if s in config}


def declared(source_notebook: str | os.PathLike[str]) -> tuple[Exercise, ...]:
    """The exercises a source notebook declares, in notebook order.

    A test cell declares its exercise in its metadata, next to nbgrader's:

        "grading": {"exercise": "sigmoid", "answer_cell": "sigmoid-answer",
                    "function": "sigmoid", "checks": "activation_tests"}

    Its points are nbgrader's (the cell's "points"); its code, hidden tests included, is the
    check the clean re-check replays. A notebook without declarations has no re-check: plain
    nbgrader test cells are graded by the sandboxed run alone.
    """
    nb = nbformat.read(source_notebook, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    exercises: list[Exercise] = []
    for cell in nb.cells:
        declaration = cell.metadata.get("grading")
        if not declaration or (isinstance(declaration, dict) and set(declaration) == {"skip"}):
            continue  # no declaration, or a mark of a cell grading may skip (`marked`)
        nbgrader = cell.metadata.get("nbgrader", {})
        where = f"the cell {nbgrader.get('grade_id') or '(no grade id)'} of {Path(source_notebook).name}"
        if not nbgrader.get("grade") or nbgrader.get("points") is None:
            raise BundleError(f"{where} declares an exercise but is not a graded cell with points")
        missing = [
            k for k in ("exercise", "answer_cell", "function", "checks") if not declaration.get(k)
        ]
        if missing:
            raise BundleError(f"{where} declares an exercise without {', '.join(missing)}")
        if declaration["answer_cell"] not in cells:
            raise BundleError(
                f"{where} names an answer cell {declaration['answer_cell']} that does not exist"
            )
        exercises.append(
            Exercise(
                name=declaration["exercise"],
                notebook=Path(source_notebook).stem,
                test_cell=nbgrader["grade_id"],
                answer_cell=declaration["answer_cell"],
                function=declaration["function"],
                checks=declaration["checks"],
                points=float(nbgrader["points"]),
                test_source=cell.source,
            )
        )
    return tuple(exercises)


def run_whole_notebook(config: Config) -> bool:
    """c.CourseGrading.run_whole_notebook of the course's configuration (its help in
    settings.py says what it does)."""
    return course_grading(config).run_whole_notebook


def marked(
    source_notebook: str | os.PathLike[str], exercises: Sequence[Exercise] = ()
) -> tuple[Skippable, ...]:
    """The cells a source notebook marks as ones a grading may skip (needed.py), checked.

    A mark sits in a read-only code cell's metadata, next to nbgrader's:

        "grading": {"skip": "the trainings"}

    The words name those cells in the feedback ("The grader did not re-run the trainings,
    ..."). A mark is refused, with the cell named, on a cell that is not a read-only code cell,
    on an exercise's answer or test cell, and when a read-only cell that still runs (a test
    among them) reads a variable a marked cell sets. `release` then grades the source both
    ways and compares (reference.py)."""
    nb = nbformat.read(source_notebook, as_version=4)
    name = Path(source_notebook).name
    marks = needed.marks_of(Path(source_notebook).stem, nb.cells)
    if not marks:
        return ()
    exercise_cells = {e.answer_cell for e in exercises} | {e.test_cell for e in exercises}
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for mark in marks:
        cell = by_id.get(mark.grade_id) if mark.grade_id else None
        nbgrader = cell.metadata.get("nbgrader", {}) if cell is not None else {}
        where = f"the cell {mark.grade_id or '(no grade id)'} of {name}"
        if cell is None or cell.cell_type != "code":
            raise BundleError(f"{where} is marked as one grading may skip, but only code cells with a grade id can be skipped")  # fmt: skip
        if mark.grade_id in exercise_cells or nbgrader.get("grade") or nbgrader.get("solution"):
            raise BundleError(f"{where} is marked as one grading may skip, but it is an exercise's answer or test: the grade needs it")  # fmt: skip
        if not nbgrader.get("locked"):
            raise BundleError(f"{where} is marked as one grading may skip, but it is not read-only: make it read-only (nbgrader's Create Assignment) or remove the mark")  # fmt: skip
    skipped = {mark.grade_id for mark in marks}
    running = [
        (c.metadata["nbgrader"]["grade_id"], c.source)
        for c in nb.cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("locked")
        and c.metadata["nbgrader"].get("grade_id") not in skipped
    ]
    problems = needed.check_marks(running, marks)
    if problems:
        raise BundleError(f"{name}: " + "; ".join(problems))
    return marks


def source_notebooks(coursedir: CourseDirectory, assignment: str) -> list[Path]:
    """The assignment's notebooks in the source folder, sorted by name."""
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    notebooks = sorted(p for p in source.glob("*.ipynb") if p.is_file())
    if not notebooks:
        raise BundleError(f"the source folder {source} holds no notebook")
    return notebooks


def assignment_cells(
    db_url: str, course_id: str, assignment: str, notebook_id: str
) -> GradebookCells:
    """The assignment's notebook and cells as the gradebook holds them, as plain data."""
    with Gradebook(db_url, course_id) as gb:
        try:
            notebook = gb.find_notebook(notebook_id, assignment)
        except MissingEntry:
            raise BundleError(
                f"the gradebook has no notebook {notebook_id} in assignment {assignment}: run "
                "`python -m instructor release` (nbgrader generate_assignment) first"
            ) from None
        cells: GradebookCells = {
            "kernelspec": notebook.kernelspec,
            "grade": [(c.name, c.max_score, c.cell_type) for c in notebook.grade_cells],
            "solution": [c.name for c in notebook.solution_cells],
            "task": [(c.name, c.max_score, c.cell_type) for c in notebook.task_cells],
            "source": [
                (c.name, c.cell_type, c.locked, c.source, c.checksum) for c in notebook.source_cells
            ],
        }
        return cells


def write_cells(
    db_url: str, course_id: str, assignment: str, notebook_id: str, cells: GradebookCells
) -> None:
    """Create or update the assignment's notebook and cells in a gradebook."""
    with Gradebook(db_url, course_id) as gb:
        gb.update_or_create_assignment(assignment)
        gb.update_or_create_notebook(notebook_id, assignment, kernelspec=cells["kernelspec"])
        for name, points, kind in cells["grade"]:
            gb.update_or_create_grade_cell(
                name, notebook_id, assignment, max_score=points, cell_type=kind
            )
        for name in cells["solution"]:
            gb.update_or_create_solution_cell(name, notebook_id, assignment)
        for name, points, kind in cells["task"]:
            gb.update_or_create_task_cell(
                name, notebook_id, assignment, max_score=points, cell_type=kind
            )
        for name, kind, locked, source, checksum in cells["source"]:
            gb.update_or_create_source_cell(
                name, notebook_id, assignment, cell_type=kind, locked=locked, source=source,
                checksum=checksum,
            )  # fmt: skip


def copy_assignment(
    from_url: str, to_url: str, coursedir: CourseDirectory, assignment: str
) -> None:
    """Put the assignment as one gradebook holds it into another (the demo class's gradebook
    takes it from the course's, which generate_assignment writes). A new SQLite gradebook is
    stamped with nbgrader's database version, and put in WAL mode (gradebook_db.py)."""
    path = sqlite_path(to_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _stamp(path)
    prepare(to_url)
    for notebook in source_notebooks(coursedir, assignment):
        cells = assignment_cells(from_url, coursedir.course_id, assignment, notebook.stem)
        write_cells(to_url, coursedir.course_id, assignment, notebook.stem, cells)


# in this process: the bytes of each private gradebook, by its content
_PRIVATE_GRADEBOOKS: dict[str, bytes] = {}


def private_gradebook(
    db_url: str, course_id: str, assignment: str, notebook_ids: Iterable[str]
) -> tuple[bytes, dict[str, GradebookCells]]:
    """(SQLite bytes of a new gradebook holding only the assignment's notebooks and cells,
    {notebook id: its cells}). It keeps SQLite's default journal (no WAL: one writer, and the
    file's bytes are all of it). Writing it takes a commit per cell: a process that grades
    many times (nbgrader autograde, which starts a grading per student, the Formgrader, the
    grading service) writes it once per content."""
    cells = {n: assignment_cells(db_url, course_id, assignment, n) for n in notebook_ids}
    key = _hash({"course": course_id, "assignment": assignment, "cells": cells})
    if key not in _PRIVATE_GRADEBOOKS:
        _PRIVATE_GRADEBOOKS.clear()  # one assignment at a time is the usual case
        _PRIVATE_GRADEBOOKS[key] = _write_private_gradebook(course_id, assignment, cells)
    return _PRIVATE_GRADEBOOKS[key], cells


def _write_private_gradebook(
    course_id: str, assignment: str, cells: dict[str, GradebookCells]
) -> bytes:
    folder = Path(tempfile.mkdtemp(prefix="igrade-gradebook-"))
    try:
        path = folder / "gradebook.db"
        _stamp(path)
        for notebook_id, its_cells in cells.items():
            write_cells(f"sqlite:///{path}", course_id, assignment, notebook_id, its_cells)
        return path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stamp(path: Path) -> None:
    """Start a SQLite gradebook with nbgrader's database version, as nbgrader would stamp it
    (it runs the `alembic` command for that; reading the version in-process is faster)."""
    scripts = ScriptDirectory(os.path.join(os.path.dirname(nbgrader.__file__), "alembic"))
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute(
            "INSERT INTO alembic_version (version_num) VALUES (?)", (scripts.get_current_head(),)
        )


def build(coursedir: CourseDirectory, config: Config, limits: Limits, assignment: str) -> Bundle:
    """The Bundle of an assignment."""
    notebooks = source_notebooks(coursedir, assignment)
    source = notebooks[0].parent
    gradebook, cells = private_gradebook(
        coursedir.db_url, coursedir.course_id, assignment, [n.stem for n in notebooks]
    )
    helpers = {
        str(p.relative_to(source)): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file() and p.suffix != ".ipynb" and not _ignored(p.relative_to(source), coursedir)
    }
    exercises = tuple(e for notebook in notebooks for e in declared(notebook))
    skippable: tuple[Skippable, ...] = ()
    if not run_whole_notebook(config):
        skippable = tuple(mark for notebook in notebooks for mark in marked(notebook, exercises))
    for exercise in exercises:
        if f"{exercise.checks}.py" not in helpers:
            raise BundleError(
                f"the exercise {exercise.name} runs its test in {exercise.checks}.py, which the "
                f"source folder {source} does not hold"
            )
    assignment_key = _hash(
        {
            "version": GRADER_VERSION,
            "cells": cells,
            "helpers": {n: hashlib.sha256(b).hexdigest() for n, b in helpers.items()},
            "exercises": [asdict(e) for e in exercises],
            "skippable": [asdict(mark) for mark in skippable],
        }
    )
    modules = [Path(name).stem for name in helpers if name.endswith(".py") and "/" not in name]
    tested: set[str] = set().union(*(bound_and_called(e.test_source) for e in exercises))
    return Bundle(
        assignment=assignment,
        notebooks=tuple(n.stem for n in notebooks),
        gradebook=gradebook,
        helpers=helpers,
        exercises=exercises,
        config=_plain(config, WORKER_SECTIONS),
        guarded=Guarded.of(modules, tested | _checks_functions(helpers, exercises)),
        assignment_key=assignment_key,
        fingerprint=fingerprint(assignment_key, limits),
        skippable=skippable,
        preload=_preload(coursedir, assignment),
    )


def _preload(coursedir: CourseDirectory, assignment: str) -> tuple[str, ...]:
    """The modules the kernels of the assignment import anyway, as the course's file of the
    assignment names them (course_data.py); none without one."""
    try:
        return tuple(course_data.load(coursedir.root, assignment).preload)
    except course_data.CourseDataError as error:
        raise BundleError(str(error)) from None


def fingerprint(assignment_key: str, limits: Limits) -> str:
    """The assignment as graded, and the limits: what makes a grading reusable."""
    return _hash({"assignment": assignment_key, "limits": limits.to_dict()})


def with_limits(bundle: Bundle, limits: Limits) -> Bundle:
    """The same bundle for other limits (the assignment is not read again)."""
    return replace(bundle, fingerprint=fingerprint(bundle.assignment_key, limits))


def _checks_functions(helpers: dict[str, bytes], exercises: Sequence[Exercise]) -> set[str]:
    """Names of the functions and classes the checks modules define (the tests' machinery)."""
    names: set[str] = set()
    for module in {e.checks for e in exercises}:
        tree = ast.parse(helpers[f"{module}.py"])
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                names.add(node.name)
    return names


def _hash(data: object) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _ignored(relative: Path, coursedir: CourseDirectory) -> bool:
    return any(
        fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in coursedir.ignore
    )
