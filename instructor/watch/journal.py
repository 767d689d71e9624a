"""What became of every submission that reached the inbound folder: the service's memory.

reports/<assignment>/submissions.jsonl gets one line per step of a submission (received,
collected, graded, fed back, held, superseded, rejected, failed; forged for a folder made in
another student's name, with its owner), written and synced before the service goes on. On a
restart it is read back: a submission whose last step is final is never handled again, and
every other one (received while the service was down, or in flight when it stopped) is handled
from the start. A line cut short by a crash is ignored.

A grading that was recorded in the gradebook just before a crash, with no "graded" line yet, is
not graded twice: the submission is collected again with the same content, and the grading
ledger (instructor/grading/ledger.py) knows it was graded, so only its feedback is made.
"""

import datetime
import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..exchange.inbound import Record


class Step(StrEnum):
    """A step of a submission in the journal (its "step" field). A StrEnum: each member is
    the string submissions.jsonl has always held, so journals written before read back."""

    RECEIVED = "received"  # seen in the inbound folder
    COLLECTED = "collected"  # copied into submitted/, nbgrader's way
    GRADED = "graded"  # recorded in the gradebook (status "rejected" when the intake refused it)
    FED_BACK = "fed back"  # its feedback page released
    HELD = "held"  # its feedback held until the due date (the attempt limit)
    SUPERSEDED = "superseded"  # a later submission of the student replaced it
    REJECTED = "rejected"  # could not be collected
    FAILED = "failed"  # the grader, or the feedback, failed on it
    FORGED = "forged"  # made in another student's name: refused


FINAL = frozenset(
    {Step.FED_BACK, Step.HELD, Step.SUPERSEDED, Step.REJECTED, Step.FAILED, Step.FORGED}
)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


JournalLine = dict[str, Any]  # one line of submissions.jsonl


class Journal:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.steps: dict[str, JournalLine] = {}  # record name -> last step
        self.history: list[JournalLine] = []  # every step, in order
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    step = json.loads(line)
                    name = step["record"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash
                self.steps[name] = step
                self.history.append(step)

    def last(self, name: str) -> str | None:
        step = self.steps.get(name)
        return str(step["step"]) if step else None

    def is_final(self, name: str) -> bool:
        return self.last(name) in FINAL

    def write(self, record: Record, step: Step, **info: object) -> JournalLine:
        entry = {
            "at": now().isoformat(timespec="milliseconds"),
            "record": record.name,
            "student": record.student,
            "assignment": record.assignment,
            "submitted": record.timestamp.isoformat(),
            "step": step,
            **info,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.steps[record.name] = entry
        self.history.append(entry)
        return entry

    def feedbacks(self, student: str, before: datetime.datetime | None = None) -> int:
        """Submissions of a student whose feedback was released (or held for the attempt
        limit), submitted before `before` when given: the attempts counted by the limit."""
        names = {
            s["record"]
            for s in self.history
            if s["student"] == student
            and s["step"] in (Step.FED_BACK, Step.HELD)
            and (before is None or datetime.datetime.fromisoformat(s["submitted"]) <= before)
        }
        return len(names)

    def last_feedback_at(self, student: str) -> datetime.datetime | None:
        times = [
            datetime.datetime.fromisoformat(s["at"])
            for s in self.history
            if s["student"] == student and s["step"] == Step.FED_BACK
        ]
        return max(times, default=None)

    def held(self) -> dict[str, JournalLine]:
        """Records whose feedback is held until the due date, by name (the last step)."""
        return {n: s for n, s in self.steps.items() if s["step"] == Step.HELD}
