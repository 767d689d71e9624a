"""The course on its JupyterHub, through the hub's login page, with real Unix users.

The test builds what `make hub` builds, in temporary folders: two Unix groups (instructors and
students), an instructor and two students made by tests/unix_users.py, each with a private
home and a password; the quick course copy (500 iterations), owned by the instructor and
closed to others, released by the instructor to an exchange made by `python -m instructor
exchange init`; then JupyterHub as hub/trial.py starts it (hub/jupyterhub_config.py, PAM,
LocalProcessSpawner, the grade-on-submit service as the instructor).

In Chromium, on the hub's login page:
- the first student logs in, fetches the assignment in the Assignments tab, types the three
  correct answers, saves, submits, and once the hub's service has graded it, fetches the
  feedback and reads full marks;
- the instructor logs in, lands on the Formgrader and reads that grade there;
- the second student logs in, sees nothing of the first student's in the Assignments tab, and
  in a terminal of their own tries to list, read, change, rename and delete the first
  student's work: at home, in the exchange's folders and in the course. Every attempt is
  refused, and nothing of the first student's, the exchange's or the course's changes. (The
  submission in the exchange and its feedback page there have names a classmate cannot learn,
  in folders nobody may list: the test tries to list them.)

Screenshots of every step land in artifacts/browser/hub-<person>-NN-<step>.png, the hub's log
(with the service's) in artifacts/browser/hub.log. The whole file takes about two minutes.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from answers import CORRECT
from conftest import copy_course, shares_of
from corpus import build as corpus
from corpus import script_vectors as vectors
from harness import ASSIGNMENT, COURSE_ID, NOTEBOOK
from lab_harness import (
    ARTIFACTS,
    VIEWPORT,
    Watched,
    assignment_row,
    browser,  # noqa: F401 (a fixture)
    cell,
    cell_positions,
    in_the_browser,
    jupyter_environment,
    menu,
    open_terminal_and_run,
    save,
    screenshot_on_failure,  # noqa: F401 (a fixture)
    section,
    tab,
    type_answer,
)
from page_probes import Probe
from page_probes import fingerprint as course_fingerprint
from unix_users import needs_root, unix_group, unix_user

from hub import trial

pytestmark = needs_root

FULL = sum(shares_of(1, 1, 1))
FEEDBACK_WAIT_S = 300  # submit to feedback: seconds here, a few minutes on a crowded machine
LOGIN_WAIT_MS = 180_000  # a login spawns the user's server: JupyterLab's start on a busy machine


# ---------------------------------------------------------------------------------------
# The people, the course, the hub


class Course:
    """The hub and what it serves: the people, the course folder, the exchange."""

    def __init__(self, hub, teacher, students, course, exchange, password):
        self.hub, self.teacher, self.students = hub, teacher, students
        self.course, self.exchange, self.password = course, exchange, password
        self.browsers = []  # each person's browser context, closed before the hub stops

    def journal(self):
        path = self.course / "reports" / ASSIGNMENT / "submissions.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def steps(self, student, step):
        return [s for s in self.journal() if s["student"] == student and s["step"] == step]

    def wait_for(self, condition, what, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.hub.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(
            f"timed out waiting for {what}; the hub said:\n{self.hub.log_tail(80)}"
        )


def terminal_in_screen_reader_mode(user):
    """The user's JupyterLab setting that puts the terminal's text in the page."""
    settings = user.home / ".jupyter/lab/user-settings/@jupyterlab/terminal-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"screenReaderMode": True}))
    user.give(user.home / ".jupyter")


@pytest.fixture(scope="module")
def course_hub():
    """The hub running for an instructor and two students, the assignment released."""
    password = "hub-" + os.urandom(9).hex()
    with (
        unix_group("hubins") as instructors,
        unix_group("hubstu") as students,
        unix_user("hubteach", groups=[instructors]) as teacher,
        unix_user("hubstua", groups=[students]) as first,
        unix_user("hubstub", groups=[students]) as second,
    ):
        for user in (teacher, first, second):
            user.make_home_private()
            user.set_password(password)
        terminal_in_screen_reader_mode(second)
        base = Path(tempfile.mkdtemp(prefix="hub-test-"))
        base.chmod(0o755)
        try:
            course = corpus.fast_course(base / "course", copy_course)
            teacher.give(course).chmod(0o700)
            exchange = base / "exchange"
            trial.init_exchange(exchange, teacher.name)
            released = teacher.run(
                ["nbgrader", "release_assignment", ASSIGNMENT],
                cwd=course,
                env=teacher.env(NBGRADER_EXCHANGE=str(exchange)),
            )
            assert released.returncode == 0, released.stdout + released.stderr
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            log = ARTIFACTS / "hub.log"
            log.unlink(missing_ok=True)
            settings = {
                "COURSE_HUB_COURSE_ROOT": str(course),
                "COURSE_HUB_GRADER": teacher.name,
                "COURSE_HUB_INSTRUCTORS": instructors,
                "COURSE_HUB_STUDENTS": students,
                "NBGRADER_EXCHANGE": str(exchange),
            }
            hub = trial.start_hub(settings, trial.free_port(), base / "state", log_path=log)
            course_hub = Course(hub, teacher, (first, second), course, exchange, password)
            try:
                yield course_hub
            finally:
                for context in course_hub.browsers:
                    context.close()
                hub.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def log_in(browser, course, user, person):  # noqa: F811 (the imported fixture)
    """A browser of the person's own (own cookies) on the hub's login page; they log in and
    wait for their server. The Watched page."""
    context = browser.new_context(viewport=VIEWPORT)
    course.browsers.append(context)
    watched = Watched(context.new_page(), f"hub-{person}")
    page = watched.page
    page.goto(f"{course.hub.url}/hub/login")
    page.fill("#username_input", user.name)
    page.fill("#password_input", course.password)
    watched.screenshot("login")
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{user.name}/"), timeout=LOGIN_WAIT_MS)
    return watched


# ---------------------------------------------------------------------------------------
# The Assignments tab (as tests/watch/test_browser_submit.py reads it)


def open_assignments_tab(page):
    page.wait_for_selector(".jp-DirListing")
    menu(page, "Nbgrader", "Assignment List")
    tab(page).wait_for()
    assignment_row(page, "released").wait_for()


# ---------------------------------------------------------------------------------------
# The first student: fetch, answer, submit, feedback


@pytest.fixture(scope="module")
def first_student(browser, course_hub):  # noqa: F811 (the imported fixture)
    """The first student logged in, fetched, answered, saved and submitted, then fetched and
    opened the feedback once the hub's service had fed the submission back."""
    student = course_hub.students[0]
    watched = log_in(browser, course_hub, student, "student1")
    page = watched.page
    open_assignments_tab(page)
    watched.screenshot("assignments-tab")
    row = assignment_row(page, "released")
    row.locator("button", has_text="Fetch").click()
    assignment_row(page, "fetched").locator("button", has_text="Submit").wait_for()
    assignment_row(page, "fetched").locator(".item_name a").first.click()
    link = section(page, "fetched").get_by_role("link", name=NOTEBOOK.removesuffix(".ipynb"))
    link.wait_for()
    watched.screenshot("fetched")

    link.click()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    positions = cell_positions(student.home / ASSIGNMENT / NOTEBOOK)
    for exercise, answer in CORRECT.items():
        type_answer(page, positions[f"initialize_parameters_{exercise}"], answer)
    save(page)
    cell(page, positions["initialize_parameters_he"])
    watched.screenshot("answered-and-saved")

    page.locator(".lm-TabBar-tab", has_text="Assignments").click()
    assignment_row(page, "fetched").locator("button", has_text="Submit").click()
    assignment_row(page, "submitted").locator("button", has_text="Fetch Feedback").wait_for()
    clicked = time.monotonic()
    watched.screenshot("submitted")
    course_hub.wait_for(
        lambda: course_hub.steps(student.name, "fed back"), "the feedback", FEEDBACK_WAIT_S
    )
    print(f"Submit clicked to fed back: {time.monotonic() - clicked:.1f} s")

    tab(page).locator("#refresh_assignments_list").click()
    section(page, "submitted").get_by_text("feedback available to fetch").wait_for()
    assignment_row(page, "submitted").locator("button", has_text="Fetch Feedback").click()
    view = section(page, "submitted").locator("a", has_text="view feedback")
    view.wait_for()
    watched.screenshot("feedback-fetched")
    view.click()
    item = page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK.removesuffix('.ipynb')}.html")
    item.dblclick()
    frame = page.frame_locator(".jp-HTMLViewer iframe")
    frame.locator("body", has_text="Score").wait_for()
    watched.screenshot("feedback")
    return {"student": student, "feedback": frame.locator("body").inner_text()}


