"""The notebook's cost plot and conclusions table, run from the source notebook's own cells
with the course's helpers (a short training, on matplotlib's Agg backend)."""

import json

import matplotlib
import numpy as np
import pytest
from harness import SOURCE_NOTEBOOK

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import init_utils  # noqa: E402

CELLS = {c["id"]: "".join(c["source"]) for c in json.loads(SOURCE_NOTEBOOK.read_text())["cells"]}


def initializer(scale):
    """An initialization as a student writes it: seed 3, randn * scale(n_prev), zero biases."""

    def initialize(layers_dims):
        np.random.seed(3)
        parameters = {}
        for l in range(1, len(layers_dims)):
            n, n_prev = layers_dims[l], layers_dims[l - 1]
            parameters["W" + str(l)] = np.random.randn(n, n_prev) * scale(n_prev)
            parameters["b" + str(l)] = np.zeros((n, 1))
        return parameters

    return initialize


def namespace(random_scale=10):
    """The notebook's names after its imports, with the three functions answered."""
    train_X, train_Y, test_X, test_Y = init_utils.load_dataset(plot=False)
    shown = []
    names = {
        **{name: getattr(init_utils, name) for name in dir(init_utils) if not name.startswith("_")},
        "np": np,
        "plt": plt,
        "Markdown": lambda text: text,
        "display": shown.append,
        "shown": shown,
        "train_X": train_X,
        "train_Y": train_Y,
        "test_X": test_X,
        "test_Y": test_Y,
        "initialize_parameters_zeros": initializer(lambda n: 0.0),
        "initialize_parameters_random": initializer(lambda n: random_scale),
        "initialize_parameters_he": initializer(lambda n: np.sqrt(2 / n)),
    }
    exec(CELLS["model"], names)
    return names


def test_cost_plot_names_the_initialization_and_shows_the_infinite_first_cost(capsys):
    """Is the large random run's infinite first cost drawn (at the top, marked ∞) and the plot
    titled with the initialization's name?"""
    names = namespace()
    plt.close("all")
    names["model"](names["train_X"], names["train_Y"], num_iterations=3001, initialization="random")
    assert "Cost after iteration 0: inf" in capsys.readouterr().out
    ax = plt.gcf().axes[0]
    assert "large random initialization" in ax.get_title()
    assert any("∞" in text.get_text() for text in ax.texts)
    xs = sorted(x for line in ax.get_lines() for x in line.get_xdata())
    assert xs[0] == 0  # the first point is on the plot
    plt.close("all")


@pytest.mark.parametrize(
    "scale, comment",
    [(10, "too large weights"), (0.01, "too small weights: the signal fades")],
)
def test_conclusions_comment_comes_from_the_weights_the_student_wrote(scale, comment):
    """Does the table comment on the large random run from its actual starting scale, so that
    x0.01 is not called 'too large'?"""
    names = namespace(random_scale=scale)
    dims = [2, 10, 5, 1]
    names["trained"] = {
        "zeros": names["initialize_parameters_zeros"](dims),
        "random": names["initialize_parameters_random"](dims),
    }
    exec(CELLS["conclusions"], names)
    (table,) = names["shown"]
    assert "| fails to break symmetry |" in table.splitlines()[2]
    assert table.splitlines()[3].endswith(f"| {comment} |")
