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
import tempfile
import time
from pathlib import Path

import pytest
from conftest import copy_course, shares_of
from corpus import build as corpus
from lab_harness import (
    ARTIFACTS,
    VIEWPORT,
    Watched,
    assignment_row,
    browser,  # noqa: F401 (a fixture)
    cell,
    cell_positions,
    in_the_browser,
    menu,
    open_terminal_and_run,
    save,
    screenshot_on_failure,  # noqa: F401 (a fixture)
    section,
    tab,
    type_answer,
)
from unix_users import needs_root, unix_group, unix_user

from hub import trial
from instructor.demo import CORRECT

pytestmark = needs_root

ASSIGNMENT, NOTEBOOK, COURSE_ID = "initialization", "Initialization.ipynb", "initialization-course"
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
# The Assignments tab (as tests/test_browser_submit.py reads it)


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