@in_the_browser
def test_does_the_student_read_full_marks_from_the_hubs_service(first_student, course_hub):
    """Through the hub: does the student fetch, submit and read full marks in the feedback that
    the hub's grade-on-submit service made, graded once, with none of the hidden tests?"""
    student = first_student["student"]
    text = first_student["feedback"]
    assert f"Initialization (Score: {FULL:.1f} / {FULL:.1f})" in text
    assert "BEGIN HIDDEN TESTS" not in text
    graded = course_hub.steps(student.name, "graded")
    assert [(g["score"], g["max_score"]) for g in graded] == [(FULL, FULL)]
    pages = list((student.home / ASSIGNMENT / "feedback").glob("*/*.html"))
    assert len(pages) == 1, pages


def processes():
    """{pid: (parent pid, uid, command line)} of every process of the machine."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            table[int(entry.name)] = (parent, entry.stat().st_uid, command)
        except (OSError, ValueError, IndexError):
            continue
    return table


def service_and_descendants(course):
    """[(uid, command line)] of the grading service of this course (the process running
    `instructor watch --course COURSE`) and of every process under it: its Dask workers,
    kernels and sandboxes."""
    table = processes()
    service = [
        p for p, (_, _, cmd) in table.items() if f"instructor watch --course {course}" in cmd
    ]
    found, frontier = set(service), list(service)
    while frontier:
        parent = frontier.pop()
        children = [p for p, (pp, _, _) in table.items() if pp == parent and p not in found]
        found.update(children)
        frontier.extend(children)
    return service, [(table[p][1], table[p][2]) for p in sorted(found) if p in table]


@in_the_browser
def test_does_the_service_run_as_the_instructor_under_the_hub(first_student, course_hub):
    """Is the grading service a JupyterHub-managed service, and does it run as the
    instructor's Unix user, never as root, with every process it started?"""
    log = course_hub.hub.log_path.read_text()
    assert "Starting managed service grade-on-submit" in log
    service, running = service_and_descendants(course_hub.course)
    assert len(service) == 1, running
    assert len(running) > 1, running  # its workers
    assert {uid for uid, _ in running} == {course_hub.teacher.uid}, running
    assert processes()[service[0]][0] == course_hub.hub.process.pid  # started by the hub


