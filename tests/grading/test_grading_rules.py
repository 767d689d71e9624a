"""The course's grading rules in small pieces, without running a notebook: points from the
metadata, limits from the reference run, the message for an earlier release, the exchange."""

import copy
import json

import nbformat
import pytest
from harness import NOTEBOOK, RELEASE

from instructor import lab
from instructor.grading import normalise
from instructor.grading.reference import limits_from_reference
from instructor.grading.sandbox import Limits
from instructor.preprocessors.exercise_points import ExercisePoints, to_points


def grade_cell(points, result):
    """A grade cell whose run ended with `result` as its text/plain result."""
    cell = nbformat.v4.new_code_cell("grade_exercise(...)")
    cell.metadata.nbgrader = {
        "grade": True, "solution": False, "locked": True, "points": points,
        "grade_id": "test_x", "schema_version": 3,
    }  # fmt: skip
    if result is not None:
        cell.outputs = [
            nbformat.v4.new_output("execute_result", data={"text/plain": result}, execution_count=1)
        ]
    return cell


@pytest.mark.parametrize(
    "points, result, expected, why",
    [
        (10, "1.0", 10.0, "full marks"),
        (10, "0.5", 5.0, "half of the points"),
        (15, "0.2", 3.0, "the metadata's points, not 10"),
        (10, "0.3333333333", 3.33, "rounded like nbgrader's partial credit"),
        (10, "7.0", 10.0, "a result above 1 (only tampering gives one) is capped at the points"),
        (10, "-1", 0.0, "below 0 is 0"),
        (10, "'All passed'", None, "not a number: nbgrader's rule applies, the re-check corrects"),
        (10, None, 10.0, "no result: full marks, as nbgrader reads it"),
    ],
)
def test_a_grade_cells_fraction_becomes_points_from_its_metadata(points, result, expected, why):
    """Is the fraction a test cell returns turned into points from its nbgrader metadata?"""
    cell = grade_cell(points, result)
    assert to_points(cell) == expected, why
    if expected is not None:
        assert float(cell.outputs[0]["data"]["text/plain"]) == expected
        assert f"{expected:g} / {points:g}" in cell.outputs[0]["data"]["text/markdown"]


def test_a_failed_grade_cell_keeps_nbgraders_zero():
    """A grade cell that raised (or wrote to stderr) scores 0 in nbgrader: is it left so?"""
    cell = grade_cell(10, None)
    cell.outputs = [nbformat.v4.new_output("error", ename="E", evalue="", traceback=[])]
    assert to_points(cell) is None and len(cell.outputs) == 1
    cell = grade_cell(10, "1.0")
    cell.outputs.insert(0, nbformat.v4.new_output("stream", name="stderr", text="warning"))
    assert to_points(cell) is None


def test_cells_that_are_not_grade_cells_are_left_alone():
    """Does ExercisePoints leave an answer cell's or an ordinary cell's result as it is?"""
    nb = nbformat.v4.new_notebook()
    ordinary = nbformat.v4.new_code_cell("1 + 1")
    ordinary.outputs = [
        nbformat.v4.new_output("execute_result", data={"text/plain": "0.5"}, execution_count=1)
    ]
    nb.cells = [ordinary]
    before = copy.deepcopy(nb)
    ExercisePoints().preprocess(nb, {})
    assert nb == before


REFERENCE = {
    "cell_seconds": {"imports": 0.1, "train-he": 3.0, "train-zeros": 2.4, "#12": 0.5},
    "total_seconds": 11.0,
    "recheck_seconds_per_exercise": 0.4,
}


def test_limits_are_a_few_times_the_reference_with_floors():
    """Does each cell get 5 times its reference time (at least 10 s), the notebook 5 times the
    whole run (at least 60 s) and the re-check 5 times its own (at least 10 s)?"""
    limits = limits_from_reference(REFERENCE, Limits())
    assert dict(limits.cell_limits) == {"imports": 10.0, "train-he": 15.0, "train-zeros": 12.0}
    assert limits.cell_limit("train-he") == 15.0
    assert limits.cell_limit("a cell the student added") == 10.0
    assert limits.notebook_timeout == 60.0 and limits.verify_timeout == 10.0
    slow = limits_from_reference({**REFERENCE, "total_seconds": 30.0}, Limits())
    assert slow.notebook_timeout == 150.0


def test_limits_survive_the_trip_to_a_worker():
    """Do the per-cell limits come back equal from the plain data a task carries?"""
    limits = limits_from_reference(REFERENCE, Limits(memory_mb=1024))
    assert Limits.from_dict(json.loads(json.dumps(limits.to_dict()))) == limits


# --- a notebook fetched from an earlier release ---------------------------------------------------


def _release():
    return nbformat.read(RELEASE / NOTEBOOK, as_version=4)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _notes(nb):
    reference = normalise.Reference(_release(), NOTEBOOK)
    _, notes = normalise.normalise(json.loads(nbformat.writes(nb)), reference)
    return notes


def test_an_earlier_release_is_not_called_an_edit():
    """A student fetched the release before the instructor reworded a read-only cell: is the
    note that the release changed since, not that the student edited it?"""
    from nbgrader.utils import compute_checksum

    nb = _release()
    cell = _cell(nb, "model-title")
    cell.source = "## 3 - The network (as an earlier release said it)"
    cell.metadata.nbgrader["checksum"] = compute_checksum(cell)  # as generate_assignment writes
    notes = _notes(nb)
    assert any("the release changed since the student fetched it" in n for n in notes), notes
    assert not any("had been edited" in n for n in notes), notes


def test_a_students_edit_of_a_read_only_cell_is_still_called_an_edit():
    """The same cell changed by the student (its checksum no longer matches): is it an edit?"""
    nb = _release()
    _cell(nb, "model-title").source = "## 3 - My own title"
    notes = _notes(nb)
    assert any("read-only cells had been edited" in n and "model-title" in n for n in notes)
    assert not any("release changed" in n for n in notes)


# --- the exchange -----------------------------------------------------------------------------------


def test_the_instructor_lab_creates_the_courses_exchange(course):
    """Does starting the instructor's lab create the course's exchange folder, which the
    Formgrader would otherwise report as missing?"""
    exchange = lab.ensure_exchange(course, env={})
    assert exchange == course / "exchange" and exchange.is_dir()


def test_a_shared_exchange_is_left_to_its_administrator(course, tmp_path):
    """With NBGRADER_EXCHANGE set (a shared server), is that folder used and not created?"""
    shared = tmp_path / "srv-exchange"
    assert lab.ensure_exchange(course, env={"NBGRADER_EXCHANGE": str(shared)}) == shared
    assert not shared.exists() and not (course / "exchange").exists()
