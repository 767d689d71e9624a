"""The cells a grade needs (instructor/grading/needed.py): which cells a grading skips, and when
a submission must run whole. Pure parts only (no kernel): the plan of a notebook as a table of
student cells, the instructor's marks refused with their reason, the feedback's line and the
limits of each run. The real gradings both ways are in test_grading_corpus.py,
test_demo_class.py, test_second_assignment.py and test_ps1.py.
"""

import json

import nbformat
import pytest
from conftest import ROOT

from instructor.grading import needed
from instructor.grading.bundle import BundleError, declared, marked
from instructor.grading.reference import (
    as_graded,
    limits_from_reference,
    whole_limits_from_reference,
)
from instructor.grading.sandbox import Limits

SOURCE = ROOT / "source" / "initialization" / "Initialization.ipynb"
RELEASE = ROOT / "release" / "initialization" / "Initialization.ipynb"
MARKED = {
    "load-data",
    "train-zeros", "predictions-zeros", "boundary-zeros", "train-random", "predictions-random",
    "boundary-random", "scale-plot", "train-he", "boundary-he", "conclusions",
}  # fmt: skip


def source_marks():
    return marked(SOURCE, declared(SOURCE))


def with_cell(source, after="test_initialize_parameters_he"):
    """The release notebook with a cell of the student's added after a given cell."""
    nb = nbformat.read(RELEASE, 4)
    index = next(
        i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after
    )
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def test_the_source_marks_the_trainings_plots_and_conclusions():
    """Does the source notebook mark exactly the cells that load and plot the data, train,
    predict, plot and conclude, each with the words the feedback shows, and what each sets?"""
    marks = source_marks()
    assert {m.grade_id for m in marks} == MARKED
    assert {m.what for m in marks if m.grade_id.startswith("train-")} == {"the trainings"}
    train = next(m for m in marks if m.grade_id == "train-he")
    assert set(train.writes) == {"parameters", "predictions_train", "predictions_test", "trained"}
    assert "np" not in {name for m in marks for name in m.writes}  # a module is no variable


def test_the_release_keeps_the_marks():
    """Does nbgrader's generate_assignment keep each mark in the release's metadata?"""
    nb = nbformat.read(RELEASE, 4)
    kept = {
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if "skip" in c.metadata.get("grading", {})
    }
    assert kept == MARKED


# --- the plan of a submission -----------------------------------------------------------------

# (a cell the student adds after the he test, None when the marked cells are skipped, else a
# fragment of why the notebook runs whole)
PLANS = [
    ("print('my own check')", None),
    ("scratch = [1, 2, 3]\nscratch.append(4)", None),
    ("def helper(n):\n    out = {}\n    out['W1'] = np.zeros((n, 1))\n    return out", None),
    ("def fill(parameters, l):\n    parameters['W' + str(l)] = 0", None),  # the caller's dict
    ("for _ in range(3):\n    pass", None),  # `_` assigned, not read
    ("import numpy\nfrom IPython.display import Markdown", None),
    ("def broken(:", None),  # stopped by a SyntaxError on either path
    ("print(trained['he']['W1'])", "reads trained, which the cells train-he, train-random"),
    ("print(parameters)", "reads parameters"),
    ("def last():\n    return predictions_test", "reads predictions_test"),
    ("x = [v for v in values]", "reads values, which the cell scale-plot sets"),
    ("print(globals()['trained'])", "dynamically (globals()"),
    ("print(In[-3])", "dynamically (In"),
    ("print(_15)", "dynamically (_15"),
    ("%whos", "dynamically (get_ipython()"),
    ("!ls", "dynamically (get_ipython()"),
    ("f = initialize_parameters_he.__globals__", "dynamically (.__globals__"),
    ("import sys\nns = sys.modules['__main__']", "dynamically (.modules"),
    ("import inspect", "dynamically (import inspect"),
    ("attr = 'tra' + 'ined'\nv = getattr(object, attr)", "getattr() with a computed name"),
    ("calls = 0\ndef f(d):\n    global calls\n    calls += 1", "`global calls` in f"),
    ("def f():\n    n = 0\n    def g():\n        nonlocal n\n        n += 1\n    return g", "`nonlocal n`"),
    ("seen = []\ndef f(d):\n    seen.append(d)\n    return {}", "a function uses seen, a variable set outside it"),
    ("def f(d, cache={}):\n    return cache", "f has a default argument that can keep state"),
    ("class Counter:\n    def __call__(self, d):\n        self.n = 1", "__call__ changes self.n"),
]  # fmt: skip


