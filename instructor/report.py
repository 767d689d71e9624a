"""`python -m instructor report`: a class report from the gradebook and the graded notebooks.

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

How it is made, in three steps: the sources are read (`read_*`); `class_report` builds the
page's data model from them (`ClassReport`: the cards, each student's row, each mistake, each
section's rows, the charts), with every number computed and nothing formatted as HTML; the
Jinja2 template instructor/templates/report.html.j2 (autoescaped; its CSS in report.css beside
it) renders the model. The charts are small functions that return a PNG data URL.

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

import argparse
import base64
import csv
import datetime
import io
import json
import re
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jinja2
import nbformat
from markupsafe import Markup, escape

from . import course_data
from .course import ASSIGNMENT, NOTEBOOK, ROOT, exercises, load_config
from .scores import db_url, max_scores, read_scores, table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from .exchange.forgeries import Forgery

# A student's scores: {exercise: points, or None when not graded}; the class's, by student.
Scores = Mapping[str, Mapping[str, float | None]]
# An entry of grading.json, of collection.json or of history.jsonl, as JSON gives it.
Entry = Mapping[str, Any]

# ` - Mistake: transposed weights. W1 has shape (3, 2), expected (2, 3). Hint: ...`
MISTAKE = re.compile(r"^\s*- Mistake: (?P<title>.+?)\.(?: (?P<rest>.*))?$", re.MULTILINE)

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "report.html.j2"

# --- Reading the sources ----------------------------------------------------------------------


def autograded_notebook(root: Path | str, student: str, assignment: str = ASSIGNMENT) -> Path:
    """The graded notebook of a student: the one notebook of autograded/<student>/<assignment>/."""
    folder = Path(root) / "autograded" / student / assignment
    found = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    return found[0] if len(found) == 1 else folder / NOTEBOOK


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


# {student: {exercise: [(title, message)]}} and {student: {exercise: error}}
Mistakes = dict[str, dict[str, list[tuple[str, str]]]]
Errors = dict[str, dict[str, str]]


def read_problems(
    root: Path | str, students: Iterable[str], assignment: str = ASSIGNMENT
) -> tuple[Mistakes, Errors]:
    """What the tests reported for each student: ({student: {exercise: [(title, message)]}},
    {student: {exercise: error}}), from the autograded notebooks that exist."""
    mistakes: Mistakes = {}
    errors: Errors = {}
    columns = exercises(assignment, root)
    for student in students:
        path = autograded_notebook(root, student, assignment)
        if not path.is_file():
            continue
        for exercise, (text, error) in graded_outputs(path, columns).items():
            text = re.sub(r"\n {3}(?=\S)", " ", text)  # a message wrapped by the tests, joined
            titles = [(m["title"], m["rest"] or "") for m in MISTAKE.finditer(text)]
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


def reports_folder(root: Path | str, assignment: str = ASSIGNMENT) -> Path:
    """reports/<assignment>/ of the course in root, as its nbgrader config sets it."""
    from .grading.session import reports_dir

    folder: Path = reports_dir(load_config(Path(root)), assignment)
    return folder


def read_status(root: Path | str, assignment: str = ASSIGNMENT) -> dict[str, Entry]:
    """{student: last grading entry} of reports/<assignment>/grading.json ({} without it)."""
    path = reports_folder(root, assignment) / "grading.json"
    found: dict[str, Entry] = read_json(path, {}).get("students", {})
    return found


def read_collection(root: Path | str, assignment: str = ASSIGNMENT) -> Entry:
    """What zip_collect's Canvas collector recorded ({} without it)."""
    found: Entry = read_json(reports_folder(root, assignment) / "collection.json", {})
    return found


def read_forgeries(
    root: Path | str, students: Iterable[str] | None = None, assignment: str = ASSIGNMENT
) -> list["Forgery"]:
    """The folders refused as made in another student's name (exchange/forgeries.py), those
    naming or made by the students given (all without students)."""
    from .exchange import forgeries

    found: list[Forgery] = list(forgeries.read(reports_folder(root, assignment)))
    if students:
        chosen = set(students)
        found = [f for f in found if f.student in chosen or f.owner in chosen]
    return found


