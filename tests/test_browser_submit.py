"""Grade on submit as a student sees it: JupyterLab's Assignments tab and `instructor watch`.

A quick course copy (tests/test_watch.py's Class) is released to its own exchange, and the
grade-on-submit service runs on it. A student's JupyterLab, whose nbgrader settings name that
exchange and course, offers nbgrader's Assignments tab (Nbgrader > Assignment List). With its
buttons the student fetches the assignment, opens the notebook from the tab, types the three
correct answers and saves, and submits; once the service has fed the submission back, Fetch
Feedback brings the feedback page, which the student opens: full marks.

The student is the OS user, nbgrader's default student id (as on a shared server, where each
student has a login). The student's nbgrader settings are the two lines a student needs,
c.Exchange.root and c.CourseDirectory.course_id. The course is built and the service started in the background while JupyterLab
starts and the student works (the service is running before the student submits). The steps
share one JupyterLab page, each a fixture built on the one before; screenshots of every step
land in artifacts/browser/submit-NN-<step>.png, the logs of the service and of JupyterLab in
artifacts/browser/submit-watch.log and submit-lab.log. The whole file takes about two minutes.

The student's JupyterLab is the one `python -m instructor lab student --exchange` starts:
nbgrader's assignment list (its server extension, its tab and the menu that opens it) and
the course's exchange and course id in the server's own nbgrader settings.
"""

import datetime
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import pytest
from conftest import shares_of
from nbgrader.utils import get_username
from test_browser import (
    ARTIFACTS,
    VIEWPORT,
    Watched,
    browser,  # noqa: F401 (a fixture)
    cell,
    cell_positions,
    in_the_browser,
    jupyter_environment,
    menu,
    save,
    screenshot_on_failure,  # noqa: F401 (a fixture)
    type_answer,
)
from test_watch import ASSIGNMENT, COURSE_ID, NOTEBOOK, Class

from instructor import lab as lab_module
from instructor.demo import CORRECT

STUDENT = get_username()  # nbgrader's student id when none is given: the login
FULL = sum(shares_of(1, 1, 1))
FEEDBACK_WAIT_S = 120  # submit to feedback: 7 s here on an idle machine, 35 s on a busy one


# ---------------------------------------------------------------------------------------
# The course, its service, the student's JupyterLab


