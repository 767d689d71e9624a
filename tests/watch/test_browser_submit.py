"""The student's whole path, from the students' page (docs/students.md) alone, in Chromium.

A student with a fresh home folder follows docs/students.md: a bare virtual
environment, `pip install -r requirements-student.txt` and the nbgrader line (the Assignments
tab needs it), the two lines of nbgrader settings in ~/.jupyter/nbgrader_config.py, then
`jupyter lab`. The commands are read from that page, so the test follows what it says.
Meanwhile a quick course copy (tests/watch/test_watch.py's Class) is released to its own exchange
and the grade-on-submit service (`python -m instructor watch`) runs on it.

In JupyterLab the student fetches the assignment in the Assignments tab (Nbgrader >
Assignment List), opens the notebook and answers as students do: a typo first (`np.zeroes`),
whose public test names the student's line; then a named mistake (`* 0.01` for `* 10`), which
the public test, nbgrader's Validate dialog and the notebook's final check all name, the check
refusing to say "ready to submit"; then the right answers, Run All Cells, the check says
ready. The student submits, fetches the feedback the service made, and reads it: the summary
at the top, the math drawn. The same page opened in Chromium with the network off shows its
math too. Each message is checked for its wording and for fitting the notebook's width (every
line of the output is one line on the screen).

The student is the OS user, nbgrader's default student id (as on a shared server, where each
student has a login). The steps share one JupyterLab page, each a fixture built on the one
before; screenshots of every step land in artifacts/browser/submit-NN-<step>.png, the logs of
the service and of JupyterLab in artifacts/browser/submit-watch.log and submit-lab.log.

The installation is the slow part: about 30 s of pip's CPU (two to three minutes of waiting on
a busy two-core machine). It runs while the course is built and its service starts, and pip's
cache spares the downloads after the first run. The commands are the students' page's as they
are.
"""

import datetime
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
import spec_numbers
from answers import CORRECT, HE, RANDOM, ZEROS, fill
from conftest import ROOT, shares_of
from lab_harness import (
    ARTIFACTS,
    VIEWPORT,
    Watched,
    assignment_row,
    browser,  # noqa: F401 (a fixture)
    cell,
    cell_positions,
    check_cell_position,
    descendants,
    in_the_browser,
    menu,
    outputs_text,
    painted,
    prompt,
    save,
    screenshot_on_failure,  # noqa: F401 (a fixture)
    section,
    tab,
    type_answer,
    wait_for_a_new_run,
    wait_until_idle,
)
from nbgrader.utils import get_username
from test_watch import ASSIGNMENT, COURSE_ID, NOTEBOOK, Class

from instructor import lab as lab_module

pytestmark = pytest.mark.heavy

STUDENT = get_username()  # nbgrader's student id when none is given: the login
FULL = sum(shares_of(1, 1, 1))
FEEDBACK_WAIT_S = 300  # submit to feedback: 7 s here on an idle machine, minutes on a crowded one
INSTALL_WAIT_S = 1200  # the student's pip install: 40 s idle, minutes on a busy machine
RUN_ALL_S = 240
WIDTH = 79  # public_tests.WIDTH: every line of a message

