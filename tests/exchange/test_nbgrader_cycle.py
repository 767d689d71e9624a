"""The instructor's whole nbgrader cycle on this course, with real nbgrader commands.

Two ways in for submissions are exercised on one temporary copy of the course:

* a local exchange directory (`--Exchange.root`): the instructor releases the assignment,
  students fetch it, answer and submit, the instructor collects, autogrades, generates and
  releases feedback, students fetch their feedback, and `nbgrader export` writes the grades;
* a learning-management-system download: one zip of notebooks named the way Canvas names the
  files of "Download Submissions", filed under student ids by `nbgrader zip_collect` and
  autograded.

Instructor and students are separate nbgrader users here: each runs in a home folder of its
own, and the exchange folder is all they share. Everything runs as one operating-system user,
so a student names themself with `--student` (nbgrader's exchange otherwise takes the login
name), and collect's check of the submission's owner against that name is switched off.

The whole module shares one cycle (module-scoped fixtures), so each notebook is autograded
once: four notebook executions in all.
"""

import csv
import hashlib
import subprocess
import zipfile

import nbformat
import pytest
from answers import STUDENTS, fill
from conftest import copy_course, shares_of
from harness import ASSIGNMENT, BIN, HELPERS, NOTEBOOK, course_env

from instructor.scores import read_scores

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

COURSE_ID = "initialization-course"  # as in nbgrader_config.py; students name it with --course

# Students of the exchange: their login, and the demo answers they type.
EXCHANGE_STUDENTS = {"alice": "demo-correct", "bob": "demo-xavier"}

# A Canvas "Download Submissions" zip: each file is named
#     <lastfirst>[_LATE]_<user id>_<submission id>_<uploaded file name>
# and an uploaded file that replaced an earlier one carries a "-<n>" suffix before ".ipynb".
LMS_ZIP = "submissions.zip"
LMS_FILES = {
    "lovelaceada_12345_67890_Initialization.ipynb": "demo-skip-last-layer",
    "hoppergrace_LATE_23456_78901_Initialization-1.ipynb": "demo-transposed",
}
LMS_STUDENTS = {name.split("_")[0] for name in LMS_FILES}  # the Canvas names
# zip_collect matches this against the whole path of each extracted file: the student id is the
# Canvas name, the notebook is the uploaded name without a resubmission suffix.
LMS_REGEXP = r".*/(?P<student_id>[a-z]+)_(?:LATE_)?\d+_\d+_(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$"

# What each student's answers earn, per exercise: a share of the exercise's points, which the
# source notebook's grade cells declare.
EXPECTED = {
    student: dict(zip(("zeros", "random", "he"), shares_of(*shares)))
    for student, shares in {
        "alice": (1, 1, 1),
        "bob": (1, 1, 0.5),
        "lovelaceada": (1, 1, 0),
        "hoppergrace": (0.2, 0.2, 0.2),
    }.items()
}
MAX_SCORE = sum(shares_of(1, 1, 1))


# --- running nbgrader as one of the users --------------------------------------------------


def home_env(home):
    """The environment of a user whose home is `home`: own Jupyter folders, our nbgrader."""
    home.mkdir(parents=True, exist_ok=True)
    env = course_env(HOME=str(home))
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERHUB_USER"):
        env.pop(var, None)
    return env


