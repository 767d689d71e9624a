"""Do the source notebook, the student release and the gradebook describe the same assignment?

`nbgrader generate_assignment` (run by `python -m instructor release`) writes two copies of
the source: the release that students fetch, and the gradebook's record of every read-only
cell (test cells with their hidden tests) and of each grade cell's points. Grading puts the
gradebook's cells back into each submission, while the clean re-check reads the source. When
the instructor edits the source and forgets to release, the three disagree, and an honest
student can be scored by two different tests. Grading therefore refuses to start until they
agree again; `out_of_sync` says where they differ.
"""

import filecmp
from collections.abc import Iterable
from pathlib import Path
from typing import cast

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import ClearHiddenTests
from nbgrader.utils import is_grade, is_locked, is_solution

from .intake import ignored

MAX_NAMED = 3  # cells named in one problem
NOT_RECORDED = "the gradebook has no notebook"  # how the problem of a new gradebook starts


def _grade_id(cell: NotebookNode) -> str | None:
    return cast("str | None", cell.metadata.get("nbgrader", {}).get("grade_id"))


def _names(ids: Iterable[str | None]) -> str:
    names = [str(i) for i in ids]
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return ", ".join(names[:MAX_NAMED]) + more


def _without_hidden_tests(cell: NotebookNode) -> str:
    """The cell as the release shows it: nbgrader's own removal of the hidden tests."""
    copy = nbformat.from_dict(cell)
    ClearHiddenTests()._remove_hidden_test_region(copy)
    return str(copy.source)


def gradebook_problems(
    source_nb: NotebookNode, db_url: str, course_id: str, assignment: str, notebook_id: str
) -> list[str]:
    """How the gradebook's record of the assignment differs from the source notebook."""
    try:
        with Gradebook(db_url, course_id) as gb:
            notebook = gb.find_notebook(notebook_id, assignment)
            recorded = {c.name: c.source for c in notebook.source_cells}
            points = {c.name: c.max_score for c in notebook.grade_cells}
    except MissingEntry:
        return [f"{NOT_RECORDED} {notebook_id} in assignment {assignment}"]
    cells = {_grade_id(c): c for c in source_nb.cells if _grade_id(c)}
    problems = []
    added = [g for g in cells if g not in recorded]
    removed = [g for g in recorded if g not in cells]
    if added or removed:
        problems.append(
            "cells added or removed since the gradebook's copy: " + _names(added + removed)
        )
    changed = [
        g
        for g, c in cells.items()
        if g in recorded and is_locked(c) and not is_solution(c) and c.source != recorded[g]
    ]
    if changed:
        problems.append(
            "read-only or test cells edited since the gradebook's copy: " + _names(changed)
        )
    repointed = [
        f"{g} ({points.get(g, 0):g} -> {float(c.metadata.nbgrader['points']):g} points)"
        for g, c in cells.items()
        if is_grade(c) and points.get(g) != float(c.metadata.nbgrader.get("points", 0))
    ]
    if repointed:
        problems.append("points changed since the gradebook's copy: " + _names(repointed))
    return problems


def release_problems(
    source_nb: NotebookNode, release_dir: str | Path, notebook_name: str
) -> list[str]:
    """How the student release's notebook differs from what the source generates."""
    release_path = Path(release_dir) / notebook_name
    if not release_path.is_file():
        return [f"the release has no {notebook_name}"]
    release_nb = nbformat.read(release_path, as_version=4)
    source_ids = [_grade_id(c) for c in source_nb.cells]
    release_ids = [_grade_id(c) for c in release_nb.cells]
    problems = []
    if source_ids != release_ids:
        problems.append(f"the release's {notebook_name} has other cells than the source")
    else:
        stale = [
            g
            for g, s, r in zip(source_ids, source_nb.cells, release_nb.cells)
            if is_locked(s)
            and not is_solution(s)
            and (_without_hidden_tests(s) if is_grade(s) else s.source) != r.source
        ]
        if stale:
            problems.append(f"the release's {notebook_name} is older in cells " + _names(stale))
    return problems


def helper_problems(
    source_dir: str | Path, release_dir: str | Path, ignore: tuple[str, ...]
) -> list[str]:
    """How the release's helper files differ from the source's (nbgrader's ignore patterns
    left out)."""
    problems = []
    helpers = sorted(
        p.relative_to(source_dir)
        for p in Path(source_dir).rglob("*")
        if p.is_file() and p.suffix != ".ipynb" and not ignored(p.relative_to(source_dir), ignore)
    )
    differing = [
        str(h)
        for h in helpers
        if not (Path(release_dir) / h).is_file()
        or not filecmp.cmp(Path(source_dir) / h, Path(release_dir) / h, shallow=False)
    ]
    if differing:
        problems.append("the release's helper files differ from the source's: " + _names(differing))
    return problems


def out_of_sync(
    coursedir: CourseDirectory, assignment: str, notebook_names: Iterable[str]
) -> list[str]:
    """Every difference between source, release and gradebook, one short phrase each."""
    source_dir = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    release_dir = Path(coursedir.format_path(coursedir.release_directory, ".", assignment))
    problems = []
    for notebook_name in notebook_names:
        source_path = source_dir / notebook_name
        if not source_path.is_file():
            problems.append(f"the source notebook {source_path} does not exist")
            continue
        source_nb = nbformat.read(source_path, as_version=4)
        notebook_id = Path(notebook_name).stem
        problems += gradebook_problems(
            source_nb, coursedir.db_url, coursedir.course_id, assignment, notebook_id
        )
        problems += release_problems(source_nb, release_dir, notebook_name)
    return problems + helper_problems(source_dir, release_dir, tuple(coursedir.ignore))
