"""Does the students' feedback show every verdict and score, and nothing of the hidden tests?

The demo class, plus two students who break things in the way that used to leak, is graded by
the real `nbgrader autograde` in a copy of the course; `nbgrader generate_feedback` then writes
the pages with the course configuration (WithholdHiddenTests). Every page is searched, as text,
for every hidden test line, every hidden expected value in several print formats, and every
solution line. The same search run on nbgrader's default feedback finds them, which shows the
search can fail.
"""

import ast
import copy
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from answers import EXERCISES, STUDENTS
from bs4 import BeautifulSoup
from conftest import (
    ROOT,
    extra_students,
    source_points,
    submitted_hashes_before_grading,
    tree_hashes,
)
from harness import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK

from instructor import course_data
from instructor.course import nbgrader
from instructor.hidden_values import WITHHELD_NUMBER, Secrets, split_hidden
from instructor.preprocessors.withhold_hidden_tests import NOTE_VERDICTS_LATER, WithholdHiddenTests
from instructor.scores import read_scores

HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
CONFIG_SECTION = "# --- Feedback without the hidden tests"

# --- The graded class: the session's graded_demo (tests/conftest.py) ---------------------


@pytest.fixture(scope="module")
def graded_demo_class(graded_demo):
    return graded_demo


# --- What must not show, found independently of the preprocessor ----------------------


def regions(notebook_path, markers):
    """The lines of every region between the markers (included) in a notebook's cells."""
    begin, end = markers
    lines = []
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        inside = False
        for line in cell.source.splitlines():
            inside = inside or begin in line
            if inside:
                lines.append(line)
            inside = inside and end not in line
    return lines


def release_text(course):
    """Everything the students receive: the release notebook's cells and the helper files."""
    folder = course / "release" / ASSIGNMENT
    nb = nbformat.read(folder / NOTEBOOK, as_version=4)
    helpers = [p.read_text() for p in sorted(folder.glob("*.py"))]
    return "\n".join([c.source for c in nb.cells] + helpers)


def renderings(x):
    """How a number may be printed: repr, numpy's 8 decimals (trimmed or not)."""
    in_array = np.array2string(np.array([x]), precision=8)[1:-1].strip()
    return {repr(x), np.format_float_positional(x, precision=8), f"{x:.8f}", in_array}


def first_six_digits(x):
    """The first 6 significant digits of |x|, cut and rounded: 17.8862 and 17.8863."""
    mantissa, exponent = f"{abs(x):.16e}".split("e")
    digits, exponent = mantissa.replace(".", "")[:6], int(exponent)
    if exponent < 0:
        cut = "0." + "0" * (-exponent - 1) + digits
    else:
        cut = digits[: exponent + 1] + "." + digits[exponent + 1 :]
    return {cut.rstrip("."), f"{abs(x):.6g}"}


class Forbidden:
    """The hidden lines, hidden values and solution lines of the source notebook, less what
    the release gives every student anyway (and, for solutions, what the student wrote)."""

    def __init__(self, course):
        source = course / "source" / ASSIGNMENT / NOTEBOOK
        public = release_text(course)
        hidden = regions(source, HIDDEN)
        # Lines of brackets alone (`]),`) say nothing; lines the release has are no secret.
        self.lines = {
            line.strip() for line in hidden if re.search(r"\w", line) and line.strip() not in public
        }
        numbers = {float(t) for line in hidden for t in re.findall(r"-?\d+\.\d+", line)}
        self.public_numbers = {x for x in numbers if any(f in public for f in renderings(x))}
        self.numbers = numbers - self.public_numbers
        self.solution_lines = {
            line.strip()
            for line in regions(source, SOLUTION)
            if re.search(r"\w", line) and line.strip() not in public
        }

        self.hidden_lines = {line.strip() for line in hidden}
        # The hidden cases' networks, as the tests would print them: "[5, 4, 3, 2, 1]".
        self.networks = {
            "[" + ", ".join(m.split(",")).replace("  ", " ") + "]"
            for line in hidden
            for m in re.findall(r"\(\[([\d, ]+)\],", line)
        } - set(re.findall(r"\[\d+(?:, \d+)+\]", public))
        forms = {form for x in self.numbers for form in renderings(x) | first_six_digits(x)}
        longest_first = sorted(map(re.escape, forms), key=len, reverse=True)
        self._numbers = re.compile(r"(?<![\d.])(?:" + "|".join(longest_first) + ")")

    def found_in(self, text, own_answers="", own_output=""):
        """Every forbidden item present in text; solution lines the student typed, and numbers
        the student's own cells printed, are theirs."""
        found = [line for line in self.lines if line in text]
        found += [line for line in self.solution_lines if line in text and line not in own_answers]
        found += [n for n in self.networks if n in text]
        own = set(self.numbers_printed_in(own_output))
        return found + [n for n in self.numbers_printed_in(text) if n not in own]

    def numbers_printed_in(self, text):
        return self._numbers.findall(text)


