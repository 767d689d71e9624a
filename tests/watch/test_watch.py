"""Grade on submit: `python -m instructor watch` from a student's submit to their feedback.

A quick course copy (500 iterations) is released to its own exchange and the service is
started on it, as an instructor would start it. Three students fetch the assignment with
nbgrader, answer and submit with `--student` (one OS user plays every student here, so the
course's copy switches nbgrader's owner check off):

    alice    correct answers                                   full marks
    bob      Xavier's scale for He (a named mistake), then     he: half, the mistake named;
             fixed, then once more (the attempt limit is 2)    then full; then feedback held
    mallory  a wrong answer, with numpy's comparison patched   random: half (keys and shapes)

Each one's feedback comes through `nbgrader fetch_feedback`, with the scores that
`python -m instructor grade` gives the same submissions. Killing the service in the middle of a
grading loses nothing and doubles nothing: checked with root as the grader, and again on a
course of its own whose service an ordinary account runs (an instructor who is not root, with
the exchange made by `python -m instructor exchange init`).
"""

import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from conftest import copy_course, course_env, instructor_grade, run_nbgrader, shares_of
from corpus import build as corpus
from harness import ASSIGNMENT, BIN, COURSE_ID, NOTEBOOK, wait_for_service
from nbgrader.api import Gradebook
from unix_users import unix_user

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

ANSWERS = {"alice": "correct", "bob": "xavier", "mallory": "patched-numpy"}
GRADE_IDS = [f"test_initialize_parameters_{k}" for k in ("zeros", "random", "he")]
WAIT = 600  # seconds a feedback may take, at most, on a busy machine (a grading takes about ten)

SERVICE_CONFIG = """
# --- test: one OS user plays every student; a quick poll; two graded attempts before the due date
c.ExchangeCollect.check_owner = False
c.GradeOnSubmit.poll_seconds = 0.3
c.GradeOnSubmit.max_attempts = 2
"""


# The gradebook, read and written by the instructor's account (Class.grader).
READ_SCORES = """
import json, sys
from nbgrader.api import Gradebook
with Gradebook(f"sqlite:///{sys.argv[1]}/gradebook.db", "initialization-course") as gb:
    print(json.dumps({
        s.student.id: {g.name: g.score for g in s.notebooks[0].grades}
        for s in gb.find_assignment("initialization").submissions
    }))
"""
DUE_NOW = """
import datetime, sys
from nbgrader.api import Gradebook
with Gradebook(f"sqlite:///{sys.argv[1]}/gradebook.db", "initialization-course") as gb:
    gb.update_or_create_assignment("initialization", duedate=datetime.datetime.now(datetime.UTC))
"""


# --- the people ------------------------------------------------------------------------------


def home_env(home):
    home.mkdir(parents=True, exist_ok=True)
    env = course_env(HOME=str(home))
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERHUB_USER"):
        env.pop(var, None)
    return env


