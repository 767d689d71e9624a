"""Tests for the three initialization functions of the Initialization assignment.

Run them from the notebook, for example ``initialize_parameters_he_test(initialize_parameters_he)``.
Each test calls your function on the notebook's example and prints ``All tests passed.``
or, for every problem, which parameter is wrong, what was expected, what was found and,
when the answer looks like a mistake students often make, the mistake and a hint.

The same checks grade the notebook: ``grade_exercise`` runs them on the public example
and on other network shapes and returns the points earned, split so that getting the
structure right earns part of the marks even when the values are wrong. Out of 10:

    2 points  the function returns a dictionary with exactly the keys W1, b1, ..., WL, bL
    3 points  every parameter is a float64 numpy array of the right shape
    5 points  every parameter holds the right values

Each part is earned when it holds for every network checked.
"""

import numpy as np

__all__ = [
    "initialize_parameters_zeros_test",
    "initialize_parameters_random_test",
    "initialize_parameters_he_test",
    "grade_exercise",
]

KEYS_SHARE, SHAPES_SHARE, VALUES_SHARE = 0.2, 0.3, 0.5

# Relative tolerance for values: wide enough for the same formula written another way
# (randn(...) / np.sqrt(n / 2) instead of randn(...) * np.sqrt(2 / n) differs in the last
# bit), far too narrow for any real mistake.
RTOL = 1e-9

# What each initialization should do, in words, for the messages.
DESCRIPTION = {
    "zeros": "np.zeros for every weight and bias",
    "random": "np.random.randn(...) * 10 for the weights and np.zeros for the biases",
    "he": "np.random.randn(...) * np.sqrt(2 / layers_dims[l - 1]) for the weights "
    "and np.zeros for the biases",
}

# The notebook's examples and their expected values, drawn after np.random.seed(3).
PUBLIC_CASES = {
    "zeros": (
        [3, 2, 1],
        {
            "W1": np.zeros((2, 3)),
            "b1": np.zeros((2, 1)),
            "W2": np.zeros((1, 2)),
            "b2": np.zeros((1, 1)),
        },
    ),
    "random": (
        [3, 2, 1],
        {
            "W1": np.array(
                [
                    [17.886284734303185, 4.365098505119894, 0.9649746807200863],
                    [-18.634927033644907, -2.7738820251439904, -3.5475897926898674],
                ]
            ),
            "b1": np.zeros((2, 1)),
            "W2": np.array([[-0.8274148148245977, -6.270006768238473]]),
            "b2": np.zeros((1, 1)),
        },
    ),
    "he": (
        [2, 4, 1],
        {
            "W1": np.array(
                [
                    [1.7886284734303186, 0.43650985051198943],
                    [0.09649746807200862, -1.8634927033644908],
                    [-0.27738820251439905, -0.35475897926898675],
                    [-0.08274148148245977, -0.6270006768238473],
                ]
            ),
            "b1": np.zeros((4, 1)),
            "W2": np.array(
                [
                    [
                        -0.030984124422056857,
                        -0.33744410537169206,
                        -0.9290426766647434,
                        0.6255224840406426,
                    ]
                ]
            ),
            "b2": np.zeros((1, 1)),
        },
    ),
}


class Report:
    """What one call of a student's function earned, and the messages explaining it.

    keys_ok -- True when the result is a dict with exactly the expected keys
    shapes_ok -- names of the parameters that are float64 arrays of the right shape
    values_ok -- names of the parameters that also hold the right values
    problems -- one message per problem, in the order a student should fix them
    """

    def __init__(self, expected):
        self.expected = expected
        self.keys_ok = False
        self.shapes_ok = set()
        self.values_ok = set()
        self.problems = []

    def parts(self):
        """Which parts of the marks this call earns: (keys, shapes, values), each a bool."""
        every = set(self.expected)
        return self.keys_ok, self.shapes_ok == every, self.values_ok == every

    def add(self, message):
        self.problems.append(message)


