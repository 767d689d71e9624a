"""Does `python -m instructor report` tell the truth about a graded class, on one clean page?

It runs, as an instructor would, in a copy of the course whose demo class (plus the two extra
students of test_feedback.py) the real `nbgrader autograde` has graded. The scores are checked
against the gradebook read directly, and the mistakes against the autograded notebooks.
"""

import base64
import csv
import html
import re
import subprocess
import sys
from html.parser import HTMLParser

import nbformat
import pytest
from answers import EXERCISES
from harness import ASSIGNMENT, NOTEBOOK
from nbgrader.api import Gradebook


@pytest.fixture(scope="module")
def graded_demo_class(graded_demo):
    return graded_demo


def run_report(course, *args):
    """`python -m instructor report ARGS` in the course, as the instructor runs it."""
    return subprocess.run(
        [sys.executable, "-m", "instructor", "report", *map(str, args)],
        cwd=course,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def class_report(graded_demo_class, tmp_path_factory):
    out = tmp_path_factory.mktemp("class-report")
    result = run_report(graded_demo_class, "--out", out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result


@pytest.fixture(scope="module")
def gradebook_scores(graded_demo_class):
    """{student: {exercise: score}} read from nbgrader's gradebook, without instructor code."""
    scores = {}
    with Gradebook(f"sqlite:///{graded_demo_class / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            notebook = gb.find_submission_notebook(
                NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, submission.student_id
            )
            grades = {grade.name: grade.score for grade in notebook.grades}
            scores[submission.student_id] = {e: grades[cell] for e, cell in EXERCISES.items()}
    return scores


class MistakeRows(HTMLParser):
    """The rows of the report's mistakes table: (title, count, exercises, students)."""

    def __init__(self, page):
        super().__init__()
        self.rows, self._cell, self._texts = [], None, {}
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("class") == "mistake":
            self.rows.append([attrs["data-title"], int(attrs["data-count"]), [], []])
        elif tag == "td" and self.rows:
            self._cell = attrs.get("class", "")
        elif tag == "span" and self.rows and self._cell in ("exercises", "students who"):
            self._texts = {"exercises": self.rows[-1][2], "students who": self.rows[-1][3]}

    def handle_data(self, data):
        if self._texts and data.strip():
            self._texts[self._cell].append(data.strip())

    def handle_endtag(self, tag):
        if tag in ("span", "td"):
            self._texts = {}


def mistakes_in_notebooks(course, students):
    """{title: {student}} from the ` - Mistake: <title>. ` lines of the test cells' outputs."""
    found = {}
    for student in students:
        path = course / "autograded" / student / ASSIGNMENT / NOTEBOOK
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") not in EXERCISES.values():
                continue
            for output in cell.outputs:
                for line in output.get("text", "").splitlines():
                    if line.startswith(" - Mistake: "):
                        title = line.removeprefix(" - Mistake: ").split(". ")[0]
                        found.setdefault(title, set()).add(student)
    return found


@pytest.mark.slow
def test_csv_holds_the_gradebook_scores(class_report, gradebook_scores):
    """Does scores.csv give every graded student's score per exercise and total, exactly as
    the gradebook has them?"""
    out, _ = class_report
    with open(out / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", *EXERCISES, "total", "late_penalty", "final", "status"]
    assert [row["student"] for row in rows] == sorted(gradebook_scores)
    for row in rows:
        expected = gradebook_scores[row["student"]]
        assert {e: float(row[e]) for e in EXERCISES} == expected
        assert float(row["total"]) == sum(expected.values())
        # graded by plain nbgrader autograde: no due date, so no penalty, and no rejection
        assert (row["late_penalty"], row["final"], row["status"]) == ("0", row["total"], "graded")


@pytest.mark.slow
def test_page_shows_scores_averages_and_an_embedded_histogram(class_report, gradebook_scores):
    """Is report.html one self-contained page with the score table, the class averages and
    plots embedded as PNG images?"""
    out, _ = class_report
    page = (out / "report.html").read_text(encoding="utf-8")
    table = page[page.index('<table id="scores">') : page.index("</table>")]
    for student, row in gradebook_scores.items():
        cells = "".join(rf'<td class="num[^"]*">{score:g}</td>' for score in row.values())
        assert re.search(rf"<td class=\"student\">{html.escape(student)}</td>{cells}", table)
    averages = [
        sum(row[e] for row in gradebook_scores.values()) / len(gradebook_scores) for e in EXERCISES
    ]
    assert "".join(f'<td class="num">{a:.2f}</td>' for a in averages) in table

    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2 and 'alt="Histogram of the students\' totals"' in page
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    # Nothing fetched from elsewhere: no stylesheet, script or image by address.
    assert not re.search(r"<link|<script|src=\"(?!data:)|url\(", page)


@pytest.mark.slow
def test_mistakes_are_ranked_by_how_many_students_made_them(class_report, graded_demo_class):
    """Does the page list every mistake the tests named, most frequent first, with its
    exercises, its students and a note for the instructor?"""
    out, _ = class_report
    page = (out / "report.html").read_text(encoding="utf-8")
    rows = MistakeRows(page).rows
    counts = [count for _, count, _, _ in rows]
    assert counts == sorted(counts, reverse=True)

    by_title = {title: (count, exercises, students) for title, count, exercises, students in rows}
    assert by_title["transposed weights"] == (1, ["zeros", "random", "he"], ["demo-transposed"])
    assert by_title["Xavier scaling instead of He"] == (
        2,
        ["he"],
        ["demo-echoes-tests", "demo-xavier"],
    )
    assert rows[0][0] == "Xavier scaling instead of He"

    graded = [p.name for p in (graded_demo_class / "autograded").iterdir()]
    in_notebooks = mistakes_in_notebooks(graded_demo_class, graded)
    assert {t: (c, set(s)) for t, c, _, s in rows} == {
        t: (len(s), s) for t, s in in_notebooks.items()
    }
    assert "Worth one slide on why W has one row per unit" in page  # the instructor's note


@pytest.mark.slow
def test_terminal_shows_the_score_table_and_the_report_path(class_report, gradebook_scores):
    """Does the command print the score table and where the report is?"""
    out, result = class_report
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["student", *EXERCISES, "total"]
    for student, row in gradebook_scores.items():
        total = sum(row.values())
        assert any(
            line.split() == [student, *(f"{s:g}" for s in row.values()), f"{total:g}"]
            for line in lines
        )
    assert str(out / "report.html") in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_students_option_keeps_only_those_students(graded_demo_class, tmp_path):
    """With --students, are only those students in the CSV and on the page, and is an id
    that was not graded reported?"""
    result = run_report(
        graded_demo_class, "--students", "demo-correct", "demo-xavier", "nobody", "--out", tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Not graded, so not in the report: nobody" in result.stdout
    with open(tmp_path / "scores.csv", newline="") as f:
        assert [row["student"] for row in csv.DictReader(f)] == ["demo-correct", "demo-xavier"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "demo-transposed" not in page
    assert [row[0] for row in MistakeRows(page).rows] == ["Xavier scaling instead of He"]


@pytest.mark.slow
def test_ungraded_course_gets_a_message_not_a_traceback(course):
    """Before anything is graded, does the command say so plainly and write nothing?"""
    result = run_report(course)
    assert result.returncode == 1
    assert "No graded submissions" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (course / "reports").exists()


@pytest.mark.slow
def test_sections_follow_the_grading_summary_and_history(class_report, graded_demo_class):
    """Do the late, flagged, rejected and history sections say what the gradebook, the
    grading summary (grading.json) and history.jsonl hold: no due date, so nobody late; the
    flagged students with their reasons; nobody rejected; every run counted?"""
    import json

    out, _ = class_report
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    folder = graded_demo_class / "reports" / ASSIGNMENT
    students = json.loads((folder / "grading.json").read_text())["students"]
    flagged = {s: e["flags"] for s, e in students.items() if e["flags"]}
    runs = (folder / "history.jsonl").read_text().splitlines()
    assert "Late submissions (0)" in page and "No late submission." in page
    assert f"Flagged for review ({len(flagged)})" in page
    table = page[page.index('<table id="flagged">') :]
    for student, flags in flagged.items():
        assert all(flag in table for flag in flags), student
    assert "Rejected, failed or not collected (0)" in page
    assert f"Averages over all {len(students)} graded student(s)" in page
    assert f"{len(runs)} grading run(s) recorded" in page
    history = page[page.index('<table id="history">') :]
    assert all(f'<td class="student">{s}</td>' in history for s in students)


def test_averages_leave_out_rejected_students_and_history_shows_changes():
    """With a rejected student, is the class average taken over the others, does the page say
    who was left out and why, and does the history show the latest run's changes?"""
    from instructor.report import render

    maxima = {e: 10.0 for e in EXERCISES}
    scores = {
        "ann": dict.fromkeys(EXERCISES, 10.0),
        "bob": dict.fromkeys(EXERCISES, 4.0),
        "cat": dict.fromkeys(EXERCISES, 0.0),
    }
    status = {
        "ann": {"status": "graded", "flags": []},
        "bob": {"status": "graded", "flags": ["he: the notebook's run reported 10 / 10"]},
        "cat": {"status": "rejected", "reason": "the notebook file is empty", "flags": []},
    }
    lateness = {
        "bob": {"seconds": 90000.0, "days": 2, "penalty": 6.0, "timestamp": None, "duedate": None}
    }
    old, new = dict.fromkeys(EXERCISES, 2.0), scores["bob"]
    history = [
        {"at": "2026-03-03T10:00:00+00:00", "graded": [{"student": "bob"}], "changes": []},
        {
            "at": "2026-03-04T10:00:00+00:00",
            "graded": [{"student": "bob"}],
            "changes": [
                {
                    "student": "bob",
                    "status": ["graded", "graded"],
                    "scores": [old, new],
                    "total": [6.0, 12.0],
                    "why": ["submission changed"],
                }
            ],
        },
    ]
    page = html.unescape(
        render(scores, maxima, [], {}, lateness=lateness, status=status, history=history)
    )
    assert (
        "Averages over the 2 graded student(s) only: 1 left out, cat (rejected: the notebook file is empty)"
        in page
    )
    for exercise in EXERCISES:
        assert f'<td class="num">{(10 + 4) / 2:.2f}</td>' in page, exercise
    assert f'<td class="num final">{(30 + (12 - 6)) / 2:.2f}</td>' in page
    assert re.search(
        r"<td class=\"student\">bob</td><td>time unknown|<td class=\"student\">bob</td><td>-", page
    )
    assert "he: the notebook's run reported 10 / 10" in page
    assert "2 grading run(s) recorded" in page and "6 → 12" in page and "submission changed" in page
    assert "2026-03-04T10:00:00+00:00" in page