def read_history(root: Path | str, assignment: str = ASSIGNMENT) -> list[Entry]:
    """The grading runs of reports/<assignment>/history.jsonl, oldest first."""
    from .grading.ledger import Ledger

    runs: list[Entry] = Ledger.read_history(reports_folder(root, assignment))
    return runs


def read_lateness(
    root: Path | str, students: Iterable[str], assignment: str = ASSIGNMENT
) -> dict[str, Entry]:
    """{student: {timestamp, duedate, seconds, days, penalty}} from the gradebook, for the
    students given (penalty 0 and seconds 0 when on time or without a due date)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .lms.late import days_late

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


# --- What is computed from them -----------------------------------------------------------------


@dataclass
class RankedMistake:
    """One mistake the tests named, over the class: who made it, in which exercises."""

    title: str
    count: int
    students: list[str]
    exercises: list[str]
    message: str  # the tests' own explanation, the first one found


def rank_mistakes(mistakes: Mistakes, order: Sequence[str] | None = None) -> list[RankedMistake]:
    """The mistakes, most frequent first (then by title).

    order -- the exercises in notebook order (default: the order they are first met)
    """
    students: dict[str, set[str]] = {}
    found_in: dict[str, set[str]] = {}
    messages: dict[str, str] = {}
    seen: list[str] = []
    for student, by_exercise in mistakes.items():
        for exercise, found in by_exercise.items():
            seen += [exercise] if exercise not in seen else []
            for title, message in found:
                students.setdefault(title, set()).add(student)
                found_in.setdefault(title, set()).add(exercise)
                messages[title] = messages.get(title) or message
    position = list(order or seen)
    ranked = [
        RankedMistake(
            title,
            len(students[title]),
            sorted(students[title]),
            sorted(found_in[title], key=position.index),
            messages[title],
        )
        for title in students
    ]
    return sorted(ranked, key=lambda e: (-e.count, e.title.lower()))


def _names(scores: Scores) -> list[str]:
    """The exercises of a score table, in its order."""
    return list(next(iter(scores.values()), {}))


def totals(scores: Scores) -> dict[str, float]:
    return {student: sum(v or 0 for v in row.values()) for student, row in scores.items()}


def averages(scores: Scores) -> dict[str, float | None]:
    """{exercise: class average} over the students graded on that exercise."""
    found: dict[str, float | None] = {}
    for name in _names(scores):
        values = [v for row in scores.values() if (v := row[name]) is not None]
        found[name] = statistics.fmean(values) if values else None
    return found


def _penalty(lateness: Mapping[str, Entry], student: str) -> float:
    return float(lateness.get(student, {}).get("penalty", 0.0))


def write_csv(
    path: Path | str,
    scores: Scores,
    lateness: Mapping[str, Entry] | None = None,
    status: Mapping[str, Entry] | None = None,
) -> None:
    """scores.csv: per exercise, total, late penalty, final score and status per student."""
    lateness, status = lateness or {}, status or {}
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        names = _names(scores)
        writer.writerow(["student", *names, "total", "late_penalty", "final", "status"])
        for student, row in scores.items():
            cells = ["" if (v := row[n]) is None else f"{v:g}" for n in names]
            total = totals({student: row})[student]
            penalty = _penalty(lateness, student)
            writer.writerow(
                [
                    student,
                    *cells,
                    f"{total:g}",
                    f"{penalty:g}",
                    f"{max(0.0, total - penalty):g}",
                    status.get(student, {}).get("status", "graded"),
                ]
            )


def left_out(scores: Scores, status: Mapping[str, Entry]) -> dict[str, str]:
    """{student: reason} of the scored students that the averages leave out: those whose last
    grading was rejected or failed (their gradebook score is not a grade of their work)."""
    return {
        student: f"{entry['status']}: {entry.get('reason') or 'no reason recorded'}"
        for student, entry in status.items()
        if student in scores and entry.get("status") in ("rejected", "failed")
    }


# --- The charts ---------------------------------------------------------------------------------


def png(figure: "Figure") -> str:
    """A matplotlib figure as a data: URL (base64 PNG)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=144, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure() -> tuple["Figure", "Axes"]:
    """A figure of the report's size, drawn to PNG without a display: a Figure of its own
    with the Agg canvas, not pyplot's, so that no backend is chosen for the process and
    nothing is kept once the PNG is made."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2, 3.0))
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _style(ax: "Axes") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9aa5b1")
    ax.spines["bottom"].set_color("#9aa5b1")
    ax.tick_params(colors="#52606d", labelsize=9)
    ax.yaxis.grid(True, color="#e4e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def histogram(values: Sequence[float], maximum: float) -> str:
    """Histogram of the students' totals, one bar per tenth of the maximum."""
    figure, ax = _figure()
    edges = [maximum * i / 10 for i in range(11)]
    ax.hist(values, bins=edges, color="#2f6690", edgecolor="white", linewidth=1.2)
    mean = statistics.fmean(values)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.12)  # room for the label of the average
    ax.axvline(mean, color="#d9822b", linewidth=1.6, linestyle="--")
    ax.text(mean, ax.get_ylim()[1], f" average {mean:.1f}", color="#b4641c", fontsize=8.5,
            va="top", ha="left" if mean < 0.75 * maximum else "right")  # fmt: skip
    ax.set_xlim(0, maximum)
    ax.set_xticks(edges[::2])
    cast("MaxNLocator", ax.yaxis.get_major_locator()).set_params(integer=True)
    ax.set_xlabel(f"total points (out of {maximum:g})", color="#52606d", fontsize=9)
    ax.set_ylabel("students", color="#52606d", fontsize=9)
    _style(ax)
    return png(figure)