class Class:
    """A released quick course, its exchange, the students' homes and the running service.

    grader -- None: root is the instructor and runs everything, as CI does; a User: that
    ordinary account owns the course, makes its exchange (`exchange init`), releases and runs
    the service, as an instructor on a shared server does (the students stay root's, each
    with --student)."""

    def __init__(self, base, grader=None):
        self.base, self.grader = base, grader
        where = grader.folder("course") if grader else base
        self.course = corpus.fast_course(where / "course", copy_course)
        with open(self.course / "nbgrader_config.py", "a") as f:
            f.write(SERVICE_CONFIG)
        self.exchange = self.course / "exchange"
        if grader is None:
            self.exchange.mkdir(exist_ok=True)
            run = run_nbgrader("release_assignment", ASSIGNMENT, cwd=self.course)
        else:  # in a folder other accounts can reach: the exchange must be made safe first
            grader.give(self.course)
            made = self.as_grader("-m", "instructor", "exchange", "init")
            assert made.returncode == 0, made.stdout + made.stderr
            run = self.as_grader("-m", "nbgrader", "release_assignment", ASSIGNMENT)
        assert run.returncode == 0, run.stdout + run.stderr
        self.service = None
        self.log = base / "watch.log"

    def as_grader(self, *args):
        """This interpreter, run by the grader's account in the course."""
        return self.grader.python(*args, cwd=self.course)

    def start(self, *options):
        """Start the service (with these options of `instructor watch`) and wait until it says
        it is watching."""
        command = [sys.executable, "-m", "instructor", "watch", "--course", str(self.course)]
        command += options
        how = dict(
            cwd=self.course,
            stdout=open(self.log, "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Dask workers with it, for the kill test
        )
        if self.grader is None:
            self.service = subprocess.Popen(command, env=course_env(), **how)
        else:
            self.service = self.grader.popen(command, **how)
        self.wait_for(lambda: "watching" in self.log.read_text(), "the service to start")

    def stop(self, sig=signal.SIGTERM, timeout=WAIT):  # the grading in flight ends first
        if sig == signal.SIGKILL:
            os.killpg(self.service.pid, signal.SIGKILL)
        else:
            self.service.send_signal(sig)
        code = self.service.wait(timeout=timeout)
        self.service = None
        return code

    def student(self, student, command, *args):
        home = self.base / "homes" / student
        env = home_env(home)
        result = subprocess.run(
            [str(BIN / "nbgrader"), command, ASSIGNMENT, f"--Exchange.root={self.exchange}",
             f"--course={COURSE_ID}", f"--student={student}", *args],
            cwd=home, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, f"{command} of {student}:\n{result.stdout}{result.stderr}"
        return home

    def answer_and_submit(self, student, scenario, linger=0):
        """Fetch (once), type the scenario's answers into the fetched notebook, submit.
        linger: seconds a last cell of the student's sleeps, so that the grading is still in
        flight when the test acts on it (grading a correct notebook takes about a second)."""
        home = self.base / "homes" / student
        path = home / ASSIGNMENT / NOTEBOOK
        if not path.exists():
            self.student(student, "fetch_assignment")
        release = nbformat.read(self.course / "release" / ASSIGNMENT / NOTEBOOK, 4)
        data = corpus.SCENARIOS[scenario](corpus.Context(release, self.course))[NOTEBOOK]
        if linger:
            nb = nbformat.reads(data.decode(), 4)
            nb.cells.append(nbformat.v4.new_code_cell(f"import time\ntime.sleep({linger})"))
            data = nbformat.writes(nb).encode()
        path.write_bytes(data)
        time.sleep(1.1)  # nbgrader's timestamps: one submission per second and student
        self.student(student, "submit")

    def put_hostile_records(self):
        """Two folders in the inbound, as any student can make them: eve's submission holds,
        besides her notebook, a link to the instructor's gradebook, a link to alice's
        submission and a FIFO; another folder's name carries a terminal escape. Returns the
        names."""
        inbound = self.exchange / COURSE_ID / "inbound"
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        eve = inbound / f"eve+{ASSIGNMENT}+{stamp}"
        eve.mkdir()
        release = nbformat.read(self.course / "release" / ASSIGNMENT / NOTEBOOK, 4)
        (eve / NOTEBOOK).write_bytes(
            corpus.SCENARIOS["correct"](corpus.Context(release, self.course))[NOTEBOOK]
        )
        (eve / "gradebook.db").symlink_to(self.course / "gradebook.db")
        alice = next(inbound.glob(f"alice+{ASSIGNMENT}+*"))
        (eve / "classmate").symlink_to(alice, target_is_directory=True)
        os.mkfifo(eve / "pipe")
        (eve / "submission_secret.txt").write_text("eve's secret")
        (eve / "timestamp.txt").write_text(stamp)
        odd = inbound / f"zed\x1b[31m+{ASSIGNMENT}+{stamp}"
        odd.mkdir()
        return {"eve": eve.name, "odd": odd.name}

    def feedback(self, student):
        """nbgrader fetch_feedback; {submission timestamp: feedback page text}."""
        home = self.student(student, "fetch_feedback")
        folder = home / ASSIGNMENT / "feedback"
        return {p.parent.name: p.read_text() for p in sorted(folder.glob("*/*.html"))}

    def journal(self):
        path = self.course / "reports" / ASSIGNMENT / "submissions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def steps(self, student, step):
        return [s for s in self.journal() if s["student"] == student and s["step"] == step]

    def wait_for(self, condition, what, timeout=WAIT):
        wait_for_service(condition, what, self.service, self.log, timeout)

    def gradebook_scores(self):
        """{student: {grade id: score}}, read by the instructor's account (root must not
        create the files of a WAL database that account writes)."""
        if self.grader is not None:
            read = self.as_grader("-c", READ_SCORES, str(self.course))
            assert read.returncode == 0, read.stderr
            return json.loads(read.stdout)
        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}", COURSE_ID) as gb:
            return {
                s.student.id: {g.name: g.score for g in s.notebooks[0].grades}
                for s in gb.find_assignment(ASSIGNMENT).submissions
            }

    def due_now(self):
        """The due date passes: set to now in the gradebook, by the instructor's account."""
        if self.grader is not None:
            done = self.as_grader("-c", DUE_NOW, str(self.course))
            assert done.returncode == 0, done.stderr
            return
        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}", COURSE_ID) as gb:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime.datetime.now(datetime.UTC))