def page_text(path):
    """A page as a reader gets it: the tags dropped, the entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text(encoding="utf-8")))


def own_output(course, student):
    """What the student's own cells (not the tests) printed in the autograded notebook."""
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    texts = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        for output in cell.outputs:
            texts.append(output.get("text", ""))
            texts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def submitted_text(course, student):
    nb = nbformat.read(course / DEMO_SUBMITTED / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    return "\n".join(c.source for c in nb.cells)


def generate_feedback(course, *options):
    result = nbgrader(
        "generate_feedback", ASSIGNMENT, "--force", *options, root=course, capture=True
    )
    assert result.returncode == 0, result.stdout
    return {
        path.parts[-3]: page_text(path)
        for path in sorted((course / "feedback").glob(f"*/{ASSIGNMENT}/*.html"))
    }


def without_its_feedback(course):
    """For copytree: leave out the course's feedback/ folder (only that one: the page's
    template lives in instructor/templates/feedback/)."""
    top = str(course)
    return lambda folder, names: ["feedback"] if str(folder) == top else []


@pytest.fixture(scope="module")
def forbidden(graded_demo_class):
    return Forbidden(graded_demo_class)


@pytest.fixture(scope="module")
def autograded_hashes(graded_demo_class):
    return tree_hashes(graded_demo_class / "autograded")


@pytest.fixture(scope="module")
def feedback_pages(graded_demo_class, autograded_hashes):
    """{student: page text} written by generate_feedback with the course's configuration."""
    return generate_feedback(graded_demo_class)


@pytest.fixture(scope="module")
def default_feedback_pages(graded_demo_class, tmp_path_factory):
    """{student: page text} of nbgrader's default feedback (the section of nbgrader_config.py
    that adds WithholdHiddenTests removed), for three students, in another copy."""
    course = tmp_path_factory.mktemp("default-feedback") / "course"
    shutil.copytree(
        graded_demo_class, course, symlinks=True, ignore=without_its_feedback(graded_demo_class)
    )
    config = (course / "nbgrader_config.py").read_text()
    assert CONFIG_SECTION in config, "nbgrader_config.py no longer adds the preprocessor"
    (course / "nbgrader_config.py").write_text(config.split(CONFIG_SECTION)[0])
    return generate_feedback(course, "--CourseDirectory.student_id=demo-[enx]*")


@pytest.mark.slow
def test_search_finds_what_nbgrader_default_feedback_leaks(default_feedback_pages, forbidden):
    """Would the search notice a leak: does it find hidden lines and values in nbgrader's
    default feedback?"""
    assert sorted(default_feedback_pages) == ["demo-echoes-tests", "demo-np-rebound", "demo-xavier"]
    assert len(forbidden.lines) > 20 and len(forbidden.numbers) > 80
    for student, text in default_feedback_pages.items():
        leaks = forbidden.found_in(text)
        assert any(line in leaks for line in forbidden.lines), student
        assert forbidden.numbers_printed_in(text), student


@pytest.mark.slow
def test_every_graded_student_gets_a_page(feedback_pages, graded_demo_class):
    """Does generate_feedback still write a page for every graded student?"""
    assert sorted(feedback_pages) == sorted(read_scores(graded_demo_class, assignment=ASSIGNMENT))
    assert len(feedback_pages) == len(STUDENTS) + len(extra_students())


@pytest.mark.slow
def test_no_page_shows_hidden_tests_values_or_solutions(
    feedback_pages, forbidden, graded_demo_class
):
    """Is every page free of hidden test lines, hidden expected values (repr, 8 decimals, 6
    significant digits) and solution lines the student did not write?"""
    leaks = {
        student: found
        for student, text in feedback_pages.items()
        if (
            found := forbidden.found_in(
                text,
                submitted_text(graded_demo_class, student),
                own_output(graded_demo_class, student),
            )
        )
    }
    assert leaks == {}
    assert all(
        HIDDEN[0] not in text and SOLUTION[0] not in text for text in feedback_pages.values()
    )


def _test_cells(course, student):
    nb = nbformat.read(course / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    return {exercise: cells[grade_id] for exercise, grade_id in EXERCISES.items()}


@pytest.mark.slow
def test_pages_keep_every_verdict_and_score(feedback_pages, forbidden, graded_demo_class):
    """Does each page show, for each exercise, its score and every line the tests printed
    (except lines holding hidden values)?"""
    scores = read_scores(graded_demo_class, assignment=ASSIGNMENT)
    for student, text in feedback_pages.items():
        for number, (exercise, cell) in enumerate(
            _test_cells(graded_demo_class, student).items(), 1
        ):
            grade_id = EXERCISES[exercise]
            maximum = dict(zip(EXERCISES, source_points()))[exercise]
            score = f"Score: {scores[student][exercise]:.1f} / {maximum:.1f}"
            heading = f"Exercise {number}, initialize_parameters_{exercise} ({score})"
            assert text.count(heading) == 1, (student, heading)
            assert re.search(rf"{re.escape(heading)}\s+Your answer.*?Its test, grade cell {grade_id}\s", text, re.DOTALL), (student, exercise)  # fmt: skip
            printed = "".join(o.text for o in cell.outputs if o.output_type == "stream")
            for line in printed.splitlines():
                # What the tests printed, not code the student's function echoed.
                quotes_code = line.strip() in forbidden.hidden_lines
                if line.strip() and not quotes_code and not forbidden.found_in(line):
                    assert line.strip() in text, (student, exercise, line)
                if any(n in line for n in forbidden.networks) and "layers_dims=" in line:
                    # the hidden networks named by their count, the rest of the line kept
                    assert line.split(" (")[0].strip() in text, (student, exercise, line)
                    assert re.search(r"on (one|two) other network shapes?\)", text)

    xavier = feedback_pages["demo-xavier"]
    assert "Mistake: Xavier scaling instead of He" in xavier
    assert "Checked on the notebook's example and 2 other networks:" in xavier
    assert "All checks passed on the notebook's example and 2 other networks." in xavier
    assert "Mistake: transposed weights" in feedback_pages["demo-transposed"]


@pytest.mark.slow
def test_error_inside_hidden_tests_is_reported_without_its_traceback(
    feedback_pages, forbidden, graded_demo_class
):
    """When a test cell raises inside its hidden block, does the page still say that the test
    failed and why, without the traceback that quotes the hidden line?"""
    cell = _test_cells(graded_demo_class, "demo-np-rebound")["random"]
    (error,) = [o for o in cell.outputs if o.output_type == "error"]
    assert forbidden.found_in("\n".join(error.traceback)), "the scenario no longer raises there"

    text = feedback_pages["demo-np-rebound"]
    assert f"Score: 0.0 / {source_points()[1]:.1f}" in text
    assert "AttributeError: 'NoneType' object has no attribute 'array'" in text
    assert "stopped with this error" in text
    assert "Traceback (most recent call last)" in text  # the training cells' own errors remain
    assert forbidden.found_in(text, submitted_text(graded_demo_class, "demo-np-rebound")) == []


@pytest.mark.slow
def test_test_code_printed_by_the_student_is_withheld(feedback_pages, forbidden, graded_demo_class):
    """When the student's function prints the test cell that calls it, is nothing of the
    hidden tests on the page and the verdict kept? And where a test cell's output does quote
    the hidden tests (an autograde that keeps the notebook's own run of the tests), are those
    lines withheld by the preprocessor?"""
    text = feedback_pages["demo-echoes-tests"]
    assert "Mistake: Xavier scaling instead of He" in text
    own = (submitted_text(graded_demo_class, "demo-echoes-tests"), own_output(graded_demo_class, "demo-echoes-tests"))  # fmt: skip
    assert forbidden.found_in(text, *own) == []

    source = nbformat.read(graded_demo_class / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    test_cell = next(
        c for c in source.cells if c.metadata["nbgrader"].get("grade_id") == EXERCISES["random"]
    )
    echoed = nbformat.v4.new_output("stream", text=test_cell.source + "\nAll checks passed.\n")
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.from_dict({**test_cell, "outputs": [echoed], "execution_count": 1})]
    )
    nb, _ = WithholdHiddenTests().preprocess(nb, {})
    shown = nb.cells[1].outputs[0].text  # after the summary at the top
    assert HIDDEN[0] not in shown and forbidden.found_in(shown) == []
    assert "[line withheld: it quotes the hidden tests]" in shown
    assert "All checks passed." in shown


@pytest.mark.slow
def test_students_own_output_is_never_masked(feedback_pages, forbidden, graded_demo_class):
    """When a student's own cells print numbers that happen to equal hidden expected values
    (Xavier's scale gives the hidden He values of another network), are those lines shown
    exactly as printed, with nothing masked?"""
    own = own_output(graded_demo_class, "demo-xavier")
    assert forbidden.numbers_printed_in(own), "the scenario no longer prints a hidden value"
    for student, page in feedback_pages.items():
        for line in own_output(graded_demo_class, student).splitlines():
            if forbidden.numbers_printed_in(line):
                assert line.strip() in page, (student, line)


@pytest.mark.slow
def test_feedback_changes_no_submitted_or_autograded_file(
    feedback_pages, graded_demo_class, autograded_hashes
):
    """Are the submitted and the autograded notebooks left as they were?"""
    assert tree_hashes(graded_demo_class / DEMO_SUBMITTED) == submitted_hashes_before_grading(
        graded_demo_class
    )
    assert tree_hashes(graded_demo_class / "autograded") == autograded_hashes


# --- The preprocessor on its own, on notebooks made here (no nbgrader run) ----------------


def test_secret_numbers_are_masked_in_any_format():
    """Is a hidden value masked whether printed in full, with 8 decimals, with 6 significant
    digits, in scientific notation, negated or inside ANSI colours, while public values,
    coarse prints and other numbers stay?"""
    secret, public = -4.772180303595027, 17.886284734303185
    secrets = Secrets([f"x = [{secret!r}, {public!r}]"], ["Expected: 17.88628473"])
    for printed in [
        repr(secret),
        "-4.7721803",
        "-4.77218030",
        f"{secret:.6g}",
        "4.77218",
        f"{secret:.6e}",
        "\x1b[32m4.772180303595027\x1b[39m",
    ]:
        masked = secrets.mask(f"W = [{printed}]")
        assert WITHHELD_NUMBER in masked and not re.search(r"\d\.\d", masked), printed
    for printed in ["17.886284734303185", "17.88628473", "-4.772", "4.77222", "0.6931471805599453"]:
        assert secrets.mask(f"W = [{printed}]") == f"W = [{printed}]", printed


def test_coloured_traceback_line_quoting_hidden_code_is_withheld():
    """Is a traceback line that quotes a hidden line withheld, although IPython's colour
    codes cut it into pieces?"""
    secrets = Secrets(['    "b1": np.zeros((4, 1)),'], ["b = np.zeros((2, 1))"])
    line = '\x1b[32m---> 9\x1b[39m  \x1b[33m"b1"\x1b[39m: np.zeros((\x1b[32m4\x1b[39m, \x1b[32m1\x1b[39m)),'
    assert secrets.mask(line) == "[line withheld: it quotes the hidden tests]"
    assert secrets.mask("b1 = np.zeros((2, 1))") == "b1 = np.zeros((2, 1))"


def test_hidden_region_left_open_hides_the_rest_of_the_cell():
    """Does a region without its end marker hide everything after it, and the note keep the
    region's indentation?"""
    source = "a = 1\n    ### BEGIN HIDDEN TESTS\n    b = 2\nc = 3"
    visible, hidden = split_hidden(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "# note")
    assert visible == "a = 1\n    # note"
    assert hidden == ["    ### BEGIN HIDDEN TESTS", "    b = 2", "c = 3"]


def _cell(kind, source, grade_id, outputs=(), **flags):
    meta = {"grade": False, "solution": False, "locked": False, "grade_id": grade_id, **flags}
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(source, metadata={"nbgrader": meta})
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta}, outputs=list(outputs))


