"""The queue of submissions waiting for a grader, fair to every student.

A student is in the queue at most once, with their latest submission: a resubmission replaces
the waiting one (which is then superseded, never graded) and keeps the student's place. A
student whose submission is being graded waits until that grading is done, so that one student
costs at most one grading at a time, however often they submit. Students are served in the
order they came, so a student who resubmits a hundred times delays nobody behind them.
"""

from collections.abc import Callable, Collection

from ..exchange.inbound import Record

Key = tuple[str, str]  # (assignment, student)


class FairQueue:
    def __init__(self) -> None:
        self.waiting: dict[
            Key, Record
        ] = {}  # (assignment, student) -> Record, in the order students came

    def __len__(self) -> int:
        return len(self.waiting)

    def __contains__(self, key: object) -> bool:
        return key in self.waiting

    def offer(self, record: Record) -> Record | None:
        """Queue a submission; return the one it supersedes (the older of the two), or None."""
        key = (record.assignment, record.student)
        current = self.waiting.get(key)
        if current is None:
            self.waiting[key] = record
            return None
        if record.timestamp > current.timestamp:
            self.waiting[key] = record  # keeps the student's place
            return current
        return record

    def take(
        self, busy: Collection[Key] = (), ready: Callable[[Record], bool] = lambda record: True
    ) -> Record | None:
        """The first waiting submission whose student is not being graded (`busy`) and that is
        `ready` (e.g. out of its cooldown); removed from the queue. None when there is none."""
        for key, record in self.waiting.items():
            if key not in busy and ready(record):
                del self.waiting[key]
                return record
        return None

    def drop(self, key: Key) -> Record | None:
        return self.waiting.pop(key, None)