# ---------------------------------------------------------------------------------------
# The instructor: the grade in the Formgrader


@pytest.fixture(scope="module")
def formgrader(browser, course_hub, first_student):  # noqa: F811 (the imported fixture)
    """The instructor logged in (landing on the Formgrader) and opened Manage Students."""
    watched = log_in(browser, course_hub, course_hub.teacher, "instructor")
    page = watched.page
    page.wait_for_url(re.compile(r"/formgrader"))
    page.locator("td", has_text=re.compile(f"^{ASSIGNMENT}$")).first.wait_for()
    watched.screenshot("formgrader")
    page.get_by_role("link", name="Manage Students").click()
    rows = page.locator("#main-table tr", has=page.locator("td.score"))
    rows.filter(has_text=first_student["student"].name).wait_for()
    watched.screenshot("formgrader-students")
    shown = {
        row.locator("td.id").inner_text().strip(): row.locator("td.score").inner_text().strip()
        for row in rows.all()
    }
    return {"page": watched, "shown": shown}


@in_the_browser
def test_does_the_instructor_see_the_grade_in_the_formgrader(formgrader, first_student):
    """Does the instructor, logged in through the hub, land on the Formgrader of the course and
    read the student's full marks there?"""
    assert formgrader["shown"] == {first_student["student"].name: f"{FULL:g} / {FULL:g}"}
    formgrader["page"].assert_no_javascript_errors()


# ---------------------------------------------------------------------------------------
# The second student: nothing of the first student's to see or change


