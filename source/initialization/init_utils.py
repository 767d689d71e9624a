"""Helpers for the Initialization assignment: the data set and a 3-layer network.

The network is LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID. Shapes use
these names throughout:

    n_x = 2     input features (the two coordinates of a point)
    n_1, n_2    hidden layer sizes (10 and 5 in the assignment)
    m           number of examples

Every function here is plain numpy, written to be read: the forward pass stores what
the backward pass needs, and the backward pass applies the chain rule one layer at a
time, from the sigmoid output back to the input.
"""

import matplotlib.pyplot as plt
import numpy as np
import sklearn.datasets
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

# The colours the notebook's text names: red points are label 0, blue points label 1. The
# plane behind them is coloured by the label the network predicts, in lighter shades.
RED, BLUE = "#d62728", "#1f77b4"
LIGHT_RED, LIGHT_BLUE = "#f7c6c6", "#c6dbef"


@np.errstate(over="ignore")
def sigmoid(x):
    """Logistic function, applied element-wise.

    x -- array of any shape
    Returns an array of the same shape with values in [0, 1].

    For x below about -709, np.exp(-x) overflows to inf and the result is 1 / inf = 0,
    which is the right limit; the decorator keeps numpy from warning about it.
    """
    return 1 / (1 + np.exp(-x))


def relu(x):
    """Rectified linear unit, max(0, x), applied element-wise.

    x -- array of any shape
    Returns an array of the same shape.
    """
    return np.maximum(0, x)


def forward_propagation(X, parameters):
    """Compute the network's output for every example.

    X -- inputs, shape (n_x, m)
    parameters -- dictionary of
        W1 (n_1, n_x), b1 (n_1, 1),
        W2 (n_2, n_1), b2 (n_2, 1),
        W3 (1, n_2),   b3 (1, 1)

    Returns:
    a3 -- output probabilities, shape (1, m)
    cache -- tuple (a1, W2, a2, W3, a3): only what backward_propagation needs, with
        a1 (n_1, m), W2 (n_2, n_1), a2 (n_2, m), W3 (1, n_2), a3 (1, m)
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    z1 = np.dot(W1, X) + b1  # (n_1, m)
    a1 = relu(z1)
    z2 = np.dot(W2, a1) + b2  # (n_2, m)
    a2 = relu(z2)
    z3 = np.dot(W3, a2) + b3  # (1, m)
    a3 = sigmoid(z3)

    # The backward pass needs neither the z's (a > 0 exactly where z > 0), nor W1 and
    # the b's, so they are not kept.
    cache = (a1, W2, a2, W3, a3)
    return a3, cache


def backward_propagation(X, Y, cache):
    """Gradients of the cross-entropy cost with respect to every parameter.

    X -- inputs, shape (n_x, m)
    Y -- labels (0 or 1), shape (1, m)
    cache -- the tuple (a1, W2, a2, W3, a3) returned by forward_propagation

    Returns a dictionary of gradients, each the shape of its parameter:
        dW1 (n_1, n_x), db1 (n_1, 1), dW2 (n_2, n_1), db2 (n_2, 1), dW3 (1, n_2), db3 (1, 1)
    """
    m = X.shape[1]
    a1, W2, a2, W3, a3 = cache

    # Output layer: for a sigmoid with cross-entropy, dcost/dz3 is simply (a3 - Y) / m.
    dz3 = 1.0 / m * (a3 - Y)  # (1, m)
    dW3 = np.dot(dz3, a2.T)  # (1, n_2)
    db3 = dz3.sum(axis=1, keepdims=True)  # (1, 1)

    # Second hidden layer: pass the gradient back through W3, then through the ReLU,
    # whose slope is 1 where the unit was active (a2 > 0) and 0 elsewhere.
    da2 = np.dot(W3.T, dz3)  # (n_2, m)
    dz2 = da2 * (a2 > 0)  # (n_2, m); True counts as 1.0, False as 0.0
    dW2 = np.dot(dz2, a1.T)  # (n_2, n_1)
    db2 = dz2.sum(axis=1, keepdims=True)  # (n_2, 1)

    # First hidden layer: the same two steps once more.
    da1 = np.dot(W2.T, dz2)  # (n_1, m)
    dz1 = da1 * (a1 > 0)  # (n_1, m)
    dW1 = np.dot(dz1, X.T)  # (n_1, n_x)
    db1 = dz1.sum(axis=1, keepdims=True)  # (n_1, 1)

    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent: W = W - learning_rate * dW, b = b - learning_rate * db.

    parameters -- dictionary with W1, b1, ..., WL, bL
    grads -- dictionary with dW1, db1, ..., dWL, dbL (same shapes)
    learning_rate -- step size, a float

    Returns the updated parameters dictionary.
    """
    for name in parameters:  # "W1", "b1", ...; the gradient of "W1" is grads["dW1"]
        parameters[name] = parameters[name] - learning_rate * grads["d" + name]
    return parameters