@pytest.mark.parametrize("source, whole", PLANS, ids=[s for s, _ in PLANS])
def test_a_student_cell_that_needs_the_marked_cells_makes_the_notebook_run_whole(source, whole):
    """Is the notebook graded on the cells its grade needs unless a cell the student wrote
    reads what a marked cell sets, reaches the notebook's variables other than by name, or
    defines a function that keeps state between calls (which the trainings would call)?"""
    plan = needed.plan(with_cell(source), source_marks())
    if whole is None:
        assert plan.whole_because == "" and len(plan.skip) == len(MARKED)
    else:
        assert plan.skip == frozenset(), plan
        assert plan.whole_because.startswith("cell 38 (added by the student) ")
        assert whole in plan.whole_because, plan.whole_because
        assert plan.describe().startswith("the whole notebook: cell 38 (added by the student)")


def test_a_marked_cell_that_is_not_the_sources_runs():
    """A marked cell whose code is not the source's, or that is no longer read-only (nbgrader
    restores a read-only cell's code, so an unlocked one is the student's): does it run,
    whatever its grade id says, and the unlocked one count as the student's own cell?"""
    nb = nbformat.read(RELEASE, 4)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    cells["predictions-random"].source += "\nprint('mine')"
    plan = needed.plan(nb, source_marks())
    assert set(plan.cells) == MARKED - {"predictions-random"}
    cells["boundary-he"].metadata["nbgrader"]["locked"] = False
    plan = needed.plan(nb, source_marks())
    assert plan.whole_because.startswith("cell boundary-he reads axes, parameters, train_X")


def test_marks_a_submission_adds_are_not_read():
    """A student marks the he test cell as skippable in their notebook: is it still run? (The
    marks that count are the source's, carried by the bundle.)"""
    nb = nbformat.read(RELEASE, 4)
    for cell in nb.cells:
        cell.metadata["grading"] = {"skip": "everything"}
    plan = needed.plan(nb, source_marks())
    assert set(plan.cells) == MARKED


def test_no_marks_no_plan():
    """A notebook without marks (nbgrader's ps1, or run_whole_notebook set) runs every cell,
    and its summary line says nothing."""
    plan = needed.plan(nbformat.read(RELEASE, 4), ())
    assert plan == needed.Plan() and plan.describe() == ""


# --- the instructor's marks ----------------------------------------------------------------------


def _marked_copy(tmp_path, change):
    nb = nbformat.read(SOURCE, 4)
    change({c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}, nb)
    path = tmp_path / "Initialization.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda cells, nb: cells["test_initialize_parameters_he"].metadata.update(
                grading={"skip": "x"}
            ),
            "the cell test_initialize_parameters_he of Initialization.ipynb is marked as one "
            "grading may skip, but it is an exercise's answer or test",
        ),
        (
            lambda cells, nb: cells["zeros-title"].metadata.update(grading={"skip": "x"}),
            "only code cells",
        ),
        (
            lambda cells, nb: (
                cells["load-data"].metadata["nbgrader"].update(locked=False)
                or cells["load-data"].metadata.update(grading={"skip": "the data"})
            ),
            "the cell load-data of Initialization.ipynb is marked as one grading may skip, but "
            "it is not read-only",
        ),
        (
            lambda cells, nb: cells["predictions-zeros"].metadata.pop("grading"),
            "the cell predictions-zeros runs in every grading but reads predictions_test, "
            "predictions_train, which the cells train-zeros, train-random, train-he (marked as "
            "ones grading may skip) set: mark predictions-zeros as well, or remove those marks",
        ),
    ],
    ids=["a test cell", "a markdown cell", "an unlocked cell", "a reader left out"],
)
def test_a_mark_grading_cannot_honour_is_refused_naming_the_cell(tmp_path, change, message):
    """Does a mark on a test, a markdown or an unlocked cell, or one whose variables a cell that
    still runs reads, stop the bundle with a sentence naming the cells and the fix?"""
    path = _marked_copy(tmp_path, change)
    with pytest.raises(BundleError) as raised:
        marked(path, declared(path))
    assert message in str(raised.value), str(raised.value)


