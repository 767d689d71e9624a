"""Feedback that does not give the hidden tests away.

`nbgrader generate_feedback` turns each autograded notebook into an HTML page as it is. But
autograde put the hidden tests back into the test cells to run them, so by default the page
shows their code, and the outputs may quote it too: a traceback shows the hidden line that
raised, and a student's code that ran during the tests may have printed anything.

WithholdHiddenTests is a preprocessor that generate_feedback runs on every notebook (it is
added to GenerateFeedback.preprocessors in nbgrader_config.py). In every cell it

- removes the hidden-test regions from the code and leaves a one-line note in their place;
- withholds, in every output, each line that quotes a line of hidden test code;
- in the outputs of test cells (what the tests printed while they ran), masks each number
  that is an expected value of the hidden tests, however it is formatted (repr, numpy's 8
  decimals, rounded or cut to 5 significant digits or more, with or without its sign), and
  describes the hidden cases without their inputs, as the course's file of the assignment
  says (assignments/<assignment>.toml, [feedback.hidden_cases]: `HiddenCases`). For the
  Initialization assignment "with layers_dims=[5, 4, 3, 2, 1], [4, 6, 1]" becomes "on two
  other network shapes", and a parameter shape that only a hidden network has becomes "(a
  shape of another network)"; an assignment without that section has its numbers masked all
  the same;
- in test cells, replaces the traceback of an error (it quotes the code that raised) by the
  exception's type and message, and leaves out what the student's code displayed there.

At the top of the page it puts a summary a student reads in a minute (`summary`): the score,
then each exercise by name ("Exercise 2, initialize_parameters_random", the title the page's
template also uses in its contents) with its points, the mistakes the tests named and what to
do next, read from what the tests printed once masked; then one line per notice (a late
submission's penalty, ...: `_notices`). It marks each exercise's test cell and answer cell in
their metadata (`name_exercises`), from which the page's template
(instructor/templates/feedback/) shows each exercise in a section of its own under the summary
and folds the rest of the notebook; whatever a submission brought in that metadata is dropped.

A student's own output, in the cells that are not tests, is the student's: its numbers are
never masked, even when they happen to equal a hidden expected value (a correct answer
printed for the notebook's example does); only a line quoting hidden test code is withheld.

The expected values come from the gradebook's copy of the test cells (and from the notebook
itself), so whatever a student submitted cannot hide them. Values the students are given
anyway, such as the expected outputs printed in the notebook, are not secret and stay.
The verdicts printed by the tests and the scores are kept.
"""

import bisect
import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict
from nbformat.v4 import new_markdown_cell as nbformat_v4_markdown
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from . import course_data
from .course_data import HiddenCases
from .grading.needed import feedback_line as not_run_line

# A decimal number as Python and numpy print it, sign included: 17.88628473, -0.0827, 1.5e-03.
# The look-behind keeps digits of a longer number out; letters may precede (ANSI colour codes).
NUMBER = re.compile(
    r"(?<![\d.])[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|(?<![\d.])[-+]?\d+[eE][-+]?\d+"
)

# Terminal colour codes, as in IPython's tracebacks.
ANSI = re.compile(r"\x1b\[[0-9;]*m")

WITHHELD_NUMBER = "[withheld]"
WITHHELD_LINE = "[line withheld: it quotes the hidden tests]"
NOTE_LEFT_OUT = "[{} output(s) displayed while the tests ran are not shown in the feedback.]"
NOTE_TEST_ERROR = [
    "The tests in this cell stopped with this error and could not finish.",
    "Where it happened is not shown: the traceback would quote the hidden tests.",
]
NOTE_VERDICTS_LATER = "[The verdicts of these tests are shown after the due date.]"
NOTE_NUMBERS = (
    "[withheld] stands for a number equal to a value that the hidden tests expect; it is not shown."
)

