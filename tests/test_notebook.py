"""The instructor notebook, executed for real, reproduces every number of the specification."""

import re

import nbformat
import pytest
from nbclient import NotebookClient

from instructor.course import source_notebook

pytestmark = pytest.mark.slow

# The specification's printed costs (every 1,000 iterations) and accuracies.
COSTS = {
    "zeros": [0.6931471805599453] * 10 + [0.6931471805599455] + [0.6931471805599453] * 4,
    "random": [
        float("inf"), 0.6247924745506072, 0.5980258056061102, 0.5637539062842213,
        0.5501256393526495, 0.5443826306793814, 0.5373895855049121, 0.47157999220550006,
        0.39770475516243037, 0.3934560146692851, 0.3920227137490125, 0.38913700035966736,
        0.3861358766546214, 0.38497629552893475, 0.38276694641706693,
    ],
    "he": [
        0.8830537463419761, 0.6879825919728063, 0.6751286264523371, 0.6526117768893805,
        0.6082958970572938, 0.5304944491717495, 0.4138645817071794, 0.3117803464844441,
        0.23696215330322562, 0.1859728720920684, 0.15015556280371808, 0.12325079292273551,
        0.09917746546525937, 0.08457055954024283, 0.07357895962677366,
    ],
}  # fmt: skip
ACCURACY = {
    "zeros": ("0.5", "0.5"),
    "random": ("0.83", "0.86"),
    "he": ("0.9933333333333333", "0.96"),
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The source notebook after running every cell in a fresh kernel, in a copy of the course."""
    from conftest import copy_course

    course = copy_course(tmp_path_factory.mktemp("course"))
    path = source_notebook(course)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return {cell.id: cell for cell in nb.cells}


def text_of(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.parametrize("kind", ["zeros", "random", "he"])
def test_training_prints_the_specification_costs(executed, kind):
    """Does every printed cost match the specification within a relative 1e-12?"""
    printed = re.findall(r"Cost after iteration (\d+): (\S+)", text_of(executed[f"train-{kind}"]))
    assert [int(i) for i, _ in printed] == list(range(0, 15000, 1000))
    for (_, value), expected in zip(printed, COSTS[kind]):
        assert float(value) == pytest.approx(expected, rel=1e-12, abs=0)


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
    """Does each autograder test cell return 10 points for the instructor's solution?"""
    for kind in ["zeros", "random", "he"]:
        cell = executed[f"test_initialize_parameters_{kind}"]
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert results and results[0]["data"]["text/plain"] == "10.0"


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
