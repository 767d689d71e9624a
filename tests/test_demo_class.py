"""The demo class: real student notebooks, graded by the real nbgrader autograde."""

import json

import pytest
from nbgrader.api import Gradebook

from instructor import demo
from instructor.course import ANSWER_CELLS, ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK, ROOT, release_dir

# Points per exercise (zeros, random, he) that each demo student must get: 2 for the keys,
# 3 for float64 arrays of the right shapes, 5 for the right values, out of 10 each.
EXPECTED = {
    "demo-correct": (10, 10, 10),
    "demo-untouched": (0, 0, 0),
    "demo-transposed": (2, 2, 2),
    "demo-fixed-index": (2, 2, 2),
    "demo-uniform-rand": (10, 5, 5),
    "demo-small-random": (10, 5, 10),
    "demo-xavier": (10, 10, 5),
    "demo-random-biases": (10, 5, 5),
    "demo-skip-last-layer": (10, 10, 0),
}


def test_every_demo_student_is_expected_and_named():
    """Does the test cover exactly the students of the demo class, each with a name?"""
    assert set(EXPECTED) == set(demo.STUDENTS) == set(demo.NAMES)


def test_demo_students_get_their_names_in_the_gradebook(course):
    """Does registering the demo class name its students in nbgrader's gradebook?"""
    demo.register(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        student = gb.find_student("demo-xavier")
        assert (student.first_name, student.last_name) == demo.NAMES["demo-xavier"]


def test_committed_demo_class_is_what_the_builder_types(tmp_path):
    """Is demo/submitted exactly the release with each student's answers typed in?"""
    (tmp_path / "release").symlink_to(ROOT / "release")
    built = demo.build(tmp_path)
    for student in demo.STUDENTS:
        path = f"{student}/{ASSIGNMENT}/{NOTEBOOK}"
        assert (built / path).read_bytes() == (ROOT / DEMO_SUBMITTED / path).read_bytes(), student


@pytest.mark.parametrize("student", sorted(demo.STUDENTS))
def test_demo_notebook_differs_from_the_release_only_in_answer_cells(student):
    """Did the demo student change nothing but the answer cells, as a real student would?"""
    release = json.loads((release_dir() / NOTEBOOK).read_text())["cells"]
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
