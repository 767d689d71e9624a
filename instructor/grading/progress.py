"""Progress of a grading run: a live bar on a terminal, one plain line per submission otherwise."""

import sys
import time
from typing import TextIO

from .ledger import Entry


def _total(entry: Entry) -> str:
    scores = [v for v in (entry.scores or {}).values() if v is not None]
    return f"{sum(scores):g} points" if scores else "no score"


class Progress:
    """Counts submissions as they finish and shows the rate and the time left."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty()
        self.total = total
        self.counts: dict[str, int] = {"graded": 0, "rejected": 0, "failed": 0}
        self.started = time.monotonic()
        self.width = 0

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def update(self, entry: Entry) -> None:
        self.counts[entry.status] = self.counts.get(entry.status, 0) + 1
        if self.tty:
            self._bar()
        else:
            detail = _total(entry) if entry.status == "graded" else entry.reason
            flags = f", {len(entry.flags)} flag(s)" if entry.flags else ""
            print(
                f"[{self.done}/{self.total}] {entry.student}: {entry.status}, {detail}{flags}",
                file=self.stream,
                flush=True,
            )

    def _bar(self) -> None:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = int(30 * self.done / max(self.total, 1))
        text = (
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}  "
            f"graded {self.counts['graded']}  rejected {self.counts['rejected']}  "
            f"failed {self.counts['failed']}  {rate * 60:.1f}/min  "
            f"about {duration(left)} left"
        )
        self.width = max(self.width, len(text))
        self.stream.write(text.ljust(self.width))
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