def average_bars(means: Mapping[str, float | None], maxima: Mapping[str, float]) -> str:
    """Class average per exercise as horizontal bars over the maximum."""
    names = list(maxima)[::-1]
    figure, ax = _figure()
    ax.barh(names, [maxima[n] for n in names], color="#e4e7eb", height=0.55)
    ax.barh(names, [means.get(n) or 0 for n in names], color="#3a7ca5", height=0.55)
    for i, name in enumerate(names):
        mean = means.get(name)
        ax.text((mean or 0) + 0.15, i, "-" if mean is None else f"{mean:.1f}",
                va="center", fontsize=9, color="#1f2933")  # fmt: skip
    ax.set_xlim(0, max(maxima.values()) * 1.08)
    ax.set_xlabel("average points", color="#52606d", fontsize=9)
    _style(ax)
    ax.yaxis.grid(False)
    ax.xaxis.grid(True, color="#e4e7eb", linewidth=0.8)
    return png(figure)


# --- The page's data model ----------------------------------------------------------------------


@dataclass
class Score:
    """One score cell: points (None: not graded) and how it compares with the maximum."""

    points: float | None
    maximum: float

    @property
    def kind(self) -> str:
        """full, part or zero (the cell's colour); '' when not graded."""
        if self.points is None:
            return ""
        return "full" if self.points >= self.maximum else "zero" if self.points <= 0 else "part"


@dataclass
class StudentRow:
    """A student's row of the score table."""

    student: str
    scores: list[Score]
    total: Score
    penalty: float
    final: Score
    left_out: str = ""  # rejected or failed: the averages leave the student out
    limits_only: bool = False  # graded with resource limits only, not isolated


@dataclass
class ScoreTable:
    exercises: list[str]
    maxima: list[float]
    total_max: float
    rows: list[StudentRow]
    means: list[float | None]  # per exercise, over the graded students
    mean_total: float | None
    mean_final: float | None


@dataclass
class Isolation:
    """How the graded students' code was isolated: {mode: count}, and who was not."""

    counts: dict[str, int]
    limits_only: list[str]


@dataclass
class MistakeRow:
    """A row of the mistakes table: the mistake, the instructor's note, the bar's width."""

    rank: int
    title: str
    note: str  # with `code` between backquotes
    count: int
    bar_width: float
    exercises: list[str]
    students: list[str]


@dataclass
class TestError:
    student: str
    exercise: str
    error: str


