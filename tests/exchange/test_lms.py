"""The round trip with Canvas, as an instructor runs it, on a temporary course.

A Canvas gradebook export (the roster) and a Canvas "Download Submissions" zip are built here,
the way Canvas writes them. Then, with the real commands in a course copy whose notebook
trains for fewer iterations:

    python -m instructor roster import roster.csv
    nbgrader db assignment add initialization --duedate=...
    nbgrader zip_collect initialization
    python -m instructor grade --serial
    python -m instructor report
    nbgrader export --exporter=instructor.lms.export.CanvasGradesExport

The zip holds an on-time student, a LATE one, one who submitted twice, one whose notebook
tampers with numpy (flagged), one whose file is broken (rejected), and a user not on the roster.
Every exported row is checked against the roster and against a total computed here from the
per-exercise scores in the gradebook and the late policy (10 % of the points possible per
started day). A manual grade changed in the gradebook must appear in the next export.
"""

import csv
import html
import io
import json
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest
from answers import EXERCISES, STUDENTS, fill
from conftest import copy_course, run_nbgrader
from corpus import build as corpus
from harness import ASSIGNMENT, NOTEBOOK, course_env
from nbgrader.api import Gradebook

from instructor.lms.late import days_late, penalty_points

pytestmark = pytest.mark.heavy

NOTEBOOK_ID = NOTEBOOK.removesuffix(".ipynb")
DUE = "2026-03-02 23:59:00 UTC"
PER_DAY = 0.10  # the course's default late policy: 10 % of the points possible per day

# The roster as Canvas exports it: its identifying columns, an assignment column, the
# "Points Possible" row and the test student. Keys are the nbgrader ids expected from it.
ROSTER = {
    "jsmith": {"Student": "Smith, John", "ID": "4021", "SIS User ID": "S1001", "SIS Login ID": "jsmith", "Section": "Section 01"},
    "jdoe": {"Student": "Doe, Jane", "ID": "4022", "SIS User ID": "S1002", "SIS Login ID": "jdoe", "Section": "Section 01"},
    "S1003": {"Student": "Lee, Kim", "ID": "4023", "SIS User ID": "S1003", "SIS Login ID": "", "Section": "Section 02"},
    "spark": {"Student": "Park, Sam", "ID": "4024", "SIS User ID": "S1004", "SIS Login ID": "spark", "Section": "Section 02"},
    "ang": {"Student": "Ng, Ana", "ID": "4025", "SIS User ID": "S1005", "SIS Login ID": "ang", "Section": "Section 02"},
    "mroe": {"Student": "Roe, Max", "ID": "4026", "SIS User ID": "S1006", "SIS Login ID": "mroe", "Section": "Section 01"},
}  # fmt: skip
IDENTIFYING = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def roster_csv():
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*IDENTIFYING, "Initialization (98765)", "Current Score"])
    writer.writerow(["    Points Possible", "", "", "", "", "30", "(read only)"])
    for row in ROSTER.values():
        writer.writerow([row[c] for c in IDENTIFYING] + ["", ""])
    writer.writerow(["Student, Test", "4999", "", "", "Section 01", "", ""])
    return out.getvalue()


def canvas_zip(path, ctx):
    """The download: <lastfirst>[_LATE]_<user id>_<submission id>_<uploaded name>."""
    correct = corpus.SCENARIOS["correct"](ctx)[NOTEBOOK]
    files = {
        "smithjohn_4021_70001_Initialization.ipynb": correct,
        "doejane_LATE_4022_70002_Initialization.ipynb": corpus.SCENARIOS["xavier"](ctx)[NOTEBOOK],
        # submitted twice: the untouched release first, the answers uploaded again later
        "leekim_4023_70003_Initialization.ipynb": nbformat.writes(ctx.release).encode(),
        "leekim_4023_70010_Initialization-1.ipynb": correct,
        "parksam_4024_70004_Initialization.ipynb": corpus.SCENARIOS["patched-numpy"](ctx)[NOTEBOOK],
        "ngana_4025_70005_Initialization.ipynb": corpus.SCENARIOS["invalid-json"](ctx)[NOTEBOOK],
        # not on the roster
        "caspergho_4777_70006_Initialization.ipynb": correct,
    }  # fmt: skip
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def run(root, *args):
    return subprocess.run(
        [sys.executable, *map(str, args)],
        cwd=root,
        env=course_env(),
        capture_output=True,
        text=True,
    )


