"""Reading submissions before grading (instructor/grading/intake.py), without running any notebook.

The corpus of broken and odd submissions (tests/corpus/build.py) is read with the real
release: each must be rejected with its reason or repaired into a notebook that nbformat
validates, holding every cell of the release once, in the release's order, while the files
submitted stay untouched. Quick: no kernel runs here (test_grading_corpus.py grades them).
"""

import hashlib
import io
import re

import nbformat
import pytest
from answers import ANSWER_CELLS
from corpus import build as corpus
from harness import NOTEBOOK, RELEASE, ROOT

from instructor.grading.intake import digest, read_submission
from instructor.grading.ledger import Entry
from instructor.grading.normalise import Reference
from instructor.grading.progress import Progress

REJECTED = {
    "invalid-json": r"not valid JSON \(.* at line \d+, column \d+\)",
    "empty-file": r"^the notebook file is empty$",
    "not-a-notebook": r"JSON but not a notebook",
    "no-notebook": r"^no notebook in the submission$",
}
# The scenarios read here (huge-outputs is left to the graded corpus: it writes 250 MB).
READ = sorted(set(corpus.SCENARIOS) - {"huge-outputs"})


@pytest.fixture(scope="module")
def reference():
    return Reference.from_file(RELEASE / NOTEBOOK)


@pytest.fixture(scope="module")
def corpus_folder(tmp_path_factory, reference):
    """The corpus, built from the release into a temporary submitted/ folder."""
    folder = tmp_path_factory.mktemp("intake") / "submitted"
    corpus.build(reference.nb, folder, ROOT, READ)
    return folder


@pytest.fixture(scope="module")
def read(corpus_folder, reference):
    """{scenario: (Submission, hashes of its files before reading)}."""
    results = {}
    for name in READ:
        folder = corpus_folder / name / "initialization"
        before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
        results[name] = (read_submission(name, folder, reference), before)
    return results


@pytest.mark.parametrize("scenario", sorted(REJECTED))
def test_unusable_submissions_are_rejected_with_a_one_line_reason(read, scenario):
    """Is each unusable submission rejected, saying why in one line?"""
    submission, _ = read[scenario]
    assert submission.status == "rejected"
    assert re.search(REJECTED[scenario], submission.reason) and "\n" not in submission.reason


@pytest.mark.parametrize("scenario", sorted(set(READ) - set(REJECTED)))
def test_repaired_notebooks_hold_the_release_cells_in_order(read, reference, scenario):
    """Is every usable submission turned into a valid notebook with each release cell once,
    in the release's order, carrying the release's grading metadata?"""
    submission, _ = read[scenario]
    assert submission.status == "ok", submission.reason
    nb = nbformat.reads(submission.notebooks["Initialization"], as_version=4)
    nbformat.validate(nb)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    graded = [i for i in ids if i]
    assert graded == reference.order
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            assert cell.metadata == reference.cells[grade_id].metadata
            assert cell.cell_type == reference.cells[grade_id].cell_type
    assert nb.metadata.kernelspec.name == "python3"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("scenario", READ)
def test_reading_never_changes_the_submitted_files(read, corpus_folder, scenario):
    """Are the files of the submission byte-for-byte the same after reading them?"""
    _, before = read[scenario]
    folder = corpus_folder / scenario / "initialization"
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert after == before


def _cell(submission, grade_id):
    nb = nbformat.reads(submission.notebooks["Initialization"], as_version=4)
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_a_copied_answer_is_graded_as_it_stood_when_its_test_ran(read):
    """Of two copies of an answer cell, is the one in effect at its test the one graded?"""
    submission, _ = read["copied-cells"]
    assert "np.sqrt(2 / layers_dims[l - 1])" in _cell(submission, ANSWER_CELLS["he"]).source


def test_a_deleted_answer_comes_back_unanswered(read):
    """Is a deleted answer cell restored as the release's unanswered stub?"""
    submission, _ = read["deleted-answer-cell"]
    assert "raise NotImplementedError()" in _cell(submission, ANSWER_CELLS["random"]).source


def test_cells_the_student_added_keep_their_code_but_no_grading_role(read):
    """Do added cells stay, without nbgrader metadata, around the cells they followed?"""
    submission, _ = read["added-cells"]
    nb = nbformat.reads(submission.notebooks["Initialization"], as_version=4)
    added = [c for c in nb.cells if "nbgrader" not in c.metadata]
    assert [c.source for c in added] == ["scratch = 1", "print('my own check')", "My notes."]
    assert nb.cells[0].source == "scratch = 1"


def test_the_digest_changes_with_any_file_of_the_submission(tmp_path):
    """Does the content hash that decides what to grade again see every change?"""
    (tmp_path / "a.ipynb").write_text("{}")
    first = digest(tmp_path)
    (tmp_path / "data.csv").write_text("1,2")
    second = digest(tmp_path)
    (tmp_path / "data.csv").write_text("1,3")
    assert len({first, second, digest(tmp_path)}) == 3


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_live_bar_on_a_terminal_and_lines_otherwise():
    """Does a terminal get one redrawn line with counts, rate and time left, and a log one
    plain line per submission?"""
    terminal, log = _Terminal(), io.StringIO()
    entries = [
        Entry("a", "graded", scores={"zeros": 10.0}),
        Entry("b", "failed", reason="the workers died"),
    ]
    for stream in (terminal, log):
        progress = Progress(3, stream)
        for entry in entries:
            progress.update(entry)
        progress.close()
    bar = terminal.getvalue()
    assert bar.count("\r[") == 2 and "2/3" in bar and "failed 1" in bar and "left" in bar
    assert log.getvalue().splitlines() == [
        "[1/3] a: graded, 10 points",
        "[2/3] b: failed, the workers died",
    ]


def test_release_is_readable_as_the_reference():
    """Does the reference know each exercise's answer cell and the test that checks it?"""
    reference = Reference.from_file(RELEASE / NOTEBOOK)
    assert reference.test_of == {answer: f"test_{answer}" for answer in ANSWER_CELLS.values()}
