"""What the instructor decides about grading on submit: set in nbgrader_config.py as
c.GradeOnSubmit.<option>; every option has its help text, shown by `python -m instructor watch
--help-policy`."""

from traitlets import Bool, Float, Integer
from traitlets.config import Configurable


class GradeOnSubmit(Configurable):
    """The grade-on-submit service's policy (instructor/watch/)."""

    poll_seconds = Float(
        1.0, help="How often the exchange's inbound folder is looked at, in seconds."
    ).tag(config=True)
    max_attempts = Integer(
        0,
        help="Graded attempts per student whose feedback is released before the due date (0: "
        "no limit). Later submissions are still collected and graded, as nbgrader collect "
        "would take them (the latest counts), but their feedback waits for the due date, so "
        "that the hidden tests cannot be probed by brute force.",
    ).tag(config=True)
    cooldown_minutes = Float(
        0.0,
        help="Minutes between two feedbacks of a student before the due date (0: none). A "
        "submission made sooner waits in the queue (replaced by a newer one) until the "
        "cooldown is over.",
    ).tag(config=True)
    hidden_verdicts_before_due = Bool(
        True,
        help="Whether feedback released before the due date shows the hidden tests' verdicts "
        "(the scores per exercise and the named-mistake messages; never the hidden code or "
        "expected values). False: before the due date the test cells' scores and outputs are "
        "withheld, and the full feedback is released when the due date passes.",
    ).tag(config=True)
    drain_seconds = Float(
        60.0,
        help="On SIGTERM or Ctrl-C, how long gradings in flight may finish before they are "
        "abandoned (an abandoned submission is graded when the service starts again).",
    ).tag(config=True)
    incomplete_minutes = Float(
        10.0,
        help="A submission folder still without nbgrader's timestamp.txt after this many "
        "minutes is rejected (nbgrader's submit writes it last).",
    ).tag(config=True)
