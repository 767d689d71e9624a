"""`nbgrader autograde` and the Formgrader's Autograde button grade with the course's rules.

nbgrader's own autograde runs each submission's code in the instructor's process, unsandboxed,
and trusts whatever the notebook's test cells print: an answer cell that patches numpy's
comparisons earns full marks there, and one that rewrites gradebook.db erases the class's
grades. So the course configures nbgrader's autograde (nbgrader_config.py) to hand each student
to the course's grading engine (instructor/grading/), the one `python -m instructor grade` drives:

- `GradeWithCourseRules` is the only sanitizing step. It grades the student's submitted folder
  exactly as `instructor grade` does (intake of odd notebooks, sandboxed run under limits,
  clean re-check, flags), records the grades in the gradebook, the graded notebook in
  autograded/ and the entry in the grading ledger, and returns the graded notebook, which
  nbgrader then writes where it always does. A rejected submission, or one the grader failed
  on, ends as an error of nbgrader's with the reason (the gradebook holds what
  `instructor grade` records for it: zero points for review, or nothing new).
- No step follows: the grades are saved already, with nbgrader's own SaveAutoGrades and
  AssignLatePenalties, by the engine.

The same scores, flags and notes come out of all three routes; the tests grade tampering
submissions through each and compare.
"""

import stat
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from ..errors import CourseError


class CourseGradingError(CourseError):
    """The submission was rejected, or the grader failed on it; the message says why."""


class GradeWithCourseRules(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Grades the student's submission with the course's engine; returns the graded notebook.

    nbgrader calls it once per notebook of a submission, through the exporter of one autograde
    run: the engine grades the whole submission at the first call, and the calls for the other
    notebooks return theirs from it (kept on that exporter, so a new run grades again).
    """

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        # imported here: nbgrader_config.py names this class for every nbgrader command, which
        # would all import the engine; only autograde runs it
        from ..grading.session import CannotGrade, grade_one

        student = resources["nbgrader"]["student"]
        assignment = resources["nbgrader"]["assignment"]
        run = self.parent if self.parent is not None else self
        graded = run.__dict__.setdefault("_graded_by_the_course", {})
        key = (assignment, student)
        if key not in graded:
            try:
                graded[key] = grade_one(self.config, assignment, student, log=self.log.info)
            except CannotGrade as error:
                raise CourseGradingError(f"cannot grade {student}: {error}") from None
            entry, _ = graded[key]
            for line in entry.flags:
                self.log.warning("%s: flagged for review: %s", student, line)
            for line in entry.notes:
                self.log.info("%s: %s", student, line)
        entry, session = graded[key]
        if entry.status != "graded":
            raise CourseGradingError(f"{student}: {entry.status}: {entry.reason}")
        graded = session.autograded(student) / f"{resources['nbgrader']['notebook']}.ipynb"
        if not graded.is_file():
            raise CourseGradingError(
                f"{student}: {graded.name} was not graded (see the notes of the grading)"
            )
        # nbgrader writes the notebook returned over this file, then makes it read-only again
        # (its set_permissions): it must be writable by its owner meanwhile, who is not root on
        # a shared server (root writes over a read-only file, an instructor does not)
        graded.chmod(graded.stat().st_mode | stat.S_IWUSR)
        return nbformat.read(graded, as_version=nbformat.NO_CONVERT), resources
