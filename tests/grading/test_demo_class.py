"""The demo class: real student notebooks, graded by the real nbgrader autograde, on the cells
each grade needs (the session's graded_demo) and, in a copy set to run whole notebooks, the
same: the same scores, flags and notes for every student."""

import json

import pytest
from answers import ANSWER_CELLS, NAMES, STUDENTS, build_demo
from conftest import extra_students, grade_demo, shares_of
from harness import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK, RELEASE, ROOT
from nbgrader.api import Gradebook

from instructor import demo

# The share of each exercise's points (zeros, random, he) that each demo student must get:
# 20 % for the keys, 30 % for float64 arrays of the right shapes, 50 % for the right values.
# The points themselves are the grade cells' nbgrader metadata in the source.
pytestmark = pytest.mark.heavy

SHARES = {
    "demo-correct": (1, 1, 1),
    "demo-untouched": (0, 0, 0),
    "demo-transposed": (0.2, 0.2, 0.2),
    "demo-fixed-index": (0.2, 0.2, 0.2),
    "demo-uniform-rand": (1, 0.5, 0.5),
    "demo-small-random": (1, 0.5, 1),
    "demo-xavier": (1, 1, 0.5),
    "demo-random-biases": (1, 0.5, 0.5),
    "demo-skip-last-layer": (1, 1, 0),
}
EXPECTED = {student: shares_of(*shares) for student, shares in SHARES.items()}


def test_every_demo_student_is_expected_and_named():
    """Does the test cover exactly the students of the demo class, each with a name?"""
    assert set(EXPECTED) == set(STUDENTS) == set(NAMES)


@pytest.mark.slow
def test_demo_students_get_their_names_in_their_own_gradebook(course):
    """Does preparing the demo class name its students in the demo's own gradebook, with the
    assignment copied from the course's, and leave the course's gradebook without them?"""
    from conftest import run_nbgrader

    assert run_nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=course).returncode == 0
    demo.prepare_gradebook(course, ASSIGNMENT)
    with Gradebook(f"sqlite:///{course / 'demo' / 'gradebook.db'}") as gb:
        student = gb.find_student("demo-xavier")
        assert (student.first_name, student.last_name) == NAMES["demo-xavier"]
        assert [c.max_score for c in gb.find_notebook("Initialization", ASSIGNMENT).grade_cells]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.students == []


def test_committed_demo_class_is_what_the_builder_types(tmp_path):
    """Is demo/submitted exactly the release with each student's answers typed in?"""
    for folder in ("source", "release", "assignments"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    built = build_demo(tmp_path)
    for student in STUDENTS:
        path = f"{student}/{ASSIGNMENT}/{NOTEBOOK}"
        assert (built / path).read_bytes() == (ROOT / DEMO_SUBMITTED / path).read_bytes(), student


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_demo_notebook_differs_from_the_release_only_in_answer_cells(student):
    """Did the demo student change nothing but the answer cells, as a real student would?"""
    release = json.loads((RELEASE / NOTEBOOK).read_text())["cells"]
    submitted = json.loads((ROOT / DEMO_SUBMITTED / student / ASSIGNMENT / NOTEBOOK).read_text())
    assert len(submitted["cells"]) == len(release)
    for before, after in zip(release, submitted["cells"]):
        assert after["metadata"] == before["metadata"]
        if before["metadata"]["nbgrader"]["grade_id"] not in ANSWER_CELLS.values():
            assert after["source"] == before["source"]


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_autograde_gives_each_demo_student_the_expected_scores(graded_demo, student):
    """Does the real nbgrader autograde give each demo student the expected points per cell?"""
    with Gradebook(f"sqlite:///{graded_demo / 'gradebook.db'}") as gb:
        scores = tuple(
            gb.find_grade(
                f"test_initialize_parameters_{kind}", "Initialization", ASSIGNMENT, student
            ).score
            for kind in ["zeros", "random", "he"]
        )
    assert scores == EXPECTED[student]
    assert (graded_demo / "autograded" / student / ASSIGNMENT / NOTEBOOK).exists()


# --- the cells the grade needs, against a whole run --------------------------------------------

# The extra students whose own cells need the whole notebook, and why (needed.py).
RUN_WHOLE = {
    "demo-echoes-tests": "reaches the notebook's variables dynamically (In",
    "demo-np-rebound": "a function uses np, a variable set outside it",
}


@pytest.fixture(scope="module")
def graded_demo_whole(tmp_path_factory):
    """The same class graded by the same command, in a quick course copy whose grading runs
    every cell of each notebook (c.CourseGrading.run_whole_notebook)."""
    return grade_demo(tmp_path_factory.mktemp("demo-whole"), whole_notebook=True)


def _ledger(course):
    entries = json.loads((course / "reports" / ASSIGNMENT / "grading.json").read_text())
    return {
        student: {k: entry.get(k) for k in ("status", "reason", "scores", "notes", "flags", "ran")}
        for student, entry in entries["students"].items()
    }


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED) + sorted(extra_students()))
def test_each_demo_student_grades_as_a_run_of_the_whole_notebook(
    graded_demo, graded_demo_whole, student
):
    """Does every demo student, the extra ones included, get from a grading of the cells the
    grade needs exactly what a run of the whole notebook gives: scores, flags and notes? And
    does the ledger say which cells ran, and why a notebook ran whole?"""
    fast, whole = _ledger(graded_demo)[student], _ledger(graded_demo_whole)[student]
    ran = fast.pop("ran")
    assert whole.pop("ran") is None
    assert fast == whole
    if student in RUN_WHOLE:
        assert ran.startswith("the whole notebook: ") and RUN_WHOLE[student] in ran, ran
    else:
        assert ran.startswith("the cells the grade needs ("), ran