# The input of a hidden case as the tests print it: a list of integers, `[5, 4, 3, 2, 1]`; a
# run of them after `<argument>=` (HiddenCases.argument); a shape as numpy prints it.
INPUT = re.compile(r"\[\d+(?:, \d+)+\]")
INPUT_RUN = r"with {}=(\[\d+(?:, \d+)*\](?:, \[\d+(?:, \d+)*\])*)"
SHAPE = re.compile(r"\(\d+, ?\d*\)")
# What a preprocessor is given and returns besides the notebook (nbconvert's resources).
Resources = dict[str, Any]
COUNTS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _input_text(sizes: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in sizes) + "]"


def shapes_of(sizes: Sequence[int], templates: Iterable[str]) -> set[str]:
    """The shapes an input gives away, as numpy prints them: each template filled in with each
    pair of consecutive integers of the input ({before}, {after})."""
    forms = list(templates)
    return {
        form.format(before=before, after=after)
        for before, after in zip(sizes, sizes[1:])
        for form in forms
    }


def count_of_others(count: int, others: str) -> str:
    """'on two other network shapes': count hidden inputs named by their number."""
    word = COUNTS[count] if count < len(COUNTS) else str(count)
    return f"on {word} {others}{'s' if count != 1 else ''}"


def significant_digits(token: str) -> int:
    """How many significant digits a printed number has: '-0.00827' has 3, '17.80' has 4."""
    mantissa = re.split("[eE]", token)[0].lstrip("+-").replace(".", "")
    return len(mantissa.lstrip("0"))