def test_preprocessor_without_gradebook_scrubs_a_test_cell():
    """Without a gradebook, does the preprocessor still take the hidden tests from the notebook,
    keep the student's answer and the verdict, shorten the error and leave out displays?"""
    test_source = "### BEGIN HIDDEN TESTS\nexpected = 0.123456789\n### END HIDDEN TESTS\ncheck()"
    traceback = ["Cell In[3], line 2", "----> 2 expected = 0.123456789", "NameError: x"]
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("code", "def f():\n    return 0.123456789", "answer", solution=True),
            _cell(
                "code",
                test_source,
                "test",
                grade=True,
                locked=True,
                points=1,
                outputs=[
                    nbformat.v4.new_output("stream", text="found 0.12345679\nVerdict: wrong.\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": "0.1234568"}),
                    nbformat.v4.new_output(
                        "error", ename="NameError", evalue="x", traceback=traceback
                    ),
                ],
            ),
        ]
    )
    nb, _ = WithholdHiddenTests().preprocess(nb, {})
    top, answer, test = nb.cells
    assert "Your feedback at a glance" in top.source
    assert answer.source == "def f():\n    return 0.123456789"
    assert "0.123456789" not in test.source and "check()" in test.source
    texts = [o.get("text", "") + "\n".join(o.get("traceback", [])) for o in test.outputs]
    joined = "\n".join(texts)
    assert "Verdict: wrong." in joined and f"found {WITHHELD_NUMBER}" in joined
    assert "NameError" in joined and "expected = " not in joined
    assert "1 output(s) displayed while the tests ran are not shown" in joined
    assert "0.12345" not in joined


