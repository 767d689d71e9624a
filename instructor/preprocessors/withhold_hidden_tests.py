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

At the top of the page it puts a summary a student reads in a minute (feedback_summary.py):
the score, then each exercise by name with its points, the mistakes the tests named and what to
do next, read from what the tests printed once masked; then one line per notice (a late
submission's penalty, ...: `_notices`). The exercises' cells are marked in their metadata
(`name_exercises`), from which the page's template (instructor/templates/feedback/) shows each
exercise in a section of its own under the summary and folds the rest of the notebook;
whatever a submission brought in that metadata is dropped. What it masks is read by
hidden_values.py.

A student's own output, in the cells that are not tests, is the student's: its numbers are
never masked, even when they happen to equal a hidden expected value (a correct answer
printed for the notebook's example does); only a line quoting hidden test code is withheld.

The expected values come from the gradebook's copy of the test cells (and from the notebook
itself), so whatever a student submitted cannot hide them. Values the students are given
anyway, such as the expected outputs printed in the notebook, are not secret and stay.
The verdicts printed by the tests and the scores are kept.
"""

from collections.abc import Iterable
from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict
from nbformat.v4 import new_markdown_cell as nbformat_v4_markdown
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from .. import course_data
from ..course_data import HiddenCases
from ..feedback_summary import name_exercises, summary
from ..grading.needed import feedback_line as not_run_line
from ..hidden_values import WITHHELD_NUMBER, Secrets, split_hidden
from ..lms.late import days_late

# What a preprocessor is given and returns besides the notebook (nbconvert's resources).
Resources = dict[str, Any]

NOTE_LEFT_OUT = "[{} output(s) displayed while the tests ran are not shown in the feedback.]"
NOTE_TEST_ERROR = [
    "The tests in this cell stopped with this error and could not finish.",
    "Where it happened is not shown: the traceback would quote the hidden tests.",
]
NOTE_VERDICTS_LATER = "[The verdicts of these tests are shown after the due date.]"
NOTE_NUMBERS = (
    "[withheld] stands for a number equal to a value that the hidden tests expect; it is not shown."
)


class WithholdHiddenTests(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
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
