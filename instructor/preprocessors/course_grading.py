"""`nbgrader autograde` and the Formgrader's Autograde button grade with the course's rules.

nbgrader's own autograde runs each submission's code in the instructor's process, unsandboxed,
and trusts whatever the notebook's test cells print: an answer cell that patches numpy's
comparisons earns full marks there, and one that rewrites gradebook.db erases the class's
grades. So the course configures nbgrader's autograde (nbgrader_config.py) to hand each student
to the course's grading engine (engine.py), the one `python -m instructor grade` drives:

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

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor


class CourseGradingError(Exception):
    """The submission was rejected, or the grader failed on it; the message says why."""


class GradeWithCourseRules(NbGraderPreprocessor):
    """Grades the student's submission with the course's engine; returns the graded notebook."""

    def preprocess(self, nb, resources):
        from ..engine import CannotGrade, grade_one

        student = resources["nbgrader"]["student"]
        try:
            entry, session = grade_one(self.config, student, log=self.log.info)
        except CannotGrade as error:
            raise CourseGradingError(f"cannot grade {student}: {error}") from None
        for line in entry.get("flags", []):
            self.log.warning("%s: flagged for review: %s", student, line)
        for line in entry.get("notes", []):
            self.log.info("%s: %s", student, line)
        if entry["status"] != "graded":
            raise CourseGradingError(f"{student}: {entry['status']}: {entry['reason']}")
        graded = (
            session.recorder.destination(student) / f"{resources['nbgrader']['notebook']}.ipynb"
        )
        return nbformat.read(graded, as_version=nbformat.NO_CONVERT), resources