def test_config_adds_the_preprocessor_to_generate_feedback(course, tmp_path):
    """Does the course configuration, loaded by a Python that has not the course on its path
    (as the `nbgrader` script), give generate_feedback the WithholdHiddenTests preprocessor?"""
    probe = (
        "import sys\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        "c = PyFileConfigLoader('nbgrader_config.py', path=sys.argv[1]).load_config()\n"
        "print([(p.__module__, p.__name__) for p in c.GenerateFeedback.preprocessors])\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(course)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        "('instructor.preprocessors.withhold_hidden_tests', 'WithholdHiddenTests')" in result.stdout
    )
    assert "GetGrades" in result.stdout and "CSSHTMLHeaderPreprocessor" in result.stdout


def test_hidden_cases_are_described_without_their_inputs():
    """In what the tests print, are the hidden networks named by their count ("on two other
    network shapes") and their shapes withheld, as the course's file of the assignment says,
    while the public example stays as printed?"""
    hidden = ["hidden_cases = [", "    ([5, 4, 3, 2, 1], {", "    ([4, 6, 1], {"]
    cases = course_data.load(ROOT, ASSIGNMENT).hidden_cases
    public = ["parameters = initialize_parameters_zeros([3, 2, 1])"]
    secrets = Secrets(hidden, public, cases=cases)
    mistake = " - Mistake: transposed weights. W1 has shape (5, 4), expected (4, 5). Hint: h"
    assert secrets.mask(f"{mistake} (with layers_dims=[5, 4, 3, 2, 1], [4, 6, 1])") == (
        " - Mistake: transposed weights. W1 has shape (a shape of another network), expected "
        "(a shape of another network). Hint: h (on two other network shapes)"
    )
    assert secrets.mask("x (with layers_dims=[3, 2, 1], [4, 6, 1])") == (
        "x (with layers_dims=[3, 2, 1] and on one other network shape)"
    )
    public = "3 problems with layers_dims=[3, 2, 1]: W1 has shape (3, 2), expected (2, 3)."
    assert secrets.mask(public) == public


def test_numbers_of_the_students_own_cells_are_kept():
    """Does a number equal to a hidden expected value stay as printed in the student's own
    cell, and get masked in a test cell's output?"""
    test_source = "### BEGIN HIDDEN TESTS\nexpected = 0.123456789\n### END HIDDEN TESTS\ncheck()"
    printed = nbformat.v4.new_output("stream", text="W1 = 0.123456789\n")
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("code", "print(f())", "mine", outputs=[printed]),
            _cell(
                "code", test_source, "test", grade=True, locked=True, points=1, outputs=[printed]
            ),
        ]
    )
    nb, _ = WithholdHiddenTests().preprocess(nb, {})
    _, mine, test = nb.cells
    assert [o.text for o in mine.outputs] == ["W1 = 0.123456789\n"]
    assert test.outputs[0].text == f"W1 = {WITHHELD_NUMBER}\n"