class Classroom:
    """The course and its service made ready in the background, while the student's JupyterLab
    starts and the student works: the quick course built and released to its exchange
    (tests/test_watch.py's Class, half a minute), then `instructor watch` started on it (its
    Dask cluster and its reference run, half a minute more)."""

    def __init__(self, base):
        self.base, self.room, self.error = base, None, None
        self.exchange = base / "course" / "exchange"  # where Class releases the assignment
        self.is_released = threading.Event()
        self.thread = threading.Thread(target=self._prepare, daemon=True)
        self.thread.start()

    def _prepare(self):
        try:
            room = Class(self.base)
            assert room.exchange == self.exchange, room.exchange
            self.room = room
            self.is_released.set()
            self.room.start()
        except BaseException as error:  # raised again by released() or running()
            self.error = error
        finally:
            self.is_released.set()

    def released(self):
        """The Class, once the assignment is released to the exchange."""
        self.is_released.wait()
        if self.room is None:
            raise self.error
        return self.room

    def running(self):
        """The Class, once the service says it is watching."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.room

    def stop(self):
        """Stop the service (it lets a grading in flight finish); keep its log."""
        self.thread.join()
        room = self.room
        if room is None:
            return
        try:
            if room.service is not None:
                room.stop(timeout=60)
        except subprocess.TimeoutExpired:
            room.stop(signal.SIGKILL)
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(room.log, ARTIFACTS / "submit-watch.log")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    """The course and its service, made ready in the background."""
    classroom = Classroom(tmp_path_factory.mktemp("submit-class"))
    yield classroom
    classroom.stop()


@pytest.fixture(scope="module")
def room(classroom):
    """The quick course, released to its own exchange (the service may still be starting)."""
    return classroom.released()


def start_student_lab(course, work, env, log_path):
    """JupyterLab as `instructor lab student --exchange` starts it in work: nbgrader's
    assignment list (server extension, Assignments tab, Nbgrader menu) and the course's
    exchange and course id in its nbgrader settings."""
    config = Path(course) / "nbgrader_config.py"  # the course's folder is being built
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if config.exists() and "c.Exchange.root" in config.read_text():  # copied whole
            break
        time.sleep(0.2)
    return lab_module.start(
        "exchange",
        work,
        port=lab_module.free_port(preferred=None),
        env=env,
        log_path=log_path,
        course=course,
    )


@pytest.fixture(scope="module")
def student_lab(classroom, tmp_path_factory):
    """The student's JupyterLab, in an empty work folder; its nbgrader settings (in its
    Jupyter configuration folder) name the course's exchange and course id."""
    folder = tmp_path_factory.mktemp("submit-student")
    env = jupyter_environment(folder / "jupyter")
    work = folder / "work"
    work.mkdir()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log_path = ARTIFACTS / "submit-lab.log"
    log_path.unlink(missing_ok=True)
    lab = start_student_lab(classroom.exchange.parent, work, env, log_path)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def student(browser, student_lab):  # noqa: F811 (the imported fixture)
    """The student's JupyterLab open in the browser."""
    watched = Watched(browser.new_page(viewport=VIEWPORT), "submit")
    watched.page.goto(student_lab.url("lab"))
    watched.page.wait_for_selector(".jp-DirListing")
    yield watched
    watched.page.close()


# ---------------------------------------------------------------------------------------
# The Assignments tab


def tab(page):
    """The Assignments tab's content."""
    return page.locator("#nbgrader-assignment-list")


def section(page, name):
    """A list of the Assignments tab: "released", "fetched" or "submitted"."""
    return tab(page).locator(f"#{name}_assignments_list")


def assignment_row(page, name):
    """The assignment's row in a list of the Assignments tab."""
    return section(page, name).locator(".list_item", has_text=ASSIGNMENT).first


def notebook_link(page):
    """The notebook's link under the downloaded assignment (shown once the assignment's name
    was clicked)."""
    return section(page, "fetched").get_by_role(
        "link", name=NOTEBOOK.removesuffix(".ipynb"), exact=True
    )


def show_tab(page):
    """Bring the Assignments tab to the front."""
    page.locator(".lm-TabBar-tab", has_text="Assignments").click()
    tab(page).wait_for()


@pytest.fixture(scope="module")
def assignments_tab(student, room):
    """Once the assignment is released, the Assignments tab, opened from the menu
    (Nbgrader > Assignment List)."""
    page = student.page
    menu(page, "Nbgrader", "Assignment List")
    assignment_row(page, "released").locator("button", has_text="Fetch").wait_for()
    student.screenshot("assignments-tab")
    return student


@in_the_browser
def test_does_the_assignments_tab_offer_the_released_assignment(assignments_tab):
    """Does the Assignments tab list the assignment the instructor released, in the course,
    with a Fetch button, and nothing downloaded or submitted yet?"""
    page = assignments_tab.page
    assert tab(page).locator("#course_list_default").inner_text().strip() == COURSE_ID
    row = assignment_row(page, "released")
    assert row.locator(".item_name").inner_text().strip() == ASSIGNMENT
    assert row.locator(".item_course").inner_text().strip() == COURSE_ID
    assert "There are no downloaded assignments" in section(page, "fetched").inner_text()
    assert "There are no submitted assignments" in section(page, "submitted").inner_text()