# The answer cells as released: the line numbers the messages name.
RELEASE = nbformat.read(ROOT / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
CELL_LINES = {
    kind: next(
        c.source for c in RELEASE.cells if c.get("id") == f"initialize_parameters_{kind}"
    ).splitlines()
    for kind in CORRECT
}
# What the student types: a typo, a named mistake, then the right answers.
TYPO = ZEROS.replace("np.zeros((layers_dims[l], layers_dims[l - 1]))", "np.zeroes((layers_dims[l], layers_dims[l - 1]))")  # fmt: skip
SMALL = RANDOM.replace("* 10", "* 0.01")


# ---------------------------------------------------------------------------------------
# The students' page (docs/students.md): the commands the student runs


def student_section():
    """The students' page, docs/students.md."""
    return (ROOT / "docs" / "students.md").read_text()


def command(prefix):
    """The students' page's command that starts with prefix, its comment left out."""
    for block in re.findall(r"```\n(.*?)```", student_section(), re.DOTALL):
        for line in block.splitlines():
            if line.strip().startswith(prefix):
                return shlex.split(line.split("#")[0])
    raise AssertionError(f"docs/students.md has no command {prefix!r}")


def nbgrader_settings(exchange):
    """The students' page's two lines of nbgrader settings, with this course's exchange folder."""
    lines = [
        line
        for block in re.findall(r"```\n(.*?)```", student_section(), re.DOTALL)
        for line in block.splitlines()
        if line.startswith("c.")
    ]
    assert [line.split(" =")[0] for line in lines] == [
        "c.Exchange.root",
        "c.CourseDirectory.course_id",
    ]
    lines[0] = f"c.Exchange.root = {str(exchange)!r}"
    assert lines[1] == f'c.CourseDirectory.course_id = "{COURSE_ID}"'
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# The course, its service, the student's environment


class Background:
    """A task run in a thread while the rest goes on; result() waits for it (re-raising)."""

    def __init__(self, task, *args):
        self.value, self.error = None, None
        self.thread = threading.Thread(target=self._run, args=(task, *args), daemon=True)
        self.thread.start()

    def _run(self, task, *args):
        try:
            self.value = task(*args)
        except BaseException as error:
            self.error = error

    def result(self, timeout=None):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError("still running")
        if self.error is not None:
            raise self.error
        return self.value


class Classroom:
    """The course and its service made ready in the background, while the student installs:
    the quick course built and released to its exchange (tests/watch/test_watch.py's Class), then
    `instructor watch` started on it."""

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


def student_environment(home):
    """A fresh home folder and the shell environment of a student who activated their new
    virtual environment (nothing of this machine's user, nor of the course's own .venv)."""
    home.mkdir(parents=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "VIRTUAL_ENV", "PYTHON", "IPYTHON"))
    }
    course_bin = str(Path(sys.executable).parent)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != course_bin]
    venv = home / "course-env"
    env.update(
        HOME=str(home), VIRTUAL_ENV=str(venv), PATH=os.pathsep.join([str(venv / "bin"), *path])
    )
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    return env, venv


def install(home, log):
    """The students' page's step 1, in the fresh home: the virtual environment, the student
    requirements, nbgrader; returns (env, venv, seconds)."""
    env, venv = student_environment(home)
    started = time.monotonic()
    base_python = getattr(sys, "_base_executable", sys.executable)
    steps = [
        [base_python, "-m", "venv", str(venv)],  # `python3 -m venv course-env`
        command("pip install -r"),
        command("pip install nbgrader"),
        *INSTRUCTOR_TOOLS_OFF,
    ]
    assert command("python3 -m venv") == ["python3", "-m", "venv", "course-env"]
    with open(log, "w") as out:
        for step in steps:
            if step[0] == "pip":  # the activated environment's pip, from the student's folder
                step = [str(venv / "bin" / "python"), "-m", "pip", *step[1:]]
            if step[0] == "jupyter":  # the activated environment's
                step = [str(venv / "bin" / "jupyter"), *step[1:]]
            out.write(f"$ {shlex.join(step)}\n")
            out.flush()
            subprocess.run(
                step,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=INSTALL_WAIT_S,
            )
    return env, venv, time.monotonic() - started


@pytest.fixture(scope="module")
def installing(tmp_path_factory):
    """The student's installation, started at once in the background."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("submit-student") / "home"
    return Background(install, home, ARTIFACTS / "submit-install.log")


@pytest.fixture(scope="module")
def installed(installing, classroom):
    """(env, venv) once the student's environment is installed (the course builds meanwhile)."""
    env, venv, seconds = installing.result()
    print(f"The student's installation took {seconds:.0f} s")
    return env, venv


# The students' page's two lines after nbgrader's: its instructor tools switched off.
INSTRUCTOR_TOOLS_OFF = [
    command("jupyter labextension disable"),
    command("jupyter server extension disable"),
]


def test_the_students_page_switches_off_what_the_hub_gives_instructors_only():
    """Do the students' page's two lines switch off exactly the JupyterLab plugins and server
    extensions of nbgrader that a student of the exchange does not get from `python -m
    instructor lab student --exchange` (instructor/lab.py) and the hub, and that an instructor
    gets?"""
    plugins, extensions = INSTRUCTOR_TOOLS_OFF
    assert plugins[:4] == ["jupyter", "labextension", "disable", "--level=user"]
    assert extensions[:5] == ["jupyter", "server", "extension", "disable", "--sys-prefix"]
    instructors_only = lambda table: sorted(  # noqa: E731  (nbgrader's: what a student installs)
        name
        for name, modes in table.items()
        if modes["instructor"] and not modes["exchange"] and not name.startswith("instructor.")
    )
    assert sorted(plugins[4:]) == instructors_only(lab_module.LAB_PLUGINS)
    assert sorted(extensions[5:]) == instructors_only(lab_module.SERVER_EXTENSIONS)
    assert len(plugins[4:]) == 3 and len(extensions[5:]) == 2