def test_verdicts_withheld_before_the_due_date_leave_no_test_output_or_score():
    """With show_verdicts off (the grade-on-submit policy before the due date, when the
    instructor chose so), is every test cell's output replaced by a note, its score left off
    the page, and the total reduced to the cells still shown?"""
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("code", "def f():\n    return 1", "answer", solution=True),
            _cell(
                "code",
                "### BEGIN HIDDEN TESTS\nassert f() == 1\n### END HIDDEN TESTS",
                "test",
                grade=True,
                locked=True,
                points=4,
                outputs=[nbformat.v4.new_output("stream", text="Xavier scaling instead of He\n")],
            ),
        ]
    )
    nb.cells[1].metadata.nbgrader["score"] = 2.0
    resources = {"nbgrader": {"score": 2.0, "max_score": 4.0}}
    nb, resources = WithholdHiddenTests(show_verdicts=False).preprocess(nb, resources)
    note, answer, test = nb.cells
    assert note.cell_type == "markdown" and "after" in note.source
    assert [o["text"] for o in test.outputs] == [NOTE_VERDICTS_LATER + "\n"]
    assert test.metadata.nbgrader["grade"] is False
    assert resources["nbgrader"] == {"score": 0.0, "max_score": 0.0}
    # the canary: with the verdicts shown, the same cell keeps its verdict and score
    shown = WithholdHiddenTests().preprocess(
        nbformat.v4.new_notebook(cells=[_cell("code", "x", "t", grade=True, points=4, outputs=[
            nbformat.v4.new_output("stream", text="Xavier scaling instead of He\n")])]),
        {"nbgrader": {"score": 2.0, "max_score": 4.0}},
    )  # fmt: skip
    assert "Xavier" in shown[0].cells[1].outputs[0]["text"]
    assert shown[1]["nbgrader"]["max_score"] == 4.0


@pytest.mark.slow
def test_a_page_before_the_due_date_can_withhold_the_verdicts(
    graded_demo_class, feedback_pages, tmp_path
):
    """generate_feedback with --WithholdHiddenTests.show_verdicts=False (what the service runs
    before the due date when c.GradeOnSubmit.hidden_verdicts_before_due is False): does
    demo-xavier's page say the verdicts come later, show no cell score, and name the mistake only
    in the output of the public test the student ran?"""
    course = tmp_path / "course"
    shutil.copytree(
        graded_demo_class, course, symlinks=True, ignore=without_its_feedback(graded_demo_class)
    )
    pages = generate_feedback(
        course,
        "--CourseDirectory.student_id=demo-xavier",
        "--WithholdHiddenTests.show_verdicts=False",
    )
    page = pages["demo-xavier"]
    mistake = "Xavier scaling instead of He"
    # The public test the student ran in the notebook prints the mistake too (and the final
    # check, which runs it again): that output is the student's own, not a verdict, and stays.
    # Only there may the page name it.
    graded = nbformat.read(course / "autograded" / "demo-xavier" / ASSIGNMENT / NOTEBOOK, 4)
    own = sum(
        output.get("text", "").count(mistake)
        for cell in graded.cells
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade")
        for output in cell.outputs
    )
    # the public test cell under the He exercise, and the final check, which runs it again
    assert own == 2, "the public test under the He exercise and the final check name it"
    assert NOTE_VERDICTS_LATER in page
    assert page.count(mistake) == own
    assert "Exercise 3, initialize_parameters_he (Score:" not in page  # no cell scores at the top
    # the canary: the page with the verdicts names the mistake in the test cell as well, and
    # lists the cell scores
    assert feedback_pages["demo-xavier"].count(mistake) > own
    assert (
        "Exercise 3, initialize_parameters_he (Score: 5.0 / 10.0)" in feedback_pages["demo-xavier"]
    )


# --- The page a student reads: the summary at the top, math without scripts ---------------


@pytest.mark.slow
def test_summary_at_the_top_names_each_exercise_its_points_mistakes_and_next_step(
    feedback_pages, graded_demo_class
):
    """Does each page open with a summary, before the notebook itself, that gives each exercise
    by name with the points the gradebook holds, the mistakes the tests named and what to do
    next, and "All checks passed." for full marks?"""
    scores = read_scores(graded_demo_class, assignment=ASSIGNMENT)
    points = dict(zip(EXERCISES, source_points()))
    for student, text in feedback_pages.items():
        top = text.split("Your feedback at a glance", 1)[1].split("Before you submit", 1)[0]
        for number, exercise in enumerate(EXERCISES, 1):
            line = f"Exercise {number}, initialize_parameters_{exercise}: "
            line += f"{scores[student][exercise]:g} / {points[exercise]:g} points."
            assert line in top, (student, line, top)
    small = feedback_pages["demo-small-random"].split("Before you submit", 1)[0]
    assert "Exercise 1, initialize_parameters_zeros: 10 / 10 points. All checks passed." in small
    assert (
        "Mistake: wrong scale for large random. What to do: This exercise wants large weights: "
        "np.random.randn(...) * 10."
    ) in small
    xavier = feedback_pages["demo-xavier"].split("Before you submit", 1)[0]
    assert (
        "Mistake: Xavier scaling instead of He. What to do: He initialization uses "
        "np.sqrt(2 / layers_dims[l - 1])."
    ) in xavier
    stopped = feedback_pages["demo-np-rebound"].split("Before you submit", 1)[0]
    assert "The tests stopped with an error, AttributeError: 'NoneType' object has no" in stopped


def raw_page(course, student):
    return (
        course / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace("ipynb", "html")
    ).read_text()


@pytest.mark.slow
def test_page_has_no_script_and_its_math_is_mathml(feedback_pages, graded_demo_class):
    """Does the page load no script at all (no MathJax from a CDN) and carry its formulas as
    MathML, none left as raw $...$?"""
    page = raw_page(graded_demo_class, "demo-xavier")
    assert "<script" not in page and "cdnjs" not in page and "mathjax" not in page.lower()
    assert page.count("<math ") > 20
    assert len(re.findall(r'<math [^>]*display="block"', page)) >= 3
    assert "$\\hat{y}" not in page and "\\frac{1}{2}$" not in page