def read_canvas_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def gradebook_state(root):
    """From the gradebook, without the course's code: {student: (per-exercise scores,
    late penalty)}, and the points possible of the notebook (sum of its grade cells)."""
    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        maximum = sum(c.max_score for c in gb.find_notebook(NOTEBOOK_ID, ASSIGNMENT).grade_cells)
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            notebook = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, sub.student_id)
            grades = {g.name: g.score for g in notebook.grades}
            found[sub.student_id] = (
                {e: grades[cell] for e, cell in EXERCISES.items()},
                notebook.late_submission_penalty or 0.0,
            )
    return found, maximum


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    root = corpus.fast_course(tmp_path_factory.mktemp("lms") / "course", copy_course)
    ctx = corpus.Context(nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4), root)
    (root / "roster.csv").write_text(roster_csv(), encoding="utf-8")
    archive = root / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    canvas_zip(archive / "submissions.zip", ctx)

    steps = {}
    steps["roster"] = run(root, "-m", "instructor", "roster", "import", "roster.csv")
    steps["due"] = run_nbgrader("db", "assignment", "add", ASSIGNMENT, f"--duedate={DUE}", cwd=root)
    steps["collect"] = run_nbgrader("zip_collect", ASSIGNMENT, cwd=root)
    steps["grade"] = run(root, "-m", "instructor", "grade", "--serial")
    steps["report"] = run(root, "-m", "instructor", "report")
    steps["export"] = run_nbgrader(
        "export", "--exporter=instructor.lms.export.CanvasGradesExport", "--to=canvas.csv", cwd=root
    )
    steps["plain"] = run_nbgrader("export", "--to=plain.csv", cwd=root)
    for name, result in steps.items():
        assert result.returncode == 0, (name, result.stdout[-3000:], result.stderr[-3000:])
    state, maximum = gradebook_state(root)
    return {"root": root, "steps": steps, "state": state, "max": maximum}


def expected_final(scores, days, maximum):
    """The total minus the late penalty, computed here: 10 % of the points possible per day."""
    raw = sum(scores.values())
    return max(0.0, raw - min(days * PER_DAY, 0.5) * maximum)


@pytest.mark.slow
def test_roster_lands_in_the_gradebook_student_table(round_trip):
    """Are the roster's students in nbgrader's student table, with names and Canvas user id,
    and are the Points Possible row and the test student left out?"""
    out = round_trip["steps"]["roster"].stdout
    assert "6 student(s) added" in out and "test student" in out
    with Gradebook(f"sqlite:///{round_trip['root'] / 'gradebook.db'}") as gb:
        students = {s.id: s for s in gb.students}
    assert set(students) == set(ROSTER)
    for sid, row in ROSTER.items():
        last, first = row["Student"].split(", ")
        assert (students[sid].last_name, students[sid].first_name) == (last, first)
        assert students[sid].lms_user_id == row["ID"]


@pytest.mark.slow
def test_zip_collect_maps_user_ids_keeps_the_latest_and_reports_the_rest(round_trip):
    """Is each file collected under its roster student, the later of two versions kept, the
    LATE marker turned into a time after the due date, and the stranger reported?"""
    root = round_trip["root"]
    submitted = root / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(["jsmith", "jdoe", "S1003", "spark", "ang"])  # fmt: skip
    lee = nbformat.reads((submitted / "S1003" / ASSIGNMENT / NOTEBOOK).read_text(), 4)
    assert any("initialize_parameters_he" in c.source and "sqrt" in c.source for c in lee.cells)
    stamps = {
        sid: (submitted / sid / ASSIGNMENT / "timestamp.txt").read_text().strip()
        for sid in ["jsmith", "jdoe"]
    }
    assert stamps == {"jsmith": "2026-03-02 23:59:00", "jdoe": "2026-03-02 23:59:01"}
    log = round_trip["steps"]["collect"].stderr
    assert "Canvas user 4777 (caspergho) is not on the roster" in log
    assert "leekim_4023_70003_Initialization.ipynb superseded by the later" in log
    collection = json.loads((root / "reports" / ASSIGNMENT / "collection.json").read_text())
    assert collection["students"]["S1003"]["superseded"] == [
        "submissions/leekim_4023_70003_Initialization.ipynb"
    ]
    assert [u["lms_user_id"] for u in collection["not_on_roster"]] == ["4777"]
    assert {s for s, r in collection["students"].items() if r["late"]} == {"jdoe"}


@pytest.mark.slow
def test_grading_applies_the_late_penalty_and_the_summary_says_so(round_trip):
    """Is the LATE student's penalty in the gradebook 10 % of the points possible, and does
    the end-of-run summary list the lateness, the rejection and the superseded version?"""
    state, maximum = round_trip["state"], round_trip["max"]
    assert state["jdoe"][1] == pytest.approx(PER_DAY * maximum)
    assert all(state[s][1] == 0 for s in state if s != "jdoe")
    out = round_trip["steps"]["grade"].stdout
    assert re.search(r"jdoe: late by 1 started day\(s\).*penalty 3 point\(s\)", out) or re.search(
        rf"jdoe: late by 1 started day\(s\).*penalty {PER_DAY * maximum:g} point\(s\)", out
    )
    assert re.search(r"ang: .*not valid JSON", out)
    assert "leekim_4023_70003_Initialization.ipynb" in out