# What the second student runs in a terminal of their own: every way to list, read, change,
# rename or delete the first student's work, one line per attempt in ~/attempts.txt and a
# count in the terminal. attempts.json names the folders only to list (inbound, where anyone
# may add a submission), the folders to list and write into, and the files.
ATTEMPTS = r"""
import json, os
lines = []
def attempt(what, path, action):
    try:
        action(path)
    except OSError as error:
        lines.append(f"refused {what} {path}: {error.strerror}")
    else:
        lines.append(f"ALLOWED {what} {path}")
listed, folders, files = json.load(open("attempts.json"))
for folder in listed + folders:
    attempt("list", folder, os.listdir)
for folder in folders:
    attempt("create-in", folder, lambda p: open(os.path.join(p, "planted"), "x").close())
for path in files:
    attempt("read", path, lambda p: open(p, "rb").read(1))
    attempt("write", path, lambda p: open(p, "ab").close())
    attempt("rename", path, lambda p: os.rename(p, p + ".moved"))
    attempt("delete", path, os.unlink)
open("attempts.txt", "w").write("\n".join(lines) + "\n")
allowed = sum(line.startswith("ALLOWED") for line in lines)
print(f"attempts done: {allowed} allowed, {len(lines) - allowed} refused")
"""


def first_students_files(course_hub, student):
    """What a classmate would try: the folders where the first student's work lies, and the
    files whose paths they can tell (at home and in the course). The submission in the
    exchange and its feedback page there have names a classmate cannot learn (nbgrader's
    random suffix; a hash of the submission's secret) in folders nobody may list."""
    course_exchange = course_hub.exchange / COURSE_ID
    work = student.home / ASSIGNMENT
    submitted = course_hub.course / "submitted" / student.name / ASSIGNMENT
    listed = [course_exchange / "inbound"]
    folders = [student.home, work, course_exchange / "feedback", course_hub.course, submitted]
    files = [
        work / NOTEBOOK,
        next((work / "feedback").glob("*/*.html")),
        submitted / NOTEBOOK,
        course_hub.course / "feedback" / student.name / ASSIGNMENT / "Initialization.html",
        course_hub.course / "gradebook.db",
    ]
    return listed, folders, files


def fingerprint(folders):
    """{path: sha256} of every file under the folders (as root sees them), the gradebook
    (which the service writes) aside."""
    seen = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.is_symlink() and "gradebook.db" not in path.name:
                seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


@pytest.fixture(scope="module")
def classmate(browser, course_hub, first_student):  # noqa: F811 (the imported fixture)
    """The second student logged in, looked at the Assignments tab, then ran ATTEMPTS in a
    terminal of their own against the first student's files."""
    first, second = course_hub.students
    listed, folders, files = first_students_files(course_hub, first)
    watched_folders = [first.home, course_hub.exchange / COURSE_ID, course_hub.course]
    before = fingerprint(watched_folders)
    (second.home / "attempts.py").write_text(ATTEMPTS)
    targets = [list(map(str, paths)) for paths in (listed, folders, files)]
    (second.home / "attempts.json").write_text(json.dumps(targets, indent=1))
    second.give(second.home)

    watched = log_in(browser, course_hub, second, "student2")
    page = watched.page
    open_assignments_tab(page)
    watched.screenshot("assignments-tab")
    lists = {
        name: section(page, name).inner_text() for name in ("released", "fetched", "submitted")
    }
    text = open_terminal_and_run(
        page, "python attempts.py", r"attempts done: \d+ allowed, \d+ refused"
    )
    watched.screenshot("attempts-in-terminal")
    return {
        "lists": lists,
        "terminal": text,
        "lines": (second.home / "attempts.txt").read_text().splitlines(),
        "before": before,
        "after": fingerprint(watched_folders),
        "attempts": len(listed) + 2 * len(folders) + 4 * len(files),
    }


@in_the_browser
def test_does_the_classmate_see_nothing_of_the_first_students_work(classmate, course_hub):
    """Does the second student's Assignments tab offer the released assignment only, with
    nothing fetched, submitted or fed back, nothing of the first student's?"""
    lists = classmate["lists"]
    assert ASSIGNMENT in lists["released"]
    assert "There are no downloaded assignments" in lists["fetched"]
    assert "There are no submitted assignments" in lists["submitted"]
    first = course_hub.students[0].name
    assert not any(first in text for text in lists.values())


