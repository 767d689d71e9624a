"""The grading ledger: every student's last grading, a crash-safe log, and the history of runs."""

import datetime
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

Record = dict[str, Any]  # a JSON object of the ledger's files


@dataclass(frozen=True)
class Entry:
    """One grading of one student, as the ledger keeps it (an object of grading.json).

    status, reason -- "graded", "rejected" or "failed", and why (for the last two)
    notes, flags -- one line per repair, incident or error; one line per reason to review
    notebook -- the submitted notebook file(s) graded
    digest -- content hash of the submission; fingerprint -- of the assignment and limits
    isolation, worker, seconds -- where and how it ran, and how long it took
    ran -- what ran, when the assignment marks cells a grading may skip: the cells the grade
        needs, or the whole notebook and why (None when nothing is marked)
    graded_at -- when (UTC, ISO 8601)
    scores -- {exercise (or grade id): points} from the gradebook (not for a failed grading)
    written -- what this grading wrote that another route could change: the automatic scores
        and the graded notebook's content hash
    late_penalty -- the late penalty nbgrader recorded (None when on time)
    trace -- the grader's own traceback, when the grader failed
    """

    student: str
    status: str  # a Status (status.py), or a plain string read back from grading.json
    reason: str = ""
    notes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    notebook: str = ""
    digest: str | None = None
    fingerprint: str | None = None
    isolation: str | None = None
    worker: str | None = None
    seconds: float | None = None
    ran: str | None = None
    graded_at: str | None = None
    scores: dict[str, float | None] | None = None
    written: dict[str, Any] | None = None
    late_penalty: float | None = None
    trace: str | None = None

    OPTIONAL: ClassVar[tuple[str, ...]] = (
        "scores",
        "written",
        "trace",
        "ran",
    )  # left out of the JSON when there is none

    def to_json(self) -> Record:
        data = asdict(self)
        data["notes"], data["flags"] = list(self.notes), list(self.flags)
        return {k: v for k, v in data.items() if not (k in self.OPTIONAL and v is None)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Entry":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["notes"] = tuple(values.get("notes") or ())
        values["flags"] = tuple(values.get("flags") or ())
        return cls(**values)


class Ledger:
    """reports/<assignment>/grading.json, its append-only log grading.log.jsonl, and the
    history of grading runs history.jsonl.

    grading.json holds every student's last grading. history.jsonl gets one line per run
    (`write`): when, how, who was graded, and what changed since the previous grading of each
    student (status and scores before and after, total before and after, and why: first
    grading, submission changed, assignment or grader changed, or graded again unchanged).
    A run that was interrupted before `write` is recorded by the next run's line, marked so.
    """

    def __init__(self, folder: str | os.PathLike[str], assignment: str) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "grading.json"
        self.log = self.folder / "grading.log.jsonl"
        self.history = self.folder / "history.jsonl"
        self.assignment = assignment
        self.entries: dict[str, Entry] = {}  # student -> Entry
        self.graded: list[Record] = []
        self.changes: list[Record] = []
        if self.path.exists():
            try:
                students = json.loads(self.path.read_text()).get("students", {})
                self.entries = {s: Entry.from_json(e) for s, e in students.items()}
            except (OSError, ValueError, TypeError):
                self.entries = {}
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                try:
                    entry = Entry.from_json(json.loads(line))
                except (ValueError, TypeError):
                    continue
                self._note(entry, interrupted=True)
                self.entries[entry.student] = entry

    def _note(self, entry: Entry, interrupted: bool = False) -> None:
        """Remember, for the history, that this entry was recorded and what it changed."""
        graded: Record = {"student": entry.student, "status": entry.status}
        if interrupted:
            graded["interrupted_run"] = True
        self.graded.append(graded)
        change = self.change_of(self.entries.get(entry.student), entry)
        if change:
            if interrupted:
                change["interrupted_run"] = True
            self.changes.append(change)

    def add(self, entry: Entry) -> None:
        """Record an Entry: in memory, and at once in the append-only log."""
        self._note(entry)
        self.entries[entry.student] = entry
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as f:
            f.write(json.dumps(entry.to_json()) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write(self, run: Mapping[str, Any]) -> Path:
        """The summary file, a line of history, then an empty log (its entries are in the
        summary now)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        content = {
            "assignment": self.assignment,
            "updated": now,
            "last_run": run,
            "students": {s: e.to_json() for s, e in sorted(self.entries.items())},
        }
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(content, indent=1))
        os.replace(tmp, self.path)
        line = {"at": now, "run": run, "graded": self.graded, "changes": self.changes}
        with open(self.history, "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.graded, self.changes = [], []
        self.log.unlink(missing_ok=True)
        return self.path

    @staticmethod
    def read_history(folder: str | os.PathLike[str]) -> list[Record]:
        """The runs of history.jsonl in folder, oldest first ([] when there is none)."""
        path = Path(folder) / "history.jsonl"
        runs = []
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    runs.append(json.loads(line))
                except ValueError:
                    continue
        return runs

    @staticmethod
    def _total(scores: Mapping[str, float | None] | None) -> float | None:
        values = [v for v in (scores or {}).values() if v is not None]
        return sum(values) if values else None

    @classmethod
    def change_of(cls, before: Entry | None, after: Entry) -> Record | None:
        """What a new Entry changed since the previous one of the same student (None for a
        first grading), as a history record, or None when status, scores and late penalty
        are all the same."""
        keys = ("status", "scores", "late_penalty")
        if before is not None and all(getattr(before, k) == getattr(after, k) for k in keys):
            return None
        if before is None:
            why = ["first grading"]
        else:
            why = []
            if before.digest != after.digest:
                why.append("submission changed")
            if before.fingerprint != after.fingerprint:
                why.append("assignment or grader changed")
            if not why:
                why.append("graded again, submission and assignment unchanged")
        if after.status != "graded" and after.reason:
            why.append(f"{after.status}: {after.reason}")
        status, scores, penalty = (
            (before.status, before.scores, before.late_penalty) if before else (None, None, None)
        )
        return {
            "student": after.student,
            "status": [status, after.status],
            "scores": [scores, after.scores],
            "total": [cls._total(scores), cls._total(after.scores)],
            "late_penalty": [penalty, after.late_penalty],
            "why": why,
            "at": after.graded_at,
        }
