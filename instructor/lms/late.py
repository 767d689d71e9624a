"""PercentPerDayLate: the course's late policy, as nbgrader's LateSubmissionPlugin.

The default is the common policy that Canvas's own late policy also offers: 10 % of the
points possible off for each day late, any started day counting as a whole one, capped at
50 % (five days). With `basis = "score"` the percentage is taken of the student's score
instead. The penalty never takes a score below zero (nbgrader caps it at the score).

    days late = ceil((seconds late - grace) / 86400), 0 when on time or within the grace
    penalty   = min(days * percent_per_day, max_percent) / 100 * points possible

nbgrader's AssignLatePenalties preprocessor calls it when grades are saved (by `nbgrader
autograde` and by `python -m instructor grade`), with the lateness of the submission: its
timestamp (timestamp.txt from the exchange, or from the Canvas LATE marker, see collector.py)
against the assignment's due date in the gradebook plus any extension. The parameters are set
in nbgrader_config.py as `c.PercentPerDayLate.<name>`.

The penalty is stored in the gradebook when the grades are saved. With the default basis it
does not depend on the score, so a manual grade given later keeps it right; with
`basis = "score"` it is the share of the score at grading time (nbgrader does not recompute it
after a manual grade).
"""

import math
from textwrap import dedent

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Enum, Float

DAY = 86400.0


def days_late(seconds: float | None, grace_minutes: float = 0.0) -> int:
    """Started days of lateness after the grace period: 0 on time, 1 for 1 s to 24 h, ..."""
    seconds = float(seconds or 0) - 60.0 * grace_minutes
    return math.ceil(seconds / DAY) if seconds > 0 else 0


def penalty_points(
    seconds: float | None,
    points: float,
    percent_per_day: float = 10.0,
    max_percent: float = 50.0,
    grace_minutes: float = 0.0,
) -> float:
    """The points taken off for this lateness, of `points` (points possible or score)."""
    percent = min(days_late(seconds, grace_minutes) * percent_per_day, max_percent)
    return round(points * percent / 100.0, 6)


class PercentPerDayLate(LateSubmissionPlugin):
    """A percentage of the points off per started day late, capped."""

    percent_per_day = Float(
        10.0, help="Percent of the points taken off for each started day late."
    ).tag(config=True)
    max_percent = Float(
        50.0, help="The most that lateness can take off, in percent of the points."
    ).tag(config=True)
    grace_minutes = Float(
        0.0, help="Minutes after the due date during which a submission is not late."
    ).tag(config=True)
    basis = Enum(
        ("max_score", "score"),
        default_value="max_score",
        help=dedent(
            """
            What the percentage is taken of: 'max_score', the points possible of the notebook
            (Canvas's way: the same lateness costs every student the same points), or
            'score', the points the student earned.
            """
        ),
    ).tag(config=True)

    def late_submission_penalty(
        self, student_id: str, score: float, total_seconds_late: float
    ) -> float:
        points = score if self.basis == "score" else self._points_possible(student_id, score)
        penalty = penalty_points(
            total_seconds_late, points, self.percent_per_day, self.max_percent, self.grace_minutes
        )
        self.log.info(
            "%s: %d day(s) late, penalty %g point(s)",
            student_id, days_late(total_seconds_late, self.grace_minutes), penalty,
        )  # fmt: skip
        return penalty

    def _points_possible(self, student_id: str, score: float) -> float:
        """The notebook's points possible, from the gradebook AssignLatePenalties has open."""
        parent = self.parent
        try:
            notebook = parent.gradebook.find_submission_notebook(
                parent.notebook_id, parent.assignment_id, student_id
            )
            return float(notebook.max_score)
        except Exception as error:  # not run by AssignLatePenalties: no gradebook to ask
            self.log.warning(
                "Points possible unknown (%s): the late penalty is taken of the score", error
            )
            return score