def last_digit_unit(token: str) -> float:
    """The value of one unit of the last printed digit: 1e-8 for '0.82741481', 1e-5 for '1.5e-4'."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_in(text: str, min_digits: int) -> list[tuple[str, int, int]]:
    """The numbers printed in text with at least min_digits significant digits, as
    (token, start, end) triples."""
    return [
        (m.group(), m.start(), m.end())
        for m in NUMBER.finditer(text)
        if significant_digits(m.group()) >= min_digits
    ]


def split_hidden(
    source: str, begin: str, end: str, note: str | None = None
) -> tuple[str, list[str]]:
    """Split a cell's source into (visible source, hidden lines).

    Every region from a line containing `begin` to the next line containing `end` is hidden,
    delimiters included; a region left open runs to the end of the cell. With note, each region
    is replaced by that comment, indented like the region.
    """
    visible, hidden = [], []
    inside = False
    for line in source.split("\n"):
        if not inside and begin in line:
            inside = True
            hidden.append(line)
            if note is not None:
                indent = line[: len(line) - len(line.lstrip())]
                visible.append(indent + note)
        elif inside:
            hidden.append(line)
            inside = end not in line
        else:
            visible.append(line)
    return "\n".join(visible), hidden


class Secrets:
    """What the feedback must not show: the hidden tests' lines and expected numbers.

    hidden_lines -- the lines of the hidden-test regions
    public_texts -- everything the students are given anyway; a hidden line or number that
        appears there is not a secret
    min_digits -- numbers with fewer significant digits are too coarse to give anything away
    cases -- how the assignment's hidden cases are recognised and named (the course's file of
        the assignment); None: the hidden inputs are not described, the numbers and lines
        are masked all the same
    """

    def __init__(
        self,
        hidden_lines: Sequence[str],
        public_texts: Iterable[str],
        min_digits: int = 5,
        cases: HiddenCases | None = None,
    ) -> None:
        self.min_digits = min_digits
        self.cases = cases
        public = "\n".join(public_texts)
        self.lines = sorted(
            {
                line.strip()
                for line in hidden_lines
                if any(ch.isalnum() for ch in line) and line.strip() not in public
            }
        )
        hidden_values = {
            abs(float(token))
            for line in hidden_lines
            for token, _, _ in numbers_in(line, min_digits)
        }
        # A hidden value that the public texts print, even with fewer digits, is no secret.
        public_tokens = [token for token, _, _ in numbers_in(public, min_digits)]
        self.values = sorted(
            value
            for value in hidden_values
            if math.isfinite(value) and not any(_matches(token, value) for token in public_tokens)
        )
        # The hidden cases' inputs that the public texts do not show, and the shapes that only
        # they have.
        self.inputs: set[str] = set()
        self.shapes: set[str] = set()
        if cases is None:
            return
        public_inputs = set(INPUT.findall(public))
        case = re.compile(cases.case)
        inputs = {
            tuple(int(d) for d in m.group(1).split(","))
            for line in hidden_lines
            for m in case.finditer(line)
        }
        self.inputs = {_input_text(d) for d in inputs} - public_inputs
        public_shapes = set().union(
            *(
                shapes_of([int(d) for d in text[1:-1].split(",")], cases.shapes)
                for text in public_inputs
            )
        )
        self.shapes = (
            set().union(
                *(shapes_of(d, cases.shapes) for d in inputs if _input_text(d) in self.inputs)
            )
            - public_shapes
        )

    def is_secret_number(self, token: str) -> bool:
        """Is this printed number one of the hidden values, at the precision it is printed?"""
        if significant_digits(token) < self.min_digits:
            return False
        value, unit = abs(float(token)), last_digit_unit(token)
        i = bisect.bisect_left(self.values, value - unit * (1 + 1e-9))
        return i < len(self.values) and _matches(token, self.values[i])

    def quotes_hidden_line(self, line: str) -> bool:
        """Does the line hold a hidden line (colour codes of a traceback aside)?"""
        plain = ANSI.sub("", line)
        return any(secret in plain for secret in self.lines)

    def describe_cases(self, line: str) -> str:
        """The line with the hidden inputs named by count, not by their values."""
        cases = self.cases
        if cases is None or not self.inputs:
            return line

        def run(match: re.Match[str]) -> str:
            lists = INPUT.findall(match.group(1)) or [match.group(1)]
            shown = [d for d in lists if d not in self.inputs]
            hidden = len(lists) - len(shown)
            if not hidden:
                return match.group(0)
            text = count_of_others(hidden, cases.others)
            return f"with {cases.argument}={', '.join(shown)} and {text}" if shown else text

        line = re.sub(INPUT_RUN.format(re.escape(cases.argument)), run, line)
        line = INPUT.sub(lambda m: cases.another if m.group(0) in self.inputs else m.group(0), line)
        return SHAPE.sub(
            lambda m: cases.another_shape if m.group(0) in self.shapes else m.group(0), line
        )

    def mask(self, text: str, numbers: bool = True) -> str:
        """The text with secret lines withheld and, with numbers, secret numbers masked and
        the hidden cases described without their inputs."""
        out = []
        for line in text.split("\n"):
            if self.quotes_hidden_line(line):
                out.append(WITHHELD_LINE)
                continue
            if not numbers:
                out.append(line)
                continue
            line = self.describe_cases(line)
            pieces, last = [], 0
            for token, start, stop in numbers_in(line, self.min_digits):
                if self.is_secret_number(token):
                    pieces += [line[last:start], WITHHELD_NUMBER]
                    last = stop
            out.append("".join(pieces) + line[last:])
        return "\n".join(out)


def _matches(token: str, value: float) -> bool:
    """Does the printed number stand for value (or -value), rounded or cut to its digits?"""
    printed = abs(float(token))
    return math.isfinite(printed) and abs(printed - value) <= last_digit_unit(token) * (1 + 1e-9)


class WithholdHiddenTests(NbGraderPreprocessor):
    """generate_feedback preprocessor: remove hidden tests and what would quote them."""

    begin_delimiter = Unicode(
        "BEGIN HIDDEN TESTS", help="Marks the start of a hidden-test region (as in nbgrader)."
    ).tag(config=True)
    end_delimiter = Unicode(
        "END HIDDEN TESTS", help="Marks the end of a hidden-test region (as in nbgrader)."
    ).tag(config=True)
    note = Unicode(
        "# (The hidden tests are not shown in the feedback.)",
        help="The comment that replaces each hidden-test region in the feedback.",
    ).tag(config=True)
    min_digits = Integer(
        5, help="Numbers printed with fewer significant digits are never masked."
    ).tag(config=True)

    show_verdicts = Bool(
        True,
        help="False: the test cells' outputs and scores are withheld too, and a note says they "
        "come after the due date (the grade-on-submit service sets it before the due date when "
        "c.GradeOnSubmit.hidden_verdicts_before_due is False).",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        hidden, public = self._hidden_and_public(nb, resources)
        self.secrets = Secrets(hidden, public, self.min_digits, self._hidden_cases(resources))
        for cell in nb.cells:
            # The page's layout is read from metadata.feedback, which only this writes: a
            # submission's own is dropped (it could move or retitle cells on the page).
            cell.metadata.pop("feedback", None)
            self._scrub_cell(cell)
        results = name_exercises(nb)
        notices = list(filter(None, self._notices(nb, resources)))
        if self.show_verdicts:
            top = summary(results, resources.get("nbgrader", {}), notices)
        else:
            top = "\n\n".join([self._withhold_verdicts(nb, resources), *notices])
        cell = from_dict(nbformat_v4_markdown(top))
        cell.metadata["feedback"] = {"summary": True}
        # A fixed id (nbformat draws one at random): the same page from every route.
        taken, cell.id, number = {c.get("id") for c in nb.cells}, "feedback-summary", 0
        while cell.id in taken:  # a submission's cell of that id keeps it
            number += 1
            cell.id = f"feedback-summary-{number}"
        nb.cells.insert(0, cell)
        return nb, resources

    def _hidden_cases(self, resources: Resources) -> HiddenCases | None:
        """How the assignment's hidden cases are named: the course's file of the assignment
        (assignments/<assignment>.toml in the course directory nbgrader runs on), read from
        the instructor's side, never from anything a student submitted."""
        assignment = resources.get("nbgrader", {}).get("assignment")
        if not assignment:
            return None
        root = CourseDirectory(config=self.config).root
        return course_data.load(root, str(assignment)).hidden_cases

    def _notices(self, nb: NotebookNode, resources: Resources) -> list[str | None]:
        """One-line notices for the top of the page, under the summary (None for none): the
        lateness, and the grader's line on the cells it did not run (the trainings...)."""
        return [self._lateness_note(resources), not_run_line(nb)]

    def _withhold_verdicts(self, nb: NotebookNode, resources: Resources) -> str:
        """Before the due date, when the instructor chose so: no test cell's output or score."""
        info = resources.setdefault("nbgrader", {})
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
                cell.outputs = [_stream(NOTE_VERDICTS_LATER + "\n")]
                for key, field in (("score", "score"), ("max_score", "points")):
                    if key in info and meta.get(field) is not None:
                        info[key] = float(info[key]) - float(meta[field])
                meta["grade"] = False  # the page lists no score for it
        return (
            "**Submission received and graded.** Until the due date, this feedback shows that "
            "your notebook ran; the tests' verdicts and your scores are released after it."
        )

    def _lateness_note(self, resources: Resources) -> str | None:
        """A line for the top of the page when the submission was late: how late, the penalty."""
        info = resources.get("nbgrader", {})
        if not {"db_url", "assignment", "student"} <= set(info):
            return None
        from .lms.late import days_late

        try:
            with Gradebook(info["db_url"]) as gb:
                submission = gb.find_submission(info["assignment"], info["student"])
                seconds = submission.total_seconds_late
                if seconds <= 0:
                    return None
                due = submission.duedate
                penalty = submission.late_submission_penalty or 0.0
        except MissingEntry:
            return None
        return (
            f"**Late submission:** submitted after the due date ({due:%Y-%m-%d %H:%M} UTC), "
            f"late by {days_late(seconds)} started day(s); the late penalty takes "
            f"{penalty:g} point(s) off the score."
        )

    def _hidden_and_public(
        self, nb: NotebookNode, resources: Resources
    ) -> tuple[list[str], list[str]]:
        """The hidden lines and the public texts, from the gradebook and the notebook."""
        recorded = self._gradebook_sources(resources)
        hidden, public = [], []
        for source in recorded:
            visible, lines = split_hidden(source, self.begin_delimiter, self.end_delimiter)
            hidden += lines
            public.append(visible)
        for cell in nb.cells:
            visible, lines = split_hidden(cell.source, self.begin_delimiter, self.end_delimiter)
            hidden += lines
            if not recorded and _is_instructor_cell(cell):
                public.append(visible)
        return hidden, public

    def _gradebook_sources(self, resources: Resources) -> list[str]:
        """The instructor's version of every nbgrader cell of this notebook, if there is one."""
        info = resources.get("nbgrader", {})
        if not {"db_url", "assignment", "notebook"} <= set(info):
            return []
        try:
            with Gradebook(info["db_url"]) as gb:
                notebook = gb.find_notebook(info["notebook"], info["assignment"])
                return [cell.source for cell in notebook.source_cells]
        except MissingEntry:
            return []

    def _scrub_cell(self, cell: NotebookNode) -> None:
        cell.source, hidden = split_hidden(
            cell.source, self.begin_delimiter, self.end_delimiter, self.note
        )
        if cell.cell_type != "code":
            return
        test_cell = bool(hidden) or (utils.is_grade(cell) and not utils.is_solution(cell))
        merged = _merge_streams(cell.outputs)
        scrubbed = [self._scrub_output(output, test_cell) for output in merged]
        outputs = [output for output in scrubbed if output is not None]
        left_out = len(merged) - len(outputs)
        if any(WITHHELD_NUMBER in _text_of(output) for output in outputs):
            outputs.append(_stream(NOTE_NUMBERS + "\n"))
        if left_out:
            outputs.append(_stream(NOTE_LEFT_OUT.format(left_out) + "\n"))
        cell.outputs = outputs

    def _scrub_output(self, output: NotebookNode, test_cell: bool) -> NotebookNode | None:
        """The output as the feedback may show it, or None to leave it out."""
        kind = output.output_type
        if kind == "stream":
            return _stream(self.secrets.mask(output.text, numbers=test_cell), output.name)
        if kind == "error":
            return self._scrub_error(output, test_cell)
        if test_cell and kind != "execute_result":
            return None  # displayed by the student's code while the tests ran
        data = {}
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") and (mime == "text/plain" or not test_cell):
                text = value if isinstance(value, str) else "".join(value)
                data[mime] = self.secrets.mask(text, numbers=test_cell)
            elif mime.startswith("image/") and not test_cell:
                data[mime] = value
        return from_dict({**output, "data": data}) if data else None

    def _scrub_error(self, output: NotebookNode, test_cell: bool) -> NotebookNode:
        """In a test cell, the error's type and message only (the traceback quotes the cell's
        code); elsewhere the whole error, masked."""
        ename = self.secrets.mask(str(output.get("ename", "Error")), numbers=test_cell)
        evalue = self.secrets.mask(str(output.get("evalue", "")), numbers=test_cell)
        if test_cell:
            traceback = [f"\x1b[0;31m{ename}\x1b[0m: {evalue}", *NOTE_TEST_ERROR]
        else:
            traceback = [
                self.secrets.mask(line, numbers=False) for line in output.get("traceback", [])
            ]
        scrubbed: NotebookNode = from_dict(
            {**output, "ename": ename, "evalue": evalue, "traceback": traceback}
        )
        return scrubbed


