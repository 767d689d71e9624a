"""Is the grading engine general? A second assignment, graded with no change to the engine.

tests/assignments/activations/ holds a small assignment of its own: two graded functions
(sigmoid and relu), each with hidden tests and a re-check declared in its test cell's metadata,
and its own checks module (activation_tests.py). A course folder is made around it, with the
course's nbgrader settings; nbgrader generates the release; three students submit:

    correct      both functions right                               5 + 5
    sign-error   sigmoid with np.exp(z): a mistake the checks name  0 + 5
    tamperer     relu returns z, and the cell patches np.allclose   5 + 0, flagged
                 so that the notebook's own run passes

It is graded in parallel on Dask by `instructor grade`, fed back by `nbgrader
generate_feedback` and reported by `instructor report`; `nbgrader autograde` gives the same
grades. Its last cell, a table of both functions, is marked as one grading may skip: a course
copy set to run whole notebooks gives the same grades, flags and notes.
"""

import html
import json
import re
import shutil
import sys

import nbformat
import pytest
from conftest import ROOT, own_course, run_in, run_nbgrader
from nbgrader.api import Gradebook

from instructor import course_data

ASSIGNMENT, NOTEBOOK = "activations", "Activations.ipynb"
FILES = ROOT / "tests" / "assignments" / ASSIGNMENT
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
SIGMOID = "    return 1 / (1 + np.exp(-z))"
RELU = "    return np.maximum(0, z)"
PATCH = "np.allclose = lambda *args, **kwargs: True\n\n"  # before the function, in its cell
# student -> {answer cell: (code before the function, the function's body)}
ANSWERS = {
    "correct": {"sigmoid": ("", SIGMOID), "relu": ("", RELU)},
    "sign-error": {"sigmoid": ("", "    return 1 / (1 + np.exp(z))"), "relu": ("", RELU)},
    "tamperer": {"sigmoid": ("", SIGMOID), "relu": (PATCH, "    return z")},
}
EXPECTED = {
    "correct": {"test_sigmoid": 5.0, "test_relu": 5.0},
    "sign-error": {"test_sigmoid": 0.0, "test_relu": 5.0},
    "tamperer": {"test_sigmoid": 5.0, "test_relu": 0.0},
}


def _answer(release, answers):
    """The release notebook with the stubs of the answer cells replaced."""
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            before, body = answers[grade_id]
            assert STUB in cell.source
            cell.source = before + cell.source.replace(STUB, body)
    return nb


def make_course(dest):
    """A course folder around the activations assignment, released, with the class submitted."""
    own_course(dest, "second-assignment")
    shutil.copytree(FILES, dest / "source" / ASSIGNMENT)
    result = run_nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=dest)
    assert result.returncode == 0, result.stdout + result.stderr
    release = nbformat.read(dest / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for student, answers in ANSWERS.items():
        folder = dest / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_answer(release, answers), folder / NOTEBOOK)
    return dest


def instructor(root, *args):
    """A course command (`python -m instructor ...`) on the course folder root."""
    return run_in(ROOT, sys.executable, "-m", "instructor", *args, "--course", root)


def gradebook_scores(root):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {
            student: {
                g.name: g.score
                for g in gb.find_submission_notebook("Activations", ASSIGNMENT, student).grades
            }
            for student in ANSWERS
        }