def page_parts(page):
    """(the tags right under <main>, the <section> of each exercise, the <details>) of a page."""
    soup = BeautifulSoup(page, "html.parser")
    return (
        soup.main.find_all(recursive=False),
        soup.select("main > section.exercise"),
        soup.select("main > details"),
    )


def links_problems(page):
    """The page's links that say nothing or lead nowhere: no text, no address, or an address
    on the page that names no element of it."""
    soup = BeautifulSoup(page, "html.parser")
    ids = {tag["id"] for tag in soup.find_all(id=True)}
    return [
        str(a)
        for a in soup.find_all("a")
        if not a.get_text(strip=True)
        or not a.get("href")
        or (a["href"].startswith("#") and a["href"][1:] not in ids)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("student", ["demo-correct", "demo-xavier", "demo-untouched"])
def test_a_page_opens_with_the_summary_then_each_exercise_and_folds_the_rest(
    feedback_pages, graded_demo_class, student
):
    """Does the page read, from the top: the score, the summary, then each exercise in a section
    titled with its name and score, holding the student's answer as submitted (with the
    comment on it) and its test's verdict; then the rest of the notebook, folded in one
    <details>, with a link up to each exercise where its answer was? No stray output (a test
    cell's returned score, "Out[5]: 5.0"), no prompt, no link that says nothing or leads
    nowhere (an unanswered page's bare "Comment" links)?"""
    page = raw_page(graded_demo_class, student)
    top, sections, details = page_parts(page)
    assert [tag.name for tag in top] == ["h1", "div", "section", "section", "section", "details"]
    assert "Your feedback at a glance" in top[1].get_text()
    scores = read_scores(graded_demo_class, assignment=ASSIGNMENT)[student]
    points = dict(zip(EXERCISES, source_points()))
    submitted = nbformat.read(
        graded_demo_class / DEMO_SUBMITTED / student / ASSIGNMENT / NOTEBOOK, as_version=4
    )
    answers = {c.get("id"): c.source for c in submitted.cells}
    tests = _test_cells(graded_demo_class, student)
    for number, (exercise, section) in enumerate(zip(EXERCISES, sections), 1):
        name = f"initialize_parameters_{exercise}"
        score = f"Score: {scores[exercise]:.1f} / {points[exercise]:.1f}"
        assert section.h2.get_text() == f"Exercise {number}, {name} ({score})"
        headings = [h.get_text(" ", strip=True) for h in section.select(".panel-heading")]
        assert headings == ["Your answer", f"Its test, grade cell {EXERCISES[exercise]}"]
        code = section.select(".input_area")
        assert code[0].get_text().strip() == answers[name].strip()
        assert "grade_exercise(" in code[1].get_text()
        verdict = section.select(".output_area")
        printed = "".join(o.text for o in tests[exercise].outputs if o.output_type == "stream")
        assert len(verdict) == 1 and verdict[0].get_text().strip() == printed.strip()
        comments = [f.get_text(" ", strip=True) for f in section.select(".panel-footer")]
        assert comments == (["Comment: No response."] if student == "demo-untouched" else [])
    (rest,) = details
    assert rest.get("open") is None
    assert rest.summary.get_text().startswith("Your whole notebook, as the grader ran it")
    assert [a["href"] for a in rest.select("p.moved a")] == ["#exercise-1", "#exercise-2", "#exercise-3"]  # fmt: skip
    moved = {f"initialize_parameters_{e}" for e in EXERCISES} | set(EXERCISES.values())
    rest_ids = [div["id"].removeprefix("cell-id=") for div in rest.select("div.cell[id]")]
    assert rest_ids == [c.get("id") for c in submitted.cells if c.get("id") not in moved]
    assert "Out[" not in page and "In&nbsp;[" not in page
    assert links_problems(page) == []


def test_link_check_finds_empty_and_dangling_links():
    """Would links_problems notice nbgrader's bare "Comment" link, an empty anchor, and a
    link to an element the page does not have (a canary for the test above)?"""
    page = (
        '<main><h2 id="here">Here</h2><a href="#here">Up</a><a id="comment-x"></a>'
        '<a href="#comment-y">Comment</a><a href="https://numpy.org">numpy</a></main>'
    )
    assert links_problems(page) == ['<a id="comment-x"></a>', '<a href="#comment-y">Comment</a>']


def test_a_submission_cannot_lay_out_its_own_page():
    """A submission that brings its own metadata.feedback (a cell marked as the summary, as
    exercise 1's answer, with an exercise number that is no number): does the page still put
    the preprocessor's summary first, the real answer and test in exercise 1's section, and
    the forged cells in the folded rest, each once?"""
    from nbconvert import HTMLExporter

    test = _cell(
        "code", "grade_exercise(f)", "test_f", grade=True, locked=True, points=2, score=1.0
    )
    test.metadata["grading"] = {"function": "f", "answer_cell": "answer_f"}
    forged = [
        nbformat.v4.new_markdown_cell("FORGED SUMMARY", metadata={"feedback": {"summary": True}}),
        nbformat.v4.new_code_cell(
            "FORGED = 1", metadata={"feedback": {"exercise": 1, "answer": True}}
        ),  # fmt: skip
        nbformat.v4.new_code_cell(
            "FORGED = 2", metadata={"feedback": {"exercise": [1], "title": "x"}}
        ),  # fmt: skip
    ]
    forged[0].id = "feedback-summary"  # the id the page's summary takes
    nb = nbformat.v4.new_notebook(
        cells=[
            forged[0],
            _cell("code", "def f():\n    return 1", "answer_f", solution=True),
            forged[1],
            test,
            forged[2],
        ]
    )
    info = {"notebook": "Probe", "score": 1.0, "max_score": 2.0, "late_penalty": 0.0}
    nb, resources = WithholdHiddenTests().preprocess(nb, {"nbgrader": info})
    exporter = HTMLExporter(
        template_name="feedback", extra_template_basedirs=[str(ROOT / "instructor" / "templates")]
    )
    page, _ = exporter.from_notebook_node(nb, resources)
    top, sections, details = page_parts(page)
    assert [tag.name for tag in top] == ["h1", "div", "section", "details"]
    assert "Your feedback at a glance" in top[1].get_text()
    (section,) = sections
    assert section.h2.get_text() == "Exercise 1, f (Score: 1.0 / 2.0)"
    assert "def f():" in section.get_text() and "FORGED" not in section.get_text()
    assert [details[0].get_text().count(f) for f in ("FORGED SUMMARY", "FORGED = 1", "FORGED = 2")] == [1, 1, 1]  # fmt: skip
    assert top[1]["id"] == "cell-id=feedback-summary-1"  # the submission's cell keeps its id
    assert links_problems(page) == []


# nbconvert's HTMLExporter gives this to an image that has no alt text of its own.
NO_DESCRIPTION = "No description has been provided for this image"
PNG = (  # a 1 x 1 PNG, standing for a plot
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _drawing_cells(nb):
    """The grade ids of the code cells that draw a plot when they run: they call plt.show(),
    or a function of init_utils.py or of the notebook that calls it (outside a def of theirs)."""

    def calls(tree, skip_defs):
        found = set()
        todo = list(ast.iter_child_nodes(tree))
        while todo:
            node = todo.pop()
            if skip_defs and isinstance(node, ast.FunctionDef):
                continue
            if isinstance(node, ast.Call):
                func = node.func
                found.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
            todo.extend(ast.iter_child_nodes(node))
        return found

    sources = [(ROOT / "source" / ASSIGNMENT / "init_utils.py").read_text()]
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    sources += [
        "\n".join(line for line in c.source.splitlines() if not line.startswith("%")) for c in code
    ]
    drawers = {"show"}
    for tree in map(ast.parse, sources):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and "show" in calls(node, skip_defs=False):
                drawers.add(node.name)
    return {
        cell.metadata.nbgrader.grade_id
        for cell, source in zip(code, sources[1:])
        if calls(ast.parse(source), skip_defs=True) & drawers
    }


def _page_with_a_plot_in(nb, grade_ids):
    """The feedback page of the notebook with a PNG output put into each of these cells, written
    by the feedback's preprocessors that touch it (WithholdHiddenTests, then SanitizeSubmission,
    last, as nbgrader_config.py runs them) and the course's template; its <img> tags."""
    from nbconvert import HTMLExporter

    from instructor.preprocessors.sanitize_submission import SanitizeSubmission

    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
            cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PNG})]
        if "points" in cell.metadata.get("nbgrader", {}):
            cell.metadata.nbgrader.score = 0.0  # as nbgrader's GetGrades leaves it
    info = {"notebook": "Initialization", "score": 0.0, "max_score": 30.0, "late_penalty": 0.0}
    nb, resources = WithholdHiddenTests().preprocess(nb, {"nbgrader": info})
    nb, resources = SanitizeSubmission().preprocess(nb, resources)
    exporter = HTMLExporter(
        template_name="feedback", extra_template_basedirs=[str(ROOT / "instructor" / "templates")]
    )
    page, _ = exporter.from_notebook_node(nb, resources)
    return BeautifulSoup(page, "html.parser").find_all("img")