def nbgrader(home, cwd, *args):
    """Run `nbgrader ARGS` in cwd as the user of `home`; return its log, fail with it shown."""
    result = subprocess.run(
        [str(BIN / "nbgrader"), *map(str, args)],
        cwd=cwd,
        env=home_env(home),
        capture_output=True,
        text=True,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"nbgrader {' '.join(map(str, args))} failed:\n{log}"
    return log


class Cycle:
    """The folders of one run of the cycle: the course, the exchange and everyone's homes."""

    def __init__(self, base):
        self.course = copy_course(base / "course")
        self.exchange = base / "exchange"
        self.instructor_home = base / "homes" / "instructor"
        self.base = base

    def instructor(self, *args):
        """An nbgrader command of the instructor, in the course directory."""
        return nbgrader(self.instructor_home, self.course, *args)

    def student_home(self, student):
        return self.base / "homes" / student

    def student(self, student, command, *args):
        """An nbgrader exchange command of a student, in their home, under their name."""
        home = self.student_home(student)
        exchange = [f"--Exchange.root={self.exchange}", f"--course={COURSE_ID}"]
        return nbgrader(home, home, command, ASSIGNMENT, *exchange, f"--student={student}", *args)

    def submitted(self, student):
        return self.course / "submitted" / student / ASSIGNMENT / NOTEBOOK

    def export(self, name):
        """`nbgrader export` to a CSV in the course; its rows by student id."""
        self.instructor("export", f"--to={name}")
        with open(self.course / name, newline="") as fh:
            return {row["student_id"]: row for row in csv.DictReader(fh)}


def file_hashes(folder):
    """{relative path: sha256} of every file under folder."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def autograde(cycle):
    """Autograde what is not graded yet; the submitted files' hashes before and after."""
    before = file_hashes(cycle.course / "submitted")
    cycle.instructor("autograde", ASSIGNMENT)
    return before, file_hashes(cycle.course / "submitted")


def totals(rows):
    """{student: (score, max_score)} from exported CSV rows."""
    return {s: (float(r["score"]), float(r["max_score"])) for s, r in rows.items()}


# --- the cycle, one stage per fixture -------------------------------------------------------


@pytest.fixture(scope="module")
def released_course(tmp_path_factory):
    """A course copy whose assignment is generated and released to a fresh local exchange."""
    cycle = Cycle(tmp_path_factory.mktemp("cycle"))
    cycle.instructor("generate_assignment", ASSIGNMENT, "--force")
    cycle.instructor("release_assignment", ASSIGNMENT, f"--Exchange.root={cycle.exchange}")
    return cycle


@pytest.fixture(scope="module")
def students_submitted(released_course):
    """Each exchange student fetched the assignment, typed their answers and submitted.

    Gives {student: (fetched notebook bytes, submitted notebook bytes)}.
    """
    cycle = released_course
    notebooks = {}
    for student, answers in EXCHANGE_STUDENTS.items():
        cycle.student(student, "fetch_assignment")
        path = cycle.student_home(student) / ASSIGNMENT / NOTEBOOK
        fetched = path.read_bytes()
        nbformat.write(fill(nbformat.read(path, as_version=4), STUDENTS[answers]), path)
        cycle.student(student, "submit")
        notebooks[student] = (fetched, path.read_bytes())
    return notebooks


@pytest.fixture(scope="module")
def exchange_graded(released_course, students_submitted):
    """The instructor collected, autograded, generated and released feedback, and exported.

    Gives the submitted files' hashes before and after autograde, and the exported rows.
    """
    cycle = released_course
    # All users are one OS user here, so the submission's owner is never the student's name.
    cycle.instructor(
        "collect",
        ASSIGNMENT,
        f"--Exchange.root={cycle.exchange}",
        "--ExchangeCollect.check_owner=False",
    )
    hashes = autograde(cycle)
    cycle.instructor("generate_feedback", ASSIGNMENT)
    cycle.instructor("release_feedback", ASSIGNMENT, f"--Exchange.root={cycle.exchange}")
    return {"hashes": hashes, "rows": cycle.export("grades.csv")}


@pytest.fixture(scope="module")
def feedback_fetched(released_course, exchange_graded):
    """Each exchange student fetched their feedback: {student: [HTML files they received]}."""
    cycle = released_course
    received = {}
    for student in EXCHANGE_STUDENTS:
        cycle.student(student, "fetch_feedback")
        folder = cycle.student_home(student) / ASSIGNMENT / "feedback"
        received[student] = sorted(folder.glob("*/*.html"))
    return received


@pytest.fixture(scope="module")
def lms_download_graded(released_course, exchange_graded):
    """A Canvas-style zip was zip_collected, autograded and exported after the exchange round.

    Gives the zip's notebooks by file name, the hashes around autograde and the exported rows.
    """
    cycle = released_course
    release = nbformat.read(cycle.course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    archive = cycle.course / "downloaded" / ASSIGNMENT / "archive"
    archive.mkdir(parents=True)
    notebooks = {
        name: nbformat.writes(fill(release, STUDENTS[answers])).encode()
        for name, answers in LMS_FILES.items()
    }
    with zipfile.ZipFile(archive / LMS_ZIP, "w") as zf:
        for name, data in notebooks.items():
            zf.writestr(name, data)
    cycle.instructor(
        "zip_collect", ASSIGNMENT, f"--FileNameCollectorPlugin.named_regexp={LMS_REGEXP}"
    )
    hashes = autograde(cycle)
    return {"notebooks": notebooks, "hashes": hashes, "rows": cycle.export("grades-all.csv")}


# --- the exchange round ---------------------------------------------------------------------


def test_do_students_fetch_the_release_without_hidden_tests(released_course, students_submitted):
    """Does fetch_assignment give each student the generated release, hidden tests removed?"""
    release = released_course.course / "release" / ASSIGNMENT
    for student, (fetched, _) in students_submitted.items():
        assert fetched == (release / NOTEBOOK).read_bytes(), student
        assert b"BEGIN HIDDEN TESTS" not in fetched
        for helper in HELPERS:
            copy = released_course.student_home(student) / ASSIGNMENT / helper
            assert copy.read_bytes() == (release / helper).read_bytes()


def test_does_collect_bring_each_submission_to_the_instructor(
    released_course, students_submitted, exchange_graded
):
    """Does collect file each student's notebook, exactly as submitted, under their name?"""
    for student, (_, submitted) in students_submitted.items():
        assert released_course.submitted(student).read_bytes() == submitted
    # Nobody else, such as the login name of the user who ran the commands.
    folders = {p.name for p in (released_course.course / "submitted").iterdir()}
    assert folders - LMS_STUDENTS == set(EXCHANGE_STUDENTS)


def test_does_the_export_hold_each_exchange_students_total(exchange_graded):
    """Does the CSV of `nbgrader export` hold exactly correct 30/30 and Xavier 25/30?"""
    assert totals(exchange_graded["rows"]) == {"alice": (30.0, 30.0), "bob": (25.0, 30.0)}
    for row in exchange_graded["rows"].values():
        assert row["assignment"] == ASSIGNMENT
        assert float(row["late_submission_penalty"]) == 0


def test_does_autograde_leave_the_collected_submissions_untouched(exchange_graded):
    """Are the collected files byte-for-byte the same after autograde as before?"""
    before, after = exchange_graded["hashes"]
    assert len(before) >= 2 * len(EXCHANGE_STUDENTS)  # the notebooks and their timestamps
    assert after == before


def test_does_each_student_fetch_their_own_html_feedback(feedback_fetched):
    """Does fetch_feedback give each student one HTML feedback file with their own score?"""
    for student, files in feedback_fetched.items():
        assert [f.name for f in files] == ["Initialization.html"], student
        html = files[0].read_text()
        total = sum(EXPECTED[student].values())
        assert f"Score: {total:.1f} / {MAX_SCORE:.1f}" in html, student


def test_does_the_feedback_explain_the_mistake(feedback_fetched):
    """Does the Xavier student's feedback name the mistake, and the correct one's name none?"""
    assert "Mistake:" in feedback_fetched["bob"][0].read_text()
    assert "Mistake:" not in feedback_fetched["alice"][0].read_text()


# --- the learning-management-system download ------------------------------------------------


def test_does_zip_collect_file_each_download_under_its_student_id(
    released_course, lms_download_graded
):
    """Does zip_collect store each Canvas file as submitted/<name>/initialization/Initialization.ipynb?"""
    for name, data in lms_download_graded["notebooks"].items():
        student = name.split("_")[0]  # the Canvas name
        assert released_course.submitted(student).read_bytes() == data, name


def test_does_autograde_leave_the_zip_collected_submissions_untouched(lms_download_graded):
    """Are all submitted files byte-for-byte the same after the second autograde?"""
    before, after = lms_download_graded["hashes"]
    graded = {path.split("/")[0] for path in before}
    assert graded == set(EXCHANGE_STUDENTS) | LMS_STUDENTS
    assert after == before


def test_does_the_export_hold_every_students_total(lms_download_graded):
    """After the zip round, does the CSV hold all four totals, the exchange ones unchanged?"""
    expected = {s: (float(sum(e.values())), float(MAX_SCORE)) for s, e in EXPECTED.items()}
    assert totals(lms_download_graded["rows"]) == expected


def test_does_the_gradebook_score_each_exercise(released_course, lms_download_graded):
    """Does the gradebook hold each student's points per exercise, as their answers deserve?"""
    assert read_scores(released_course.course, assignment=ASSIGNMENT) == EXPECTED