def ledger(root):
    return json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())["students"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The course, graded once by `instructor grade` on a local Dask cluster."""
    root = make_course(tmp_path_factory.mktemp("second") / "course")
    result = instructor(root, "grade", "--assignment", ASSIGNMENT, "--workers", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result.stdout


@pytest.fixture(scope="module")
def graded_whole(graded, tmp_path_factory):
    """The same course and class, in a copy set to run every cell of each notebook, graded
    again (the reference run of the graded course, kept, has its whole run too)."""
    from corpus.build import run_whole_notebook

    root = tmp_path_factory.mktemp("second-whole") / "course"
    shutil.copytree(graded[0], root, symlinks=True, ignore=shutil.ignore_patterns("feedback"))
    run_whole_notebook(root)
    result = instructor(root, "grade", "--assignment", ASSIGNMENT, "--serial", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Running the source notebook" not in result.stdout
    return root


def test_the_engine_names_no_assignment():
    """Does nothing in the grading engine name the Initialization assignment or its functions?"""
    words = ("initialization", "initialize_parameters", "layers_dims", "zeros", "public_tests")
    engine = ROOT / "instructor" / "grading"
    found = [
        f"{path.relative_to(engine)}: {word}"
        for path in sorted(engine.rglob("*.py"))
        for word in words
        if word in path.read_text().lower()
    ]
    assert found == []


@pytest.mark.slow
def test_second_assignment_is_graded_in_parallel_with_tampering_rejected(graded):
    """Does `instructor grade` give each student the points the checks earn, on Dask, and does
    the tamperer lose the points the patched comparison gave?"""
    root, output = graded
    assert "on a local Dask cluster" in output
    assert gradebook_scores(root) == EXPECTED
    entries = ledger(root)
    assert entries["correct"]["flags"] == [] and entries["sign-error"]["flags"] == []
    flags = entries["tamperer"]["flags"]
    assert any(f.startswith("relu: the notebook's run reported 5 / 5") for f in flags), flags
    assert any("replaces np.allclose" in f for f in flags), flags


@pytest.mark.slow
def test_second_assignment_feedback_teaches_without_the_hidden_inputs(graded):
    """Does nbgrader's generate_feedback, with the course's settings, show each score and the
    named mistake, and leave out the hidden inputs?"""
    root, _ = graded
    result = run_nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (root / "feedback" / "sign-error" / ASSIGNMENT / "Activations.html").read_text()
    assert "sign error in the exponent" in page
    assert "The grader did not re-run the table of both functions" in page
    assert "5.0 / 10.0" in page or "5 / 10" in page
    for hidden in ("linspace", "-30.0", "7.25", "BEGIN HIDDEN TESTS"):
        assert hidden not in page
    for initialization in ("another network", "network shape", "layers_dims"):
        assert initialization not in page  # the Initialization assignment's wording


@pytest.mark.slow
def test_second_assignment_report_counts_its_named_mistakes(graded):
    """Does `instructor report` write the class report of the second assignment, with its
    scores and its named mistake?"""
    root, _ = graded
    result = instructor(root, "report", "--assignment", ASSIGNMENT)
    assert result.returncode == 0, result.stdout + result.stderr
    folder = root / "reports" / ASSIGNMENT
    rows = (folder / "scores.csv").read_text().splitlines()
    assert rows[0].startswith("student,sigmoid,relu,total")
    assert "sign-error,0,5,5" in rows[2]
    page = (folder / "report.html").read_text()
    assert "sign error in the exponent" in page and "Activations: class report" in page
    # no teaching note of the Initialization assignment: the tests' own message instead
    assert re.search(r"The tests say: [^<]*np\.exp\(-z\)", page)
    notes = course_data.load(ROOT, "initialization").notes.values()
    assert notes and not [note for note in notes if note[:40] in html.unescape(page)]


@pytest.mark.slow
def test_nbgrader_autograde_gives_the_second_assignment_the_same_grades(graded):
    """Does nbgrader's own autograde, which hands each student to the same engine, give the
    same grades and flags?"""
    root, _ = graded
    before = ledger(root)
    result = run_nbgrader("autograde", ASSIGNMENT, "--force", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert gradebook_scores(root) == EXPECTED
    after = ledger(root)
    assert {s: e["flags"] for s, e in after.items()} == {s: e["flags"] for s, e in before.items()}


@pytest.mark.slow
def test_second_assignment_grades_as_a_run_of_the_whole_notebook(graded, graded_whole):
    """Does grading without the marked table give every student what a run of the whole
    notebook gives (scores, flags, notes), and does the ledger say the table was skipped?"""
    root, _ = graded
    assert gradebook_scores(root) == gradebook_scores(graded_whole) == EXPECTED
    fast, whole = ledger(root), ledger(graded_whole)
    for student in ANSWERS:
        for key in ("status", "reason", "scores", "notes", "flags"):
            assert fast[student][key] == whole[student][key], (student, key)
        assert fast[student]["ran"] == "the cells the grade needs (1 marked cell(s) not run)"
        assert "ran" not in whole[student]