def _show(array, limit=6):
    """The first few values of an array, flattened, for a message."""
    flat = np.asarray(array, dtype=float).ravel()
    text = np.array2string(flat[:limit], precision=8, separator=", ")
    return text[:-1] + ", ...]" if flat.size > limit else text


def _close(found, expected):
    return bool(np.allclose(found, expected, rtol=RTOL, atol=0.0))


def _ratio(found, expected):
    """The constant c with found == c * expected, or None when there is no such c."""
    mask = expected != 0
    if not mask.any() or not np.all(np.isfinite(found)) or np.any(found[~mask] != 0):
        return None
    ratios = found[mask] / expected[mask]
    c = ratios[0]
    if c != 0 and np.allclose(ratios, c, rtol=1e-6, atol=0.0):
        return float(c)
    return None


def _is(c, target):
    return abs(c - target) <= 1e-6 * abs(target)


def _call(function, layers_dims):
    """Call the student's function; return (result, None) or (None, message)."""
    try:
        return function(list(layers_dims)), None
    except NotImplementedError:
        return None, (
            "The function is not implemented yet: it still raises NotImplementedError. "
            "Replace the line `raise NotImplementedError()` with your code."
        )
    except Exception as error:  # the student's error, reported instead of raised
        return None, (
            f"Calling the function with layers_dims={list(layers_dims)} raised "
            f"{type(error).__name__}: {error}"
        )


def _check_type(found, expected, layers_dims, report):
    """Is it a dictionary with the right keys? Returns True when the rest can be checked."""
    if found is None:
        report.add(
            "The function returned None. Hint: keep `return parameters` at the end of the "
            "function, outside the for loop, and fill `parameters` inside the loop."
        )
        return False
    if isinstance(found, (list, tuple)):
        report.add(
            f"The function returned a {type(found).__name__}; it must return the dictionary "
            "`parameters`, with keys 'W1', 'b1', ..."
        )
        return False
    if not isinstance(found, dict):
        report.add(f"The function returned a {type(found).__name__}; it must return a dictionary.")
        return False

    wanted, got = set(expected), set(found)
    L = len(layers_dims) - 1
    if wanted == got:
        report.keys_ok = True
        return True
    missing = sorted(wanted - got, key=_key_order)
    extra = sorted(got - wanted, key=lambda k: (not isinstance(k, str), str(k)))
    if missing and not got:
        report.add("The dictionary is empty. Hint: fill `parameters` inside the for loop.")
    elif set(missing) == {f"W{L}", f"b{L}"}:
        report.add(
            f"Keys W{L} and b{L} are missing: the loop skips the last layer. "
            f"With layers_dims={list(layers_dims)} there are {L} layers; the loop must run "
            f"l = 1, ..., {L}, for example `for l in range(1, len(layers_dims))`."
        )
    elif extra and set(extra) == {f"W{L + 1}", f"b{L + 1}"}:
        report.add(
            f"Keys W{L + 1} and b{L + 1} are extra: the loop runs one layer too many. "
            f"With layers_dims={list(layers_dims)} there are only {L} layers."
        )
    else:
        if missing:
            report.add(f"Keys missing from the dictionary: {', '.join(map(str, missing))}.")
        if extra:
            report.add(
                f"Unexpected keys in the dictionary: {', '.join(map(repr, extra))}. "
                "Hint: the keys are 'W' + str(l) and 'b' + str(l)."
            )
    return True


def _key_order(key):
    return int(key[1:]), key[0] == "b"