@pytest.mark.slow
def test_canvas_export_has_every_student_row_ids_and_total(round_trip):
    """Does the Canvas CSV hold, for every roster student, the identifying columns and the
    total after the late penalty, computed here from the gradebook's per-exercise scores?"""
    rows = read_canvas_csv(round_trip["root"] / "canvas.csv")
    assert rows[0] == [*IDENTIFYING, ASSIGNMENT]
    state, maximum = round_trip["state"], round_trip["max"]
    days = {"jdoe": 1}
    expected = {}
    for sid, row in ROSTER.items():
        ids = [row[c] for c in IDENTIFYING]
        if sid in state:
            total = expected_final(state[sid][0], days.get(sid, 0), maximum)
            expected[row["ID"]] = ids + [f"{round(total, 2):g}"]
        else:
            expected[row["ID"]] = ids + [""]  # no submission: Canvas keeps its own grade
    assert {r[1]: r for r in rows[1:]} == expected
    assert len(rows) == 1 + len(ROSTER)
    # the values behind it: full marks, the later version graded, the penalty, the rejection
    assert sum(state["jsmith"][0].values()) == maximum
    assert sum(state["S1003"][0].values()) == maximum
    assert 0 < expected_final(state["jdoe"][0], 1, maximum) < sum(state["jdoe"][0].values())
    assert sum(state["ang"][0].values()) == 0
    # nbgrader's own CSV is still there, with the same penalty
    with open(round_trip["root"] / "plain.csv", newline="") as f:
        plain = {r["student_id"]: r for r in csv.DictReader(f)}
    assert float(plain["jdoe"]["late_submission_penalty"]) == pytest.approx(PER_DAY * maximum)