@in_the_browser
def test_is_every_attempt_on_the_first_students_files_refused(classmate):
    """In the second student's terminal, is every attempt to list, read, write, rename or
    delete the first student's submission and feedback refused, and are those files, and
    everything else of the first student's, the exchange's and the course's, unchanged?"""
    lines = classmate["lines"]
    assert not [line for line in lines if not line.startswith("refused")], lines
    assert len(lines) == classmate["attempts"], lines
    assert f"attempts done: 0 allowed, {classmate['attempts']} refused" in classmate["terminal"]
    assert classmate["after"] == classmate["before"]


# ---------------------------------------------------------------------------------------
# The instructor's browser: nothing a submission carries runs as the instructor
#
# A student who answers correctly hands in the corpus of script vectors
# (tests/corpus/script_vectors.py: outputs of re-run cells, Markdown cells, attachments,
# metadata, the student's id and names, a file of theirs), collected into the course as from
# an LMS and graded by `nbgrader autograde` as the instructor. The instructor logs in through
# the hub, opens JupyterLab, then reads the submission in the Formgrader and its other pages.
# No vector runs: no marker, no request to the Jupyter API, no dialog, no file changed in the
# course; markup the test itself puts into the page (what a sanitizer might miss) does not run
# either. The same graded notebook in stock nbgrader's Formgrader runs the vectors (canary).