def _check_arrays(found, expected, layers_dims, report):
    """Is each parameter a float64 array of the right shape?"""
    weight_shapes = {
        k: np.shape(v) for k, v in found.items() if isinstance(k, str) and k.startswith("W")
    }
    fixed = _fixed_index(weight_shapes, layers_dims)
    if fixed:
        report.add(fixed)
    for name, want in expected.items():
        if name not in found:
            continue
        value = found[name]
        if type(value) is not np.ndarray:
            report.add(
                f"{name} is a {type(value).__name__}, not a numpy array. "
                "Hint: build it with np.zeros(...) or np.random.randn(...)."
            )
            continue
        if value.dtype != np.float64:
            report.add(
                f"{name} has dtype {value.dtype}, expected float64. Hint: keep numpy's default "
                "dtype; do not pass dtype=... or convert the array."
            )
        if value.shape != want.shape:
            if not fixed:
                report.add(_shape_message(name, value.shape, want.shape))
            continue
        if value.dtype == np.float64:
            report.shapes_ok.add(name)


def _fixed_index(weight_shapes, layers_dims):
    """A message when every weight has the same wrong shape (a fixed index such as layers_dims[1])."""
    L = len(layers_dims) - 1
    shapes = [weight_shapes.get(f"W{l}") for l in range(1, L + 1)]
    if L < 2 or None in shapes or len(set(shapes)) != 1:
        return None
    right = [(layers_dims[l], layers_dims[l - 1]) for l in range(1, L + 1)]
    if shapes == right:
        return None
    return (
        f"Every weight matrix has the same shape {shapes[0]}, but they should be "
        + ", ".join(f"W{l} {right[l - 1]}" for l in range(1, L + 1))
        + ". Mistake: a fixed index such as layers_dims[1] where the layer index "
        "layers_dims[l] is meant (a digit 1 instead of the letter l?). Hint: W'l' has shape "
        "(layers_dims[l], layers_dims[l - 1])."
    )


def _shape_message(name, found_shape, want_shape):
    text = f"{name} has shape {found_shape}, expected {want_shape}."
    if found_shape == want_shape[::-1]:
        text += (
            " Mistake: the weights are transposed. Hint: W'l' has shape "
            "(layers_dims[l], layers_dims[l - 1]), rows for this layer's units."
        )
    elif name.startswith("b") and found_shape == want_shape[:1]:
        text += (
            " Mistake: the bias is a flat vector. Hint: make it a column with "
            f"np.zeros(({want_shape[0]}, 1))."
        )
    elif name.startswith("W") and len(found_shape) == 2 and found_shape[0] == want_shape[0]:
        text += (
            " Hint: the number of columns is the size of the previous layer, layers_dims[l - 1]."
        )
    return text


def _check_values(found, expected, layers_dims, kind, reveal, report):
    """Do the parameters that have the right shape hold the right values?"""
    names = [n for n in expected if n in report.shapes_ok]
    wrong_biases = []
    for name in names:
        value, want = found[name], expected[name]
        if _close(value, want):
            report.values_ok.add(name)
        elif name.startswith("b"):
            wrong_biases.append(name)
    if wrong_biases:
        report.add(
            f"{', '.join(wrong_biases)} should be all zeros but {'is' if len(wrong_biases) == 1 else 'are'} not"
            f" (found {wrong_biases[0]} = {_show(found[wrong_biases[0]])}). Hint: use np.zeros for the "
            "biases."
            + (
                " Mistake: drawing random biases also uses up numbers of the random stream, so "
                "every weight drawn after them differs too."
                if kind != "zeros"
                else ""
            )
        )

    weights = [n for n in names if n.startswith("W") and n not in report.values_ok]
    if not weights:
        return
    if kind == "zeros":
        for name in weights:
            report.add(
                f"{name} should be all zeros (found {_show(found[name])}). Hint: use np.zeros."
            )
        return
    diagnosis = _diagnose_weights(found, expected, layers_dims, kind, weights)
    if wrong_biases and weights != ["W1"] and "W1" not in weights:
        diagnosis = None  # the shifted stream explains the weights already
        for name in weights:
            report.add(
                f"{name} differs from the seed-3 draw because random biases were drawn before it "
                f"(found {_show(found[name])})."
            )
        return
    for name in weights:
        line = f"{name} has the right shape but the wrong values."
        if reveal:
            line += f"\n    expected: {_show(expected[name])}\n    found:    {_show(found[name])}"
        else:
            line += f" Found: {_show(found[name])}."
        report.add(line)
    report.add(diagnosis or _generic_value_hint(kind))