@dataclass
class LateRow:
    student: str
    canvas_marker: bool  # known from Canvas's LATE marker: no time, counted as one day
    submitted: datetime.datetime | None
    due: datetime.datetime | None
    days: int
    hours: float
    penalty: float


@dataclass
class FlaggedRow:
    student: str
    flags: list[str]


@dataclass
class RejectedRow:
    """A rejected or failed submission, or a file of the LMS download not collected."""

    student: str  # "(name)" for a name not on the roster, "-" for none
    status: str
    reason: str


@dataclass
class ForgeryRow:
    student: str
    owner: str
    submitted: str
    by: str
    folder: str


@dataclass
class ScoreChange:
    exercise: str
    before: float | None
    after: float | None


@dataclass
class HistoryRow:
    student: str
    run: str
    status: list[str]
    total: tuple[float | None, float | None]
    changes: list[ScoreChange]
    why: str


@dataclass
class History:
    """The grading history: how many runs, the latest's counts, the latest changes."""

    runs: int = 0
    latest_at: str = ""
    latest_graded: int = 0
    latest_changed: int = 0
    rows: list[HistoryRow] = field(default_factory=list)
    changes: int = 0  # all the changes recorded; rows holds the latest `limit`
    limit: int = 30


@dataclass
class ClassReport:
    """Everything report.html shows, computed; the template only lays it out."""

    assignment: str
    course: str
    generated: str
    graded: int
    class_size: int
    average: str  # "12.3 / 30" or "-"
    median: str
    full_marks: int
    left_out: dict[str, str]  # {student: why} of those the averages leave out
    isolation: Isolation | None
    scores: ScoreTable
    histogram: str  # data: URL of a PNG
    average_bars: str
    mistakes: list[MistakeRow]
    errors: list[TestError]
    late: list[LateRow]
    flagged: list[FlaggedRow]
    rejected: list[RejectedRow]
    forgeries: list[ForgeryRow]
    history: History

    @property
    def title(self) -> str:
        return f"{self.assignment.capitalize()}: class report"


def _isolation(status: Mapping[str, Entry]) -> Isolation | None:
    """How the students' code was isolated, from the ledger (README, Security model)."""
    modes: dict[str, list[str]] = {}
    for student, entry in sorted(status.items()):
        if entry.get("status") == "graded":
            modes.setdefault(entry.get("isolation") or "unknown", []).append(student)
    if not modes:
        return None
    return Isolation({m: len(s) for m, s in sorted(modes.items())}, modes.get("limits", []))


def _score_table(
    scores: Scores,
    maxima: Mapping[str, float],
    means: Mapping[str, float | None],
    lateness: Mapping[str, Entry],
    excluded: Mapping[str, str],
    not_isolated: set[str],
) -> ScoreTable:
    names = list(maxima)
    total_max = sum(maxima.values())
    rows = []
    for student, total in totals(scores).items():
        penalty = _penalty(lateness, student)
        rows.append(
            StudentRow(
                student,
                [Score(scores[student][n], maxima[n]) for n in names],
                Score(total, total_max),
                penalty,
                Score(max(0.0, total - penalty), total_max),
                left_out=excluded[student].split(":")[0] if student in excluded else "",
                limits_only=student in not_isolated,
            )
        )
    graded = [row for row in rows if not row.left_out]
    return ScoreTable(
        names,
        [maxima[n] for n in names],
        total_max,
        rows,
        [means.get(n) for n in names],
        statistics.fmean(r.total.points or 0 for r in graded) if graded else None,
        statistics.fmean(r.final.points or 0 for r in graded) if graded else None,
    )


def _mistake_rows(ranked: Sequence[RankedMistake], notes: Mapping[str, str]) -> list[MistakeRow]:
    widest = max((e.count for e in ranked), default=1)
    return [
        MistakeRow(
            rank,
            entry.title,
            notes.get(entry.title) or f"The tests say: {entry.message}",
            entry.count,
            70 * entry.count / widest,
            entry.exercises,
            entry.students,
        )
        for rank, entry in enumerate(ranked, 1)
    ]