def as_teacher(course_hub, *argv):
    teacher = course_hub.teacher
    env = teacher.env(NBGRADER_EXCHANGE=str(course_hub.exchange))
    done = teacher.run([*argv], cwd=course_hub.course, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def gradebook_submission(course, student):
    """(notebook submission id, score, max score) of the student's graded notebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(
            NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, student
        )
        return notebook.id, notebook.score, notebook.max_score


class StockFormgrader:
    """Stock nbgrader's Formgrader: a plain Jupyter server with nbgrader's formgrader and a plain
    nbgrader_config.py (the course id only), none of the course's settings, started at once in
    an empty folder; `serve` copies a graded student and the gradebook into it."""

    def __init__(self, folder, jupyter_folder):
        self.folder, self.token = folder, os.urandom(12).hex()
        (folder / "nbgrader_config.py").write_text(
            f"c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
        )
        port = trial.free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
             "--ServerApp.jpserver_extensions=nbgrader.server_extensions.formgrader=True",
             f"--ServerApp.root_dir={folder}", "--ServerApp.allow_root=True",
             "--ServerApp.open_browser=False"],
            cwd=folder, env=jupyter_environment(jupyter_folder),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def serve(self, course, student):
        """The student's graded notebook and the gradebook copied in; once the server answers."""
        with sqlite3.connect(course / "gradebook.db") as source:
            with sqlite3.connect(self.folder / "gradebook.db") as copy:
                source.backup(copy)
        graded = Path("autograded") / student
        shutil.copytree(course / graded, self.folder / graded)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the stock Jupyter server did not answer ({self.process.poll()})")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


class Corpus:
    """The corpus handed in, being graded by `nbgrader autograde` as the instructor."""

    def __init__(self, course_hub, grading, stock):
        self.course_hub, self.grading, self.stock = course_hub, grading, stock
        self.started, self._graded = time.monotonic(), None

    def graded(self):
        """{"submission", "score", "max_score"} once the grading has ended."""
        if self._graded is None:
            output, _ = self.grading.communicate(timeout=900)
            assert self.grading.returncode == 0, output
            print(f"The corpus graded in {time.monotonic() - self.started:.1f} s")
            submission, score, max_score = gradebook_submission(
                self.course_hub.course, vectors.STUDENT_ID
            )
            self._graded = {"submission": submission, "score": score, "max_score": max_score}
        return self._graded


@pytest.fixture(scope="module")
def hostile_student(course_hub, tmp_path_factory):
    """The corpus handed in by a student whose answers are correct, with names from the roster,
    collected into the course (as from an LMS) and graded by `nbgrader autograde` as the
    instructor, in the background while the instructor logs in; stock nbgrader's Formgrader,
    for the canary, starts meanwhile."""
    course, teacher = course_hub.course, course_hub.teacher
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    folder = course / "submitted" / vectors.STUDENT_ID / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_text(json.dumps(vectors.hostile_submission(release)))
    (folder / "evil.html").write_text(vectors.EVIL_HTML)
    teacher.give(course / "submitted")
    as_teacher(course_hub, "nbgrader", "db", "student", "add", vectors.STUDENT_ID,
               f"--first-name={vectors.FIRST_NAME}", f"--last-name={vectors.LAST_NAME}")  # fmt: skip
    grading = teacher.popen(
        ["nbgrader", "autograde", ASSIGNMENT, f"--student={vectors.STUDENT_ID}"],
        cwd=course, env=teacher.env(NBGRADER_EXCHANGE=str(course_hub.exchange)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    stock = StockFormgrader(
        tmp_path_factory.mktemp("stock-formgrader"), tmp_path_factory.mktemp("stock-jupyter")
    )
    try:
        yield Corpus(course_hub, grading, stock)
    finally:
        stock.stop()
        if grading.poll() is None:
            grading.kill()
            grading.wait()


FORMGRADER_PAGES = [
    "formgrader/manage_students",
    f"formgrader/manage_students/{quote(vectors.STUDENT_ID, safe='')}",
    f"formgrader/manage_students/{quote(vectors.STUDENT_ID, safe='')}/{ASSIGNMENT}",
    f"formgrader/gradebook/{ASSIGNMENT}/{NOTEBOOK.removesuffix('.ipynb')}",
    f"formgrader/manage_submissions/{ASSIGNMENT}",
]


@pytest.fixture(scope="module")
def instructor_reads_the_corpus(browser, course_hub, hostile_student):  # noqa: F811
    """The instructor logged in through the hub, opened JupyterLab, then, in another tab, the
    submission in the Formgrader (every link the corpus offers clicked) and its other pages."""
    teacher, course = course_hub.teacher, course_hub.course
    lab = log_in(browser, course_hub, teacher, "instructor-corpus")
    server = f"{course_hub.hub.url}/user/{teacher.name}/"
    lab.page.goto(server + "lab")
    lab.page.wait_for_selector(".jp-DirListing")
    lab.screenshot("jupyterlab")
    graded = hostile_student.graded()
    before = course_fingerprint(course)
    watched = Watched(lab.page.context.new_page(), "hub-instructor-corpus-formgrader")
    page = watched.page
    probe = Probe(page, api_prefix=f"/user/{teacher.name}/")
    started = time.monotonic()
    response = page.goto(f"{server}formgrader/submissions/{graded['submission']}/")
    page.locator("input.score").first.wait_for()
    page.wait_for_load_state("networkidle")
    watched.screenshot("submission")
    outputs = page.locator('[id="cell-id=student-outputs"]')
    outputs.scroll_into_view_if_needed()
    watched.screenshot("submission-outputs")
    plots = probe.plots('[id="cell-id=student-outputs"]')
    table = outputs.locator("table").inner_text()
    probe.insert()
    probe.click_every_link()  # the last one opens the student's evil.html, sandboxed
    watched.screenshot("submission-clicked")
    shown = {}
    for path in FORMGRADER_PAGES:
        page.goto(server + path)
        page.wait_for_load_state("networkidle")
        if path.startswith("formgrader/gradebook/"):
            page.click("#toggle_names")  # the students' names shown
        shown[path] = page.locator("body").inner_text()
        watched.screenshot(path.split("/")[1])
    page.wait_for_timeout(1000)
    print(f"The Formgrader's pages read in {time.monotonic() - started:.1f} s")
    return {
        "probe": probe,
        "policy": response.headers.get("content-security-policy", ""),
        "plots": plots,
        "table": table,
        "shown": shown,
        "changed": course_fingerprint(course) != before,
        "new": sorted(set(course_fingerprint(course)) - set(before)),
    }


@in_the_browser
def test_does_no_vector_of_the_corpus_run_in_the_instructors_formgrader(
    instructor_reads_the_corpus,
):
    """Through the hub, as the instructor with JupyterLab open: does the Formgrader show the
    corpus (at least 20 vectors, in every place a submission carries them) without running
    any, nor markup put into the page past the sanitizer: no marker, no request to the Jupyter
    API, no dialog, no file of the course changed?"""
    assert len(vectors.VECTORS) >= 20
    seen = instructor_reads_the_corpus
    probe = seen["probe"]
    assert probe.ran() == []
    assert probe.api_requests() == []
    assert probe.dialogs == []
    assert seen["new"] == [] and not seen["changed"]
    assert (
        "script-src 'nonce-" in seen["policy"]
        and "unsafe-inline" not in seen["policy"].split("style-src")[0]
    )
    # the second wall refused what the test put past the sanitizer
    blocked = " ".join(probe.violations())
    assert "script-src-attr" in blocked and "script-src-elem" in blocked, probe.violations()
    # the student's id and names are shown as text on the other pages
    assert vectors.STUDENT_ID in seen["shown"]["formgrader/manage_students"]
    assert vectors.FIRST_NAME in seen["shown"][FORMGRADER_PAGES[3]]


@in_the_browser
def test_does_the_corpus_keep_full_marks_and_its_plot(instructor_reads_the_corpus, hostile_student):
    """Do the correct answers beside the corpus still get full marks, and does the Formgrader
    still draw the student's plot (a PNG) and table?"""
    graded = hostile_student.graded()
    assert (graded["score"], graded["max_score"]) == (FULL, FULL)
    plots = instructor_reads_the_corpus["plots"]  # the plot, and the corpus's broken PNG
    assert [width > 100 for drawn, width in plots if drawn] == [True], plots
    assert "layer" in instructor_reads_the_corpus["table"]


@pytest.fixture(scope="module")
def stock_formgrader(browser, hostile_student, course_hub):  # noqa: F811
    """The same graded notebook and gradebook in stock nbgrader's Formgrader, which the
    instructor's browser opens."""
    submission = hostile_student.graded()["submission"]
    stock = hostile_student.stock
    stock.serve(course_hub.course, vectors.STUDENT_ID)
    before = set(course_fingerprint(stock.folder))
    context = browser.new_context(viewport=VIEWPORT)
    try:
        watched = Watched(context.new_page(), "hub-stock-formgrader")
        probe = Probe(watched.page, api_prefix="/")
        watched.page.goto(f"{stock.url}/formgrader?token={stock.token}")
        watched.page.goto(f"{stock.url}/formgrader/submissions/{submission}/")
        watched.page.wait_for_load_state("networkidle")
        watched.page.wait_for_timeout(1000)
        watched.screenshot("submission")
        probe.click_every_link()
        watched.page.wait_for_timeout(1000)
    finally:
        context.close()
    return {"probe": probe, "new": sorted(set(course_fingerprint(stock.folder)) - before)}


@in_the_browser
def test_canary_stock_nbgraders_formgrader_runs_the_corpus(stock_formgrader):
    """Canary: does the same graded notebook in stock nbgrader's Formgrader run the corpus's
    scripts, among them the two the issue found (an answer cell's HTML display, a Markdown
    cell of the student's), and do they write into the course through the Jupyter API?"""
    probe = stock_formgrader["probe"]
    ran = set(probe.ran())
    assert {"answer-html-onerror", "markdown-img-onerror", "output-javascript"} <= ran, ran
    assert {"first-name", "student-id", "output-png-width", "file-html"} <= ran, ran
    assert any(name.startswith("xss-") for name in stock_formgrader["new"])
    assert probe.api_requests()


# ---------------------------------------------------------------------------------------
# An instructor's hub day: the terminal in the course, forgeries in the Formgrader, names
#
# The instructor opens a terminal in JupyterLab and runs the course's command at once; the
# second student, in a terminal of their own, submits in the first student's name; the
# instructor finds that forgery in the Formgrader, with the forger's login, from the notice
# on its pages; and the Formgrader names every student (the login, there being no roster),
# never "None, None". Screenshots: artifacts/browser/hub-instructor-day-*.png and
# hub-student2-forges-*.png.


def screen_reader_terminal(user):
    """The user's JupyterLab setting that puts the terminal's text in the page."""
    settings = user.home / ".jupyter/lab/user-settings/@jupyterlab/terminal-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"screenReaderMode": True}))
    user.give(user.home / ".jupyter")


@pytest.fixture(scope="module")
def forgery(browser, course_hub, first_student):  # noqa: F811 (the imported fixture)
    """The second student, in a terminal of their own, fetches the assignment and submits it
    in the first student's name (`nbgrader submit --student=FIRST`); the hub's service
    refuses it."""
    first, second = course_hub.students
    screen_reader_terminal(second)
    watched = log_in(browser, course_hub, second, "student2-forges")
    # a workspace of its own: JupyterLab would reopen the tabs of their earlier session
    watched.page.goto(f"{course_hub.hub.url}/user/{second.name}/lab/workspaces/forgery?reset")
    watched.page.wait_for_selector(".jp-DirListing")
    command = (
        f"nbgrader fetch_assignment {ASSIGNMENT} >/dev/null 2>&1; "
        f"nbgrader submit {ASSIGNMENT} --student={first.name} >/dev/null 2>&1; "
        "echo submitted-as-classmate: $?"
    )
    text = open_terminal_and_run(watched.page, command, r"submitted-as-classmate: \d")
    watched.screenshot("terminal")
    assert "submitted-as-classmate: 0" in text, text
    course_hub.wait_for(
        lambda: course_hub.steps(first.name, "forged"), "the forgery's refusal", FEEDBACK_WAIT_S
    )
    return {"forger": second, "victim": first}


@pytest.fixture(scope="module")
def instructors_day(course_hub, formgrader, first_student, forgery):
    """The instructor, in a new tab of their logged-in browser: a terminal in JupyterLab that
    runs `pwd` and `python -m instructor scores`; then Manage Students, whose notice leads to
    the Formgrader's Forgeries page."""
    teacher = course_hub.teacher
    screen_reader_terminal(teacher)
    watched = Watched(formgrader["page"].page.context.new_page(), "hub-instructor-day")
    page = watched.page
    user_url = f"{course_hub.hub.url}/user/{teacher.name}"
    page.goto(f"{user_url}/lab/workspaces/instructors-day?reset")
    page.wait_for_selector(".jp-DirListing")
    terminal = open_terminal_and_run(
        page, "pwd; python -m instructor scores; echo scores-done: $?", r"scores-done: \d"
    )
    watched.screenshot("terminal")

    page.goto(f"{user_url}/formgrader/manage_students")
    rows = page.locator("#main-table tr", has=page.locator("td.score"))
    rows.filter(has_text=first_student["student"].name).wait_for()
    names = {
        row.locator("td.id").inner_text().strip(): row.locator("td.name").inner_text().strip()
        for row in rows.all()
    }
    notice = page.locator("#course-forgeries-notice")
    notice_text = notice.inner_text()
    watched.screenshot("students-and-notice")
    notice.locator("a").click()
    page.wait_for_url(re.compile(r"/formgrader/forgeries"))
    page.locator("#forgeries tr.forgery").first.wait_for()
    watched.screenshot("forgeries")
    forgeries = [
        {cell: row.locator(f"td.{cell}").inner_text().strip() for cell in ("student", "owner")}
        | {"submitted": row.locator("td.submitted").inner_text().strip()}
        for row in page.locator("#forgeries tr.forgery").all()
    ]
    return {
        "terminal": terminal,
        "names": names,
        "notice": notice_text,
        "forgeries": forgeries,
        "page": watched,
    }


@in_the_browser
def test_does_the_instructors_terminal_run_the_course_commands_at_once(
    instructors_day, course_hub, first_student
):
    """A new terminal of the instructor's JupyterLab opens in the course, where `python -m
    instructor scores` runs at once and prints the first student's full marks."""
    text = instructors_day["terminal"]
    assert "scores-done: 0" in text, text
    assert str(course_hub.course) in text, text  # pwd
    assert "No module named" not in text, text
    line = re.search(rf"{first_student['student'].name}\s+10\s+10\s+10\s+30", text)
    assert line, text


@in_the_browser
def test_does_a_forgery_by_a_classmate_show_in_the_formgrader_with_its_maker(
    instructors_day, forgery
):
    """The second student's submission in the first student's name shows on the Formgrader's
    Forgeries page, reached from the notice on its pages: in whose name, made by the second
    student's login, and when."""
    notice = instructors_day["notice"]
    assert re.search(r"\d+ submissions? made in another student's name (was|were) refused", notice)
    (shown,) = [f for f in instructors_day["forgeries"] if f["owner"] == forgery["forger"].name]
    assert shown["student"] == forgery["victim"].name
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown["submitted"]), shown
    instructors_day["page"].assert_no_javascript_errors()


@in_the_browser
def test_does_the_formgrader_name_every_student(instructors_day, first_student):
    """Without a roster, the Formgrader names each student by their login, never
    "None, None"."""
    names = instructors_day["names"]
    first = first_student["student"].name
    assert names[first] == f"{first},", names  # last name: the login; no first name
    assert not any("None" in name for name in names.values()), names
