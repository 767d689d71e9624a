"""Does a submission made in another student's name cost that student nothing, on every route?

A shared server, made as docs/administrators.md says, with real Unix users created by the test: the
administrator (root, this test) runs `exchange init` for the instructor's account `teacher`;
the instructor, an ordinary account, releases with `python -m instructor release` and
`nbgrader release_assignment`; alice, bob and mallory submit with nbgrader, each as
themselves. mallory forges three submissions:

    before bob's own       `nbgrader submit --student=bob`, the release unanswered (0 points)
    after alice's own      `nbgrader submit --student=alice`, unanswered
    by hand, after alice's  a folder alice+initialization+2099-...+handmade that mallory makes
                           in inbound, with timestamp.txt: the "latest" of all

On every route the instructor's account takes, alice (correct answers: full marks) and bob
(Xavier's scale: half of He) are collected, graded and fed back from their own submissions,
and mallory is named as the maker of each forgery:

- grade on submit: `python -m instructor watch`, running while the students submit;
- `nbgrader collect` (SafeCollect), then `python -m instructor grade`, in a copy of the course;
- the Formgrader's Collect and Autograde buttons, on `python -m instructor lab instructor`, in
  another copy;
- the class report of each (`python -m instructor report`).

The same module runs the demo class as the instructor's account (`instructor demo`, `grade
--demo`, `report --demo`): everything an instructor runs works without root.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import copy_course, shares_of
from corpus import build as corpus
from harness import ASSIGNMENT, COURSE_ID, NOTEBOOK, wait_for_service
from unix_users import needs_root, unix_user

from instructor.exchange import layout
from instructor.exchange.make import init

pytestmark = [pytest.mark.slow, pytest.mark.heavy, needs_root]

GRADE_IDS = [f"test_initialize_parameters_{k}" for k in ("zeros", "random", "he")]
WAIT = 600  # seconds a feedback may take, at most, on a busy machine
HANDMADE = f"+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC+handmade"

SCORES = """
import json, sys
from nbgrader.api import Gradebook
with Gradebook(sys.argv[1], "initialization-course") as gb:
    print(json.dumps({
        s.student.id: {g.name: g.score for g in s.notebooks[0].grades}
        for s in gb.find_assignment("initialization").submissions
    }))