@pytest.fixture(scope="module")
def fetched(assignments_tab, student_lab):
    """The student clicked Fetch; the assignment is listed as downloaded."""
    page = assignments_tab.page
    assignment_row(page, "released").locator("button", has_text="Fetch").click()
    assignment_row(page, "fetched").locator("button", has_text="Submit").wait_for()
    assignment_row(page, "fetched").locator(".item_name a").first.click()  # its notebooks
    notebook_link(page).wait_for()
    assignments_tab.screenshot("fetched")
    return assignments_tab


@in_the_browser
def test_does_fetch_put_the_release_in_the_students_folder(fetched, student_lab, room):
    """After Fetch, is the assignment listed as downloaded, with a Submit button, and does the
    student's folder hold the released notebook as the instructor released it?"""
    page = fetched.page
    assert "There are no assignments to fetch" in section(page, "released").inner_text()
    copy = student_lab.root_dir / ASSIGNMENT / NOTEBOOK
    release = room.exchange / COURSE_ID / "outbound" / ASSIGNMENT / NOTEBOOK
    assert copy.read_bytes() == release.read_bytes()


@pytest.fixture(scope="module")
def answered(fetched, student_lab):
    """The student opened the notebook from the Assignments tab, typed the three correct
    answers and saved (Ctrl+S)."""
    page = fetched.page
    notebook_link(page).click()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    positions = cell_positions(student_lab.root_dir / ASSIGNMENT / NOTEBOOK)
    for exercise, answer in CORRECT.items():
        type_answer(page, positions[f"initialize_parameters_{exercise}"], answer)
    save(page)
    cell(page, positions["initialize_parameters_he"])
    fetched.screenshot("answered-and-saved")
    return fetched


@in_the_browser
def test_are_the_typed_answers_saved_in_the_fetched_notebook(answered, student_lab):
    """Does the notebook in the student's folder hold the three answers as typed, and no
    stub left in them?"""
    saved = nbformat.read(student_lab.root_dir / ASSIGNMENT / NOTEBOOK, as_version=4)
    by_id = {c.get("id"): c.source for c in saved.cells}
    for exercise, answer in CORRECT.items():
        source = by_id[f"initialize_parameters_{exercise}"]
        for line in answer.splitlines():
            assert line in source, (exercise, line)
        assert "raise NotImplementedError()" not in source, exercise


@pytest.fixture(scope="module")
def submitted(answered, classroom):
    """With the service running, the student went back to the Assignments tab and clicked
    Submit."""
    room = classroom.running()
    page = answered.page
    show_tab(page)
    assignment_row(page, "fetched").locator("button", has_text="Submit").click()
    clicked = time.monotonic()
    assignment_row(page, "submitted").locator("button", has_text="Fetch Feedback").wait_for()
    answered.screenshot("submitted")
    room.wait_for(lambda: room.steps(STUDENT, "received"), "the service to receive it")
    return {"page": answered, "clicked": clicked}


@in_the_browser
def test_does_submit_reach_the_service(submitted, room):
    """Does the tab list the submission under Submitted assignments with the timestamp nbgrader
    gave it, and does the service receive that submission, once, under the student's login?"""
    received = room.steps(STUDENT, "received")
    assert len(received) == 1, room.journal()
    moment = datetime.datetime.fromisoformat(received[0]["submitted"])
    listed = section(submitted["page"].page, "submitted").locator(".nested_list_item").first
    assert moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC") in listed.inner_text()
    # the service prints its line just after it journals the step
    line = f"  {STUDENT}  received (submitted {moment:%Y-%m-%d %H:%M:%S} UTC)"
    room.wait_for(lambda: line in room.log.read_text(), "the service's log line", timeout=10)


# What the feedback page itself logs in JupyterLab's HTML viewer, which shows it as untrusted
# HTML in a sandboxed frame: its scripts blocked, and (offline) the MathJax it loads from
# cdnjs.cloudflare.com unreachable.
FEEDBACK_PAGE_NOISE = re.compile(
    r"Blocked script execution in 'blob:.*sandboxed"
    r"|Failed to load resource: net::ERR_NAME_NOT_RESOLVED"
)


