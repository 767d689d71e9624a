"""What a worker needs to grade any submission of the assignment, as plain data.

Workers share no file system with the instructor's machine: every task carries the
submission, and the bundle built here (sent once to every worker) carries the rest:

- a private gradebook, in SQLite bytes, holding only the assignment's notebook and cells (not a
  single student or grade), for nbgrader's sanitizing preprocessors (OverwriteCells needs the
  locked cells' sources, with the hidden tests);
- the helper files of the source assignment (init_utils.py, public_tests.py), which overwrite
  any file of the same name a student submitted, as nbgrader does;
- the exercises, from the SOURCE notebook's test cells: for each, its answer cell, test cell,
  function, kind, points (the cell's nbgrader metadata) and the code of its hidden cases, for
  the clean re-check;
- the nbgrader configuration of the course, for the preprocessors' settings.
"""

import ast
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .course import ANSWER_CELLS, ASSIGNMENT, EXERCISES, NOTEBOOK

# Changes whenever the way submissions are graded changes, so that --force is not needed then.
GRADER_VERSION = "2"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)
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


class BundleError(Exception):
    """The assignment cannot be graded yet; the message says what to do."""


def load_config(root):
    """The course's nbgrader configuration, read as nbgrader reads it (user files, then course)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(root)]:
        if Path(folder, "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    return config


def _plain(config, sections):
    """The given sections of a traitlets Config as plain dictionaries (safe to send)."""
    return {s: {k: v for k, v in dict(config[s]).items()} for s in sections if s in config}


def exercises_from_source(source_notebook):
    """Each exercise's cells, function, kind, points and hidden cases' code, from the source."""
    nb = nbformat.read(source_notebook, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    exercises = []
    for name, test_id in EXERCISES.items():
        test = cells.get(test_id)
        if test is None:
            raise BundleError(f"the source notebook has no test cell {test_id}")
        call = _grade_call(test.source)
        hidden = HIDDEN.search(test.source)
        points = test.metadata.get("nbgrader", {}).get("points")
        if points is None:
            raise BundleError(f"the test cell {test_id} of the source notebook has no points")
        exercises.append(
            {
                "name": name,
                "test_cell": test_id,
                "answer_cell": ANSWER_CELLS[name],
                "function": call["function"],
                "kind": call["kind"],
                "points": float(points),
                "hidden_source": hidden.group(1) if hidden else "hidden_cases = []\n",
            }
        )
    return exercises


def _grade_call(source):
    """function and kind of the grade_exercise(...) call of a test cell."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "grade_exercise"
        ):
            args = node.args
            keywords = {k.arg: k.value for k in node.keywords}
            kind = args[1] if len(args) > 1 else keywords.get("kind")
            if len(args) > 3 or "points" in keywords:
                raise BundleError(
                    "a test cell of the source notebook passes points to grade_exercise: the "
                    "points of an exercise are its grade cell's nbgrader metadata only"
                )
            return {
                "function": args[0].id if args and isinstance(args[0], ast.Name) else None,
                "kind": kind.value if isinstance(kind, ast.Constant) else None,
            }
    raise BundleError("a test cell of the source notebook does not call grade_exercise(...)")


def assignment_cells(db_url, course_id, assignment, notebook_id):
    """The assignment's notebook and cells as the gradebook holds them, as plain data."""
    with Gradebook(db_url, course_id) as gb:
        try:
            notebook = gb.find_notebook(notebook_id, assignment)
        except MissingEntry:
            raise BundleError(
                f"the gradebook has no notebook {notebook_id} in assignment {assignment}: run "
                "`python -m instructor release` (nbgrader generate_assignment) first"
            ) from None
        return {
            "kernelspec": notebook.kernelspec,
            "grade": [(c.name, c.max_score, c.cell_type) for c in notebook.grade_cells],
            "solution": [c.name for c in notebook.solution_cells],
            "task": [(c.name, c.max_score, c.cell_type) for c in notebook.task_cells],
            "source": [
                (c.name, c.cell_type, c.locked, c.source, c.checksum) for c in notebook.source_cells
            ],
        }


def write_cells(db_url, course_id, assignment, notebook_id, cells):
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


def copy_assignment(from_url, to_url, coursedir, assignment):
    """Put the assignment as one gradebook holds it into another (the demo class's gradebook
    takes it from the course's, which generate_assignment writes)."""
    notebook_id = NOTEBOOK.removesuffix(".ipynb")
    cells = assignment_cells(from_url, coursedir.course_id, assignment, notebook_id)
    if to_url.startswith("sqlite:///"):
        path = Path(to_url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _stamp(path)
    write_cells(to_url, coursedir.course_id, assignment, notebook_id, cells)


def private_gradebook(db_url, course_id, assignment, notebook_id):
    """SQLite bytes of a new gradebook holding only the assignment's notebook and cells."""
    cells = assignment_cells(db_url, course_id, assignment, notebook_id)
    folder = Path(tempfile.mkdtemp(prefix="igrade-gradebook-"))
    try:
        path = folder / "gradebook.db"
        _stamp(path)
        write_cells(f"sqlite:///{path}", course_id, assignment, notebook_id, cells)
        return path.read_bytes(), cells
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stamp(path):
    """Start a SQLite gradebook with nbgrader's database version, as nbgrader would stamp it
    (it runs the `alembic` command for that; reading the version in-process is faster)."""
    import sqlite3

    import nbgrader
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(os.path.join(os.path.dirname(nbgrader.__file__), "alembic"))
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        db.execute(
            "INSERT INTO alembic_version (version_num) VALUES (?)", (scripts.get_current_head(),)
        )


def build(coursedir, config, limits):
    """The bundle of the assignment, as a dictionary of plain data."""
    notebook_id = NOTEBOOK.removesuffix(".ipynb")
    source = Path(coursedir.format_path(coursedir.source_directory, ".", ASSIGNMENT))
    if not (source / NOTEBOOK).is_file():
        raise BundleError(f"the source notebook {source / NOTEBOOK} does not exist")
    gradebook, cells = private_gradebook(
        coursedir.db_url, coursedir.course_id, ASSIGNMENT, notebook_id
    )
    helpers = {
        str(p.relative_to(source)): p.read_bytes()
        for p in sorted(source.rglob("*"))
        if p.is_file() and p.suffix != ".ipynb" and not _ignored(p.relative_to(source), coursedir)
    }
    exercises = exercises_from_source(source / NOTEBOOK)
    assignment_key = _hash(
        {
            "version": GRADER_VERSION,
            "cells": cells,
            "helpers": {n: hashlib.sha256(b).hexdigest() for n, b in helpers.items()},
            "exercises": exercises,
        }
    )
    fingerprint = _hash({"assignment": assignment_key, "limits": limits.to_dict()})
    return {
        "assignment": ASSIGNMENT,
        "notebook_id": notebook_id,
        "course_id": coursedir.course_id,
        "gradebook": gradebook,
        "helpers": helpers,
        "exercises": exercises,
        "config": _plain(config, WORKER_SECTIONS),
        "limits": limits.to_dict(),
        "assignment_key": assignment_key,  # the assignment as graded, whatever the limits
        "fingerprint": fingerprint,  # the assignment and the limits
    }


def _hash(data):
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _ignored(relative, coursedir):
    import fnmatch

    return any(
        fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in coursedir.ignore
    )