@pytest.mark.slow
def test_report_shows_late_flagged_and_rejected_sections(round_trip):
    """Does the class report list the late, flagged and rejected submissions with their
    reasons, and take the averages over the graded students only?"""
    root = round_trip["root"]
    page = (root / "reports" / ASSIGNMENT / "report.html").read_text(encoding="utf-8")

    def section(table_id):
        start = page.index(f'<table id="{table_id}">')
        return html.unescape(page[start : page.index("</table>", start)])

    late = section("late")
    assert "jdoe" in late and f"−{PER_DAY * round_trip['max']:g}" in late and "LATE" in late
    flagged = section("flagged")
    assert "spark" in flagged and "random: the notebook's run reported" in flagged
    rejected = section("rejected")
    assert re.search(r"ang</td><td>rejected</td><td>[^<]*not valid JSON", rejected)
    assert "Canvas user 4777 (caspergho) is not on the roster" in rejected
    assert "leekim_4023_70003_Initialization.ipynb: not graded, superseded" in rejected

    state, maximum = round_trip["state"], round_trip["max"]
    graded = [s for s in state if s != "ang"]
    finals = [expected_final(state[s][0], 1 if s == "jdoe" else 0, maximum) for s in graded]
    assert "4 graded student(s) only: 1 left out, ang (rejected:" in html.unescape(page)
    assert f'<td class="num final">{sum(finals) / len(finals):.2f}</td>' in page
    with open(root / "reports" / ASSIGNMENT / "scores.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["ang"]["status"] == "rejected" and rows["jdoe"]["late_penalty"] != "0"


@pytest.mark.slow
def test_feedback_of_the_late_student_shows_the_penalty(round_trip):
    """Does the late student's feedback page show the lateness and the penalty, and an
    on-time one neither?"""
    root = round_trip["root"]
    for student in ["jdoe", "jsmith"]:
        result = run_nbgrader(
            "generate_feedback", ASSIGNMENT, f"--CourseDirectory.student_id={student}", cwd=root
        )
        assert result.returncode == 0, result.stderr[-3000:]
    penalty = PER_DAY * round_trip["max"]
    late = (root / "feedback" / "jdoe" / ASSIGNMENT / "Initialization.html").read_text()
    assert re.search(rf"Late submission penalty \(Score: -{penalty:g}(\.0)?\)", late)
    assert "late by 1 started day(s); the late penalty takes" in html.unescape(late)
    on_time = (root / "feedback" / "jsmith" / ASSIGNMENT / "Initialization.html").read_text()
    assert "Late submission" not in on_time


@pytest.mark.slow
def test_manual_grade_appears_in_the_next_export(round_trip):
    """After a grader changes a score in the gradebook (as the Formgrader does), does the next
    Canvas export carry the new total, late penalty still taken off?"""
    root = round_trip["root"]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade = gb.find_grade(EXERCISES["he"], NOTEBOOK_ID, ASSIGNMENT, "jdoe")
        grade.manual_score = grade.max_score
        gb.db.commit()
    result = run_nbgrader(
        "export", "--exporter=instructor.lms.export.CanvasGradesExport", "--to=again.csv", cwd=root
    )
    assert result.returncode == 0, result.stderr
    state, maximum = gradebook_state(root)
    scores = state["jdoe"][0]
    assert scores["he"] == maximum - scores["zeros"] - scores["random"]  # the manual grade
    row = next(r for r in read_canvas_csv(root / "again.csv") if r[1] == "4022")
    assert row[-1] == f"{round(expected_final(scores, 1, maximum), 2):g}"
    assert float(row[-1]) == pytest.approx(maximum * (1 - PER_DAY))


@pytest.mark.slow
def test_regrade_is_recorded_in_the_history_and_the_report(round_trip):
    """When a submission changes and is graded again, does history.jsonl get a line with the
    score before and after and why, and does the report show that change?"""
    root = round_trip["root"]
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    nbformat.write(
        fill(release, STUDENTS["demo-xavier"]),
        root / "submitted" / "S1003" / ASSIGNMENT / NOTEBOOK,
    )
    before = round_trip["state"]["S1003"][0]
    graded = run(root, "-m", "instructor", "grade", "--serial", "S1003")
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    history = [
        json.loads(line)
        for line in (root / "reports" / ASSIGNMENT / "history.jsonl").read_text().splitlines()
    ]
    assert len(history) == 2
    assert {c["student"] for c in history[0]["changes"]} == {"jsmith", "jdoe", "S1003", "spark", "ang"}  # fmt: skip
    assert all(c["why"][0] == "first grading" for c in history[0]["changes"])
    (change,) = history[1]["changes"]
    after = gradebook_state(root)[0]["S1003"][0]
    assert change["student"] == "S1003" and change["why"] == ["submission changed"]
    assert change["scores"] == [before, after] and after != before
    assert change["total"] == [sum(before.values()), sum(after.values())]

    report = run(root, "-m", "instructor", "report")
    assert report.returncode == 0, report.stderr
    page = (root / "reports" / ASSIGNMENT / "report.html").read_text(encoding="utf-8")
    table = html.unescape(page[page.index('<table id="history">') :])
    assert f"{sum(before.values()):g} → {sum(after.values()):g}" in table
    assert "submission changed" in table


@pytest.mark.parametrize(
    "seconds, days, percent",
    [(0, 0, 0), (1, 1, 10), (86400, 1, 10), (86401, 2, 20), (5 * 86400, 5, 50), (30 * 86400, 30, 50)],
)  # fmt: skip
def test_late_policy_counts_started_days_and_is_capped(seconds, days, percent):
    """Is every started day a day, and the penalty capped at 50 % of the points?"""
    assert days_late(seconds) == days
    assert penalty_points(seconds, 30) == pytest.approx(30 * percent / 100)


@pytest.mark.slow
def test_collecting_without_a_roster_says_what_to_do(course):
    """Without a roster, does zip_collect stop with the command to run, not a traceback?"""
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    (archive / "smithjohn_4021_1_Initialization.ipynb").write_text("{}")
    result = run_nbgrader("zip_collect", ASSIGNMENT, cwd=course)
    assert result.returncode != 0
    assert "python -m instructor roster import" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_roster_that_is_not_a_canvas_export_is_refused_plainly(course):
    (course / "people.csv").write_text("name,email\nJohn,j@example.edu\n")
    result = run(course, "-m", "instructor", "roster", "import", "people.csv")
    assert result.returncode == 2
    assert "no column Student, ID" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_regexp_of_ones_own_collects_as_plain_nbgrader(course):
    """With a named_regexp without a Canvas user id, and no roster, does zip_collect file the
    notebook under the id the expression gives, as nbgrader's own collector does?"""
    archive = course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    release = (course / "release" / ASSIGNMENT / NOTEBOOK).read_bytes()
    (archive / "hoppergrace_LATE_23456_78901_Initialization-1.ipynb").write_bytes(release)
    regexp = r".*/(?P<student_id>[a-z]+)_(?:LATE_)?\d+_\d+_(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$"
    result = run_nbgrader(
        "zip_collect", ASSIGNMENT, f"--FileNameCollectorPlugin.named_regexp={regexp}", cwd=course
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (course / "submitted" / "hoppergrace" / ASSIGNMENT / NOTEBOOK).read_bytes() == release
