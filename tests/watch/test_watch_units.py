"""The grade-on-submit service's own parts, without a kernel: the fair queue, the journal and
the policy's help."""

import datetime
from pathlib import Path
from types import SimpleNamespace

from instructor.watch.fair import FairQueue
from instructor.watch.journal import Journal


def record(student, second, assignment="initialization"):
    stamp = datetime.datetime(2026, 12, 1, 10, 0, second, tzinfo=datetime.UTC)
    name = f"{student}+{assignment}+{stamp:%Y-%m-%d %H:%M:%S.%f} UTC"
    return SimpleNamespace(
        name=name, student=student, assignment=assignment, timestamp=stamp, path=Path(name)
    )


def test_does_a_resubmission_replace_the_waiting_one_and_keep_its_place():
    """ann, ben, ann again: ann's first is superseded, ann is still served first."""
    queue = FairQueue()
    first, ben, second = record("ann", 1), record("ben", 2), record("ann", 3)
    assert queue.offer(first) is None
    assert queue.offer(ben) is None
    assert queue.offer(second) is first
    assert len(queue) == 2
    assert queue.take() is second and queue.take() is ben and queue.take() is None


def test_is_an_older_submission_that_arrives_late_superseded_at_once():
    queue = FairQueue()
    newer, older = record("ann", 5), record("ann", 4)
    queue.offer(newer)
    assert queue.offer(older) is older
    assert queue.take() is newer


def test_do_a_hundred_resubmissions_delay_nobody_behind_them():
    """One student submits 100 times while being graded: they hold one place in the queue,
    are never taken while busy, and the others are served in their order."""
    queue = FairQueue()
    queue.offer(record("spam", 0))
    busy = {("initialization", "spam")}
    for second in range(1, 59):
        assert queue.offer(record("spam", second)) is not None
        if second == 30:
            queue.offer(record("kim", 30))
            queue.offer(record("lee", 31))
    assert len(queue) == 3
    assert queue.take(busy).student == "kim"
    assert queue.take(busy).student == "lee"
    assert queue.take(busy) is None
    assert queue.take().timestamp.second == 58  # the latest, once spam's grading is done


def test_does_take_skip_a_submission_that_is_not_ready():
    queue = FairQueue()
    queue.offer(record("ann", 1))
    queue.offer(record("ben", 2))
    assert queue.take(ready=lambda r: r.student != "ann").student == "ben"
    assert queue.take(ready=lambda r: False) is None
    assert len(queue) == 1


def test_does_the_journal_survive_a_line_cut_short_by_a_crash(tmp_path):
    """Steps are read back on a restart; a half-written last line is ignored."""
    path = tmp_path / "submissions.jsonl"
    journal = Journal(path)
    ann = record("ann", 1)
    journal.write(ann, "received")
    journal.write(ann, "collected", files=2)
    with open(path, "a") as f:
        f.write('{"record": "ben+initialization+2026-12-01 10:00:02')  # the crash
    again = Journal(path)
    assert again.last(ann.name) == "collected"
    assert not again.is_final(ann.name)
    again.write(ann, "graded", score=30)
    again.write(ann, "fed back", full=True)
    third = Journal(path)
    assert third.is_final(ann.name)
    assert third.feedbacks("ann") == 1


def test_does_the_journal_count_attempts_and_the_last_feedback(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    for second, step in ((1, "fed back"), (2, "fed back"), (3, "held"), (4, "rejected")):
        journal.write(record("ann", second), step)
    assert journal.feedbacks("ann") == 3
    assert journal.feedbacks("ann", before=record("ann", 1).timestamp) == 1
    assert journal.feedbacks("ben") == 0
    assert journal.last_feedback_at("ann") is not None
    assert set(journal.held()) == {record("ann", 3).name}


def test_does_help_policy_print_every_option_ready_to_paste_into_the_config(capsys):
    """`python -m instructor watch --help-policy`: each option of GradeOnSubmit, with its
    default, as a commented line of nbgrader_config.py, and no service started."""
    from instructor.commands.watch import main
    from instructor.watch.policy import GradeOnSubmit

    assert main(["--help-policy"]) == 0
    printed = capsys.readouterr().out
    options = GradeOnSubmit.class_own_traits(config=True)
    assert len(options) >= 5
    for name, trait in options.items():
        assert f"# c.GradeOnSubmit.{name} = {trait.default_value!r}" in printed, name
