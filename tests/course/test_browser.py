"""The course as people use it: JupyterLab in a real browser (Debian's Chromium, headless).

A student answers the three exercises in the notebook, runs it, checks it before submitting
and sees a public test name a mistake; an instructor grades the demo class and reads the
scores in nbgrader's Formgrader. JupyterLab is started by instructor/lab.py, the code behind
`python -m instructor lab student|instructor`, in temporary copies of the course, and driven
with Playwright (tests/lab_harness.py). Screenshots of every step land in artifacts/browser/.

The browser tests need /usr/bin/chromium (`make browser-deps`); without it they are skipped,
except in CI (CI=true), where they fail. The student's tests share one JupyterLab session and
run in file order, each step after the one before, as a student works. The first tests check
the `lab` command itself, without a browser.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import spec_numbers
from answers import CORRECT
from conftest import copy_course, shares_of
from harness import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK
from lab_harness import (
    ARTIFACTS,
    TIMEOUT_MS,
    VIEWPORT,
    Watched,
    browser,  # noqa: F401 (a fixture)
    cell,
    cell_positions,
    check_cell_position,
    descendants,
    error_outputs,
    in_the_browser,
    jupyter_environment,
    menu,
    open_terminal_and_run,
    outputs_text,
    painted,
    prompt,
    save,
    screenshot_on_failure,  # noqa: F401 (a fixture)
    type_answer,
    wait_for_a_new_run,
    wait_until_idle,
)

from instructor import lab as lab_module

pytestmark = pytest.mark.heavy

RUN_ALL_TIMEOUT_S = 240  # three trainings of 15,000 iterations, on a busy CI machine

# The three training runs; their printed costs and accuracies are checked against the
# specification with tests/spec_numbers.py's tolerances (the large random run's costs move
# with the processor).
KINDS = ["zeros", "random", "he"]


# ---------------------------------------------------------------------------------------
# The lab command


def test_student_work_keeps_the_students_files(course, tmp_path):
    """Does preparing the student work folder again keep the student's files as they are,
    and copy back only what is missing?"""
    work = tmp_path / "work"
    copied, kept = lab_module.prepare_student_work(work, course, ASSIGNMENT)
    release = course / "release" / ASSIGNMENT
    assert sorted(copied) == sorted(p.name for p in release.iterdir() if p.is_file())
    assert kept == []
    (work / NOTEBOOK).write_text("the student's own work")
    (work / "public_tests.py").unlink()
    copied, kept = lab_module.prepare_student_work(work, course, ASSIGNMENT)
    assert copied == ["public_tests.py"]
    assert NOTEBOOK in kept
    assert (work / NOTEBOOK).read_text() == "the student's own work"


def http_status(url, token):
    """The HTTP status of a GET with a token."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def listening_addresses(port):
    """The local IPv4 and IPv6 addresses listening on a TCP port (from /proc/net)."""
    addresses = []
    for table in ["/proc/net/tcp", "/proc/net/tcp6"]:
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.append(address)
    return addresses


