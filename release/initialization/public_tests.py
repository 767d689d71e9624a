"""Tests for the three initialization functions of the Initialization assignment.

Run them from the notebook, for example ``initialize_parameters_he_test(initialize_parameters_he)``.
Each test calls your function on the notebook's example and prints ``All tests passed.``
or, for every problem, which parameter is wrong, what was expected and what was found and,
when the answer looks like a mistake students often make, names the mistake with a hint:

    Mistake: transposed weights. W1 has shape (3, 2), expected (2, 3). Hint: ...

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

# What each initialization should do, in words, for the hints.
RECIPE = {
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


def mistake(title, explanation, hint):
    """A recognised mistake, rendered as 'Mistake: <title>. <explanation> Hint: <hint>'."""
    return [title, [explanation], hint]


class Report:
    """What one call of a student's function earned, and the messages explaining it.

    keys_ok -- True when the result is a dict with exactly the expected keys
    shapes_ok -- names of the parameters that are float64 arrays of the right shape
    values_ok -- names of the parameters that also hold the right values
    problems -- one message per problem, in the order a student should fix them; a mistake
        found in several parameters is one message
    """

    def __init__(self, expected):
        self.expected = expected
        self.keys_ok = False
        self.shapes_ok = set()
        self.values_ok = set()
        self._entries = []  # plain messages, and mistakes as [title, explanations, hint]

    def parts(self):
        """Which parts of the marks this call earns: (keys, shapes, values), each a bool."""
        every = set(self.expected)
        return self.keys_ok, self.shapes_ok == every, self.values_ok == every

    def add(self, message):
        """Add a plain message or a mistake(...); the same mistake twice becomes one message."""
        if isinstance(message, list):
            for entry in self._entries:
                if isinstance(entry, list) and entry[0] == message[0]:
                    entry[1].extend(message[1])
                    return
        self._entries.append(message)

    @property
    def problems(self):
        return [
            f"Mistake: {e[0]}. {' '.join(e[1])} Hint: {e[2]}" if isinstance(e, list) else e
            for e in self._entries
        ]


def _show(array, limit=6):
    """The first few values of an array, flattened, for a message."""
    flat = np.asarray(array, dtype=float).ravel()
    text = np.array2string(flat[:limit], precision=8, separator=", ", max_line_width=10**6)
    return text[:-1] + ", ...]" if flat.size > limit else text


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
        return None, mistake(
            "not implemented",
            "The function still raises NotImplementedError.",
            "replace the lines `# YOUR CODE HERE` and `raise NotImplementedError()` with your code.",
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
            mistake(
                "nothing returned",
                "The function returned None.",
                "keep `return parameters` at the end of the function, after the for loop.",
            )
        )
        return False
    if not isinstance(found, dict):
        report.add(
            mistake(
                "not a dictionary",
                f"The function returned a {type(found).__name__}.",
                "return the dictionary `parameters`, with keys 'W1', 'b1', ...",
            )
        )
        return False

    wanted, got = set(expected), set(found)
    if wanted == got:
        report.keys_ok = True
        return True
    L = len(layers_dims) - 1
    missing = sorted(wanted - got, key=_key_order)
    extra = sorted(map(repr, got - wanted))
    if not got:
        report.add("The dictionary is empty. Hint: fill `parameters` inside the for loop.")
    elif set(missing) == {f"W{L}", f"b{L}"} and not extra:
        report.add(
            mistake(
                "last layer skipped",
                f"W{L} and b{L} are missing: with layers_dims={list(layers_dims)} there are "
                f"{L} layers, but the loop stopped at layer {L - 1}.",
                f"the loop must run l = 1, ..., {L}, for example "
                "`for l in range(1, len(layers_dims))`.",
            )
        )
    elif set(got - wanted) == {f"W{L + 1}", f"b{L + 1}"} and not missing:
        report.add(
            mistake(
                "extra layer",
                f"W{L + 1} and b{L + 1} should not be there: with layers_dims={list(layers_dims)} "
                f"there are only {L} layers.",
                f"the loop must stop at l = {L}: `for l in range(1, len(layers_dims))`.",
            )
        )
    else:
        if missing:
            report.add(f"Keys missing from the dictionary: {', '.join(missing)}.")
        if extra:
            report.add(
                f"Unexpected keys in the dictionary: {', '.join(extra)}. "
                "Hint: the keys are 'W' + str(l) and 'b' + str(l)."
            )
    return True


def _key_order(key):
    return int(key[1:]), key[0] == "b"


def _check_arrays(found, expected, layers_dims, report):
    """Is each parameter a float64 array of the right shape?"""
    fixed = _fixed_index(found, layers_dims)
    if fixed:
        report.add(fixed)
    for name, want in expected.items():
        if name not in found:
            continue
        value = found[name]
        if type(value) is not np.ndarray:
            report.add(
                mistake(
                    "not numpy arrays",
                    f"{name} is a {type(value).__name__}.",
                    "build every parameter with np.zeros(...) or np.random.randn(...).",
                )
            )
            continue
        if value.dtype != np.float64:
            report.add(
                mistake(
                    f"{value.dtype} instead of float64",
                    f"{name} has dtype {value.dtype}.",
                    "keep numpy's default float64: do not pass dtype=... or convert the array.",
                )
            )
        if value.shape != want.shape:
            if not fixed:
                report.add(_shape_message(name, value.shape, want.shape))
            continue
        if value.dtype == np.float64:
            report.shapes_ok.add(name)


def _fixed_index(found, layers_dims):
    """A message when every weight has the same wrong shape (a fixed index such as layers_dims[1])."""
    L = len(layers_dims) - 1
    shapes = [np.shape(found[f"W{l}"]) if f"W{l}" in found else None for l in range(1, L + 1)]
    right = [(layers_dims[l], layers_dims[l - 1]) for l in range(1, L + 1)]
    if L < 2 or None in shapes or len(set(shapes)) != 1 or shapes == right:
        return None
    return mistake(
        "fixed layer index",
        f"Every weight matrix has the shape {shapes[0]}, but they should be "
        + ", ".join(f"W{l} {right[l - 1]}" for l in range(1, L + 1))
        + ": the code uses a fixed index such as layers_dims[1] (the digit 1) where the "
        "layer index layers_dims[l] (the letter l) is meant.",
        "W'l' has shape (layers_dims[l], layers_dims[l - 1]).",
    )


def _shape_message(name, found_shape, want_shape):
    text = f"{name} has shape {found_shape}, expected {want_shape}."
    if name.startswith("W") and found_shape == want_shape[::-1]:
        return mistake(
            "transposed weights",
            text,
            "W'l' has shape (layers_dims[l], layers_dims[l - 1]): one row per unit of layer l.",
        )
    if name.startswith("b") and found_shape == want_shape[:1]:
        return mistake(
            "biases of shape (n,)",
            text,
            f"make the bias a column: np.zeros(({want_shape[0]}, 1)).",
        )
    return (
        text
        + " Hint: W'l' has shape (layers_dims[l], layers_dims[l - 1]), b'l' (layers_dims[l], 1)."
    )


def _check_values(found, expected, layers_dims, kind, reveal, report):
    """Do the parameters that have the right shape hold the right values?"""
    names = [n for n in expected if n in report.shapes_ok]
    for name in names:
        if np.allclose(found[name], expected[name], rtol=RTOL, atol=0.0):
            report.values_ok.add(name)
    wrong = [n for n in names if n not in report.values_ok]
    wrong_biases = [n for n in wrong if n.startswith("b")]
    wrong_weights = [n for n in wrong if n.startswith("W")]

    if wrong_biases:
        shifted = kind != "zeros" and any(n != "W1" for n in wrong_weights)
        report.add(
            mistake(
                "random biases",
                f"{', '.join(wrong_biases)} should be zeros; found {wrong_biases[0]} = "
                f"{_show(found[wrong_biases[0]])}."
                + (
                    " Drawing random biases also uses up numbers of the random stream, so the "
                    f"weights drawn after them ({', '.join(n for n in wrong_weights if n != 'W1')})"
                    " differ too."
                    if shifted
                    else ""
                ),
                "use np.zeros((layers_dims[l], 1)) for the biases.",
            )
        )
        if shifted:
            wrong_weights = [n for n in wrong_weights if n == "W1"]
    if not wrong_weights:
        return

    for name in wrong_weights:
        line = f"{name} has the right shape but the wrong values."
        if reveal:
            line += f"\n    expected: {_show(expected[name])}\n    found:    {_show(found[name])}"
        else:
            line += f" Found: {_show(found[name])}."
        report.add(line)
    if kind == "zeros":
        report.add("Every weight should be zero. Hint: use np.zeros.")
    else:
        report.add(_diagnose_weights(found, expected, layers_dims, kind, wrong_weights))


def _diagnose_weights(found, expected, layers_dims, kind, weights):
    """Name the mistake that turns the expected weights into the found ones."""
    # The seed is re-set inside the loop: every layer starts again at the start of the stream.
    L = len(layers_dims) - 1
    if L >= 2 and "W1" not in weights:
        first = found["W1"].ravel()

        def restarts(w):
            n = min(first.size, w.size)
            return n >= 1 and _ratio(w.ravel()[:n], first[:n]) is not None

        if all(restarts(found[f"W{l}"]) for l in range(2, L + 1)):
            return mistake(
                "seed re-set inside the loop",
                "Every layer starts again from the same random numbers, as if np.random.seed(3) "
                "were called in each pass of the loop.",
                "keep the single np.random.seed(3) before the loop.",
            )

    # Scale mistakes: every weight is the expected draw times a factor (1 where it is right).
    shaped = [
        n for n in expected if n.startswith("W") and np.shape(found.get(n)) == expected[n].shape
    ]
    ratios = {name: _ratio(found[name], expected[name]) for name in shaped}
    if all(c is not None for c in ratios.values()):
        return _scale_mistake(ratios, layers_dims, kind)

    if all(np.all(found[n] >= 0) for n in weights) and sum(found[n].size for n in weights) >= 3:
        return mistake(
            "uniform rand instead of randn",
            "Every weight is non-negative, as np.random.rand (uniform on [0, 1)) gives.",
            "draw from the standard normal distribution with np.random.randn.",
        )
    return mistake(
        "values not from the seed-3 draw",
        "The weights have the right shapes but are not the numbers drawn after "
        "np.random.seed(3): the seed was changed, or numbers were drawn in another order.",
        f"keep np.random.seed(3) as given, draw W before b in each layer and nothing else, "
        f"and use {RECIPE[kind]}.",
    )


def _scale_mistake(ratios, layers_dims, kind):
    """Explain weights that are the expected ones times a constant per layer."""
    if kind == "random":
        c = max(ratios.values(), key=lambda x: abs(np.log(abs(x))))  # the factor furthest from 1
        if all(_is(x, c) for x in ratios.values()):
            return mistake(
                "wrong scale for large random",
                f"The weights are the right draw multiplied by {10 * c:.6g} instead of 10"
                + (" (the factor 10 is missing)." if _is(c, 0.1) else "."),
                "this exercise wants large weights: np.random.randn(...) * 10.",
            )
        return mistake(
            "wrong scale for large random",
            "The weights are the right draw with a different factor in each layer.",
            "multiply np.random.randn(...) by 10 in every layer.",
        )

    dims = {f"W{l}": (layers_dims[l], layers_dims[l - 1]) for l in range(1, len(layers_dims))}
    he = {n: np.sqrt(2.0 / dims[n][1]) for n in ratios}
    # (title, explanation, the scale that mistake uses for a weight of shape (n_l, n_{l-1}))
    known = [
        ("Xavier scaling instead of He",
         "The weights are scaled by sqrt(1 / layers_dims[l - 1]), which is Xavier initialization.",
         lambda n_l, n_prev: np.sqrt(1.0 / n_prev)),
        ("fan-out instead of fan-in",
         "The scale divides by the size of this layer, layers_dims[l], instead of the previous one.",
         lambda n_l, n_prev: np.sqrt(2.0 / n_l)),
        ("missing square root",
         "The weights are scaled by 2 / layers_dims[l - 1] without the square root.",
         lambda n_l, n_prev: 2.0 / n_prev),
        ("Xavier scaling with fan-out",
         "The weights are scaled by sqrt(1 / layers_dims[l]): the factor 2 is missing and the "
         "scale uses this layer instead of the previous one.",
         lambda n_l, n_prev: np.sqrt(1.0 / n_l)),
        ("large random scale in He",
         "The weights are multiplied by 10, as in the large random initialization.",
         lambda n_l, n_prev: 10.0),
        ("unscaled weights",
         "The weights are np.random.randn(...) with no scaling at all.",
         lambda n_l, n_prev: 1.0),
    ]  # fmt: skip
    for title, explanation, scale in known:
        factors = {n: scale(*dims[n]) / he[n] for n in ratios}
        if all(_is(ratios[n], factors[n]) for n in ratios) and not all(
            _is(f, 1.0) for f in factors.values()
        ):
            return mistake(
                title, explanation, "He initialization uses np.sqrt(2 / layers_dims[l - 1])."
            )
    return mistake(
        "wrong scale for He",
        "The weights are the right draw with the wrong scale ("
        + ", ".join(f"{n} is {ratios[n]:.4g} times the expected" for n in ratios)
        + ").",
        "multiply np.random.randn(...) by np.sqrt(2 / layers_dims[l - 1]).",
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
    print(f"{len(report.problems)} problem(s) with layers_dims={layers_dims}:")
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
    keys = shapes = values = True
    for layers_dims, expected, reveal in cases:
        report = check_case(target, kind, layers_dims, expected, reveal)
        case_keys, case_shapes, case_values = report.parts()
        keys, shapes, values = keys and case_keys, shapes and case_shapes, values and case_values
        if report.problems:
            print(f"With layers_dims={list(layers_dims)}:")
            for problem in report.problems:
                print(" - " + problem)
    earned = KEYS_SHARE * keys + SHAPES_SHARE * shapes + VALUES_SHARE * (shapes and values)
    earned = round(points * earned, 2)
    if earned == points and not hidden_cases:
        print("All checks passed. More network shapes are checked when your notebook is graded.")
    elif earned == points:
        print(f"All checks passed on {len(cases)} networks: {earned:g} / {points} points.")
    else:
        print(f"Points for this exercise: {earned:g} / {points}.")
    return earned