def test_the_student_requirements_are_the_courses_pins():
    """Is every package of requirements-student.txt pinned exactly, at the version
    requirements.txt pins, and does the students' page's one pip line install the same?"""

    def pins(path):
        lines = [l.split("#")[0].strip() for l in (ROOT / path).read_text().splitlines()]
        return [l for l in lines if l]

    student, course = pins("requirements-student.txt"), set(pins("requirements.txt"))
    assert student and all(re.fullmatch(r"[\w.-]+==[\w.]+", p) for p in student)
    assert set(student) <= course
    assert {"numpy", "matplotlib", "scikit-learn", "jupyterlab"} <= {
        p.split("==")[0] for p in student
    }
    one_line = re.search(r"`pip install (numpy==[^`]*)`", student_section()).group(1).split()
    assert one_line == student
    assert f"nbgrader=={dict(p.split('==') for p in course)['nbgrader']}" in command(
        "pip install nbgrader"
    )


@pytest.mark.slow
def test_the_release_runs_in_the_student_environment(installed, tmp_path):
    """In the student's bare environment (requirements-student.txt only, nbgrader aside),
    does the release notebook, answered right, run from top to bottom with the specification's
    zeros and He numbers, and its final check say it is ready; and does the students' page's
    fallback, `python -m jupyterlab`, start JupyterLab of that environment?"""
    env, venv = installed
    work = tmp_path / "initialization"
    shutil.copytree(ROOT / "release" / ASSIGNMENT, work)
    release = nbformat.read(work / NOTEBOOK, as_version=4)
    nbformat.write(fill(release, CORRECT), work / NOTEBOOK)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace", NOTEBOOK],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    ran = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(work / NOTEBOOK, 4).cells}
    text = lambda grade_id: "".join(o.get("text", "") for o in ran[grade_id].outputs)  # noqa: E731
    for kind in ("zeros", "he"):
        assert spec_numbers.run_problems(kind, text(f"train-{kind}")) == []
    assert "it is ready to submit" in text("check-submission").replace("\n", " ")
    stderr = [o for c in ran.values() for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert stderr == []
    # the students' page's fallback when `jupyter` is not found: `python -m jupyterlab`
    assert "`python -m jupyterlab Initialization.ipynb`" in student_section()
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "jupyterlab", "--version"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert version.stdout.strip() == "4.6.6", version.stdout + version.stderr


def start_jupyter_lab(env, venv, work, log_path):
    """The students' page's `jupyter lab`, from the student's environment, in their folder; with
    what a test needs added: a port, a token, no browser of its own (and, as root in CI, the
    permission to run as root)."""
    port, token = lab_module.free_port(preferred=None), "a-token-for-this-student"
    jupyter = command("jupyter lab ")  # not `jupyter labextension`
    assert jupyter[:2] == ["jupyter", "lab"]
    arguments = [
        str(venv / "bin" / "jupyter"), "lab", "--no-browser", f"--port={port}",
        f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
        *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []),
    ]  # fmt: skip
    log = open(log_path, "ab")
    process = subprocess.Popen(
        arguments, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    log.close()
    lab = lab_module.Lab(
        "exchange", Path(work), port, token, process, Path(tempfile.mkdtemp()), Path(log_path)
    )
    try:
        lab_module.wait_until_ready(lab, 180)
    except BaseException:
        lab.stop()
        raise
    return lab


@pytest.fixture(scope="module")
def student_lab(installed, room):
    """The student's JupyterLab, started as the students' page says, in their home folder, once
    their nbgrader settings name the course's exchange."""
    env, venv = installed
    home = Path(env["HOME"])
    settings = home / ".jupyter" / "nbgrader_config.py"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(nbgrader_settings(room.exchange))
    log_path = ARTIFACTS / "submit-lab.log"
    log_path.unlink(missing_ok=True)
    lab = start_jupyter_lab(env, venv, home, log_path)
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


@in_the_browser
def test_the_students_jupyterlab_shows_no_instructor_tool(student, student_lab):
    """With nbgrader installed in the student's environment and the students' page's two
    lines run, does JupyterLab show the student's tools only: in the Nbgrader menu and in the
    command palette, the Assignment List and nothing else (no Formgrader, Formgrader (local),
    Course List, Create assignment), no Create Assignment panel, and on the server no
    Formgrader nor course list; while nbgrader's extension is installed and loaded (what
    hides the tools is the setting, not a missing package)?"""
    page = student.page
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    assert "@jupyter/nbgrader" in [e["name"] for e in config["federated_extensions"]]
    disabled = config["disabledExtensions"]
    assert sorted(disabled) == sorted(INSTRUCTOR_TOOLS_OFF[0][4:]), disabled
    page.locator(".jp-Launcher").wait_for()  # the layout restored: the menus answer
    menu(page, "View", "Activate Command Palette")
    page.locator(".lm-CommandPalette-input").fill("nbgrader")
    palette = page.locator(".lm-CommandPalette-item .lm-CommandPalette-itemLabel:visible")
    palette.first.wait_for()
    found = palette.all_inner_texts()
    student.screenshot("command-palette")
    page.keyboard.press("Escape")
    page.locator(".lm-CommandPalette-input").wait_for(state="hidden")
    menu(page, "Nbgrader")
    # (the menu keeps an item, hidden, for each command it would show if it were there)
    items = page.locator(".lm-Menu .lm-Menu-itemLabel:visible").all_inner_texts()
    student.screenshot("nbgrader-menu")
    page.keyboard.press("Escape")
    page.locator(".lm-Menu").wait_for(state="detached")
    assert [item.strip() for item in items] == ["Assignment List"]
    assert [item.strip() for item in found] == ["Assignment List"]
    assert page.locator("#nbgrader-create_assignemnt").count() == 0
    assert page.locator(".lm-TabBar-tab", has_text="Create Assignment").count() == 0
    assert student_lab.get("formgrader")[0] == 404
    assert student_lab.get("formgraders")[0] == 404  # the course list
    assert student_lab.get("courses")[0] == 200  # the Assignments tab's own


# ---------------------------------------------------------------------------------------
# The Assignments tab


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


# ---------------------------------------------------------------------------------------
# The student works: a typo, a named mistake, the check, then the right answers


def run(page, *indexes):
    """Run these cells, one after the other (select each, Ctrl+Enter), as a student does."""
    for index in indexes:
        before = prompt(page, index)
        cell(page, index).locator(".jp-InputPrompt").click()  # selects it, in command mode
        page.keyboard.press("Control+Enter")
        wait_for_a_new_run(page, index, before)


def dismiss_news(page):
    """Answer no to JupyterLab's question about news, which a fresh home gets after a while."""
    no = page.locator(".jp-toast-button", has_text=re.compile("^No$"))
    if no.count():
        no.first.click()


def run_cell_and_test(page, positions, exercise):
    """Run an answer cell, then its public test; the test's output."""
    test = positions[f"public-test-{exercise}"]
    run(page, positions[f"initialize_parameters_{exercise}"], test)
    dismiss_news(page)
    cell(page, test).locator(".jp-OutputArea").scroll_into_view_if_needed()
    return outputs_text(page, test)


def retype_line(page, index, old, new):
    """Replace the line of a cell that holds old by the line with new instead (typed)."""
    line = cell(page, index).locator(".cm-line", has_text=old).first
    text = line.inner_text()
    line.click()
    page.keyboard.press("Home")  # to the end of the indentation
    page.keyboard.press("Shift+End")
    page.keyboard.type(text.strip().replace(old, new))
    page.keyboard.press("Escape")


def screen_lines(page, index):
    """(lines of text, lines on the screen) of each output of a cell: equal when no line of
    the output is wrapped by the notebook."""
    return (
        cell(page, index)
        .locator(".jp-OutputArea-output pre")
        .evaluate_all(
            """pres => pres.map(pre => {
            const lines = pre.textContent.replace(/\\n$/, '').split('\\n').length;
            const height = parseFloat(getComputedStyle(pre).lineHeight);
            return [lines, Math.round(pre.getBoundingClientRect().height / height)];
        })"""
        )
    )


def unwrapped(text):
    """A message printed over several lines (continued with three spaces) as one line."""
    return re.sub(r"\n {3}(?=\S)", " ", text)


@pytest.fixture(scope="module")
def opened(fetched, student_lab):
    """The student opened the notebook from the Assignments tab."""
    page = fetched.page
    notebook_link(page).click()
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    wait_until_idle(page, 120)
    positions = cell_positions(student_lab.root_dir / ASSIGNMENT / NOTEBOOK)
    run(page, positions["imports"], positions["load-data"])
    dismiss_news(page)
    return {"watched": fetched, "positions": positions}


@in_the_browser
def test_the_kernel_is_the_students_own_python(opened, student_lab, installed):
    """Does the notebook's kernel run on the student's environment (not the course's)?"""
    _, venv = installed
    kernels = []
    for pid in descendants(student_lab.process.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"ipykernel_launcher" in part for part in argv):
            kernels.append(argv[0].decode())
    assert kernels and all(k.startswith(str(venv)) for k in kernels), kernels


@pytest.fixture(scope="module")
def typo(opened):
    """The student typed the zeros answer with `np.zeroes` and ran it and its public test."""
    watched, positions = opened["watched"], opened["positions"]
    type_answer(watched.page, positions["initialize_parameters_zeros"], TYPO)
    text = run_cell_and_test(watched.page, positions, "zeros")
    watched.screenshot("typo-named")
    return {
        **opened,
        "text": text,
        "lines": screen_lines(watched.page, positions["public-test-zeros"]),
    }


@in_the_browser
def test_a_typo_names_the_students_line_and_the_name_meant(typo):
    """Does the public test name the error, the line of the student's cell with its number
    (and nothing of numpy's), and the name the student meant, in whole sentences that each
    fit the notebook's width?"""
    text, answer = typo["text"], TYPO.splitlines()[0]
    number = next(n for n, line in enumerate(CELL_LINES["zeros"], 1) if "YOUR CODE HERE" in line)
    assert (
        "Mistake: error raised. Calling the function with layers_dims=[3, 2, 1] raised AttributeError: module 'numpy' has no attribute 'zeroes'."
        in unwrapped(text)
    )
    assert (
        f"Hint: Did you mean `np.zeros`? Fix line {number} of your answer cell, shown below, run that cell again, then run this test again."
        in unwrapped(text)
    )
    assert f"line {number}: {answer[:40]}" in text
    assert "site-packages" not in text and "Traceback" not in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert all(lines == shown for lines, shown in typo["lines"]), typo["lines"]


@pytest.fixture(scope="module")
def mistake(typo):
    """The student fixed the typo, typed the large random answer with `* 0.01`, ran both."""
    watched, positions = typo["watched"], typo["positions"]
    page = watched.page
    retype_line(page, positions["initialize_parameters_zeros"], "np.zeroes", "np.zeros")
    zeros = run_cell_and_test(page, positions, "zeros")
    type_answer(page, positions["initialize_parameters_random"], SMALL)
    text = run_cell_and_test(page, positions, "random")
    watched.screenshot("mistake-named")
    lines = screen_lines(page, positions["public-test-random"])
    return {**typo, "zeros": zeros, "text": text, "lines": lines}


@in_the_browser
def test_a_named_mistake_is_named_with_a_hint_in_the_students_terms(mistake):
    """Once the typo is fixed, does the zeros test pass; does `* 0.01` get its name, the
    factor found and a whole-sentence hint, each line fitting the notebook's width?"""
    assert mistake["zeros"].rstrip().endswith("All tests passed.")
    text = unwrapped(mistake["text"])
    assert (
        "Mistake: wrong scale for large random. The weights are the right draw multiplied by 0.01 instead of 10. Hint: This exercise wants large weights: `np.random.randn(...) * 10`."
        in text
    )
    assert (
        max(
            len(line)
            for line in mistake["text"].splitlines()
            if not re.match(r"[Wb]\d = |\s*\[", line)
        )
        <= WIDTH
    )
    assert all(lines == shown for lines, shown in mistake["lines"]), mistake["lines"]


@pytest.fixture(scope="module")
def validated(mistake):
    """The student saved and clicked Validate: nbgrader's dialog."""
    watched = mistake["watched"]
    page = watched.page
    save(page)
    page.locator(".jp-Toolbar-item", has_text="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("#validation-message").wait_for(timeout=RUN_ALL_S * 1000)
    watched.screenshot("validate-dialog")
    text = dialog.locator("#validation-message").inner_text()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.wait_for(state="detached")
    return {**mistake, "dialog": text}


@in_the_browser
def test_validate_names_the_mistake_in_its_dialog(validated):
    """Does nbgrader's Validate dialog say which exercise loses points and name its mistake,
    not only "Partial credit"?"""
    text = unwrapped(validated["dialog"])
    assert "grade_exercise(initialize_parameters_random" in text  # the failed cell
    assert "Score on the checks: 50 % of the points." in text
    assert "Mistake: wrong scale for large random." in text
    assert "passed some but not all of the tests" not in text


@pytest.fixture(scope="module")
def checked(validated, student_lab):
    """The student ran the notebook's final check (the notebook saved, exercise 3 still
    unanswered)."""
    watched, positions = validated["watched"], validated["positions"]
    page = watched.page
    position = check_cell_position(positions, student_lab.root_dir / ASSIGNMENT / NOTEBOOK)
    run(page, position)
    dismiss_news(page)
    painted(page, position)
    watched.screenshot("check-names-the-failing-test")
    return {
        **validated,
        "check": outputs_text(page, position),
        "check_lines": screen_lines(page, position),
    }


@in_the_browser
def test_the_check_names_the_failing_public_test_and_is_not_ready(checked):
    """Does the final check name exercise 2's failing public test and its mistake, and the
    unanswered exercise 3, and not say "ready to submit"?"""
    text = re.sub(r"\n    (?!Fix: )", " ", checked["check"])
    assert "In exercise 2, `initialize_parameters_random`" in text
    assert (
        "its public test fails on the notebook's example: Mistake: wrong scale for large random."
        in text
    )
    assert "In exercise 3, `initialize_parameters_he`" in text and "not done yet" in text
    assert "ready to submit" not in text
    assert all(lines == shown for lines, shown in checked["check_lines"]), checked["check_lines"]


@pytest.fixture(scope="module")
def answered(checked, student_lab):
    """The student corrected `* 0.01`, answered exercise 3, saved and ran every cell."""
    watched, positions = checked["watched"], checked["positions"]
    page = watched.page
    retype_line(page, positions["initialize_parameters_random"], "* 0.01", "* 10")
    type_answer(page, positions["initialize_parameters_he"], HE)
    save(page)
    menu(page, "Run", "Run All Cells")
    wait_until_idle(page, RUN_ALL_S, every_cell_ran=True)
    for step, cell_id in [
        ("he-decision-boundary", "boundary-he"),
        ("check-ready", "check-submission"),
    ]:
        painted(page, positions[cell_id])
        watched.screenshot(step)
    return {
        **checked,
        "ready": outputs_text(
            page, check_cell_position(positions, student_lab.root_dir / ASSIGNMENT / NOTEBOOK)
        ),
    }


@in_the_browser
def test_are_the_typed_answers_saved_and_the_check_ready(answered, student_lab):
    """Does the notebook in the student's folder hold the three right answers as typed, and
    does the final check, run after them, say it is ready to submit?"""
    saved = nbformat.read(student_lab.root_dir / ASSIGNMENT / NOTEBOOK, as_version=4)
    by_id = {c.get("id"): c.source for c in saved.cells}
    for exercise, answer in CORRECT.items():
        source = by_id[f"initialize_parameters_{exercise}"]
        for line in answer.splitlines():
            assert line in source, (exercise, line)
        assert "raise NotImplementedError()" not in source, exercise
    assert "it is ready to submit" in answered["ready"].replace("\n", " ")


@pytest.fixture(scope="module")
def submitted(answered, classroom):
    """With the service running, the student went back to the Assignments tab and clicked
    Submit."""
    room = classroom.running()
    watched = answered["watched"]
    page = watched.page
    show_tab(page)
    assignment_row(page, "fetched").locator("button", has_text="Submit").click()
    clicked = time.monotonic()
    assignment_row(page, "submitted").locator("button", has_text="Fetch Feedback").wait_for()
    watched.screenshot("submitted")
    room.wait_for(lambda: room.steps(STUDENT, "received"), "the service to receive it")
    return {"page": watched, "clicked": clicked}


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
    room.wait_for(lambda: line in room.log.read_text(), "the service's log line")


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
    page.on("requestfailed", lambda r: failed_requests.append((r.url, r.failure)))
    item.dblclick()
    frame = page.frame_locator(".jp-HTMLViewer iframe")
    frame.locator("body", has_text="Your feedback at a glance").wait_for()
    watched.screenshot("feedback")
    folded = frame.locator("math:visible").count()
    frame.locator("details.notebook > summary").click()  # "Your whole notebook": unfolded
    frame.locator("math").first.wait_for()
    watched.screenshot("feedback-notebook-unfolded")
    maths = frame.locator("math").evaluate_all(
        "ms => ms.map(m => { const r = m.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    return {
        "text": frame.locator("body").inner_text(),
        "maths": maths,
        "folded maths": folded,
        "sideways": frame.locator("html").evaluate("e => e.scrollWidth - e.clientWidth"),
        "lab_errors": lab_errors,
        "page_errors": watched.errors[len(lab_errors) :],
        # JupyterLab's HTML viewer loads the page into its frame from an object URL (blob:);
        # when it renders the file again (once it has read it whole) it revokes the URL before,
        # and that first load fails: only the URL the frame shows in the end must not.
        "failed_requests": [
            f"{url} ({failure})"
            for url, failure in failed_requests
            if not url.startswith("blob:") or url in {shown.url for shown in page.frames}
        ],
    }


@in_the_browser
def test_does_the_student_read_full_marks_in_the_feedback(feedback, room, student_lab):
    """Does the feedback page the student opened show full marks, the score the service logged,
    and none of the hidden tests; is it the one page fetched into the student's folder?"""
    text = feedback["text"]
    assert f"Initialization (Score: {FULL:.1f} / {FULL:.1f})" in text
    each = shares_of(1, 1, 1)  # the three test cells, full marks each
    titles = [f"Exercise {n}, initialize_parameters_{kind}" for n, kind in enumerate(CORRECT, 1)]
    assert re.findall(r"(Exercise \d, \w+) \(Score: ([\d.]+) / ([\d.]+)\)", text) == [
        (title, f"{points:.1f}", f"{points:.1f}") for title, points in zip(titles, each)
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
def test_does_the_summary_at_the_top_say_it_all_with_the_math_drawn(feedback):
    """Does the page open with the summary (the score, each exercise by name with its points and
    "All checks passed."), the notebook folded (no formula shown), and once the student unfolds
    it, draw its formulas as MathML in JupyterLab's viewer, without a "Trust HTML" click, and
    need no sideways scrolling?"""
    text = feedback["text"]
    top = text.split("Your feedback at a glance", 1)[1].split("Before you submit", 1)[0]
    assert f"Score: {FULL:g} / {FULL:g}" in top
    for number, (kind, points) in enumerate(zip(CORRECT, shares_of(1, 1, 1)), 1):
        line = f"Exercise {number}, initialize_parameters_{kind}: {points:g} / {points:g} points."
        assert f"{line} All checks passed." in top, top
    assert feedback["folded maths"] == 0
    assert len(feedback["maths"]) > 20
    assert all(width > 0 and height > 0 for width, height in feedback["maths"])
    assert "\\frac" not in text and "$$" not in text
    assert feedback["sideways"] <= 0


@in_the_browser
def test_does_the_page_show_its_math_in_chromium_with_the_network_off(
    browser,  # noqa: F811 (the imported fixture)
    feedback,
    student_lab,
):
    """Opened straight from the student's folder in Chromium with the network off, does the
    page make no request at all and draw its formulas (a screenshot is kept)?"""
    (page_file,) = (student_lab.root_dir / ASSIGNMENT / "feedback").glob("*/*.html")
    context = browser.new_context(offline=True, viewport=VIEWPORT)
    try:
        page = context.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        page.locator("details.notebook > summary").click()  # the notebook, with its math
        block = page.locator('math[display="block"]').first
        block.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, -200)")
        page.screenshot(path=ARTIFACTS / "submit-feedback-offline-math.png")
        sizes = page.locator("math").evaluate_all(
            "ms => ms.map(m => { const r = m.getBoundingClientRect(); return [r.width, r.height]; })"
        )
        fraction = block.locator("mfrac").first.bounding_box()
    finally:
        context.close()
    assert [url for url in requests if not url.startswith("file:")] == []
    assert len(sizes) > 20 and all(w > 0 and h > 0 for w, h in sizes)
    assert fraction["height"] > 20  # a built-up fraction, numerator over denominator


@in_the_browser
def test_does_jupyterlab_log_no_javascript_error(feedback):
    """Does JupyterLab log no JavaScript error through the whole round, and the feedback page,
    which has no script, none either, nor any request that fails?"""
    assert not feedback["lab_errors"], feedback["lab_errors"]
    assert not feedback["page_errors"], feedback["page_errors"]
    assert not feedback["failed_requests"], feedback["failed_requests"]
