"""The harness of the browser tests (tests/*/test_browser*.py): Debian's Chromium driven by
Playwright, pages watched for JavaScript errors and screenshotted when a test fails, the
environment of a JupyterLab under test, and the helpers that work a JupyterLab notebook as a
person does (type an answer, run, wait until idle, save, open a terminal).

JupyterLab itself is started by instructor/lab.py, the code behind `python -m instructor lab`,
so that the tests open the course as its users do. A test module uses the fixtures here by
importing them (`browser`, and `screenshot_on_failure`, which is autouse)."""

import json
import os
import re
from pathlib import Path

import pytest
from harness import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = ROOT / "artifacts" / "browser"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 60_000  # for one step of the page (opening, a save, one cell)


def chromium_or_skip():
    """Debian's Chromium, or a skip outside CI / a failure in CI when it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing; install it with `make browser-deps`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def jupyter_environment(folder):
    """The environment of a JupyterLab under test: this user's home folder, Jupyter settings,
    workspaces and runtime files replaced by fresh folders, so that nothing of theirs shows up
    (and no shell start-up file of theirs can put a `python` on a terminal's PATH that a fresh
    machine would not have).

    One setting differs from JupyterLab's defaults: the terminal's screen reader mode, which
    puts the terminal's text in the page (it is drawn on a canvas otherwise)."""
    env = dict(os.environ)
    env["HOME"] = str(folder / "home")
    Path(env["HOME"]).mkdir(parents=True)
    for name in ["JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"]:
        env[name] = str(folder / name.lower())
    env.pop("JUPYTER_CONFIG_PATH", None)
    settings = Path(env["JUPYTER_CONFIG_DIR"], "lab", "user-settings", "@jupyterlab")
    terminal = settings / "terminal-extension" / "plugin.jupyterlab-settings"
    terminal.parent.mkdir(parents=True)
    terminal.write_text(json.dumps({"screenReaderMode": True}))
    return env


def in_the_browser(test):
    """Mark a test as driving Chromium (and slow)."""
    return pytest.mark.slow(pytest.mark.browser(test))


class Watched:
    """A browser page with everything that went wrong in it: JavaScript exceptions and
    console errors (none is expected: a healthy JupyterLab logs none)."""

    open_pages = []  # every page opened, to screenshot when a test fails

    def __init__(self, page, name):
        self.page, self.name, self.errors, self.shots = page, name, [], 0
        Watched.open_pages.append(self)
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda error: self.errors.append(f"exception: {error}"))
        page.on("console", self._console)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console error: {message.text}")

    def screenshot(self, step):
        """Save a screenshot of the page as artifacts/browser/<name>-<n>-<step>.png."""
        self.shots += 1
        path = ARTIFACTS / f"{self.name}-{self.shots:02d}-{step}.png"
        self.page.screenshot(path=path)
        return path

    def assert_no_javascript_errors(self):
        assert not self.errors, "JavaScript errors in the page:\n" + "\n".join(self.errors)


@pytest.fixture(autouse=True)
def screenshot_on_failure(request):
    """When a test fails, a screenshot of every open page, named after the test."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        for watched in Watched.open_pages:
            if not watched.page.is_closed():
                watched.screenshot(f"failed-{request.node.name}")


# ---------------------------------------------------------------------------------------
# JupyterLab notebook helpers


def cell_positions(notebook_path):
    """{cell id: position in the notebook} of a notebook file."""
    cells = json.loads(Path(notebook_path).read_text())["cells"]
    return {cell.get("id"): index for index, cell in enumerate(cells)}


def cell(page, index):
    """The notebook cell at a position (0-based), scrolled into view."""
    locator = page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]')
    locator.scroll_into_view_if_needed()
    return locator


def painted(page, index):
    """The cell at a position scrolled into view and drawn: JupyterLab's windowed notebook
    renders the cells near the new scroll position a frame or two after the scroll, and a
    screenshot taken before that shows an empty notebook."""
    cell(page, index).wait_for(state="visible")
    page.wait_for_function(
        """index => {
            const cell = document.querySelector(
                `.jp-Notebook .jp-Cell[data-windowed-list-index="${index}"]`);
            const view = document.querySelector('.jp-WindowedPanel-outer');
            if (!cell || !view) return false;
            const c = cell.getBoundingClientRect(), v = view.getBoundingClientRect();
            return c.height > 0 && c.bottom > v.top && c.top < v.bottom;
        }""",
        arg=index,
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def outputs_text(page, index):
    """The text of a cell's outputs, as shown."""
    return "\n".join(cell(page, index).locator(".jp-OutputArea-output").all_text_contents())


