"""The outcome of one grading, as the worker returns it and the ledger keeps it.

A `StrEnum`: each member is the very string that grading.json, grading.log.jsonl and
history.jsonl have always held, so files on disk are unchanged and old ones read back.
"""

from enum import StrEnum


class Status(StrEnum):
    """What became of a submission the grader was given."""

    GRADED = "graded"  # run, re-checked and scored
    REJECTED = "rejected"  # could not be graded (intake's reason): zero points, for review
    FAILED = "failed"  # the grader itself failed on it: nothing recorded in the gradebook


__all__ = ["Status"]