"""


class Server:
    """The exchange, the instructor's course, the students and the grade-on-submit service."""

    def __init__(self, teacher, students, public):
        self.teacher, self.students = teacher, students
        self.exchange = layout.Layout(public / "exchange", COURSE_ID)
        verdict = init(self.exchange, teacher.uid, say=lambda line: None)
        assert verdict.safe, verdict.problems
        self.course = corpus.fast_course(  # its release: `instructor release`, by the teacher
            teacher.folder("course") / "course", copy_course, generate=False
        )
        with open(self.course / "nbgrader_config.py", "a") as f:
            f.write("\nc.GradeOnSubmit.poll_seconds = 0.3  # test: a quick poll\n")
        teacher.give(self.course)
        self.env = teacher.env(NBGRADER_EXCHANGE=str(self.exchange.root))
        self.log = public / "watch.log"
        self.service = None
        self.copies = {}

    def instructor(self, *args, cwd=None, check=True, timeout=900):
        """A command of the course's, run by the instructor's account in the course."""
        done = self.teacher.run(
            [sys.executable, *args], cwd=cwd or self.course, env=self.env, timeout=timeout
        )
        if check:
            assert done.returncode == 0, f"{args}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        return done

    def answer(self, user, scenario):
        """The student's notebook, where fetch_assignment puts it, with the scenario's answers
        (None: as released). (Fetching is tested elsewhere: the notebook is put there.)"""
        path = user.home / ASSIGNMENT / NOTEBOOK
        path.parent.mkdir(exist_ok=True)
        release = nbformat.read(self.course / "release" / ASSIGNMENT / NOTEBOOK, 4)
        if scenario is None:
            data = nbformat.writes(release).encode()
        else:
            data = corpus.SCENARIOS[scenario](corpus.Context(release, self.course))[NOTEBOOK]
        path.write_bytes(data)
        user.give(path.parent)
        return data

    def submit(self, *submissions):
        """Each (user, scenario, claimed student or None) answered and submitted at the same
        time, each by its user; the notebooks submitted, in order."""
        data = [self.answer(user, scenario) for user, scenario, _ in submissions]
        running = [
            user.popen(
                [
                    sys.executable,
                    "-m",
                    "nbgrader",
                    "submit",
                    ASSIGNMENT,
                    f"--course={COURSE_ID}",
                    f"--Exchange.root={self.exchange.root}",
                    *([f"--student={claimed}"] if claimed else []),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            for user, _, claimed in submissions
        ]
        for (user, _, _), process in zip(submissions, running):
            out, _ = process.communicate(timeout=300)
            assert process.returncode == 0, f"submit of {user.name}:\n{out}"
        return data

    def handmade(self, user, victim):
        """A folder in inbound in the victim's name, made by the user with mkdir."""
        folder = self.exchange.inbound / (victim.name + HANDMADE)
        script = (
            'mkdir "$1" && cp "$2" "$1/Initialization.ipynb" && '
            'echo "2099-01-01 00:00:00.000000 UTC" > "$1/timestamp.txt"'
        )
        made = user.run(
            ["sh", "-c", script, "-", str(folder), str(user.home / ASSIGNMENT / NOTEBOOK)]
        )
        assert made.returncode == 0, made.stderr
        return folder

    def start(self):
        self.service = self.teacher.popen(
            [sys.executable, "-m", "instructor", "watch"], cwd=self.course, env=self.env,
            stdout=open(self.log, "a"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.wait_for(lambda: "watching" in self.log.read_text(), "the service to start")

    def stop(self):
        self.service.send_signal(signal.SIGTERM)
        code = self.service.wait(timeout=WAIT)  # the grading in flight ends first
        self.service = None
        return code

    def journal(self, course=None):
        path = (course or self.course) / "reports" / ASSIGNMENT / "submissions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def steps(self, step, student=None):
        return [s for s in self.journal() if s["step"] == step and student in (None, s["student"])]

    def wait_for(self, condition, what, timeout=WAIT):
        wait_for_service(condition, what, self.service, self.log, timeout)

    def scores(self, course=None):
        db = f"sqlite:///{(course or self.course) / 'gradebook.db'}"
        done = self.instructor("-c", SCORES, db)
        return json.loads(done.stdout)

    def copy(self, name):
        """A copy of the instructor's course as it is now (a gradebook of its own), on the
        same exchange; kept in copies[name]."""
        dest = self.course.parent / name
        subprocess.run(["cp", "-a", str(self.course), str(dest)], check=True)
        self.copies[name] = dest
        return dest


def expected(*shares):
    return dict(zip(GRADE_IDS, shares_of(*shares)))


@pytest.fixture(scope="module")
def server():
    """The whole term on the shared server: release, the forgeries and the genuine
    submissions arriving while the service runs. The instructor's other routes run on copies
    of the course taken when it was released, before anything was collected."""
    public = Path(tempfile.mkdtemp(prefix="forgery-"))
    os.chmod(public, 0o755)
    with (
        unix_user("tteach") as teacher,
        unix_user("talice") as alice,
        unix_user("tbob") as bob,
        unix_user("tmall") as mallory,
    ):
        try:
            room = Server(teacher, {"alice": alice, "bob": bob, "mallory": mallory}, public)
            room.instructor("-m", "instructor", "release")
            room.instructor("-m", "nbgrader", "release_assignment", ASSIGNMENT)
            for name in ("collect", "button", "demo"):  # released, nothing collected yet
                room.copy(name)
            room.start()
            try:
                # before bob's own: the forgery is refused at once
                room.submit((mallory, None, bob.name))
                room.wait_for(lambda: room.steps("forged", bob.name), "the forgery in bob's name")
                mine = room.submit((alice, "correct", None), (bob, "xavier", None))
                genuine = {alice.name: mine[0], bob.name: mine[1]}
                for user in (alice, bob):
                    room.wait_for(
                        lambda u=user: room.steps("fed back", u.name), f"{user.name}'s feedback"
                    )
                # after alice's own: with --student, and by hand; then mallory's own work
                room.submit((mallory, None, alice.name))
                room.handmade(mallory, alice)
                room.submit((mallory, "correct", None))
                room.wait_for(
                    lambda: len(room.steps("forged", alice.name)) == 2,
                    "the forgeries in alice's name",
                )
                room.wait_for(lambda: room.steps("fed back", mallory.name), "mallory's feedback")
                assert room.stop() == 0
            finally:
                if room.service is not None:
                    os.killpg(room.service.pid, signal.SIGKILL)
            yield {"room": room, "genuine": genuine, "alice": alice, "bob": bob, "mallory": mallory}
        finally:
            shutil.rmtree(public, ignore_errors=True)


FORGED = 3  # mallory's folders: one in bob's name, two in alice's


def test_grade_on_submit_grades_the_genuine_submissions_and_names_the_forger(server):
    """The service, run by the instructor's account: is each forgery refused with its maker
    named, never collected, and are alice and bob graded and fed back from their own work?"""
    room, alice, bob, mallory = (server[k] for k in ("room", "alice", "bob", "mallory"))
    forged = room.steps("forged")
    assert len(forged) == FORGED
    assert {s["owner"] for s in forged} == {mallory.name}
    assert sorted(s["student"] for s in forged) == sorted([bob.name, alice.name, alice.name])
    forged_names = {s["record"] for s in forged}
    for step in room.journal():
        if step["record"] in forged_names:
            assert step["step"] == "forged", step  # not received, collected or graded
    assert room.scores() == {
        alice.name: expected(1, 1, 1),
        bob.name: expected(1, 1, 0.5),
        mallory.name: expected(1, 1, 1),
    }
    for user in (alice, bob):
        assert len(room.steps("graded", user.name)) == 1
        submitted = room.course / "submitted" / user.name / ASSIGNMENT / NOTEBOOK
        assert submitted.read_bytes() == server["genuine"][user.name]
    log = room.log.read_text()
    for user in (alice, bob):
        assert f"was made in {user.name}'s name by {mallory.name}" in log
    assert log.count(f"by {mallory.name} (the folder is {mallory.name}'s)") == FORGED
    assert "Traceback" not in log


def test_each_student_fetches_the_feedback_of_their_own_submission(server):
    """alice and bob, as themselves, fetch one page each, with their own score."""
    room = server["room"]
    expected_shares = ((server["alice"], (1, 1, 1)), (server["bob"], (1, 1, 0.5)))
    fetching = [
        user.popen(
            [
                sys.executable,
                "-m",
                "nbgrader",
                "fetch_feedback",
                ASSIGNMENT,
                f"--course={COURSE_ID}",
                f"--Exchange.root={room.exchange.root}",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for user, _ in expected_shares
    ]
    for process in fetching:
        out, _ = process.communicate(timeout=300)
        assert process.returncode == 0, out
    for user, shares in expected_shares:
        (page,) = (user.home / ASSIGNMENT / "feedback").glob("*/*.html")
        score = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", page.read_text())
        assert float(score.group(1)) == pytest.approx(sum(shares_of(*shares))), user.name


def test_nbgrader_collect_and_instructor_grade_take_the_genuine_submissions(server):
    """`nbgrader collect` (SafeCollect) in a fresh copy of the course: does it collect alice's
    and bob's own submissions, log each forgery with mallory as its owner, and does
    `instructor grade` then give them their scores and name mallory in its summary?"""
    room, alice, bob, mallory = (server[k] for k in ("room", "alice", "bob", "mallory"))
    course = room.copies["collect"]
    collected = room.instructor("-m", "nbgrader", "collect", ASSIGNMENT, cwd=course)
    log = collected.stdout + collected.stderr
    assert log.count(f"it is owned by {mallory.name}, not by") == FORGED, log
    for user in (alice, bob):
        submitted = course / "submitted" / user.name / ASSIGNMENT / NOTEBOOK
        assert submitted.read_bytes() == server["genuine"][user.name], user.name
    graded = room.instructor(
        "-m", "instructor", "grade", "--serial", alice.name, bob.name, cwd=course
    )
    # sandboxed with Linux namespaces where this account may have them, as root is
    probe = "from instructor.grading.sandbox.isolation import namespaces_available as n; print(n())"
    available = room.instructor("-c", probe, cwd=course).stdout.strip() == "True"
    assert f"(isolation: {'namespaces' if available else 'limits'})" in graded.stdout
    assert "Made in another student's name, refused (never graded):" in graded.stdout
    assert f"{alice.name}: {alice.name}{HANDMADE}: made by {mallory.name}" in graded.stdout
    scores = room.scores(course)
    assert scores[alice.name] == expected(1, 1, 1) and scores[bob.name] == expected(1, 1, 0.5)
    report = room.instructor("-m", "instructor", "report", cwd=course)
    assert report.stdout.count(f"by {mallory.name}, refused") == FORGED
    page = (course / "reports" / ASSIGNMENT / "report.html").read_text()
    assert f"Submissions in another student's name ({FORGED})" in page
    assert page.count(f"<b>{mallory.name}</b>") == FORGED


def test_the_formgraders_collect_button_takes_the_genuine_submissions(server):
    """The Formgrader, on `python -m instructor lab instructor` run by the instructor's
    account: does its Collect button (the request its page sends) collect alice's and bob's
    own submissions and report mallory's forgeries in the log it shows, and its Autograde
    button give alice full marks?"""
    room, alice, bob, mallory = (server[k] for k in ("room", "alice", "bob", "mallory"))
    course = room.copies["button"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    lab = room.teacher.popen(
        [sys.executable, "-m", "instructor", "lab", "instructor", "--port", str(port), "--token", token],
        cwd=course, env=room.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            line = lab.stdout.readline()
            assert line or lab.poll() is None, "the lab stopped"
            if line.startswith("JupyterLab:"):
                break
            assert time.monotonic() < deadline, "the lab did not start"

        def press(path):  # what the Formgrader's page sends for a button
            request = urllib.request.Request(
                f"{base}/formgrader/api/{path}", data=b"", method="POST",
                headers={"Authorization": f"token {token}"},
            )  # fmt: skip
            with urllib.request.urlopen(request, timeout=600) as response:
                return json.loads(response.read())

        collected = press(f"assignment/{ASSIGNMENT}/collect")
        graded = press(f"submission/{ASSIGNMENT}/{alice.name}/autograde")
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        lab.wait(timeout=60)
    assert collected["success"], collected
    log = collected["log"]
    assert log.count(f"it is owned by {mallory.name}, not by") == FORGED, log
    for user in (alice, bob):
        submitted = course / "submitted" / user.name / ASSIGNMENT / NOTEBOOK
        assert submitted.read_bytes() == server["genuine"][user.name], user.name
    assert graded["success"], graded["error"] + graded.get("log", "")
    assert room.scores(course)[alice.name] == expected(1, 1, 1)
    notebook = course / "autograded" / alice.name / ASSIGNMENT / NOTEBOOK
    assert stat.S_IMODE(notebook.stat().st_mode) == 0o444  # read-only, as nbgrader leaves it


def test_the_class_report_names_the_forger(server):
    """The report of the service's course lists each forgery with its maker and route."""
    room, mallory = server["room"], server["mallory"]
    room.instructor("-m", "instructor", "report")
    page = (room.course / "reports" / ASSIGNMENT / "report.html").read_text()
    assert f"Submissions in another student's name ({FORGED})" in page
    assert page.count(f"<b>{mallory.name}</b>") == FORGED
    assert page.count("<td>grade on submit</td>") == FORGED


def test_the_demo_class_runs_as_the_instructors_account(server):
    """`make demo`'s steps (`instructor demo`, `grade --demo`, nbgrader's feedback, `report
    --demo`), for one demo student, as the instructor's account: the scores root gets."""
    room = server["room"]
    course = room.copies["demo"]
    room.instructor("-m", "instructor", "demo", cwd=course)
    room.instructor("-m", "instructor", "grade", "--demo", "--serial", "demo-xavier", cwd=course)
    room.instructor(
        "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force", cwd=course / "demo"
    )
    report = room.instructor("-m", "instructor", "report", "--demo", cwd=course)
    assert "demo-xavier" in report.stdout
    assert room.scores(course / "demo") == {"demo-xavier": expected(1, 1, 0.5)}
    assert (course / "demo" / "reports" / ASSIGNMENT / "report.html").is_file()
    assert (
        course / "demo" / "feedback" / "demo-xavier" / ASSIGNMENT / "Initialization.html"
    ).is_file()