def until_the_url(process):
    """The lines the lab command printed up to its "JupyterLab: URL" line (asserted)."""
    printed = []
    for line in process.stdout:
        printed.append(line)
        if line.startswith("JupyterLab:"):
            break
    assert printed and printed[-1].startswith("JupyterLab:"), "".join(printed)
    return printed


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["student", "instructor"])
def test_lab_command_serves_on_loopback_behind_a_token(course, tmp_path, mode):
    """Does `python -m instructor lab MODE` print a 127.0.0.1 URL with its token, listen on
    127.0.0.1 only, refuse requests without the token, and stop cleanly on Ctrl+C?"""
    port, token = lab_module.free_port(preferred=None), "a-token-for-this-test"
    process = subprocess.Popen(
        [sys.executable, "-m", "instructor", "lab", mode, "--port", str(port), "--token", token],
        cwd=course,
        env=jupyter_environment(tmp_path / "jupyter"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        printed = until_the_url(process)
        url = printed[-1].split()[-1]
        start = "lab/tree/Initialization.ipynb" if mode == "student" else "lab"
        assert url == f"http://127.0.0.1:{port}/{start}?token={token}", "".join(printed)
        assert listening_addresses(port) == ["0100007F"]  # 127.0.0.1, nothing else
        base = f"http://127.0.0.1:{port}"
        assert http_status(f"{base}/api/status", "wrong-token") == 403
        assert http_status(f"{base}/api/status", token) == 200
        assert http_status(f"{base}/formgrader", token) == (200 if mode == "instructor" else 404)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C in its terminal
        rest = process.communicate(timeout=30)[0]
    assert process.returncode == 0, rest
    assert "Stopping JupyterLab" in rest
    assert listening_addresses(port) == []


# ---------------------------------------------------------------------------------------
# A student answers the exercises in JupyterLab


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """JupyterLab as `python -m instructor lab student` starts it, in a copy of the course."""
    course = copy_course(tmp_path_factory.mktemp("student-course"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lab, _, _ = lab_module.start_student(
        course,
        ASSIGNMENT,
        port=lab_module.free_port(preferred=None),
        env=jupyter_environment(tmp_path_factory.mktemp("student-jupyter")),
        log_path=ARTIFACTS / "student-lab.log",
    )
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def student_notebook(browser, student_lab):  # noqa: F811 (the imported fixture)
    """The student's notebook open in JupyterLab, its kernel started and idle."""
    page = Watched(browser.new_page(viewport=VIEWPORT), "student")
    page.page.goto(student_lab.start_url())
    page.page.wait_for_selector(".jp-Notebook .jp-Cell")
    wait_until_idle(page.page, TIMEOUT_MS / 1000)
    page.screenshot("notebook-opened")
    yield page
    page.page.close()


@pytest.fixture(scope="module")
def positions(student_lab):
    """{cell id: position} of the student's notebook."""
    return cell_positions(student_lab.root_dir / NOTEBOOK)


@in_the_browser
def test_students_see_no_instructor_tools(student_notebook, student_lab):
    """Does the student's JupyterLab offer nbgrader's Validate button but no Nbgrader menu,
    Formgrader or Create Assignment panel?"""
    page = student_notebook.page
    assert page.locator(".jp-Toolbar-item", has_text="Validate").count() == 1
    menus = page.locator(".lm-MenuBar-itemLabel").all_text_contents()
    assert "Run" in menus and "Nbgrader" not in menus
    assert page.locator(".lm-TabBar-tab", has_text="Create Assignment").count() == 0
    assert student_lab.get("formgrader")[0] == 404
    student_notebook.assert_no_javascript_errors()


@pytest.fixture(scope="module")
def answered_notebook(student_notebook, positions):
    """The notebook after the student typed the three correct answers, saved it and ran
    every cell (Run > Run All Cells)."""
    page = student_notebook.page
    for exercise, answer in CORRECT.items():
        type_answer(page, positions[f"initialize_parameters_{exercise}"], answer)
    cell(page, positions["initialize_parameters_zeros"])
    student_notebook.screenshot("zeros-answer-typed")
    save(page)
    started = time.monotonic()
    menu(page, "Run", "Run All Cells")
    wait_until_idle(page, RUN_ALL_TIMEOUT_S, every_cell_ran=True)
    print(f"Run All Cells took {time.monotonic() - started:.1f} s")
    for step, cell_id in [
        ("data-plotted", "load-data"),
        ("zeros-public-test", "public-test-zeros"),
        ("random-training", "train-random"),
        ("he-decision-boundary", "boundary-he"),
        ("conclusions", "conclusions"),
    ]:
        painted(page, positions[cell_id])
        student_notebook.screenshot(step)
    return student_notebook


def assert_healthy(notebook, positions):
    """No JavaScript error in the page, and no error or stderr output in the notebook."""
    notebook.assert_no_javascript_errors()
    shown = list(error_outputs(notebook.page))
    assert not shown, f"error outputs in the notebook (cell position, text): {shown}"


@in_the_browser
def test_typed_answers_pass_the_three_public_tests(answered_notebook, positions):
    """Do the answers typed in JupyterLab pass the three public tests, and only those say so?"""
    page = answered_notebook.page
    for exercise in CORRECT:
        text = outputs_text(page, positions[f"public-test-{exercise}"])
        assert text.rstrip().endswith("All tests passed."), f"{exercise}: {text}"
    shown = page.locator(".jp-OutputArea-output", has_text="All tests passed.")
    assert shown.count() == 3
    assert_healthy(answered_notebook, positions)


@in_the_browser
@pytest.mark.parametrize("kind", KINDS)
def test_each_training_shows_the_expected_costs(answered_notebook, positions, kind):
    """Does each training run show its 15 costs and its accuracies as the specification has
    them (zeros and He within 1e-12, large random within its measured tolerance)?"""
    text = outputs_text(answered_notebook.page, positions[f"train-{kind}"])
    assert spec_numbers.run_problems(kind, text) == []
    assert_healthy(answered_notebook, positions)


@in_the_browser
def test_plots_are_rendered_images(answered_notebook, positions):
    """Does the page show the data, the three cost curves and the three decision boundaries
    as images the browser decoded?"""
    page = answered_notebook.page
    plotting = ["load-data", "scale-plot"]
    plotting += [f"{step}-{k}" for k in KINDS for step in ("train", "boundary")]
    for cell_id in plotting:
        images = cell(page, positions[cell_id]).locator(".jp-OutputArea-output img")
        assert images.count() == 1, f"{cell_id}: {images.count()} images"
        images.first.scroll_into_view_if_needed()
        width, height = images.first.evaluate(
            "img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])"
        )
        assert width >= 300 and height >= 200, f"{cell_id}: a {width}x{height} image"
    assert_healthy(answered_notebook, positions)


def check_from_the_command_line(work):
    """What `python3 check_submission.py Initialization.ipynb` prints on the saved notebook,
    asserting that it passes (exit code 0): the reference for what the lab shows."""
    result = subprocess.run(
        [sys.executable, "check_submission.py", NOTEBOOK], cwd=work, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@in_the_browser
def test_presubmission_check_cell_passes(answered_notebook, positions, student_lab):
    """After saving (Ctrl+S), does the notebook's own check cell, run again, show the
    check's success report?"""
    page, work = answered_notebook.page, student_lab.root_dir
    save(page)
    reference = check_from_the_command_line(work)
    position = check_cell_position(positions, work / NOTEBOOK)
    cell(page, position).click()
    before = prompt(page, position)
    page.keyboard.press("Shift+Enter")
    wait_for_a_new_run(page, position, before)
    cell(page, position)
    answered_notebook.screenshot("check-cell")
    assert reference and reference in outputs_text(page, position)
    assert_healthy(answered_notebook, positions)


@in_the_browser
def test_presubmission_check_passes_in_a_terminal(answered_notebook, positions, student_lab):
    """Does `python3 check_submission.py Initialization.ipynb`, typed in a JupyterLab
    terminal as the notebook's advice says, pass the saved notebook?"""
    page = answered_notebook.page
    save(page)
    reference = check_from_the_command_line(student_lab.root_dir)
    try:
        text = open_terminal_and_run(
            page,
            f"python3 check_submission.py {NOTEBOOK}; echo check-exit-code=$?",
            r"check-exit-code=\d",
        )
        answered_notebook.screenshot("check-in-terminal")
    finally:
        page.locator(".lm-TabBar-tab", has_text=NOTEBOOK).click()  # back to the notebook
    assert "check-exit-code=0" in text
    assert reference.splitlines()[-1] in text
    assert_healthy(answered_notebook, positions)


@in_the_browser
def test_a_broken_answer_is_named_by_its_public_test(answered_notebook, positions):
    """When the student changes `* 10` to `* 0.01` in the large random answer and re-runs it
    and its public test, does the test name the mistake?"""
    page = answered_notebook.page
    answer = cell(page, positions["initialize_parameters_random"])
    answer.locator(".cm-line", has_text="* 10").click()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("0.01")
    answered_notebook.screenshot("random-answer-broken")
    assert "np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01" in answer.inner_text()
    before = prompt(page, positions["public-test-random"])
    page.keyboard.press("Shift+Enter")  # runs the answer cell, selects its public test
    page.keyboard.press("Shift+Enter")  # runs the public test
    wait_for_a_new_run(page, positions["public-test-random"], before)
    text = outputs_text(page, positions["public-test-random"])
    cell(page, positions["public-test-random"]).locator(
        ".jp-OutputArea"
    ).scroll_into_view_if_needed()
    answered_notebook.screenshot("random-mistake-named")
    assert "Mistake: wrong scale for large random" in text
    assert "All tests passed." not in text
    assert_healthy(answered_notebook, positions)


def retype_line(page, answer, has_text, new_text):
    """Replace the answer cell's line that holds has_text by new_text (its indentation
    included), typed as a student types it."""
    answer.locator(".cm-line", has_text=has_text).first.click()
    page.keyboard.press("Home")  # to the end of the indentation
    page.keyboard.press("Home")  # to the start of the line
    page.keyboard.press("Shift+End")
    page.keyboard.type(new_text)


def line_number(answer, has_text):
    """The number (from 1) of the first line of the answer cell that holds has_text."""
    lines = answer.locator(".cm-line").all_text_contents()
    return next(n for n, line in enumerate(lines, 1) if has_text in line)


def run_answer_then_test(page, positions, exercise):
    """Run the answer cell being edited (Shift+Enter), then, once it has run, its public test
    (Shift+Enter again: JupyterLab drops a run queued behind a cell that fails); return the
    text of the public test's outputs."""
    answer, test = (
        positions[f"initialize_parameters_{exercise}"],
        positions[f"public-test-{exercise}"],
    )
    before = prompt(page, answer)
    page.keyboard.press("Shift+Enter")
    wait_for_a_new_run(page, answer, before)
    before = prompt(page, test)
    page.keyboard.press("Shift+Enter")
    wait_for_a_new_run(page, test, before)
    cell(page, test).locator(".jp-OutputArea").scroll_into_view_if_needed()
    return outputs_text(page, test)


def flat(text):
    """Text with every run of spaces and line breaks made one space (the tests wrap lines)."""
    return " ".join(text.split())


def assert_not_tested(notebook, positions, text, *parts):
    """The public test said "Not tested", then each part in order, gave no verdict (no
    parameters, no mistake, no pass), and showed neither an error nor stderr."""
    printed = flat(text)
    assert printed.startswith("Not tested: "), text
    at = [printed.find(flat(part)) for part in parts]
    assert -1 not in at and at == sorted(at), (parts, text)
    for verdict in ("W1 =", "Mistake", "All tests passed", "Traceback"):
        assert verdict not in printed, text
    test = positions["public-test-random"]
    assert [shown for shown in error_outputs(notebook.page) if shown[0] == test] == []
    notebook.assert_no_javascript_errors()


RIGHT_W = "parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10"
UNCLOSED_W = RIGHT_W.replace("l - 1]) * 10", "l - 1] * 10")
RIGHT_B = "parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))"
IN_LOOP = " " * 8  # the indentation of the loop's body
IN_MEMORY = (
    "The `initialize_parameters_random` still in memory comes from an earlier run of the "
    "cell, not from the code you see, so this test does not check it."
)


@in_the_browser
def test_a_broken_answer_cell_is_named_and_no_older_code_is_tested(answered_notebook, positions):
    """After a correct run of the large random answer, does its public test, for each mistake
    typed into the cell and run (a parenthesis left open, a line indented too far, an
    annotation whose name is not defined when the function is), name the line and Python's
    error, say that it does not test the older definition still in memory, and give no
    verdict and no traceback; and test again once the cell is put right?"""
    notebook, page = answered_notebook, answered_notebook.page
    answer = cell(page, positions["initialize_parameters_random"])
    retype_line(page, answer, "np.random.randn(layers_dims[l]", IN_LOOP + RIGHT_W)
    assert "All tests passed." in run_answer_then_test(page, positions, "random")

    retype_line(page, answer, "np.random.randn(layers_dims[l]", IN_LOOP + UNCLOSED_W)
    line = line_number(answer, "np.random.randn(layers_dims[l]")
    text = run_answer_then_test(page, positions, "random")
    notebook.screenshot("random-syntax-error-named")
    assert_not_tested(
        notebook, positions, text,
        f"your answer cell for exercise 2 (the cell above) did not run. Python cannot read it, "
        f"at line {line}: '(' was never closed.",
        f"line {line}: {UNCLOSED_W}", IN_MEMORY, f"Fix line {line}, run the answer cell again",
    )  # fmt: skip

    retype_line(page, answer, "np.random.randn(layers_dims[l]", IN_LOOP + RIGHT_W)
    retype_line(page, answer, "np.zeros((layers_dims[l], 1))", IN_LOOP + "  " + RIGHT_B)
    line = line_number(answer, "np.zeros((layers_dims[l], 1))")
    text = run_answer_then_test(page, positions, "random")
    notebook.screenshot("random-indentation-error-named")
    assert_not_tested(
        notebook, positions, text,
        f"Python cannot read it, at line {line}: unexpected indent.",
        f"line {line}: parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))", IN_MEMORY,
    )  # fmt: skip

    retype_line(page, answer, "np.zeros((layers_dims[l], 1))", IN_LOOP + RIGHT_B)
    annotated = "def initialize_parameters_random(layers_dims) -> Dict[str, float]:"
    retype_line(page, answer, "def initialize_parameters_random(", annotated)
    line = line_number(answer, "def initialize_parameters_random(")
    text = run_answer_then_test(page, positions, "random")
    notebook.screenshot("random-name-error-named")
    assert_not_tested(
        notebook, positions, text,
        f"the last run of your answer cell for exercise 2 (the cell above) stopped at line "
        f"{line}: NameError: name 'Dict' is not defined.",
        f"line {line}: {annotated}", IN_MEMORY, "Did you mean `dict`?",
    )  # fmt: skip

    retype_line(
        page,
        answer,
        "def initialize_parameters_random(",
        "def initialize_parameters_random(layers_dims):",
    )
    assert "All tests passed." in run_answer_then_test(page, positions, "random")
    assert error_outputs(page) == []


@in_the_browser
def test_in_a_fresh_kernel_the_public_test_says_what_is_not_defined(answered_notebook, positions):
    """After Kernel > Restart Kernel and Clear Outputs of All Cells and the imports cell, does
    the public test say that the function is not defined yet (no NameError traceback); once
    the answer cell has run with a parenthesis left open, name the line and the error and say
    there is nothing to test; and pass once the cell is put right?"""
    notebook, page = answered_notebook, answered_notebook.page
    menu(page, "Kernel", "Restart Kernel and Clear Outputs of All Cells…")
    page.locator(".jp-Dialog .jp-mod-accept", has_text="Restart").click()
    page.locator(".jp-Dialog").wait_for(state="detached")
    wait_until_idle(page, TIMEOUT_MS / 1000)
    for cell_id in ("imports", "public-test-random"):
        before = prompt(page, positions[cell_id])
        cell(page, positions[cell_id]).click()
        page.keyboard.press("Shift+Enter")
        wait_for_a_new_run(page, positions[cell_id], before)
    text = outputs_text(page, positions["public-test-random"])
    notebook.screenshot("fresh-kernel-not-defined")
    assert_not_tested(
        notebook,
        positions,
        text,
        "Not tested: `initialize_parameters_random` is not defined yet. Run your answer cell for "
        "exercise 2 (the cell above), then run this test again.",
    )

    answer = cell(page, positions["initialize_parameters_random"])
    retype_line(page, answer, "np.random.randn(layers_dims[l]", IN_LOOP + UNCLOSED_W)
    line = line_number(answer, "np.random.randn(layers_dims[l]")
    text = run_answer_then_test(page, positions, "random")
    notebook.screenshot("fresh-kernel-syntax-error-named")
    assert_not_tested(
        notebook,
        positions,
        text,
        f"Python cannot read it, at line {line}: '(' was never closed.",
        f"line {line}: {UNCLOSED_W}",
        "So `initialize_parameters_random` is not defined, and there is nothing to test yet.",
    )

    retype_line(page, answer, "np.random.randn(layers_dims[l]", IN_LOOP + RIGHT_W)
    assert "All tests passed." in run_answer_then_test(page, positions, "random")


# ---------------------------------------------------------------------------------------
# An instructor reads the demo class's scores in the Formgrader


@pytest.fixture(scope="module")
def graded_demo_class(graded_demo):
    """The session's copy of the course whose demo class nbgrader graded (tests/conftest.py)."""
    return graded_demo


@pytest.fixture(scope="module")
def instructor_lab(graded_demo_class, tmp_path_factory):
    """JupyterLab as `python -m instructor lab instructor` starts it, on the graded course."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lab = lab_module.start_instructor(
        graded_demo_class,
        port=lab_module.free_port(preferred=None),
        env=jupyter_environment(tmp_path_factory.mktemp("instructor-jupyter")),
        log_path=ARTIFACTS / "instructor-lab.log",
    )
    yield lab
    lab.stop()


def gradebook_totals(course):
    """{student id: "score / max score"} as nbgrader's gradebook records them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.id: f"{s.score:g} / {s.max_score:g}" for s in gradebook.students}


@in_the_browser
def test_formgrader_shows_the_demo_class_scores(browser, instructor_lab, graded_demo_class):  # noqa: F811
    """Does the instructor's JupyterLab offer nbgrader's tools, and does the Formgrader (the
    link the lab command prints) list every demo student with the total score the gradebook
    holds (demo-correct: full marks)?"""
    watched = Watched(browser.new_page(viewport=VIEWPORT), "instructor")
    page = watched.page
    page.goto(instructor_lab.formgrader_url())
    formgrader = page.frame_locator("#formgrader iframe")
    formgrader.locator("td", has_text=re.compile(f"^{ASSIGNMENT}$")).wait_for()
    watched.screenshot("formgrader-assignments")

    formgrader.get_by_role("link", name="Manage Students").click()
    rows = formgrader.locator("#main-table tr", has=formgrader.locator("td.score"))
    rows.filter(has_text="demo-correct").wait_for()
    watched.screenshot("formgrader-students")
    shown = {
        row.locator("td.id").inner_text().strip(): row.locator("td.score").inner_text().strip()
        for row in rows.all()
    }
    full = sum(shares_of(1, 1, 1))
    assert shown["demo-correct"] == f"{full:g} / {full:g}"
    assert shown == gradebook_totals(graded_demo_class)
    assert len(shown) == len(list((graded_demo_class / DEMO_SUBMITTED).iterdir()))

    menu(page, "Nbgrader")
    items = page.locator(".lm-Menu-itemLabel").all_text_contents()
    assert {"Assignment List", "Course List", "Formgrader", "Create assignment"} <= set(items)
    page.keyboard.press("Escape")
    assert page.locator(".lm-TabBar-tab", has_text="Create Assignment").count() == 1
    watched.assert_no_javascript_errors()
    page.close()


# What Windows lacks: run the lab command with these removed from Python before it starts.
POSIX_ONLY = {
    "os": ["geteuid", "getuid", "killpg", "getpgid", "setsid", "setpgrp"],
    "signal": ["SIGKILL", "SIGHUP", "SIGQUIT", "SIGUSR1"],
}
POSIX_ONLY_MODULES = ["grp", "pwd", "fcntl", "termios", "resource"]  # an import of one fails
# The libraries are imported first, as they are (some pick their own code for the system at
# import time); then the course's command runs without these, as on Windows.
WITHOUT_POSIX = (
    "import os, signal, sys\n"
    "import instructor.commands.lab\n"
    "import nbgrader.preprocessors\n"  # which the course's config loads (it picks by sys.platform)
    + "".join(f"del {module}.{name}\n" for module, names in POSIX_ONLY.items() for name in names)
    + "".join(f"sys.modules[{name!r}] = None\n" for name in POSIX_ONLY_MODULES)
    + "sys.exit(instructor.commands.lab.main(sys.argv[1:]))\n"
)


@pytest.mark.slow
def test_lab_command_runs_where_posix_only_functions_are_missing(course, tmp_path):
    """With os.geteuid, os.killpg, SIGKILL, SIGHUP, the grp and pwd modules (and more of what
    Windows lacks) removed from Python, does `python -m instructor lab student` start
    JupyterLab, serve a kernel, and on Ctrl+C stop JupyterLab and its kernel?"""
    port, token = lab_module.free_port(preferred=None), "a-token-for-this-test"
    env = jupyter_environment(tmp_path / "jupyter")
    if os.geteuid() == 0:  # CI runs as root, which Windows never is: Jupyter must be told
        config = Path(env["JUPYTER_CONFIG_DIR"], "jupyter_server_config.json")
        config.write_text(json.dumps({"ServerApp": {"allow_root": True}}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            WITHOUT_POSIX,
            "student",
            "--port",
            str(port),
            "--token",
            token,
        ],
        cwd=course,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = until_the_url(process)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/kernels",
            data=json.dumps({"name": "python3"}).encode(),
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
            kernel = json.loads(response.read())["id"]
        # The kernel is up once it listens on its ports (stopped while it imports, it would
        # print a KeyboardInterrupt of its own).
        connection = Path(env["JUPYTER_RUNTIME_DIR"], f"kernel-{kernel}.json")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ports = json.loads(connection.read_text()) if connection.exists() else {}
            if ports and all(listening_addresses(ports[p]) for p in ("shell_port", "hb_port")):
                break
            time.sleep(0.2)
        started = descendants(process.pid)
        assert len(started) >= 2, started  # JupyterLab and its kernel
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C, to the command alone
        rest = process.communicate(timeout=60)[0]
    assert process.returncode == 0, "".join(printed) + rest
    assert "Stopping JupyterLab" in rest and "Traceback" not in rest
    assert listening_addresses(port) == []
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()]


def test_windows_terminals_use_jupyters_own_shell():
    """On Windows, is no POSIX shell forced on the lab's terminals (Jupyter's default stays)?"""
    assert lab_module.terminal_shell({"SHELL": "/bin/bash"}, windows=True) is None
    assert lab_module.terminal_shell({"SHELL": "/bin/bash"}, windows=False) == ["/bin/bash"]
