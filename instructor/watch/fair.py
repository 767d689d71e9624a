"""The queue of submissions waiting for a grader, fair to every student.

A student is in the queue at most once, with their latest submission: a resubmission replaces
the waiting one (which is then superseded, never graded) and keeps the student's place. A
student whose submission is being graded waits until that grading is done, so that one student
costs at most one grading at a time, however often they submit. Students are served in the
order they came, so a student who resubmits a hundred times delays nobody behind them.
"""


class FairQueue:
    def __init__(self):
        self.waiting = {}  # (assignment, student) -> Record, in the order students came

    def __len__(self):
        return len(self.waiting)

    def __contains__(self, key):
        return key in self.waiting

    def offer(self, record):
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

    def take(self, busy=(), ready=lambda record: True):
        """The first waiting submission whose student is not being graded (`busy`) and that is
        `ready` (e.g. out of its cooldown); removed from the queue. None when there is none."""
        for key, record in self.waiting.items():
            if key not in busy and ready(record):
                del self.waiting[key]
                return record
        return None

    def drop(self, key):
        return self.waiting.pop(key, None)
