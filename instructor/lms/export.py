"""CanvasGradesExport: `nbgrader export` to a CSV that Canvas's gradebook import accepts.

    nbgrader export --exporter=instructor.lms.export.CanvasGradesExport [--to=FILE]

writes (default grades-canvas.csv) Canvas's identifying columns and one column per assignment:

    Student,ID,SIS User ID,SIS Login ID,Section,initialization
    "Smith, John",4021,S1234,jsmith,Section 01,27

Student is "Last, First" as Canvas writes it; ID is the student's Canvas user id
(`Student.lms_user_id`); the SIS ids and the section come from the roster (instructor/lms).
Each assignment's cell is the score in the gradebook, manual grades included, minus the late
penalty, never below zero, rounded to two decimals. A student with no submission gets an empty
cell (Canvas leaves that grade as it is) unless `missing_as_zero`. Students without a Canvas
user id cannot be matched by Canvas and are left out, with a warning. To update an assignment
that exists in Canvas, name its column as Canvas's own export does, with its id in parentheses:
`c.CanvasGradesExport.columns = {"initialization": "Initialization (123456)"}`. nbgrader's plain
CSV stays `nbgrader export` without --exporter, written by `InertCsvExport` (below).

Both write every cell as text a spreadsheet does not evaluate (instructor/spreadsheet.py): a
student's name or id that starts like a formula (`=HYPERLINK(...)`) gets a leading `'`.
"""

import csv

from nbgrader.api import Gradebook, MissingEntry, Student, SubmittedAssignment
from nbgrader.plugins import CsvExportPlugin, ExportPlugin
from traitlets import Bool, Dict

from ..spreadsheet import inert_row
from . import lms_ids

IDENTIFYING = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def final_score(submission: SubmittedAssignment) -> float:
    """The submission's score after the late penalty, never below zero."""
    penalty = submission.late_submission_penalty or 0.0
    return max(0.0, float(submission.score or 0.0) - penalty)


def canvas_name(student: Student) -> str:
    """'Last, First' (or whichever part is known)."""
    parts = [p for p in (student.last_name, student.first_name) if p]
    return ", ".join(parts) or str(student.id)


class CanvasGradesExport(ExportPlugin):
    """Grades as a Canvas gradebook import: identifying columns, one column per assignment."""

    columns = Dict(
        {},
        help="Canvas column header per nbgrader assignment name, e.g. "
        "{'initialization': 'Initialization (123456)'}; default: the assignment's name.",
    ).tag(config=True)
    missing_as_zero = Bool(
        False, help="Give 0 to students without a submission instead of an empty cell."
    ).tag(config=True)
    points_possible_row = Bool(
        False, help="Add Canvas's 'Points Possible' row under the header."
    ).tag(config=True)

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades-canvas.csv"
        assignments = [
            a for a in gradebook.assignments if not self.assignment or a.name in self.assignment
        ]
        ids = lms_ids(gradebook)
        students = [s for s in gradebook.students if not self.student or s.id in self.student]
        without = sorted(s.id for s in students if not s.lms_user_id)
        if without:
            self.log.warning(
                "Left out, no Canvas user id (import the roster): %s", ", ".join(without)
            )
        header = IDENTIFYING + [self.columns.get(a.name, a.name) for a in assignments]
        rows: list[list[str]] = []
        if self.points_possible_row:
            rows.append(
                ["Points Possible", "", "", "", ""] + [f"{a.max_score:g}" for a in assignments]
            )
        for student in sorted(students, key=lambda s: (canvas_name(s).lower(), s.id)):
            if not student.lms_user_id:
                continue
            extra = ids.get(student.id, {})
            row = [
                canvas_name(student),
                student.lms_user_id,
                extra.get("sis_user_id", ""),
                extra.get("sis_login_id", ""),
                extra.get("section", ""),
            ]
            for assignment in assignments:
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.append("0" if self.missing_as_zero else "")
                else:
                    row.append(f"{round(final_score(submission), 2):g}")
            rows.append(row)
        with open(dest, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(inert_row(header))
            writer.writerows(inert_row(row) for row in rows)
        students_written = len(rows) - (1 if self.points_possible_row else 0)
        self.log.info("Exported %d student(s) for Canvas to %s", students_written, dest)


# nbgrader's own grades.csv, its columns in its order (nbgrader.plugins.CsvExportPlugin).
NBGRADER_COLUMNS = [
    "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
    "raw_score", "late_submission_penalty", "score", "max_score",
]  # fmt: skip


class InertCsvExport(CsvExportPlugin):
    """`nbgrader export`'s grades.csv, as nbgrader writes it (same columns and values), with
    CSV quoting (nbgrader joins the cells with commas as they are: a name with a comma shifts
    the row) and every cell inert (a student's name is not a formula). The course's default
    exporter (c.ExportApp.plugin_class in nbgrader_config.py)."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        self.log.info("Exporting grades to %s", dest)
        rows = []
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:
                    timestamp, raw, penalty, score = None, 0.0, 0.0, 0.0
                else:
                    timestamp, raw = submission.timestamp, submission.score
                    penalty = submission.late_submission_penalty
                    score = max(0.0, submission.score - penalty)
                rows.append(
                    [
                        assignment.name,
                        assignment.duedate,
                        timestamp,
                        student.id,
                        student.last_name,
                        student.first_name,
                        student.email,
                        raw,
                        penalty,
                        score,
                        assignment.max_score,
                    ]  # fmt: skip
                )
        with open(dest, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(NBGRADER_COLUMNS)
            writer.writerows(inert_row(row) for row in rows)