# --- The summary at the top of the page ------------------------------------------------------

# A mistake the tests printed: " - Mistake: <title>. <explanation> Hint: <hint> (<where>)",
# continued on lines that start with three spaces (public_tests.py prints them so).
MISTAKE_ENTRY = re.compile(r"^ - Mistake: (.+(?:\n {3}\S.*)*)", re.MULTILINE)
WHERE_FOUND = re.compile(r"\s*\((?:on|with) [^()]*\)$")
IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


@dataclass
class ExerciseResult:
    """What the page says of one exercise at the top: its title, points and mistakes."""

    title: str
    grade_id: str
    score: float | None
    points: float
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # (title, what to do next) pairs
    stopped: str = ""  # the error that stopped the tests, if one did


def name_exercises(nb: NotebookNode) -> list["ExerciseResult"]:
    """Title every test cell "Exercise N, <function>" and read what its tests found.

    The page's template lays the page out from what this leaves in each cell's
    metadata.feedback: a test cell gets {"title", "exercise": N}, the answer cell its test
    names (grading.answer_cell, a solution cell) gets {"exercise": N, "answer": True}; the
    template shows each exercise's answer and test in a section of its own, titled so, near
    the top, and folds the rest of the notebook."""
    answers = {
        str(cell.metadata["nbgrader"].get("grade_id")): cell
        for cell in nb.cells
        if cell.cell_type == "code" and utils.is_solution(cell)
    }
    results: list[ExerciseResult] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grading = cell.metadata.get("grading") or {}
        function = str(grading.get("function", ""))
        name = function if IDENTIFIER.match(function) else str(meta.get("grade_id", ""))
        number = len(results) + 1
        title = f"Exercise {number}, {name}"
        cell.metadata["feedback"] = {"title": title, "exercise": number}
        answer = answers.pop(str(grading.get("answer_cell", "")), None)  # one test each
        if answer is not None:
            answer.metadata["feedback"] = {"exercise": number, "answer": True}
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        result = ExerciseResult(
            title,
            str(meta.get("grade_id", "")),
            meta.get("score"),
            float(meta.get("points", 0) or 0),
            mistakes=[_mistake(entry) for entry in MISTAKE_ENTRY.findall(text)],
            stopped=f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else "",
        )
        results.append(result)
    return results