def page_score(page):
    """The total a feedback page shows: 'Initialization (Score: 27.5 / 30.0)'."""
    match = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", page)
    return float(match.group(1)), float(match.group(2))


# --- the round ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def round_one(tmp_path_factory):
    """The service running; each student submitted once and got feedback; then bob fixed his
    answer and submitted twice more."""
    room = Class(tmp_path_factory.mktemp("watch"))
    room.start()
    try:
        for student, scenario in ANSWERS.items():
            room.answer_and_submit(student, scenario)
        hostile = room.put_hostile_records()
        for student in ANSWERS:
            room.wait_for(lambda s=student: room.steps(s, "fed back"), f"{student}'s feedback")
        room.wait_for(lambda: room.steps("eve", "fed back"), "eve's feedback")
        first = {student: room.feedback(student) for student in ANSWERS}
        first_scores = room.gradebook_scores()
        room.answer_and_submit("bob", "correct")
        room.wait_for(lambda: len(room.steps("bob", "fed back")) == 2, "bob's second feedback")
        second = room.feedback("bob")
        second_scores = room.gradebook_scores()
        room.answer_and_submit("bob", "xavier")
        room.wait_for(lambda: room.steps("bob", "held"), "bob's third grading")
        third = room.feedback("bob")
        third_scores = room.gradebook_scores()
        assert room.stop() == 0
    finally:
        if room.service is not None:
            room.stop(signal.SIGKILL)
    return {
        "room": room, "first": first, "hostile": hostile, "first_scores": first_scores, "second": second,
        "second_scores": second_scores, "third": third, "third_scores": third_scores,
    }  # fmt: skip


def test_does_each_student_get_feedback_with_the_scores_instructor_grade_gives(round_one):
    """Does every student's first feedback arrive through fetch_feedback, with the score that
    `instructor grade` gives the same submission?"""
    room = round_one["room"]
    service_scores = round_one["first_scores"]
    for student in ANSWERS:
        pages = round_one["first"][student]
        assert len(pages) == 1, (student, list(pages))
        total, _ = page_score(next(iter(pages.values())))
        assert total == pytest.approx(sum(service_scores[student].values())), student
    # the same submissions, graded again by the instructor's command (bob's submitted folder
    # holds his latest submission now; the attempt-limit test looks at it)
    graded = instructor_grade(room.course, "alice", "mallory", "--force", "--serial")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    again = room.gradebook_scores()
    for student in ("alice", "mallory"):
        assert again[student] == service_scores[student], student


def test_are_the_three_students_scored_as_their_answers_deserve(round_one):
    """Full marks for alice; bob loses half of He for Xavier's scale and reads the named
    mistake; mallory's patched comparison earns nothing for the wrong values (the keys and
    shapes are right: half the points), and the ledger flags her for review."""
    scores = round_one["first_scores"]

    def expected(*shares):
        return dict(zip(GRADE_IDS, shares_of(*shares)))

    assert scores["alice"] == expected(1, 1, 1)
    assert scores["bob"] == expected(1, 1, 0.5)
    assert scores["mallory"] == expected(1, 0.5, 1)  # the wrong values earn nothing
    ledger = json.loads(
        (round_one["room"].course / "reports" / ASSIGNMENT / "grading.json").read_text()
    )["students"]
    assert any("np.allclose" in flag for flag in ledger["mallory"]["flags"]), ledger["mallory"]
    page = next(iter(round_one["first"]["bob"].values()))
    assert "Xavier" in page, "bob's feedback names his mistake"
    for pages in round_one["first"].values():
        assert "BEGIN HIDDEN TESTS" not in next(iter(pages.values()))


def test_does_a_resubmission_replace_the_grade(round_one):
    """Bob's fixed answer: a second feedback page, and full marks in the gradebook."""
    assert len(round_one["second"]) == 2
    latest = round_one["second"][max(round_one["second"])]
    assert page_score(latest)[0] == page_score(latest)[1]
    assert round_one["second_scores"]["bob"] == round_one["first_scores"]["alice"]