def _late_rows(lateness: Mapping[str, Entry], collection: Entry) -> list[LateRow]:
    collected = collection.get("students", {})
    return [
        LateRow(
            student,
            bool(collected.get(student, {}).get("late")),
            info["timestamp"],
            info["duedate"],
            info["days"],
            info["seconds"] / 3600,
            info["penalty"],
        )
        for student, info in sorted(lateness.items())
        if info["seconds"] > 0
    ]


def _rejected_rows(status: Mapping[str, Entry], collection: Entry) -> list[RejectedRow]:
    rows = [
        RejectedRow(student, entry["status"], entry.get("reason") or "")
        for student, entry in sorted(status.items())
        if entry.get("status") in ("rejected", "failed")
    ]
    for item in collection.get("not_on_roster", []):
        rows.append(RejectedRow(f"({item.get('name', '')})", "not collected", item["reason"]))
    for name in collection.get("unmatched", []):
        rows.append(RejectedRow("-", "not collected", f"{name}: not a Canvas submission file name"))
    for student, record in sorted(collection.get("students", {}).items()):
        for old in record.get("superseded", []):
            later = ", ".join(record.get("files", []))
            rows.append(
                RejectedRow(student, "earlier version", f"{old}: not graded, superseded by {later}")
            )
    return rows


def _history(history: Sequence[Entry], limit: int = 30) -> History:
    """The latest changes of the grading history (history.jsonl), newest first."""
    if not history:
        return History()
    latest = history[-1]
    changes = [(run["at"], c) for run in reversed(history) for c in run.get("changes", [])]
    rows = []
    for at, change in changes[:limit]:
        before, after = (s or {} for s in change["scores"])
        rows.append(
            HistoryRow(
                change["student"],
                at,
                [str(x) for x in change["status"] if x],
                (change["total"][0], change["total"][1]),
                [
                    ScoreChange(name, before.get(name), after.get(name))
                    for name in dict.fromkeys([*before, *after])
                    if before.get(name) != after.get(name)
                ],
                "; ".join(change["why"]),
            )
        )
    return History(
        len(history),
        latest["at"],
        len(latest.get("graded", [])),
        len(latest.get("changes", [])),
        rows,
        len(changes),
        limit,
    )


def class_report(
    scores: Scores,
    maxima: Mapping[str, float],
    ranked: Sequence[RankedMistake],
    errors: Mapping[str, Mapping[str, str]],
    course: str = "",
    lateness: Mapping[str, Entry] | None = None,
    status: Mapping[str, Entry] | None = None,
    collection: Entry | None = None,
    history: Sequence[Entry] | None = None,
    assignment: str = ASSIGNMENT,
    forgeries: Sequence["Forgery"] | None = None,
    notes: Mapping[str, str] | None = None,
) -> ClassReport:
    """The page's data model, from what the sources hold.

    notes -- {mistake title: the instructor's note} (course_data.teaching_notes)
    """
    lateness, status = lateness or {}, status or {}
    collection, history = collection or {}, history or []
    excluded = left_out(scores, status)
    not_isolated = {s for s, e in status.items() if e.get("isolation") == "limits"}
    graded = {s: row for s, row in scores.items() if s not in excluded}
    means = averages(graded)
    finals = [max(0.0, total - _penalty(lateness, s)) for s, total in totals(graded).items()]
    total_max = sum(maxima.values())
    return ClassReport(
        assignment=assignment,
        course=course,
        generated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        graded=len(graded),
        class_size=len(scores),
        average=f"{statistics.fmean(finals):.1f} / {total_max:g}" if finals else "-",
        median=f"{statistics.median(finals):g}" if finals else "-",
        full_marks=sum(t >= total_max for t in finals),
        left_out=excluded,
        isolation=_isolation(status),
        scores=_score_table(scores, maxima, means, lateness, excluded, not_isolated),
        histogram=histogram(finals or [0.0], total_max),
        average_bars=average_bars(means, maxima),
        mistakes=_mistake_rows(ranked, notes or {}),
        errors=[
            TestError(student, exercise, error)
            for student, by_exercise in sorted(errors.items())
            for exercise, error in by_exercise.items()
        ],
        late=_late_rows(lateness, collection),
        flagged=[
            FlaggedRow(student, list(entry["flags"]))
            for student, entry in sorted(status.items())
            if entry.get("flags")
        ],
        rejected=_rejected_rows(status, collection),
        forgeries=[
            ForgeryRow(f.student, f.owner, f.submitted[:19].replace("T", " "), f.by, f.folder)
            for f in forgeries or []
        ],
        history=_history(history),
    )