def _mistake(entry: str) -> tuple[str, str]:
    """(title, hint) of one mistake the tests printed, its wrapped lines joined."""
    text = " ".join(line.strip() for line in entry.splitlines())
    title = text.split(". ", 1)[0]
    hint = text.partition(" Hint: ")[2]
    return title, WHERE_FOUND.sub("", hint).strip()


def _safe(text: str) -> str:
    """Text for the summary's markdown: HTML escaped outside `code` (inside it, the markdown
    renderer escapes it)."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else html.escape(p, quote=False) for p in parts)


def summary(
    results: Sequence["ExerciseResult"], info: Mapping[str, Any], notices: Sequence[str] = ()
) -> str:
    """The markdown at the top of the page: the score, each exercise by name with its points,
    the mistakes named and what to do next, then one line per notice."""
    lines = ["## Your feedback at a glance", ""]
    if "score" in info and "max_score" in info:
        lines += [f"**Score: {float(info['score']):g} / {float(info['max_score']):g}**", ""]
    for result in results:
        score = "?" if result.score is None else f"{float(result.score):g}"
        head = f"- **{_safe(result.title)}: {score} / {result.points:g} points.**"
        if result.stopped:
            lines.append(
                f"{head} The tests stopped with an error, {_safe(result.stopped)}; the test "
                "cell below says more."
            )
        elif not result.mistakes and result.score is not None and result.score >= result.points:
            lines.append(f"{head} All checks passed.")
        elif not result.mistakes:
            lines.append(f"{head} See the test cell below for what the checks found.")
        else:
            lines.append(head)
            for title, hint in result.mistakes:
                lines.append(f"  - Mistake: {_safe(title)}. What to do: {_safe(hint)}")
    if results:
        lines += ["", "Each exercise's answer and test, below, show the details."]
    if notices:
        lines += [""] + [f"{notice}  " for notice in notices]
    return "\n".join(lines).rstrip()


def _text_of(output: NotebookNode) -> str:
    """All the text of an output, for searching."""
    if output.output_type == "stream":
        return str(output.text)
    if output.output_type == "error":
        return "\n".join([output.evalue, *output.traceback])
    return "\n".join(v for k, v in output.get("data", {}).items() if k.startswith("text/"))


def _is_instructor_cell(cell: NotebookNode) -> bool:
    """A cell whose content comes from the instructor: locked, or a test cell."""
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("locked") or (meta.get("grade") and not meta.get("solution"))


def _stream(text: str, name: str = "stdout") -> NotebookNode:
    return NotebookNode(output_type="stream", name=name, text=text)


def _merge_streams(outputs: Iterable[NotebookNode]) -> list[NotebookNode]:
    """Consecutive stream outputs of the same name as one (a line may span two of them)."""
    merged: list[NotebookNode] = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            merged[-1] = _stream(previous.text + output.text, output.name)
        else:
            merged.append(output)
    return merged