def test_is_the_attempt_limit_enforced(round_one):
    """Bob's third submission is graded (the gradebook holds his latest, as nbgrader collect
    would take it) but its feedback is held: no third page reaches him before the due date."""
    assert len(round_one["third"]) == 2, list(round_one["third"])
    bob = round_one["third_scores"]["bob"]
    assert bob["test_initialize_parameters_he"] == pytest.approx(
        round_one["first_scores"]["bob"]["test_initialize_parameters_he"]
    )
    log = round_one["room"].log.read_text()
    assert "feedback held: the limit of 2 graded attempt(s)" in log


def test_does_the_log_say_one_line_per_step_of_each_submission(round_one):
    """received, graded with the score, fed back: once each per submission, and a clean stop."""
    room = round_one["room"]
    journal = room.journal()
    records = {s["record"] for s in journal}
    assert len(records) == 6  # alice, mallory, eve, and bob three times
    for record in records:
        steps = [s["step"] for s in journal if s["record"] == record]
        assert steps.count("received") == 1 and steps.count("graded") == 1, steps
    log = room.log.read_text()
    assert log.count(" received (submitted ") == 6
    assert log.count("  graded: ") == 6
    assert log.count("  fed back") == 5
    assert "Traceback" not in log
    assert log.rstrip().endswith("stopped")


# --- stopping and starting again -----------------------------------------------------------


# Seconds carol's and erin's notebooks sleep in a cell of their own: the kill and the SIGTERM
# come while their grading is in flight (under the cell's time limit, at least 10 s).
LINGER = 5


def kill_and_restart(room, held=None):
    """carol submits; the service is killed (SIGKILL, its workers too) while her grading is in
    flight; dave submits while it is down; the service starts again and handles both. Then the
    due date passes (the held student's feedback is released), erin submits (late), and the
    service gets SIGTERM while her grading is in flight."""
    room.start()
    try:
        room.answer_and_submit("carol", "correct", linger=LINGER)
        room.wait_for(lambda: room.steps("carol", "collected"), "carol's grading to start")
        room.stop(signal.SIGKILL)
        killed = room.journal()
        room.answer_and_submit("dave", "xavier")
        room.start()
        for student in ("carol", "dave"):
            room.wait_for(lambda s=student: room.steps(s, "fed back"), f"{student}'s feedback")
        room.due_now()
        if held:
            room.wait_for(lambda: len(room.steps(held, "fed back")) == 3, f"{held}'s held feedback")
        room.answer_and_submit("erin", "correct", linger=LINGER)
        room.wait_for(lambda: room.steps("erin", "collected"), "erin's grading to start")
        code = room.stop(signal.SIGTERM)
    finally:
        if room.service is not None:
            room.stop(signal.SIGKILL)
    return {"room": room, "killed": killed, "code": code}


@pytest.fixture(scope="module")
def killed_and_restarted(round_one):
    """The same course as round one: the service starts again on its journal, as root."""
    return kill_and_restart(round_one["room"], held="bob")


@pytest.fixture(scope="module")
def killed_and_restarted_by_an_account(tmp_path_factory):
    """The same, on a course of its own, with the service run by an ordinary account (an
    instructor who is not root), which made the course's exchange and released into it."""
    if os.geteuid() != 0:
        pytest.skip("creating the instructor's account for the test needs root")
    with unix_user("tgrader") as grader:
        yield kill_and_restart(Class(tmp_path_factory.mktemp("watch-account"), grader=grader))


# The kill-and-restart tests, with root as the grader and with an ordinary account.
GRADERS = ["killed_and_restarted", "killed_and_restarted_by_an_account"]


@pytest.mark.parametrize("grader", GRADERS)
def test_does_a_killed_service_lose_nothing_and_grade_nothing_twice(grader, request):
    """After the kill, carol's submission (in flight) and dave's (sent while the service was
    down) are each graded exactly once, and both students get their feedback."""
    killed_and_restarted = request.getfixturevalue(grader)
    room = killed_and_restarted["room"]
    steps = [s["step"] for s in killed_and_restarted["killed"] if s["student"] == "carol"]
    assert steps == ["received", "collected"]
    journal = room.journal()
    for student in ("carol", "dave"):
        graded = [s for s in journal if s["student"] == student and s["step"] == "graded"]
        assert len(graded) == 1, journal
        assert len(room.feedback(student)) == 1
    history = [
        json.loads(line)
        for line in (room.course / "reports" / ASSIGNMENT / "history.jsonl")
        .read_text()
        .splitlines()
    ]
    runs = [g["student"] for line in history for g in line["graded"]]
    assert sorted(s for s in runs if s in ("carol", "dave", "erin")) == ["carol", "dave", "erin"]
    scores = room.gradebook_scores()
    assert scores["carol"] == dict(zip(GRADE_IDS, shares_of(1, 1, 1)))
    assert scores["dave"] == dict(zip(GRADE_IDS, shares_of(1, 1, 0.5)))