def _diagnose_weights(found, expected, layers_dims, kind, weights):
    """Name the mistake that turns the expected weights into the found ones, if it is a known one."""
    # The seed is re-set inside the loop: every layer starts again at the start of the stream.
    L = len(layers_dims) - 1
    if L >= 2 and "W1" not in weights:
        first = found["W1"].ravel()
        restarted = all(
            _ratio(found[f"W{l}"].ravel()[: min(first.size, found[f"W{l}"].size)],
                   first[: min(first.size, found[f"W{l}"].size)]) is not None
            for l in range(2, L + 1)
        )  # fmt: skip
        if restarted:
            return (
                "Mistake: every layer starts again from the same random numbers, as if "
                "np.random.seed(3) were called inside the loop. Hint: seed once, before the loop."
            )

    ratios = {name: _ratio(found[name], expected[name]) for name in weights}
    if all(c is not None for c in ratios.values()):
        return _scale_mistake(ratios, layers_dims, kind)

    if (
        all(np.all(found[name] >= 0) for name in weights)
        and sum(found[n].size for n in weights) >= 3
    ):
        return (
            "Mistake: every value is non-negative, which looks like np.random.rand (uniform on "
            "[0, 1)) instead of np.random.randn (standard normal). Hint: use np.random.randn."
        )
    return None


def _scale_mistake(ratios, layers_dims, kind):
    """Explain weights that are the expected ones times a constant per layer."""
    cs = list(ratios.values())
    if kind == "random":
        c = cs[0]
        if all(_is(x, c) for x in cs):
            if _is(c, 1e-3):
                return (
                    "Mistake: the weights are 1000 times too small, as if scaled by 0.01 instead "
                    "of 10. Hint: this exercise wants large weights: np.random.randn(...) * 10."
                )
            if _is(c, 0.1):
                return (
                    "Mistake: the weights are 10 times too small: the factor 10 is missing. "
                    "Hint: multiply np.random.randn(...) by 10."
                )
            return (
                f"Mistake: the weights are the right draw scaled by {10 * c:.6g} instead of 10. "
                "Hint: multiply np.random.randn(...) by 10."
            )
    if kind == "he":
        dims = {f"W{l}": (layers_dims[l], layers_dims[l - 1]) for l in range(1, len(layers_dims))}
        he = {n: np.sqrt(2.0 / dims[n][1]) for n in ratios}
        candidates = [
            (lambda n: np.sqrt(1.0 / dims[n][1]) / he[n],
             "Mistake: this is Xavier initialization, sqrt(1 / layers_dims[l - 1]). "
             "Hint: He initialization uses sqrt(2 / layers_dims[l - 1])."),
            (lambda n: np.sqrt(2.0 / dims[n][0]) / he[n],
             "Mistake: the scale uses the size of this layer, layers_dims[l] (fan-out). "
             "Hint: He initialization divides by the size of the previous layer, layers_dims[l - 1]."),
            (lambda n: (2.0 / dims[n][1]) / he[n],
             "Mistake: the weights are scaled by 2 / layers_dims[l - 1] without the square root. "
             "Hint: use np.sqrt(2 / layers_dims[l - 1])."),
            (lambda n: np.sqrt(1.0 / dims[n][0]) / he[n],
             "Mistake: the scale is sqrt(1 / layers_dims[l]): both the factor 2 and the layer are "
             "off. Hint: He initialization uses sqrt(2 / layers_dims[l - 1])."),
            (lambda n: 10.0 / he[n],
             "Mistake: the weights are scaled by 10 as in the large random initialization. "
             "Hint: He initialization uses np.sqrt(2 / layers_dims[l - 1])."),
            (lambda n: 1.0 / he[n],
             "Mistake: the weights are not scaled at all. "
             "Hint: multiply np.random.randn(...) by np.sqrt(2 / layers_dims[l - 1])."),
        ]  # fmt: skip
        for factor, message in candidates:
            if all(_is(ratios[n], factor(n)) for n in ratios) and not all(
                _is(factor(n), 1.0) for n in ratios
            ):
                return message
        return (
            "Mistake: the weights are the right draw with the wrong scale (found "
            + ", ".join(f"{n} = {ratios[n]:.4g} x expected" for n in ratios)
            + "). Hint: multiply np.random.randn(...) by np.sqrt(2 / layers_dims[l - 1])."
        )
    return None