def test_every_plot_of_the_notebook_is_described_on_the_feedback_page():
    """Does each cell of the notebook that draws a plot carry a description of it (its metadata's
    `alt`), and does the feedback page give the plot that text, once escaped, where nbconvert
    would write that no description was provided? A submission's own `alt`, quotes and markup
    in it, is text in the attribute, nothing more. The canary: a drawing cell without its `alt`
    gets nbconvert's text, which the check refuses."""
    source = nbformat.read(ROOT / "source" / ASSIGNMENT / NOTEBOOK, 4)
    drawing = _drawing_cells(source)
    described = {
        cell.metadata.nbgrader.grade_id: cell.metadata.alt
        for cell in source.cells
        if isinstance(cell.metadata.get("alt"), str) and cell.metadata.alt.strip()
    }
    assert {"load-data", "train-he", "boundary-he", "scale-plot"} <= drawing  # the finder finds
    assert set(described) == drawing

    images = _page_with_a_plot_in(copy.deepcopy(source), drawing)
    assert sorted(img["alt"] for img in images) == sorted(described.values())
    assert "'" in "".join(described.values())  # a quote in them reads as a quote, once escaped

    hostile = copy.deepcopy(source)
    forged = 'It\'s "x"><img src=x onerror=alert(1)> & more'
    next(c for c in hostile.cells if c.metadata.get("alt")).metadata.alt = forged
    images = _page_with_a_plot_in(hostile, drawing)
    assert forged in [img["alt"] for img in images]
    assert len(images) == len(drawing) and not any(img.get("onerror") for img in images)

    canary = copy.deepcopy(source)
    del next(c for c in canary.cells if c.metadata.get("alt")).metadata["alt"]
    assert NO_DESCRIPTION in [img["alt"] for img in _page_with_a_plot_in(canary, drawing)]


