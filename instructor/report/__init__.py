"""The class report: from the gradebook and the graded notebooks (`python -m instructor report`).

It writes reports/<assignment>/ (or --out DIR):

    scores.csv    one row per student: student, one column per exercise, total, late_penalty,
                  final (total minus the late penalty) and status (graded, rejected, failed)
    report.html   one self-contained page: every student's scores, the class average per
                  exercise, a histogram of the totals, and the mistakes the tests named, ranked
                  by how many students made them, with the instructor's note on each; then
                  the late submissions (lateness and penalty), the submissions flagged for
                  review, the rejected or failed ones and the files not collected from the LMS
                  download, each with its reason; the folders of the exchange made in another
                  student's name, with the login that made each (forgeries.jsonl, written by
                  the collect routes and the grade-on-submit service); and the latest changes
                  of the grading history

How it is made, in three steps, one module each: sources.py reads the sources (`read_*`);
model.py builds the page's data model from them (`class_report` returns a `ClassReport`: the
cards, each student's row, each mistake, each section's rows), with every number computed and
nothing formatted as HTML, and charts.py draws its two charts (small functions returning a
PNG data URL); page.py renders the model with the Jinja2 template
instructor/templates/report.html.j2 (autoescaped; its CSS in report.css beside it). This
module writes the files (`build`); instructor/commands/report.py is the command.

The sources: the scores and the lateness from nbgrader's gradebook; the mistakes from the
outputs of the test cells of the autograded notebooks (autograded/<student>/<assignment>/),
where the tests print each recognised mistake as ` - Mistake: <title>. <explanation> Hint:
<hint>`; the status, flags and reasons from reports/<assignment>/grading.json (written by
`python -m instructor grade`), the history from history.jsonl next to it, the files not
collected from collection.json (written by zip_collect's Canvas collector), the forgeries from
forgeries.jsonl; the teaching notes from the course's own file of the assignment
(assignments/<assignment>.toml, instructor/course_data.py). Nothing of one assignment is
written here: a second assignment is reported with its own exercises, mistakes and notes.

The averages are taken over the graded students only: rejected and failed submissions are
left out of them, and the page says how many and why. The command ends with the score table
and the path of the report.
"""

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from .. import course_data
from ..course import load_config
from ..scores import max_scores, read_scores
from ..spreadsheet import inert_row
from .model import (
    RankedMistake,
    class_report,
    exercise_names,
    penalty_of,
    rank_mistakes,
    totals,
)
from .page import render, render_report
from .sources import (
    Entry,
    Scores,
    read_collection,
    read_forgeries,
    read_history,
    read_lateness,
    read_problems,
    read_status,
    reports_folder,
)

__all__ = [
    "RankedMistake",
    "build",
    "class_report",
    "main",
    "rank_mistakes",
    "render",
    "render_report",
]


def write_csv(
    path: Path | str,
    scores: Scores,
    lateness: Mapping[str, Entry] | None = None,
    status: Mapping[str, Entry] | None = None,
) -> None:
    """scores.csv: per exercise, total, late penalty, final score and status per student; every
    cell as text a spreadsheet does not evaluate (instructor/spreadsheet.py)."""
    lateness, status = lateness or {}, status or {}
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        names = exercise_names(scores)
        writer.writerow(inert_row(["student", *names, "total", "late_penalty", "final", "status"]))
        for student, row in scores.items():
            cells = ["" if (v := row[n]) is None else f"{v:g}" for n in names]
            total = totals({student: row})[student]
            penalty = penalty_of(lateness, student)
            writer.writerow(
                inert_row(
                    [
                        student,
                        *cells,
                        f"{total:g}",
                        f"{penalty:g}",
                        f"{max(0.0, total - penalty):g}",
                        status.get(student, {}).get("status", "graded"),
                    ]
                )
            )


def _course_id(root: Path) -> str:
    """The course id of the loaded nbgrader configuration of root ('' when it sets none)."""
    return str(CourseDirectory(config=load_config(Path(root))).course_id)


def build(
    root: Path | str,
    out: Path | str | None = None,
    students: Iterable[str] | None = None,
    *,
    assignment: str,
) -> tuple[Path | None, dict[str, dict[str, float | None]], dict[str, float]]:
    """Write scores.csv and report.html for the graded students; return (out dir, scores,
    maxima), or (None, {}, {}) when nobody is graded."""
    root = Path(root)
    chosen = set(students or ())
    scores = read_scores(root, students=chosen, assignment=assignment)
    if not scores:
        return None, {}, {}
    maxima = max_scores(root, assignment=assignment)
    mistakes, errors = read_problems(root, scores, assignment)
    lateness = read_lateness(root, scores, assignment)
    status = {s: e for s, e in read_status(root, assignment).items() if not chosen or s in chosen}
    folder = Path(out) if out else reports_folder(root, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "scores.csv", scores, lateness, status)
    page = render(
        scores,
        maxima,
        rank_mistakes(mistakes, list(maxima)),
        errors,
        course=_course_id(root),
        lateness=lateness,
        status=status,
        collection={} if chosen else read_collection(root, assignment),
        history=_only(read_history(root, assignment), chosen),
        assignment=assignment,
        forgeries=read_forgeries(root, chosen, assignment),
        notes=course_data.teaching_notes(root, assignment),
    )
    (folder / "report.html").write_text(page, encoding="utf-8")
    return folder, scores, maxima


def _only(history: list[Entry], students: set[str]) -> list[Entry]:
    """The history with only these students' entries (all of it without students)."""
    if not students:
        return history
    return [
        {
            **run,
            "graded": [g for g in run.get("graded", []) if g["student"] in students],
            "changes": [c for c in run.get("changes", []) if c["student"] in students],
        }
        for run in history
    ]