def error_outputs(page):
    """(cell position, text) of every error or stderr output shown in the notebook."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'))
            .flatMap(cell => Array.from(cell.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
              .map(out => [Number(cell.dataset.windowedListIndex), out.textContent]))"""
    )


def type_answer(page, index, answer):
    """Replace the stub of an answer cell by the answer, typed as a student types it:
    click on `# YOUR CODE HERE`, select it and the `raise NotImplementedError()` below it,
    and type the lines (JupyterLab keeps the indentation of each new line)."""
    stub = cell(page, index).locator(".cm-line", has_text="# YOUR CODE HERE")
    stub.click()
    page.keyboard.press("Home")  # to the end of the indentation
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Shift+End")
    page.keyboard.type(answer)
    page.keyboard.press("Escape")  # back to command mode


def wait_until_idle(page, timeout_s, every_cell_ran=False):
    """Wait until the kernel is idle (toolbar and status bar) and no code cell is waiting to
    run ([*]); with every_cell_ran, also until every code cell shows an execution count."""
    page.wait_for_function(
        """everyCellRan => {
            const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const statusBar = document.querySelector('#jp-main-statusbar');
            const prompts = Array.from(
                document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt'));
            return indicator && indicator.dataset.status === 'idle'
                && statusBar && /\\| Idle/.test(statusBar.textContent)
                && !prompts.some(prompt => prompt.textContent.includes('*'))
                && (!everyCellRan || prompts.every(prompt => /\\[\\d+\\]/.test(prompt.textContent)));
        }""",
        arg=every_cell_ran,
        timeout=timeout_s * 1000,
        polling=500,
    )


def prompt(page, index):
    """The input prompt of a code cell: "[ ]:", "[*]:" or "[12]:"."""
    return cell(page, index).locator(".jp-InputPrompt").text_content()


def wait_for_a_new_run(page, index, prompt_before):
    """Wait until a code cell shows a new execution count and the kernel is idle."""
    page.wait_for_function(
        """([index, before]) => {
            const prompt = document.querySelector(
                `.jp-Notebook .jp-Cell[data-windowed-list-index="${index}"] .jp-InputPrompt`);
            return prompt && prompt.textContent !== before && /\\[\\d+\\]/.test(prompt.textContent);
        }""",
        arg=[index, prompt_before],
    )
    wait_until_idle(page, TIMEOUT_MS / 1000)


def menu(page, *labels):
    """Click through the menu bar: menu(page, "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{labels[0]}$")).click()
    for label in labels[1:]:
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(label)}$")).click()


def save(page):
    """Save the notebook with Ctrl+S and wait until it is saved (no dirty marker)."""
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.jp-Notebook')"
        "  || !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')"
    )


def check_cell_position(positions, notebook_path):
    """The position of the notebook's pre-submission check cell (it calls check_notebook)."""
    cells = json.loads(Path(notebook_path).read_text())["cells"]
    calls = [c.get("id") for c in cells if "check_notebook(" in "".join(c["source"])]
    assert len(calls) == 1, f"expected one cell calling check_notebook, found {calls}"
    return positions[calls[0]]


def open_terminal_and_run(page, command, marker):
    """Open a JupyterLab terminal (File > New > Terminal), run a command in it and return
    the terminal's text once a line matching marker has appeared."""
    menu(page, "File", "New", "Terminal")
    terminal = page.locator(".jp-Terminal").last
    text = terminal.locator(".xterm-accessibility")  # the screen reader's copy of the text
    text.filter(has_text=re.compile(r"[$#]")).wait_for(state="attached")  # the shell's prompt
    terminal.click()
    page.keyboard.type(command)
    page.keyboard.press("Enter")
    text.filter(has_text=re.compile(marker)).wait_for(state="attached")
    return text.text_content()


def descendants(pid):
    """The process ids below pid (from /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            children = [int(p) for p in task.read_text().split()]
            found += children
            todo += children
    return found


# --- nbgrader's Assignments tab (Nbgrader > Assignment List) ------------------------------


def tab(page):
    """The Assignments tab's content."""
    return page.locator("#nbgrader-assignment-list")


def section(page, name):
    """A list of the Assignments tab: "released", "fetched" or "submitted"."""
    return tab(page).locator(f"#{name}_assignments_list")


def assignment_row(page, name, assignment="initialization"):
    """The assignment's row in a list of the Assignments tab."""
    return section(page, name).locator(".list_item", has_text=assignment).first
