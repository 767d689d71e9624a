"""The network helpers: shapes, the data set, the loss, and gradients against finite differences."""

import warnings

import numpy as np
import pytest

import init_utils


def small_network(seed=0):
    """Random parameters for layers [2, 4, 3, 1], a batch of 7 inputs and labels."""
    rng = np.random.RandomState(seed)
    dims = [2, 4, 3, 1]
    parameters = {}
    for l in range(1, 4):
        parameters[f"W{l}"] = rng.randn(dims[l], dims[l - 1])
        parameters[f"b{l}"] = rng.randn(dims[l], 1) * 0.1
    X = rng.randn(2, 7)
    Y = (rng.rand(1, 7) > 0.5).astype(float)
    return parameters, X, Y


def cost(parameters, X, Y):
    a3, _ = init_utils.forward_propagation(X, parameters)
    return init_utils.compute_loss(a3, Y)


def test_backward_propagation_matches_numerical_gradients():
    """Does every gradient equal the central finite difference of the cost?"""
    parameters, X, Y = small_network()
    _, cache = init_utils.forward_propagation(X, parameters)
    grads = init_utils.backward_propagation(X, Y, cache)
    eps = 1e-6
    for name, value in parameters.items():
        numerical = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + eps
            plus = cost(parameters, X, Y)
            value[index] = saved - eps
            minus = cost(parameters, X, Y)
            value[index] = saved
            numerical[index] = (plus - minus) / (2 * eps)
        analytic = grads["d" + name]
        assert analytic.shape == value.shape, name
        np.testing.assert_allclose(analytic, numerical, rtol=1e-5, atol=1e-8, err_msg=name)


def test_forward_propagation_shapes():
    """Is the output one probability per example?"""
    parameters, X, _ = small_network()
    a3, _ = init_utils.forward_propagation(X, parameters)
    assert a3.shape == (1, 7)
    assert np.all((a3 > 0) & (a3 < 1))


def test_update_parameters_takes_one_gradient_step():
    """Does update_parameters subtract learning_rate times each gradient?"""
    parameters, X, Y = small_network()
    before = {k: v.copy() for k, v in parameters.items()}
    _, cache = init_utils.forward_propagation(X, parameters)
    grads = init_utils.backward_propagation(X, Y, cache)
    after = init_utils.update_parameters(parameters, grads, 0.5)
    for name in before:
        np.testing.assert_allclose(after[name], before[name] - 0.5 * grads["d" + name])


def test_load_dataset_is_the_seeded_two_circles():
    """Are the data the specification's: 300 + 100 points, shaped (2, m) and (1, m), reproducible?"""
    train_X, train_Y, test_X, test_Y = init_utils.load_dataset(plot=False)
    assert train_X.shape == (2, 300) and train_Y.shape == (1, 300)
    assert test_X.shape == (2, 100) and test_Y.shape == (1, 100)
    assert set(np.unique(train_Y)) == {0, 1} and train_Y.sum() == 150
    again = init_utils.load_dataset(plot=False)
    np.testing.assert_array_equal(again[0], train_X)
    np.testing.assert_array_equal(again[2], test_X)
    # The points lie near circles of radius 1 (outer) and 0.8 (inner), with noise 0.05.
    radius = np.hypot(*train_X)
    assert np.all(np.abs(radius - np.where(train_Y[0] == 0, 1.0, 0.8)) < 0.25)


def test_compute_loss_of_confident_wrong_answer_is_inf_and_silent():
    """Is the cost inf when a wrong prediction is certain, without any warning?"""
    a3 = np.array([[1.0, 0.5]])
    Y = np.array([[0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert init_utils.compute_loss(a3, Y) == np.inf
        assert init_utils.sigmoid(np.array([-1000.0]))[0] == 0.0


def test_predict_prints_the_accuracy(capsys):
    """Does predict print the share of right answers and return 0/1 labels?"""
    parameters, X, _ = small_network()
    labels = init_utils.predict_dec(parameters, X).astype(int)
    p = init_utils.predict(X, labels, parameters)
    assert capsys.readouterr().out == "Accuracy: 1.0\n"
    assert p.shape == (1, 7) and set(np.unique(p)) <= {0, 1}


@pytest.mark.parametrize("x", [np.array([[-2.0, 0.0, 3.0]])])
def test_relu_and_sigmoid(x):
    """Are relu and sigmoid the textbook functions?"""
    np.testing.assert_array_equal(init_utils.relu(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(init_utils.sigmoid(x), 1 / (1 + np.exp(-x)))


def test_data_plot_names_its_colours_as_the_docstring_does():
    """Are the red points (label 0) the outer ring and the blue ones (label 1) inside, and
    does the plot have a title, axis labels and a legend naming both?"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    train_X, train_Y, _, _ = init_utils.load_dataset(plot=True)
    radius = np.hypot(train_X[0], train_X[1])
    assert radius[train_Y[0] == 0].mean() > radius[train_Y[0] == 1].mean()
    assert "red dots (label 0) on an outer ring, blue dots (label 1)" in " ".join(
        init_utils.load_dataset.__doc__.split()
    )
    ax = plt.gcf().axes[0]
    assert ax.get_title() and ax.get_xlabel() == "x1" and ax.get_ylabel() == "x2"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "label 0 (red)",
        "label 1 (blue)",
    ]
    plt.close("all")


def test_decision_boundary_uses_the_colours_the_text_names_and_draws_circles_round(monkeypatch):
    """Does the decision boundary plot colour the plane light red where the model says 0 and
    light blue where it says 1, draw the red points (label 0) red and the blue ones blue, name
    all four in a legend, and use one scale on both axes (circles look round)?"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.colors as colors
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: None)  # keep the figure to look at it
    plt.close("all")
    train_X, train_Y, _, _ = init_utils.load_dataset(plot=False)
    inside = lambda points: np.hypot(points[:, 0], points[:, 1]) < 0.75  # noqa: E731
    init_utils.plot_decision_boundary(inside, train_X, train_Y)
    ax = plt.gcf().axes[0]
    assert ax.get_aspect() == 1.0
    (regions,) = [c for c in ax.collections if hasattr(c, "levels")]
    shades = [colors.to_hex(regions.cmap(regions.norm(level))) for level in (0, 1)]
    assert shades == [init_utils.LIGHT_RED, init_utils.LIGHT_BLUE]
    plt.gcf().canvas.draw()  # the points get their colours when drawn
    (points,) = [c for c in ax.collections if not hasattr(c, "levels")]
    faces = [colors.to_hex(f) for f in points.get_facecolors()]
    assert {faces[i] for i in np.flatnonzero(train_Y[0] == 0)} == {init_utils.RED}
    assert {faces[i] for i in np.flatnonzero(train_Y[0] == 1)} == {init_utils.BLUE}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "label 0 (red)",
        "label 1 (blue)",
        "predicted 0 (red)",
        "predicted 1 (blue)",
    ]
    assert init_utils.RED == colors.to_hex("tab:red") and init_utils.BLUE == colors.to_hex(
        "tab:blue"
    )
    plt.close("all")