@pytest.mark.slow
def test_the_formgraders_button_makes_the_same_page(feedback_pages, graded_demo_class, tmp_path):
    """Does nbgrader's API behind the Formgrader's "Generate feedback" button (which always
    asks for the template named "feedback") write the same page as the command?"""
    course = tmp_path / "course"
    shutil.copytree(
        graded_demo_class, course, symlinks=True, ignore=without_its_feedback(graded_demo_class)
    )
    probe = (
        "import sys\n"
        "from nbgrader.apps.api import NbGraderAPI\n"
        "from nbgrader.coursedir import CourseDirectory\n"
        "from instructor.course import load_config\n"
        "config = load_config(sys.argv[1])\n"
        "api = NbGraderAPI(CourseDirectory(config=config), config=config)\n"
        "result = api.generate_feedback('initialization', 'demo-xavier')\n"
        "assert result['success'], result\n"
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(course)}
    subprocess.run([sys.executable, "-c", probe, str(course)], cwd=course, env=env, check=True)
    assert raw_page(course, "demo-xavier") == raw_page(graded_demo_class, "demo-xavier")


def test_math_becomes_mathml_and_code_keeps_its_dollars():
    """Are $inline$ and $$display$$ formulas turned into MathML, while code spans, fenced code,
    prices and a formula latex2mathml cannot read stay as written?"""
    from instructor.preprocessors.math_to_mathml import replace_math

    text = (
        "A $\\sqrt{2 / n^{[l-1]}}$ factor, `x = $y$`, it costs $5 and $3. A $\\frac{2}{\\text{size\nof it}}$.\n\n"
        "$$\\hat{y} = \\frac{1}{2}$$\n\n```\na = $b$\n```\n$\\left( x$"
    )
    out = replace_math(text)
    assert out.count('display="inline"') == 2 and out.count('display="block"') == 1
    assert "<msqrt>" in out and "<mfrac>" in out
    assert "`x = $y$`" in out and "it costs $5 and $3." in out and "a = $b$" in out
    assert "$\\left( x$" in out


def test_summary_reads_wrapped_mistakes_and_escapes_what_the_student_wrote():
    """Does the summary join a mistake the tests wrapped over several lines, drop where it was
    found, and escape HTML that a student's error message carried?"""
    from instructor.feedback_summary import summary

    output = nbformat.v4.new_output(
        "stream",
        text=(
            "Checked on the notebook's example:\n"
            " - Mistake: transposed weights. W1 has shape (3, 2), expected (2, 3). Hint:\n"
            "   `parameters['W' + str(l)]` has the shape `(layers_dims[l], layers_dims[l -\n"
            "   1])`: one row per unit of layer l. (on two other network shapes)\n"
            " - Mistake: error raised. Calling it raised ValueError: <b>x</b>. Hint: Fix <i>\n"
            "   line 3. (on every network)\n"
            "     line 3: raise ValueError('<b>x</b>')\n"
        ),
    )
    nb = nbformat.v4.new_notebook(
        cells=[_cell("code", "check()", "test_f", [output], grade=True, points=10)]
    )
    nb.cells[0].metadata["grading"] = {"function": "initialize_f"}
    nb.cells[0].metadata.nbgrader["score"] = 2.0
    nb, _ = WithholdHiddenTests().preprocess(nb, {"nbgrader": {"score": 2.0, "max_score": 10.0}})
    top = nb.cells[0].source
    assert nb.cells[1].metadata.feedback == {"title": "Exercise 1, initialize_f", "exercise": 1}
    assert "**Score: 2 / 10**" in top
    assert "- **Exercise 1, initialize_f: 2 / 10 points.**" in top
    assert (
        "  - Mistake: transposed weights. What to do: `parameters['W' + str(l)]` has the shape "
        "`(layers_dims[l], layers_dims[l - 1])`: one row per unit of layer l."
    ) in top
    assert "  - Mistake: error raised. What to do: Fix &lt;i&gt; line 3." in top
    assert "<b>" not in top and "<i>" not in top
    assert summary([], {}, ["**Late submission:** one line."]).endswith("one line.")


@pytest.mark.slow
@pytest.mark.parametrize("student, skipped", [("demo-xavier", True), ("demo-echoes-tests", False)])
def test_a_page_says_in_one_line_which_cells_the_grader_did_not_run(
    feedback_pages, graded_demo_class, student, skipped
):
    """A notebook graded on the cells its grade needs: does its page say once that the grader
    did not re-run the trainings, and do those cells carry no output at all (the grader did not
    make one; the student's own were dropped)? One that ran whole (demo-echoes-tests reads
    IPython's history): does its page say nothing of it, and show the grader's own trainings?"""
    line = "The grader did not re-run the plot of the data set, the trainings,"
    trainings_ids = ("train-zeros", "train-random", "train-he")
    assert feedback_pages[student].count(line) == (1 if skipped else 0)
    graded = nbformat.read(graded_demo_class / "autograded" / student / ASSIGNMENT / NOTEBOOK, 4)
    trainings = [c for c in graded.cells if c.metadata["nbgrader"]["grade_id"] in trainings_ids]
    assert len(trainings) == 3
    for cell in trainings:
        if skipped:
            assert cell.outputs == [] and cell.execution_count is None
        else:
            assert "Cost after iteration 0" in "".join(o.get("text", "") for o in cell.outputs)