@np.errstate(divide="ignore", invalid="ignore")
def compute_loss(a3, Y):
    """Cross-entropy cost averaged over the examples.

    a3 -- output probabilities, shape (1, m)
    Y -- labels (0 or 1), shape (1, m)

    Returns the cost, a float. It is inf when a confident output is wrong (log(0)).
    Examples whose loss is nan (0 * log(0)) count as 0, which np.nansum does. The
    decorator keeps numpy from warning about log(0) and 0 * inf: both are expected.
    """
    m = Y.shape[1]
    logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return 1.0 / m * np.nansum(logprobs)


def predict(X, y, parameters):
    """Predict labels with a trained network and print the accuracy.

    X -- inputs, shape (n_x, m)
    y -- true labels, shape (1, m)
    parameters -- trained parameters (see forward_propagation)

    Returns the predictions, an int array of 0s and 1s of shape (1, m).
    """
    a3, _ = forward_propagation(X, parameters)
    p = (a3 > 0.5).astype(int)
    print("Accuracy: " + str(np.mean(p[0, :] == y[0, :])))
    return p


def predict_dec(parameters, X):
    """Predicted labels, for drawing a decision boundary.

    parameters -- trained parameters (see forward_propagation)
    X -- inputs, shape (n_x, m)

    Returns a boolean array of shape (1, m): True where the network says "blue".
    """
    a3, _ = forward_propagation(X, parameters)
    return a3 > 0.5


def load_dataset(plot=True):
    """The two-circles data set: red dots (label 0) on an outer ring, blue dots (label 1)
    inside it.

    300 training points are drawn after seeding numpy with 1, and 100 test points after
    seeding with 2, each with Gaussian noise of standard deviation 0.05. With plot=True the
    training points are drawn, coloured by label.

    Returns:
    train_X -- shape (2, 300)
    train_Y -- shape (1, 300), labels 0 (red) and 1 (blue)
    test_X -- shape (2, 100)
    test_Y -- shape (1, 100)
    """
    np.random.seed(1)
    train_X, train_Y = sklearn.datasets.make_circles(n_samples=300, noise=0.05)
    np.random.seed(2)
    test_X, test_Y = sklearn.datasets.make_circles(n_samples=100, noise=0.05)

    if plot:
        for label, name, colour in [(0, "label 0 (red)", RED), (1, "label 1 (blue)", BLUE)]:
            points = train_X[train_Y == label]
            plt.scatter(points[:, 0], points[:, 1], color=colour, s=40, label=name)
        plt.title("The training set: 300 points on two noisy circles")
        plt.xlabel("x1")
        plt.ylabel("x2")
        plt.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
        plt.gca().set_aspect("equal")  # circles drawn as circles
        plt.show()

    train_X, test_X = train_X.T, test_X.T
    train_Y = train_Y.reshape((1, train_Y.shape[0]))
    test_Y = test_Y.reshape((1, test_Y.shape[0]))
    return train_X, train_Y, test_X, test_Y


def plot_decision_boundary(model, X, y):
    """Colour the plane by the class a model predicts, and draw the points over it.

    model -- function taking points of shape (k, 2) and returning k labels
    X -- points, shape (2, m)
    y -- labels, shape (1, m)

    Where the model says 0 ("red") the plane is light red, where it says 1 ("blue") light
    blue; the points keep their own colours, red for label 0 and blue for label 1. One unit
    is as long on both axes, so the circles look like circles.
    """
    # A grid over the data, with a margin of 1 and a step of 0.01.
    x_min, x_max = X[0, :].min() - 1, X[0, :].max() + 1
    y_min, y_max = X[1, :].min() - 1, X[1, :].max() + 1
    h = 0.01
    xx, yy = np.meshgrid(np.arange(x_min, x_max, h), np.arange(y_min, y_max, h))
    Z = model(np.c_[xx.ravel(), yy.ravel()])
    Z = np.asarray(Z, dtype=float).reshape(xx.shape)  # 0.0 or 1.0

    regions = ListedColormap([LIGHT_RED, LIGHT_BLUE])
    plt.contourf(xx, yy, Z, levels=[-0.5, 0.5, 1.5], cmap=regions)
    points = ListedColormap([RED, BLUE])
    plt.scatter(X[0, :], X[1, :], c=y[0, :], cmap=points, vmin=0, vmax=1, s=20)
    plt.ylabel("x2")
    plt.xlabel("x1")
    plt.gca().set_aspect("equal")  # circles drawn as circles
    plt.legend(
        handles=[
            Line2D([], [], linestyle="", marker="o", color=RED, label="label 0 (red)"),
            Line2D([], [], linestyle="", marker="o", color=BLUE, label="label 1 (blue)"),
            Patch(color=LIGHT_RED, label="predicted 0 (red)"),
            Patch(color=LIGHT_BLUE, label="predicted 1 (blue)"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
    )
    plt.show()
