"""The class report's data model: what the page shows, computed from the sources (every
number, every row), with nothing formatted as HTML. `class_report` builds it; the template
(page.py) lays it out."""

import datetime
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .charts import average_bars, histogram
from .sources import Entry, Mistakes, Scores

if TYPE_CHECKING:
    from ..exchange.forgeries import Forgery

# --- What is computed from the sources --------------------------------------------------------


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


def exercise_names(scores: Scores) -> list[str]:
    """The exercises of a score table, in its order."""
    return list(next(iter(scores.values()), {}))


def totals(scores: Scores) -> dict[str, float]:
    return {student: sum(v or 0 for v in row.values()) for student, row in scores.items()}


def averages(scores: Scores) -> dict[str, float | None]:
    """{exercise: class average} over the students graded on that exercise."""
    found: dict[str, float | None] = {}
    for name in exercise_names(scores):
        values = [v for row in scores.values() if (v := row[name]) is not None]
        found[name] = statistics.fmean(values) if values else None
    return found


def penalty_of(lateness: Mapping[str, Entry], student: str) -> float:
    return float(lateness.get(student, {}).get("penalty", 0.0))


def left_out(scores: Scores, status: Mapping[str, Entry]) -> dict[str, str]:
    """{student: reason} of the scored students that the averages leave out: those whose last
    grading was rejected or failed (their gradebook score is not a grade of their work)."""
    return {
        student: f"{entry['status']}: {entry.get('reason') or 'no reason recorded'}"
        for student, entry in status.items()
        if student in scores and entry.get("status") in ("rejected", "failed")
    }


# --- The page's data model ------------------------------------------------------------------


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
    """How the students' code was isolated, from the ledger (docs/administrators.md, Security model)."""
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
        penalty = penalty_of(lateness, student)
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
    assignment: str = "",
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
    finals = [max(0.0, total - penalty_of(lateness, s)) for s, total in totals(graded).items()]
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