# --- The page -----------------------------------------------------------------------------------


def _points(value: float | None) -> str:
    """A score as the page prints it: 7, 2.5, or - when there is none."""
    return "-" if value is None else f"{value:g}"


def _with_code(text: str) -> Markup:
    """Escaped text, with `code` between backquotes set as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _when(value: datetime.datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report's template: autoescaped, strict about names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(points=_points, with_code=_with_code, when=_when)
    return env


def render_report(report: ClassReport) -> str:
    """The page of a report model, one HTML string with everything embedded."""
    return environment().get_template(TEMPLATE).render(report=report)


def render(
    scores: Scores,
    maxima: Mapping[str, float],
    ranked: Sequence[RankedMistake],
    errors: Mapping[str, Mapping[str, str]],
    course: str = "",
    lateness: Mapping[str, Entry] | None = None,
    status: Mapping[str, Entry] | None = None,
    collection: Entry | None = None,
    history: Sequence[Entry] | None = None,
    assignment: str = ASSIGNMENT,
    forgeries: Sequence["Forgery"] | None = None,
    notes: Mapping[str, str] | None = None,
) -> str:
    """The whole report page, as one HTML string with everything embedded (`class_report`,
    then the template)."""
    return render_report(
        class_report(
            scores,
            maxima,
            ranked,
            errors,
            course,
            lateness,
            status,
            collection,
            history,
            assignment,
            forgeries,
            notes,
        )  # fmt: skip
    )


def build(
    root: Path | str = ROOT,
    out: Path | str | None = None,
    students: Iterable[str] | None = None,
    assignment: str = ASSIGNMENT,
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


def _course_id(root: Path) -> str:
    """The course id of the loaded nbgrader configuration of root ('' when it sets none)."""
    from nbgrader.coursedir import CourseDirectory

    return str(CourseDirectory(config=load_config(Path(root))).course_id)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m instructor report", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--students", nargs="+", metavar="ID", help="only these students (default: all graded)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help=f"where to write (default: reports/{ASSIGNMENT}/)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the demo class's report (its own course folder demo/, reports in demo/reports/)",
    )
    parser.add_argument("--assignment", default=ASSIGNMENT, help=f"default: {ASSIGNMENT}")
    parser.add_argument(
        "--course", metavar="DIR", help="another course folder (with its nbgrader_config.py)"
    )
    args = parser.parse_args(argv)
    root = Path(args.course).resolve() if args.course else ROOT / "demo" if args.demo else ROOT
    out, scores, maxima = build(
        root=root, out=args.out, students=args.students, assignment=args.assignment
    )
    if out is None:
        who = f" for {', '.join(args.students)}" if args.students else ""
        print(f"No graded submissions in the gradebook{who} yet: grade them first.")
        return 1
    print("\n".join(table(scores, maxima)))
    for student, info in sorted(read_lateness(root, scores, args.assignment).items()):
        if info["seconds"] > 0:
            print(f"Late: {student}, {info['days']} started day(s), penalty {info['penalty']:g}")
    excluded = left_out(scores, read_status(root, args.assignment))
    if excluded:
        print(
            f"Left out of the averages ({len(excluded)}): "
            + "; ".join(f"{s} ({r})" for s, r in excluded.items())
        )
    for forgery in read_forgeries(root, args.students, args.assignment):
        print(f"Made in {forgery.student}'s name by {forgery.owner}, refused: {forgery.folder}")
    missing = sorted(set(args.students or ()) - set(scores))
    if missing:
        print(f"Not graded, so not in the report: {', '.join(missing)}")
    print(f"\nClass report: {out / 'report.html'}  (scores: {out / 'scores.csv'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
