"""Every student's score per exercise, read from the gradebook, and the table that prints them
(`python -m instructor scores`, `grade` and `report` print it)."""

from collections.abc import Collection, Sequence
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory

from .course import exercises, load_config
from .gradebook_db import sqlite_path

# {student: {exercise: points, None when the cell has no grade}}
Scores = dict[str, dict[str, float | None]]


def db_url(root: Path) -> str:
    """The gradebook of the course (or demo class) whose nbgrader_config.py is in root."""

    return str(CourseDirectory(config=load_config(root)).db_url)


def _columns(gb: Gradebook, assignment: str, root: Path) -> tuple[str, dict[str, str]]:
    """(notebook id, {column: grade id}): the exercises the source notebook declares, or
    every automatically graded cell of an assignment that declares none."""
    declared = exercises(root, assignment)
    notebook = gb.find_assignment(assignment).notebooks[0]
    if declared:
        return notebook.name, declared
    return notebook.name, {c.name: c.name for c in notebook.grade_cells if c.cell_type == "code"}


def _exists(url: str) -> bool:
    """False for a SQLite gradebook file that is not there yet (opening it would create it)."""
    path = sqlite_path(url)
    return path is None or path.exists()


def read_scores(
    root: Path,
    students: Collection[str] | None = None,
    url: str | None = None,
    *,
    assignment: str,
) -> Scores:
    """{student: {exercise: score, ...}} for every graded submission of the assignment.

    A student whose notebook was not graded is left out; students restricts the result to
    the given ids.
    """
    scores: Scores = {}
    url = url or db_url(root)
    if not _exists(url):
        return scores  # nothing graded yet
    with Gradebook(url) as gb:
        try:
            found = gb.find_assignment(assignment)
            notebook_id, columns = _columns(gb, assignment, root)
        except (MissingEntry, IndexError):
            return {}
        for submission in found.submissions:
            student = submission.student_id
            if students and student not in students:
                continue
            try:
                notebook = gb.find_submission_notebook(notebook_id, assignment, student)
            except MissingEntry:
                continue
            grades = {g.name: g.score for g in notebook.grades}
            if not any(grades.get(cell) is not None for cell in columns.values()):
                continue
            scores[student] = {name: grades.get(cell) for name, cell in columns.items()}
    return dict(sorted(scores.items()))


def max_scores(root: Path, url: str | None = None, *, assignment: str) -> dict[str, float]:
    """{exercise: points} as recorded in the gradebook by generate_assignment."""
    with Gradebook(url or db_url(root)) as gb:
        notebook_id, columns = _columns(gb, assignment, root)
        notebook = gb.find_notebook(notebook_id, assignment)
        points = {cell.name: cell.max_score for cell in notebook.grade_cells}
    return {name: points[cell] for name, cell in columns.items()}


def table(scores: Scores, maxima: dict[str, float]) -> list[str]:
    """The scores as aligned text lines, with a header and the maximum points."""
    names = list(maxima)
    width = max([len("student")] + [len(s) for s in scores])
    header = f"{'student':<{width}}  " + "  ".join(f"{n:>7}" for n in names) + "    total"
    lines = [header, "-" * len(header)]
    for student, row in scores.items():
        cells = ["      -" if row[n] is None else f"{row[n]:>7g}" for n in names]
        total = sum(row[n] or 0 for n in names)
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {total:>7g}")
    total_max = sum(maxima.values())
    lines.append(
        f"{'(out of)':<{width}}  "
        + "  ".join(f"{maxima[n]:>7g}" for n in names)
        + f"  {total_max:>7g}"
    )
    return lines


def print_table(coursedir: CourseDirectory, students: Sequence[str], assignment: str) -> int:
    """Print the score table of a course directory's gradebook; 0, or 1 when it is empty."""
    root, url = Path(coursedir.root), coursedir.db_url
    scores = read_scores(root, set(students), url=url, assignment=assignment)
    if not scores:
        print("No graded submissions in the gradebook yet.")
        return 1
    print("\n".join(table(scores, max_scores(root, url=url, assignment=assignment))))
    return 0