@pytest.fixture(scope="module")
def feedback(submitted, room):
    """Once the service's journal says "fed back", the student refreshed the Assignments tab,
    clicked Fetch Feedback, then "(view feedback)", and opened the page the file browser
    shows."""
    watched = submitted["page"]
    page = watched.page
    room.wait_for(lambda: room.steps(STUDENT, "fed back"), "the feedback", FEEDBACK_WAIT_S)
    print(f"Submit clicked to fed back: {time.monotonic() - submitted['clicked']:.1f} s")
    tab(page).locator("#refresh_assignments_list").click()
    section(page, "submitted").get_by_text("feedback available to fetch").wait_for()
    watched.screenshot("feedback-ready")
    assignment_row(page, "submitted").locator("button", has_text="Fetch Feedback").click()
    view = section(page, "submitted").locator("a", has_text="view feedback")
    view.wait_for()
    watched.screenshot("feedback-fetched")
    view.click()
    item = page.locator(".jp-DirListing-item", has_text=f"{NOTEBOOK.removesuffix('.ipynb')}.html")
    item.wait_for()
    watched.screenshot("feedback-in-file-browser")
    lab_errors = list(watched.errors)
    failed_requests = []
    page.on("requestfailed", lambda request: failed_requests.append(request.url))
    item.dblclick()
    frame = page.frame_locator(".jp-HTMLViewer iframe")
    frame.locator("body", has_text="Score").wait_for()
    watched.screenshot("feedback")
    return {
        "text": frame.locator("body").inner_text(),
        "lab_errors": lab_errors,
        "page_errors": watched.errors[len(lab_errors) :],
        "failed_requests": failed_requests,
    }


@in_the_browser
def test_does_the_student_read_full_marks_in_the_feedback(feedback, room, student_lab):
    """Does the feedback page the student opened show full marks, the score the service logged,
    and none of the hidden tests; is it the one page fetched into the student's folder?"""
    text = feedback["text"]
    assert f"Initialization (Score: {FULL:.1f} / {FULL:.1f})" in text
    each = shares_of(1, 1, 1)  # the three test cells, full marks each
    assert re.findall(r"Test cell \(Score: ([\d.]+) / ([\d.]+)\)", text) == [
        (f"{points:.1f}", f"{points:.1f}") for points in each
    ]
    graded = room.steps(STUDENT, "graded")
    assert [(g["score"], g["max_score"]) for g in graded] == [(FULL, FULL)]
    assert f"  {STUDENT}  graded: {FULL:g}/{FULL:g}" in room.log.read_text()
    assert "BEGIN HIDDEN TESTS" not in text
    pages = list((student_lab.root_dir / ASSIGNMENT / "feedback").glob("*/*.html"))
    assert len(pages) == 1, pages
    assert f"Score: {FULL:.1f} / {FULL:.1f}" in pages[0].read_text()


@in_the_browser
def test_is_each_step_of_the_submission_journaled_once(feedback, room):
    """Does the service's journal hold received, collected, graded and fed back, once each and
    in that order, for the one submission, and nothing failed, rejected or held?"""
    steps = [s["step"] for s in room.journal()]
    assert steps == ["received", "collected", "graded", "fed back"], room.journal()
    assert "Traceback" not in room.log.read_text()


@in_the_browser
def test_does_jupyterlab_log_no_javascript_error(feedback):
    """Does JupyterLab log no JavaScript error through the whole round, and the feedback page
    in its viewer only what a sandboxed, offline page logs?"""
    assert not feedback["lab_errors"], feedback["lab_errors"]
    unexpected = [e for e in feedback["page_errors"] if not FEEDBACK_PAGE_NOISE.search(e)]
    assert not unexpected, unexpected
    own = re.compile(r"^blob:|^https://cdnjs\.cloudflare\.com/")  # its blocked script, MathJax
    others = [url for url in feedback["failed_requests"] if not own.search(url)]
    assert not others, others