def test_a_mark_that_nothing_running_needs_is_accepted(tmp_path):
    """The model cell defines `model` and `trained`, which only marked cells read: may it be
    marked too? (Only a cell that still runs and reads them would stop it.)"""
    path = _marked_copy(
        tmp_path, lambda cells, nb: cells["model"].metadata.update(grading={"skip": "the model"})
    )
    marks = marked(path, declared(path))  # nothing that runs reads model or trained
    assert {m.grade_id for m in marks} == MARKED | {"model"}


# --- the feedback's line and the limits ------------------------------------------------------


def test_the_feedback_line_names_what_was_not_run():
    """Does the graded notebook carry which cells the grader did not run, and the feedback's
    one line name them, without repeats, in the notebook's order?"""
    nb = nbformat.read(RELEASE, 4)
    plan = needed.plan(nb, source_marks())
    needed.record(nb, plan)
    assert nb.metadata["grading"]["cells_not_run"] == [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if "skip" in c.metadata.get("grading", {})
    ]
    assert needed.feedback_line(nb) == (
        "*The grader did not re-run the plot of the data set, the trainings, the predictions, the decision boundaries, the "
        "section on the scale of the weights and the conclusions table: your grade does not "
        "depend on them, so those cells show no output here (your own notebook keeps yours).*"
    )
    needed.record(nb, needed.Plan())  # run whole: no line, whatever the submission carried
    assert needed.feedback_line(nb) is None


REFERENCE = {
    "assignment_key": "fast",
    "machine": None,
    "cell_seconds": {"imports": 0.1, "test_he": 0.4, "#40": 0.2},
    "total_seconds": 1.2,
    "recheck_seconds_per_exercise": 0.1,
    "whole_notebook": {
        "assignment_key": "whole",
        "cell_seconds": {"imports": 0.3, "test_he": 0.4, "train-he": 3.2},
        "total_seconds": 16.0,
        "recheck_seconds_per_exercise": 0.1,
    },
}


def test_the_limits_follow_the_cells_that_run():
    """Does the notebook's limit come from the cells the grade needs (the 60 s floor here), a
    whole run's from the whole notebook (5 x 16 s), and does a skipped cell keep its own limit
    from the whole run, for a submission that runs whole?"""
    limits = limits_from_reference(REFERENCE, Limits())
    assert limits.notebook_timeout == 60.0
    assert limits.cell_limit("train-he") == 16.0 and limits.cell_limit("imports") == 10.0
    whole = whole_limits_from_reference(REFERENCE, limits)
    assert whole.notebook_timeout == 80.0 and whole.cell_limits == limits.cell_limits
    assert whole_limits_from_reference({**REFERENCE, "whole_notebook": None}, limits) is None


def test_a_reference_graded_both_ways_serves_either_option():
    """Does a kept reference serve the fast path (its key) and a course that runs whole
    notebooks (the key of its whole run), on this machine only?"""
    from instructor.grading.reference import _machine

    kept = json.loads(json.dumps({**REFERENCE, "machine": _machine()}))
    assert as_graded(kept, "fast") == kept
    whole = as_graded(kept, "whole")
    assert whole["total_seconds"] == 16.0 and "whole_notebook" not in whole
    assert as_graded(kept, "another") is None
    assert as_graded({**kept, "machine": {"machine": "elsewhere"}}, "fast") is None