def _generic_value_hint(kind):
    return (
        "The values do not match the draw after np.random.seed(3). Hint: keep the seed as given, "
        "draw W before b in each layer, draw nothing else, and use " + DESCRIPTION[kind] + "."
    )


def check_case(function, kind, layers_dims, expected, reveal=True):
    """Check one call of a student's initialization function.

    function -- the student's function, taking layers_dims
    kind -- "zeros", "random" or "he"
    layers_dims -- list of layer sizes to call it with
    expected -- dictionary of the expected arrays, W1 (n_1, n_0), b1 (n_1, 1), ...
    reveal -- show expected values in the messages (False for hidden cases)

    Returns a Report.
    """
    report = Report(expected)
    found, error = _call(function, layers_dims)
    if error:
        report.add(error)
        return report
    if _check_type(found, expected, layers_dims, report):
        _check_arrays(found, expected, layers_dims, report)
        _check_values(found, expected, layers_dims, kind, reveal, report)
    return report


def _public_test(function, kind):
    layers_dims, expected = PUBLIC_CASES[kind]
    report = check_case(function, kind, layers_dims, expected)
    if not report.problems:
        print("All tests passed.")
        return
    print(f"{len(report.problems)} problem(s) found with layers_dims={layers_dims}:")
    for problem in report.problems:
        print(" - " + problem)


def initialize_parameters_zeros_test(target):
    """Check initialize_parameters_zeros on layers_dims = [3, 2, 1] and print the verdict."""
    _public_test(target, "zeros")


def initialize_parameters_random_test(target):
    """Check initialize_parameters_random on layers_dims = [3, 2, 1] and print the verdict."""
    _public_test(target, "random")


def initialize_parameters_he_test(target):
    """Check initialize_parameters_he on layers_dims = [2, 4, 1] and print the verdict."""
    _public_test(target, "he")


def grade_exercise(target, kind, hidden_cases=(), points=10):
    """Grade one initialization function and return the points earned.

    The public example is checked with its values shown; the hidden cases, a list of
    (layers_dims, expected) pairs, are checked without showing their expected values.
    Each part of the marks (see the top of this file) is earned when it holds in every case.
    """
    cases = [(*PUBLIC_CASES[kind], True)] + [(dims, exp, False) for dims, exp in hidden_cases]
    parts = [True, True, True]
    for layers_dims, expected, reveal in cases:
        report = check_case(target, kind, layers_dims, expected, reveal)
        parts = [a and b for a, b in zip(parts, report.parts())]
        if report.problems:
            print(f"With layers_dims={list(layers_dims)}:")
            for problem in report.problems:
                print(" - " + problem)
    keys, shapes, values = parts
    earned = points * (
        KEYS_SHARE * keys + SHAPES_SHARE * shapes + VALUES_SHARE * (shapes and values)
    )
    earned = round(earned, 2)
    if earned == points and not hidden_cases:
        print("All checks passed. More network shapes are checked when your notebook is graded.")
    elif earned == points:
        print(f"All checks passed on {len(cases)} networks: {earned:g} / {points} points.")
    else:
        print(f"Points for this exercise: {earned:g} / {points}.")
    return earned
