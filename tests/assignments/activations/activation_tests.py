"""Checks of the Activations assignment: sigmoid and ReLU, elementwise on numpy arrays.

``grade_activation(function, name, hidden_inputs)`` calls the student's function on the public
example and on the hidden inputs, compares each result with the formula's, prints one line per
mistake it can name, and returns the share of the points earned (the share of the inputs
answered right), or nothing when every input is right (full marks, as nbgrader reads a test
cell without a result).
"""

import numpy as np

__all__ = ["grade_activation", "sigmoid_test", "relu_test"]

PUBLIC_INPUT = np.array([[-2.0, 0.0, 3.0]])

FORMULAS = {
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "relu": lambda z: np.maximum(0, z),
}

# What a wrong answer usually is, by activation: (title, formula of the mistake, hint).
MISTAKES = {
    "sigmoid": [
        ("sign error in the exponent", lambda z: 1 / (1 + np.exp(z)), "use np.exp(-z)."),
    ],
    "relu": [
        ("negative inputs kept", lambda z: np.abs(z), "negative inputs become 0."),
        ("a boolean mask instead of the values", lambda z: (z > 0).astype(float),
         "return the positive values themselves: np.maximum(0, z)."),
    ],
}  # fmt: skip


def _check(function, name, z):
    """None when function(z) is right, else a message naming the mistake when it is known."""
    try:
        found = function(z.copy())
    except Exception as error:  # the student's error is a finding, not a crash of the test
        return f"calling {name} raised {type(error).__name__}: {error}"
    expected = FORMULAS[name](z)
    if not isinstance(found, np.ndarray) or found.shape != expected.shape:
        return f"{name} must return a numpy array of shape {expected.shape}"
    if np.allclose(found, expected, rtol=1e-9, atol=0):
        return None
    for title, formula, hint in MISTAKES[name]:
        if np.allclose(found, formula(z), rtol=1e-9, atol=0):
            return f"Mistake: {title}. Hint: {hint}"
    return f"{name} returns other values than the formula"


def _public_test(function, name):
    problem = _check(function, name, PUBLIC_INPUT)
    print(f"{name}({PUBLIC_INPUT.tolist()}) checked: " + (problem or "All tests passed."))


def sigmoid_test(function):
    """Check sigmoid on the notebook's example and print the verdict."""
    _public_test(function, "sigmoid")


def relu_test(function):
    """Check relu on the notebook's example and print the verdict."""
    _public_test(function, "relu")


def grade_activation(function, name, hidden_inputs=()):
    """The share of the points earned on the public example and the hidden inputs (None: all)."""
    inputs = [PUBLIC_INPUT, *hidden_inputs]
    problems = [p for p in (_check(function, name, z) for z in inputs) if p]
    if not problems:
        print(f"All checks passed on {len(inputs)} input(s).")
        return None
    for problem in dict.fromkeys(problems):
        print(f" - {problem}")
    return (len(inputs) - len(problems)) / len(inputs)