@pytest.mark.parametrize("grader", GRADERS)
def test_does_sigterm_let_the_grading_in_flight_finish(grader, request):
    """SIGTERM while erin's grading runs: it finishes, she is fed back, the service exits 0."""
    killed_and_restarted = request.getfixturevalue(grader)
    room = killed_and_restarted["room"]
    assert killed_and_restarted["code"] == 0
    log = room.log.read_text()
    assert "stopping: 1 grading(s) in flight" in log
    assert room.steps("erin", "fed back")
    assert len(room.feedback("erin")) == 1


@pytest.mark.parametrize("grader", GRADERS)
def test_after_the_due_date_is_a_late_submission_marked(grader, request):
    """erin's late submission is graded with nbgrader's late penalty, which her feedback page
    states."""
    room = request.getfixturevalue(grader)["room"]
    log = room.log.read_text()
    assert re.search(r"erin  graded: 30/30, late \(penalty 3\)", log), log
    (erin,) = room.feedback("erin").values()
    assert "Late submission" in erin


def test_after_the_due_date_is_held_feedback_released(killed_and_restarted):
    """Once the due date passes, bob gets the feedback the attempt limit held back (his latest
    grading)."""
    room = killed_and_restarted["room"]
    log = room.log.read_text()
    assert "bob  fed back (the due date has passed)" in log
    pages = room.feedback("bob")
    assert len(pages) == 3
    latest = pages[max(pages)]
    assert page_score(latest)[0] == sum(shares_of(1, 1, 0.5))


def test_is_a_hostile_submission_graded_from_what_is_safe(round_one):
    """eve's links and FIFO are left behind (the service neither follows nor opens them, and
    does not stall on them), her notebook is graded; the folder whose name carries a terminal
    escape is reported once each time the service starts, escaped, and nothing else happens
    to it."""
    room = round_one["room"]
    (collected,) = room.steps("eve", "collected")
    skipped = " ".join(collected["skipped"])
    for name in ("gradebook.db", "classmate", "pipe"):
        assert name in skipped, collected
    folder = room.course / "submitted" / "eve" / ASSIGNMENT
    assert sorted(p.name for p in folder.iterdir()) == [
        NOTEBOOK, "submission_secret.txt", "timestamp.txt",
    ]  # fmt: skip
    assert room.gradebook_scores()["eve"] == dict(zip(GRADE_IDS, shares_of(1, 1, 1)))
    log = room.log.read_text()
    assert "\x1b" not in log
    assert log.count("zed\\x1b[31m") == log.count("watching "), log  # once per start


# --- a submission that cannot be graded ------------------------------------------------------


@pytest.fixture(scope="module")
def rejected(killed_and_restarted):
    """The service starts once more; ivan submits a notebook cut in half (not valid JSON)."""
    room = killed_and_restarted["room"]
    room.start()
    try:
        room.answer_and_submit("ivan", "invalid-json")
        room.wait_for(lambda: room.steps("ivan", "fed back"), "ivan's page")
        pages = room.feedback("ivan")
        assert room.stop() == 0
    finally:
        if room.service is not None:
            room.stop(signal.SIGKILL)
    return {"room": room, "pages": pages}


def test_does_a_student_whose_notebook_cannot_be_graded_learn_why(rejected):
    """ivan's submission is rejected with the reason, recorded with no points, and the reason
    reaches him through fetch_feedback, as a page in place of the feedback."""
    room = rejected["room"]
    (graded,) = room.steps("ivan", "graded")
    assert graded["status"] == "rejected" and "not valid JSON" in graded["reason"], graded
    assert set(room.gradebook_scores()["ivan"].values()) == {0.0}
    (page,) = rejected["pages"].values()
    assert "your submission could not be graded" in page
    assert "not valid JSON" in page
    assert "rejected by the grader: the notebook file is not valid JSON" in room.log.read_text()
