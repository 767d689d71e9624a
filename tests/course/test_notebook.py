"""The instructor notebook, executed for real, reproduces every number of the specification
(exactly, or within the tolerances of tests/spec_numbers.py)."""

import re

import nbformat
import pytest
from harness import ASSIGNMENT, NOTEBOOK
from nbclient import NotebookClient
from spec_numbers import ACCURACY, cost_problems, printed_costs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The source notebook after running every cell in a fresh kernel, in a copy of the course."""
    from conftest import copy_course

    course = copy_course(tmp_path_factory.mktemp("course"))
    path = course / "source" / ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return {cell.id: cell for cell in nb.cells}


def text_of(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.parametrize("kind", ["zeros", "random", "he"])
def test_training_prints_the_specification_costs(executed, kind):
    """Does every printed cost match the specification: zeros and He within a relative 1e-12,
    the random run inf at iteration 0 and then within spec_numbers.RANDOM_RTOL (its chaotic
    training amplifies other processors' last-bit differences; tests/spec_numbers.py has the
    measurements)?"""
    printed = printed_costs(text_of(executed[f"train-{kind}"]))
    assert [i for i, _ in printed] == list(range(0, 15000, 1000))
    problems = cost_problems(kind, [c for _, c in printed])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", ["zeros", "random", "he"])
def test_training_prints_the_specification_accuracies(executed, kind):
    """Are the train and test accuracies exactly the specification's?"""
    assert re.findall(r"Accuracy: (\S+)", text_of(executed[f"train-{kind}"])) == list(
        ACCURACY[kind]
    )


def test_public_tests_pass_and_show_the_seeded_values(executed):
    """Do the three public tests pass, printing the specification's seeded matrices?"""
    for kind in ["zeros", "random", "he"]:
        assert text_of(executed[f"public-test-{kind}"]).endswith("All tests passed.\n")
    assert (
        "W1 = [[ 17.88628473   4.36509851   0.96497468]\n [-18.63492703  -2.77388203  -3.54758979]]"
        in text_of(executed["public-test-random"])
    )
    assert "W2 = [[-0.03098412 -0.33744411 -0.92904268  0.62552248]]" in text_of(
        executed["public-test-he"]
    )


def test_hidden_tests_give_full_marks_to_the_solution(executed):
    """Does each autograder test cell give the whole of its points to the instructor's
    solution, as nbgrader and grading read it?"""
    import copy

    from nbgrader.utils import determine_grade

    from instructor.preprocessors.exercise_points import to_points

    for kind in ["zeros", "random", "he"]:
        cell = executed[f"test_initialize_parameters_{kind}"]
        # full marks show as no result at all, which nbgrader (and Validate) read as every point
        assert not [o for o in cell.outputs if o.output_type == "execute_result"]
        points = cell.metadata.nbgrader["points"]
        assert determine_grade(cell) == (points, points)
        assert to_points(copy.deepcopy(cell)) == points


def test_no_cell_writes_to_stderr_or_fails(executed):
    """Does the whole notebook run without an error or a single line on stderr?"""
    for cell_id, cell in executed.items():
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            assert output.output_type != "error", (cell_id, output.get("evalue"))
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                cell_id,
                output.text,
            )


def test_plots_are_drawn(executed):
    """Do the data, the three cost curves and the three decision boundaries render as images?"""
    images = {
        cell_id: sum("image/png" in o.get("data", {}) for o in cell.outputs)
        for cell_id, cell in executed.items()
        if cell.cell_type == "code"
    }
    assert images["load-data"] == 1
    for kind in ["zeros", "random", "he"]:
        assert images[f"train-{kind}"] == 1
        assert images[f"boundary-{kind}"] == 1


def test_conclusions_table_comes_from_the_runs(executed):
    """Is the conclusions table built from the three runs' accuracies?"""
    outputs = executed["conclusions"].outputs
    table = next(
        o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})
    )
    assert "| 3-layer NN with zeros initialization | 50% | 50% | fails to break symmetry |" in table
    assert (
        "| 3-layer NN with large random initialization | 83% | 86% | too large weights |" in table
    )
    assert "| 3-layer NN with He initialization | 99% | 96% | recommended method |" in table
