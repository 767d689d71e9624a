"""The sources of the class report, read: the autograded notebooks' test outputs, the
ledger (grading.json), the history, the LMS collection, the forgeries and the gradebook's
lateness. Each reader returns {} or [] when its source is missing."""

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from ..course import exercises, load_config, notebook_of
from ..exchange import forgeries
from ..grading.ledger import Ledger
from ..grading.session import reports_dir
from ..lms.late import days_late
from ..mistakes import named_mistakes
from ..scores import db_url

if TYPE_CHECKING:
    from ..exchange.forgeries import Forgery

# A student's scores: {exercise: points, or None when not graded}; the class's, by student.
Scores = Mapping[str, Mapping[str, float | None]]
# An entry of grading.json, of collection.json or of history.jsonl, as JSON gives it.
Entry = Mapping[str, Any]
# {student: {exercise: [(title, message)]}} and {student: {exercise: error}}
Mistakes = dict[str, dict[str, list[tuple[str, str]]]]
Errors = dict[str, dict[str, str]]


def autograded_notebook(root: Path | str, student: str, assignment: str) -> Path:
    """The graded notebook of a student: the one notebook of autograded/<student>/<assignment>/."""
    folder = Path(root) / "autograded" / student / assignment
    found = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    return found[0] if len(found) == 1 else folder / notebook_of(root, assignment)


def graded_outputs(
    path: Path | str, columns: Mapping[str, str]
) -> dict[str, tuple[str, str | None]]:
    """{exercise: (printed text, error or None)} of the test cells of one autograded notebook.

    columns -- {exercise name: grade id of its test cell}
    """
    nb = nbformat.read(path, as_version=4)
    by_grade_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    found = {}
    for exercise, grade_id in columns.items():
        cell = by_grade_id.get(grade_id)
        if cell is None or cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        error = f"{errors[0].ename}: {errors[0].evalue}" if errors else None
        found[exercise] = (text, error)
    return found


def read_problems(
    root: Path | str, students: Iterable[str], assignment: str
) -> tuple[Mistakes, Errors]:
    """What the tests reported for each student: ({student: {exercise: [(title, message)]}},
    {student: {exercise: error}}), from the autograded notebooks that exist."""
    mistakes: Mistakes = {}
    errors: Errors = {}
    columns = exercises(root, assignment)
    for student in students:
        path = autograded_notebook(root, student, assignment)
        if not path.is_file():
            continue
        for exercise, (text, error) in graded_outputs(path, columns).items():
            titles = [(m.title, m.message) for m in named_mistakes(text)]
            if titles:
                mistakes.setdefault(student, {})[exercise] = titles
            if error:
                errors.setdefault(student, {})[exercise] = error
    return mistakes, errors


def read_json(path: Path | str, default: Any) -> Any:
    """The JSON content of path, or default when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def reports_folder(root: Path | str, assignment: str) -> Path:
    """reports/<assignment>/ of the course in root, as its nbgrader config sets it."""
    folder: Path = reports_dir(load_config(Path(root)), assignment)
    return folder


def read_status(root: Path | str, assignment: str) -> dict[str, Entry]:
    """{student: last grading entry} of reports/<assignment>/grading.json ({} without it)."""
    path = reports_folder(root, assignment) / "grading.json"
    found: dict[str, Entry] = read_json(path, {}).get("students", {})
    return found


def read_collection(root: Path | str, assignment: str) -> Entry:
    """What zip_collect's Canvas collector recorded ({} without it)."""
    found: Entry = read_json(reports_folder(root, assignment) / "collection.json", {})
    return found


def read_forgeries(
    root: Path | str, students: Iterable[str] | None, assignment: str
) -> list["Forgery"]:
    """The folders refused as made in another student's name (exchange/forgeries.py), those
    naming or made by the students given (all without students)."""
    found: list[Forgery] = list(forgeries.read(reports_folder(root, assignment)))
    if students:
        chosen = set(students)
        found = [f for f in found if f.student in chosen or f.owner in chosen]
    return found


def read_history(root: Path | str, assignment: str) -> list[Entry]:
    """The grading runs of reports/<assignment>/history.jsonl, oldest first."""
    runs: list[Entry] = []
    runs.extend(Ledger.read_history(reports_folder(root, assignment)))
    return runs


def read_lateness(root: Path | str, students: Iterable[str], assignment: str) -> dict[str, Entry]:
    """{student: {timestamp, duedate, seconds, days, penalty}} from the gradebook, for the
    students given (penalty 0 and seconds 0 when on time or without a due date)."""
    found: dict[str, Entry] = {}
    with Gradebook(db_url(Path(root))) as gb:
        for student in students:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            seconds = submission.total_seconds_late
            found[student] = {
                "timestamp": submission.timestamp,
                "duedate": submission.duedate,
                "seconds": seconds,
                "days": days_late(seconds),
                "penalty": submission.late_submission_penalty or 0.0,
            }
    return found
