"""Tests for the three initialization functions of the Initialization assignment.

Run them from the notebook, for example ``initialize_parameters_he_test()``, which checks the
function ``initialize_parameters_he`` of the notebook (or the function given as its argument).
First it makes sure that this is the code of your answer cell as last run: when that run
failed (Python could not read the cell, or it raised before the function was defined), it says
so, with the line and the error, and tests nothing, not even an older definition still in
memory:

    Not tested: your answer cell for exercise 3 (the cell above) did not run. Python cannot
    read it, at line 23: '(' was never closed.

Otherwise the test calls your function on the notebook's example, prints the parameters it
returned (``W1 = ...``) and then ``All tests passed.`` or, for every problem, what is wrong,
with the values expected and found and, for the mistakes students often make, the mistake by
name and a hint:

    Mistake: transposed weights. W1 has shape (3, 2), expected (2, 3). Hint: ...

Every mistake the tests can name is listed in MISTAKES below. When your function raises an
error, the message quotes the line of your answer cell where it happened, with its number
(never a line of numpy's), and for a misspelt name the one you probably meant:

    Hint: Did you mean `np.zeros`? Fix line 21 of your answer cell, shown below, ...
      line 21: parameters['W' + str(l)] = np.zeroes((layers_dims[l], layers_dims[l - 1]))

Every message is printed in lines of at most WIDTH (79) characters, broken between words,
so that the notebook never has to break a line itself.

The same checks grade the notebook: ``grade_exercise`` runs them on the public example and
on other network shapes and returns the share of the exercise's points earned, a number from
0 to 1, made of three parts that are earned independently of one another:

    20 %  the function returns a dictionary with exactly the keys W1, b1, ..., WL, bL
    30 %  every parameter is a float64 numpy array of the right shape
    50 %  every parameter is a numpy array of the right shape holding the right values
          (whatever its dtype: float32 values with the right numbers earn this part, and
          lose only the 30 % of the float64 part)

Each part is earned when it holds for every network checked.
"""

import ast
import builtins
import difflib
import linecache
import os
import re
import sys
import warnings
from dataclasses import dataclass, replace

import numpy as np

__all__ = [
    "initialize_parameters_zeros_test",
    "initialize_parameters_random_test",
    "initialize_parameters_he_test",
    "grade_exercise",
    "public_problems",
]

KEYS_SHARE, SHAPES_SHARE, VALUES_SHARE = 0.2, 0.3, 0.5

# Relative tolerance for values: wide enough for the same formula written another way
# (randn(...) / np.sqrt(n / 2) instead of randn(...) * np.sqrt(2 / n) differs in the last
# bit), far too narrow for any real mistake. An array of lower precision (float32, say) is
# compared at its own precision instead.
RTOL = 1e-9

# What each initialization should do, in words, for the hints.
RECIPE = {
    "zeros": "`np.zeros` for every weight and bias",
    "random": "`np.random.randn(...) * 10` for the weights and `np.zeros` for the biases",
    "he": "`np.random.randn(...) * np.sqrt(2 / layers_dims[l - 1])` for the weights "
    "and `np.zeros` for the biases",
}

# The width of every line the tests print: narrower than a notebook's output area, the
# feedback page and nbgrader's Validate dialog, so that no line is ever broken by them.
WIDTH = 79

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


@dataclass(frozen=True)
class Mistake:
    """A mistake the tests can name, shown as 'Mistake: <title>. <explanation> Hint: <hint>'.

    The entries of MISTAKES hold the general explanation and hint; a test that finds the
    mistake fills in the particulars (which parameter, which shape) with found(...).
    """

    title: str
    explanation: str
    hint: str
    code: str = ""  # the student's line at fault, "line 7: ...", shown on a line of its own

    def found(self, explanation=None, hint=None, title=None, code=""):
        """This mistake as found: its wording, with the particulars given in its place."""
        return replace(
            self,
            title=title or self.title,
            explanation=explanation or self.explanation,
            hint=hint or self.hint,
            code=code or self.code,
        )

    def message(self, explanation=None, after=""):
        """'Mistake: <title>. <explanation> Hint: <hint> <after>', and the student's line at
        fault on a line of its own."""
        text = f"Mistake: {self.title}. {explanation or self.explanation} Hint: {self.hint}"
        return text + (f" {after}" if after else "") + (f"\n{self.code}" if self.code else "")


# How the hints name the parameters: as the answer cells write them.
W_L = "parameters['W' + str(l)]"
B_L = "parameters['b' + str(l)]"

# Every mistake the tests can name: name -> Mistake (general wording). Each explanation and
# each hint is a whole sentence; code is written between backticks, as the student types it.
MISTAKES = {
    "not implemented": Mistake(
        "not implemented",
        "The function still raises NotImplementedError.",
        "Replace the two lines `# YOUR CODE HERE` and `raise NotImplementedError()` with your "
        "code.",
    ),
    "error raised": Mistake(
        "error raised",
        "Calling the function raised an error.",
        "Fix the line of your answer cell that the message names, run that cell again, then "
        "run this test again.",
    ),
    "nothing returned": Mistake(
        "nothing returned",
        "The function returned None.",
        "Keep `return parameters` at the end of the function, after the for loop.",
    ),
    "not a dictionary": Mistake(
        "not a dictionary",
        "The function did not return a dictionary.",
        "Return the dictionary `parameters`, with the keys 'W1', 'b1', and so on.",
    ),
    "empty dictionary": Mistake(
        "empty dictionary",
        "The dictionary is empty.",
        "Fill `parameters` inside the for loop.",
    ),
    "biases missing": Mistake(
        "biases missing",
        "The biases are not in the dictionary.",
        f"Set `{B_L} = np.zeros((layers_dims[l], 1))` inside the loop.",
    ),
    "last layer skipped": Mistake(
        "last layer skipped",
        "The last layer's parameters are missing: the loop stops one layer early.",
        "The loop must run for l = 1, ..., L: `for l in range(1, len(layers_dims))`.",
    ),
    "extra layer": Mistake(
        "extra layer",
        "There are parameters for one layer more than the network has.",
        "The loop must stop at l = L: `for l in range(1, len(layers_dims))`.",
    ),
    "wrong keys": Mistake(
        "wrong keys",
        "The dictionary does not have exactly the keys W1, b1, ..., WL, bL.",
        "The keys are `'W' + str(l)` and `'b' + str(l)`, for l = 1, ..., L.",
    ),
    "not numpy arrays": Mistake(
        "not numpy arrays",
        "A parameter is not a numpy array.",
        "Build every parameter with `np.zeros(...)` or `np.random.randn(...)`.",
    ),
    "not float64": Mistake(
        "<dtype> instead of float64",  # named after the dtype found, e.g. float32
        "A parameter does not have numpy's default dtype, float64.",
        "Keep numpy's default float64: do not pass `dtype=...` and do not convert the array.",
    ),
    "fixed layer index": Mistake(
        "fixed layer index",
        "Every weight matrix has the same shape: the code uses a fixed index such as "
        "layers_dims[1] (the digit 1) where the layer index layers_dims[l] (the letter l) "
        "is meant.",
        f"`{W_L}` has the shape `(layers_dims[l], layers_dims[l - 1])`.",
    ),
    "transposed weights": Mistake(
        "transposed weights",
        "A weight matrix has its two dimensions swapped.",
        f"`{W_L}` has the shape `(layers_dims[l], layers_dims[l - 1])`: one row per unit of "
        "layer l.",
    ),
    "biases of shape (n,)": Mistake(
        "biases of shape (n,)",
        "A bias is a flat vector instead of a column.",
        "Make the bias a column: `np.zeros((layers_dims[l], 1))`.",
    ),
    "wrong shape": Mistake(
        "wrong shape",
        "A parameter has the wrong shape.",
        f"`{W_L}` has the shape `(layers_dims[l], layers_dims[l - 1])` and `{B_L}` the shape "
        "`(layers_dims[l], 1)`.",
    ),
    "weights not zero": Mistake(
        "weights not zero",
        "Every weight should be zero.",
        "Use `np.zeros((layers_dims[l], layers_dims[l - 1]))`.",
    ),
    "random biases": Mistake(
        "random biases",
        "The biases should be zeros.",
        f"Use `{B_L} = np.zeros((layers_dims[l], 1))`.",
    ),
    "seed re-set inside the loop": Mistake(
        "seed re-set inside the loop",
        "Every layer starts again from the same random numbers, as if `np.random.seed(3)` "
        "were called in each pass of the loop.",
        "Keep the single `np.random.seed(3)` before the loop.",
    ),
    "wrong scale for large random": Mistake(
        "wrong scale for large random",
        "The weights are the right draw with the wrong scale.",
        "This exercise wants large weights: `np.random.randn(...) * 10`.",
    ),
    "Xavier scaling instead of He": Mistake(
        "Xavier scaling instead of He",
        "The weights are scaled by `np.sqrt(1 / layers_dims[l - 1])`, which is Xavier "
        "initialization.",
        "He initialization uses `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "fan-out instead of fan-in": Mistake(
        "fan-out instead of fan-in",
        "The scale divides by the size of this layer, `layers_dims[l]`, instead of the "
        "previous one.",
        "He initialization uses `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "missing square root": Mistake(
        "missing square root",
        "The weights are scaled by `2 / layers_dims[l - 1]` without the square root.",
        "He initialization uses `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "Xavier scaling with fan-out": Mistake(
        "Xavier scaling with fan-out",
        "The weights are scaled by `np.sqrt(1 / layers_dims[l])`: the factor 2 is missing and "
        "the scale uses this layer instead of the previous one.",
        "He initialization uses `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "large random scale in He": Mistake(
        "large random scale in He",
        "The weights are multiplied by 10, as in the large random initialization.",
        "He initialization uses `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "unscaled weights": Mistake(
        "unscaled weights",
        "The weights are `np.random.randn(...)` with no scaling at all.",
        "He initialization uses `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "wrong scale for He": Mistake(
        "wrong scale for He",
        "The weights are the right draw with the wrong scale.",
        "Multiply `np.random.randn(...)` by `np.sqrt(2 / layers_dims[l - 1])`.",
    ),
    "uniform rand instead of randn": Mistake(
        "uniform rand instead of randn",
        "Every weight is non-negative, as `np.random.rand` (uniform on [0, 1)) gives.",
        "Draw from the standard normal distribution with `np.random.randn`.",
    ),
    "values not from the seed-3 draw": Mistake(
        "values not from the seed-3 draw",
        "The weights have the right shapes but are not the numbers drawn after "
        "`np.random.seed(3)`: the seed was changed, or numbers were drawn in another order.",
        "Keep `np.random.seed(3)` as given, draw W before b in each layer, and draw nothing else.",
    ),
}


class Report:
    """What one call of a student's function earned, and the mistakes explaining it.

    keys_ok -- True when the result is a dict with exactly the expected keys
    shapes_ok -- names of the parameters that are float64 arrays of the right shape
    shaped -- names of the parameters that are numpy arrays of the right shape, any dtype
    values_ok -- names of the parameters (among shaped) that hold the right values
    findings -- the mistakes found, in the order a student should fix them: one entry per
        mistake, [Mistake, [explanations], [detail lines]], a mistake found in several
        parameters being one entry
    """

    def __init__(self, expected):
        self.expected = expected
        self.keys_ok = False
        self.shapes_ok = set()
        self.shaped = set()
        self.values_ok = set()
        self.findings = []

    def parts(self):
        """Which parts of the marks this call earns: (keys, float64 shapes, values), bools."""
        every = set(self.expected)
        return self.keys_ok, self.shapes_ok == every, self.values_ok == every

    def add(self, mistake, details=()):
        """Add a found Mistake, with optional detail lines (values expected and found).

        The same mistake found again (in another parameter) joins the first entry.
        """
        for entry in self.findings:
            if entry[0].title == mistake.title:
                if mistake.explanation not in entry[1]:
                    entry[1].append(mistake.explanation)
                entry[2].extend(details)
                return
        self.findings.append([mistake, [mistake.explanation], list(details)])

    @property
    def titles(self):
        """The titles of the mistakes found, in order."""
        return [entry[0].title for entry in self.findings]

    @property
    def problems(self):
        """One message per mistake: 'Mistake: <title>. <explanation> Hint: <hint>', followed
        by its detail lines, each on a line of its own (unwrapped: see wrap)."""
        return [
            m.message(" ".join(explanations)) + "".join("\n" + line for line in details)
            for m, explanations, details in self.findings
        ]


def wrap(text, first=" - ", rest="   ", width=WIDTH):
    """A message as lines of at most width characters, for a notebook's output.

    The first line starts with first, the others with rest; a line is broken only at a
    space, never inside a word or inside code written between backticks (code longer than
    a line is broken at its own spaces). Each line of text starts a new line; a detail line
    (the values expected and found, or a line of code) keeps its own spacing.
    """
    out = []
    for number, paragraph in enumerate(text.split("\n")):
        lead = first if number == 0 else rest + "  "
        # a detail line's continuation starts under its text: "expected: [..." or "line 7: ..."
        hang = rest + (
            "  " + " " * len(re.match(r"(?:[\w ]+: +)?", paragraph).group()) if number else ""
        )
        line = lead
        for token in re.findall(r"\s*(?:\S*`[^`]*`\S*|\S+)", paragraph):
            for piece in _pieces(token, width - len(hang)):
                if line.strip() and len(line) + len(piece) > width:
                    out.append(line.rstrip())
                    line = hang + piece.lstrip()
                else:
                    line += piece if line.strip() else piece.lstrip()
        out.append(line.rstrip())
    return "\n".join(out)


def _pieces(token, room):
    """A token that fits on a line, or a token longer than a line cut at its own spaces."""
    if len(token.strip()) <= room:
        return [token]
    return re.findall(r"\s*\S+", token)


def _show(array, limit=4):
    """The first few values of an array, flattened, for a message."""
    flat = np.asarray(array, dtype=float).ravel()
    text = np.array2string(flat[:limit], precision=8, separator=", ", max_line_width=10**6)
    return text[:-1] + ", ...]" if flat.size > limit else text


def _ratio(found, expected):
    """The constant c with found == c * expected, or None when there is no such c."""
    found = np.asarray(found, dtype=float)
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
    """Call the student's function; return (result, None) or (None, Mistake).

    Warnings the call raises are kept quiet: in a notebook they would go to stderr.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return function(list(layers_dims)), None
    except NotImplementedError:
        return None, MISTAKES["not implemented"]
    except Exception as error:  # the student's error, reported instead of raised
        return None, _error_raised(error, function, layers_dims)


def _error_raised(error, function, layers_dims):
    """The "error raised" mistake: the error, the student's own line where it happened (the
    library's lines left out) and, for a misspelt name, the name that was probably meant."""
    message = f"{type(error).__name__}: {error}".rstrip()
    explanation = f"Calling the function with layers_dims={list(layers_dims)} raised {message}"
    explanation += "" if explanation.endswith((".", "!", "?")) else "."
    hint = MISTAKES["error raised"].hint
    where, shown = _students_line(error, function), ""
    if where is not None:
        number, code, place, frame = where
        hint = f"Fix line {number} of {place}" + (", shown below" if code else "")
        hint += ", run that cell again, then run this test again."
        shown = f"line {number}: {code}" if code else ""
        meant = _meant(error, frame, code)
        if meant:
            hint = f"Did you mean `{meant}`? " + hint
    return MISTAKES["error raised"].found(explanation, hint, code=shown)


def _students_line(error, function):
    """(line number, its code, where, frame) of the last line of the student's own cell
    that the error went through, or None when there is none (an error inside numpy that
    the student's line called is reported at the student's line)."""
    filename = getattr(getattr(function, "__code__", None), "co_filename", None)
    found, step = None, error.__traceback__
    while step is not None:
        if step.tb_frame.f_code.co_filename == filename:
            found = step
        step = step.tb_next
    if found is None:
        return None
    code = linecache.getline(filename, found.tb_lineno).strip()
    if "ipykernel_" in filename or filename.startswith("<ipython-input"):
        place = "your answer cell"
    elif filename.startswith("<"):
        place = "the function's code"
    else:
        place = os.path.basename(filename)
    return found.tb_lineno, code, place, found.tb_frame


def _meant(error, frame, code):
    """For a misspelt name (np.zeroes, layer_dims), the existing name closest to it."""
    name = getattr(error, "name", None)
    if isinstance(error, AttributeError):
        quoted = re.search(r"has no attribute '(\w+)'", str(error))
        name = name or (quoted and quoted.group(1))
        written = re.search(rf"([A-Za-z_][\w.]*)\.{name}\b", code or "") if name else None
        owner = getattr(error, "obj", None)
        if owner is None and written:
            owner = _lookup(written.group(1), frame)
        if owner is None:
            return None
        candidates = [n for n in dir(owner) if not n.startswith("_")]
        prefix = (written.group(1) if written else getattr(owner, "__name__", "")) + "."
        prefix = "" if prefix == "." else prefix
    elif isinstance(error, NameError) and name:
        candidates = [*frame.f_locals, *frame.f_globals, *dir(builtins)]
        prefix = ""
    else:
        return None
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.7)
    same_length = [c for c in close if len(c) == len(name)]
    return prefix + (same_length or close)[0] if close else None


def _lookup(dotted, frame):
    """The object a dotted name such as np.random stands for in a frame, or None."""
    first, *rest = dotted.split(".")
    scope = {**vars(builtins), **frame.f_globals, **frame.f_locals}
    value = scope.get(first)
    for part in rest:
        value = getattr(value, part, None)
    return value


def _check_type(found, expected, layers_dims, report):
    """Is it a dictionary with the right keys? Returns True when the rest can be checked."""
    if found is None:
        report.add(MISTAKES["nothing returned"])
        return False
    if not isinstance(found, dict):
        report.add(
            MISTAKES["not a dictionary"].found(
                f"The function returned a {type(found).__name__}, not a dictionary."
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
        report.add(MISTAKES["empty dictionary"])
    elif set(missing) == {f"W{L}", f"b{L}"} and not extra:
        report.add(
            MISTAKES["last layer skipped"].found(
                f"W{L} and b{L} are missing: with layers_dims={list(layers_dims)} there are "
                f"{L} layers, but the loop stopped at layer {L - 1}.",
                f"The loop must run for l = 1, ..., {L}, for example "
                "`for l in range(1, len(layers_dims))`.",
            )
        )
    elif set(got - wanted) == {f"W{L + 1}", f"b{L + 1}"} and not missing:
        report.add(
            MISTAKES["extra layer"].found(
                f"W{L + 1} and b{L + 1} should not be there: with layers_dims={list(layers_dims)} "
                f"there are only {L} layers.",
                f"The loop must stop at l = {L}: `for l in range(1, len(layers_dims))`.",
            )
        )
    elif missing and all(name.startswith("b") for name in missing) and not extra:
        report.add(
            MISTAKES["biases missing"].found(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the "
                "dictionary."
            )
        )
    else:
        text = []
        if missing:
            text.append(f"Keys missing from the dictionary: {', '.join(missing)}.")
        if extra:
            text.append(f"Unexpected keys in the dictionary: {', '.join(extra)}.")
        report.add(MISTAKES["wrong keys"].found(" ".join(text)))
    return True


def _key_order(key):
    return int(key[1:]), key[0] == "b"


def _check_arrays(found, expected, layers_dims, report):
    """Is each parameter a numpy array of the right shape, and of dtype float64?"""
    fixed = _fixed_index(found, layers_dims)
    if fixed:
        report.add(fixed)
    for name, want in expected.items():
        if name not in found:
            continue
        value = found[name]
        if type(value) is not np.ndarray:
            report.add(MISTAKES["not numpy arrays"].found(f"{name} is a {type(value).__name__}."))
            continue
        if value.shape != want.shape:
            if not fixed:
                report.add(_shape_mistake(name, value.shape, want.shape))
            continue
        report.shaped.add(name)
        if value.dtype == np.float64:
            report.shapes_ok.add(name)
        else:
            report.add(
                MISTAKES["not float64"].found(
                    f"{name} has dtype {value.dtype}.", title=f"{value.dtype} instead of float64"
                )
            )


def _fixed_index(found, layers_dims):
    """A Mistake when every weight has the same wrong shape (a fixed index such as
    layers_dims[1]), else None."""
    L = len(layers_dims) - 1
    shapes = [np.shape(found[f"W{l}"]) if f"W{l}" in found else None for l in range(1, L + 1)]
    right = [(layers_dims[l], layers_dims[l - 1]) for l in range(1, L + 1)]
    if L < 2 or None in shapes or len(set(shapes)) != 1 or shapes == right:
        return None
    return MISTAKES["fixed layer index"].found(
        f"Every weight matrix has the shape {shapes[0]}, but they should be "
        + ", ".join(f"W{l} {right[l - 1]}" for l in range(1, L + 1))
        + ": the code uses a fixed index such as layers_dims[1] (the digit 1) where the "
        "layer index layers_dims[l] (the letter l) is meant."
    )


def _shape_mistake(name, found_shape, want_shape):
    text = f"{name} has shape {found_shape}, expected {want_shape}."
    if name.startswith("W") and found_shape == want_shape[::-1]:
        return MISTAKES["transposed weights"].found(text)
    if name.startswith("b") and found_shape == want_shape[:1]:
        return MISTAKES["biases of shape (n,)"].found(
            text, f"Make the bias a column, here `np.zeros(({want_shape[0]}, 1))`."
        )
    return MISTAKES["wrong shape"].found(text)


def _close(found, expected):
    """Whether found holds expected's values, at RTOL or at found's own lower precision."""
    try:
        rtol = RTOL
        if np.issubdtype(found.dtype, np.floating):
            rtol = max(RTOL, 4 * float(np.finfo(found.dtype).eps))
        return bool(np.allclose(found, expected, rtol=rtol, atol=0.0))
    except (TypeError, ValueError):  # not numbers at all (strings, objects)
        return False


def _check_values(found, expected, layers_dims, kind, reveal, report):
    """Do the parameters that are arrays of the right shape hold the right values?"""
    names = [n for n in expected if n in report.shaped]
    for name in names:
        if _close(found[name], expected[name]):
            report.values_ok.add(name)
    wrong = [n for n in names if n not in report.values_ok]
    wrong_biases = [n for n in wrong if n.startswith("b")]
    wrong_weights = [n for n in wrong if n.startswith("W")]

    if wrong_biases:
        shifted = kind != "zeros" and any(n != "W1" for n in wrong_weights)
        report.add(
            MISTAKES["random biases"].found(
                f"{', '.join(wrong_biases)} should be zeros; found {wrong_biases[0]} = "
                f"{_show(found[wrong_biases[0]])}."
                + (
                    " Drawing random biases also uses up numbers of the random stream, so the "
                    f"weights drawn after them ({', '.join(n for n in wrong_weights if n != 'W1')})"
                    " differ too."
                    if shifted
                    else ""
                )
            )
        )
        if shifted:
            wrong_weights = [n for n in wrong_weights if n == "W1"]
    if not wrong_weights:
        return

    details = []
    for name in wrong_weights:
        details.append(f"{name} has the right shape but the wrong values.")
        if reveal:
            details.append(f"  expected: {_show(expected[name])}")
        details.append(f"  found:    {_show(found[name])}")
    if kind == "zeros":
        report.add(MISTAKES["weights not zero"], details)
    else:
        report.add(_diagnose_weights(found, expected, layers_dims, kind, wrong_weights), details)


def _diagnose_weights(found, expected, layers_dims, kind, weights):
    """Name the mistake that turns the expected weights into the found ones."""
    # The seed is re-set inside the loop: every layer starts again at the start of the stream.
    L = len(layers_dims) - 1
    if L >= 2 and "W1" not in weights:
        first = np.asarray(found["W1"], dtype=float).ravel()

        def restarts(w):
            w = np.asarray(w, dtype=float).ravel()
            n = min(first.size, w.size)
            return n >= 1 and _ratio(w[:n], first[:n]) is not None

        if all(restarts(found[f"W{l}"]) for l in range(2, L + 1)):
            return MISTAKES["seed re-set inside the loop"]

    # Scale mistakes: every weight is the expected draw times a factor (1 where it is right).
    shaped = [
        n for n in expected if n.startswith("W") and np.shape(found.get(n)) == expected[n].shape
    ]
    ratios = {name: _ratio(found[name], expected[name]) for name in shaped}
    if all(c is not None for c in ratios.values()):
        return _scale_mistake(ratios, layers_dims, kind)

    if all(np.all(found[n] >= 0) for n in weights) and sum(found[n].size for n in weights) >= 3:
        return MISTAKES["uniform rand instead of randn"]
    return MISTAKES["values not from the seed-3 draw"].found(
        hint="Keep `np.random.seed(3)` as given, draw W before b in each layer, draw nothing "
        f"else, and use {RECIPE[kind]}."
    )


def _scale_mistake(ratios, layers_dims, kind):
    """Explain weights that are the expected ones times a constant per layer."""
    if kind == "random":
        c = max(ratios.values(), key=lambda x: abs(np.log(abs(x))))  # the factor furthest from 1
        if all(_is(x, c) for x in ratios.values()):
            return MISTAKES["wrong scale for large random"].found(
                f"The weights are the right draw multiplied by {10 * c:.6g} instead of 10"
                + (" (the factor 10 is missing)." if _is(c, 0.1) else ".")
            )
        return MISTAKES["wrong scale for large random"].found(
            "The weights are the right draw with a different factor in each layer.",
            "Multiply `np.random.randn(...)` by 10 in every layer.",
        )

    dims = {f"W{l}": (layers_dims[l], layers_dims[l - 1]) for l in range(1, len(layers_dims))}
    he = {n: np.sqrt(2.0 / dims[n][1]) for n in ratios}
    # (mistake, the scale that mistake uses for a weight of shape (n_l, n_{l-1}))
    known = [
        ("Xavier scaling instead of He", lambda n_l, n_prev: np.sqrt(1.0 / n_prev)),
        ("fan-out instead of fan-in", lambda n_l, n_prev: np.sqrt(2.0 / n_l)),
        ("missing square root", lambda n_l, n_prev: 2.0 / n_prev),
        ("Xavier scaling with fan-out", lambda n_l, n_prev: np.sqrt(1.0 / n_l)),
        ("large random scale in He", lambda n_l, n_prev: 10.0),
        ("unscaled weights", lambda n_l, n_prev: 1.0),
    ]
    for name, scale in known:
        factors = {n: scale(*dims[n]) / he[n] for n in ratios}
        if all(_is(ratios[n], factors[n]) for n in ratios) and not all(
            _is(f, 1.0) for f in factors.values()
        ):
            return MISTAKES[name]
    return MISTAKES["wrong scale for He"].found(
        "The weights are the right draw with the wrong scale ("
        + ", ".join(f"{n} is {ratios[n]:.4g} times the expected" for n in ratios)
        + ")."
    )


def check_result(found, kind, layers_dims, expected, reveal=True):
    """Check what a student's function returned; returns a Report (see check_case)."""
    report = Report(expected)
    if _check_type(found, expected, layers_dims, report):
        _check_arrays(found, expected, layers_dims, report)
        _check_values(found, expected, layers_dims, kind, reveal, report)
    return report


def check_case(function, kind, layers_dims, expected, reveal=True):
    """Check one call of a student's initialization function.

    function -- the student's function, taking layers_dims
    kind -- "zeros", "random" or "he"
    layers_dims -- list of layer sizes to call it with
    expected -- dictionary of the expected arrays, W1 (n_1, n_0), b1 (n_1, 1), ...
    reveal -- show expected values in the messages (False for hidden cases)

    Returns a Report.
    """
    found, error = _call(function, layers_dims)
    if error:
        report = Report(expected)
        report.add(error)
        return report
    return check_result(found, kind, layers_dims, expected, reveal)


def _count(n, word):
    return f"{n} {word}" + ("s" if n != 1 else "")


def _print_parameters(found, expected):
    """Print the parameters a function returned, 'W1 = ...', as far as there are any."""
    if not isinstance(found, dict):
        return
    for name in (name for name in expected if name in found):
        try:
            print(f"{name} = {found[name]}")
        except Exception:  # a value that cannot even be shown is reported by the checks
            print(f"{name} = <cannot be shown>")


# --- Which code the public test checks --------------------------------------------------
#
# In a notebook, the function a test finds is the one the kernel holds: the last definition
# that ran to the end. When the answer cell's last run failed (Python could not read it, or
# it raised before the `def` ran), that is an older definition, or none at all, and its
# verdict would be about code the student no longer sees. So before calling anything the
# public test compares the function with the answer cell's code as last run (the kernel
# keeps every cell it ran, IPython's `In`, and the code behind each function), and says why
# it does not test when they differ.

EXERCISES = {"zeros": 1, "random": 2, "he": 3}  # the exercise number of each kind


def _kernel():
    """The IPython shell of the notebook's kernel this code runs in, or None outside one (a
    script, a test, the grader's re-check): there the function given is tested as it is."""
    ipython = sys.modules.get("IPython")  # imported by the kernel itself, never by this module
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if hasattr(shell, "history_manager") else None


def _as_compiled(shell, source):
    """A cell's code as the kernel compiles it: IPython's commands (%magic, !shell) rewritten
    as Python, each on its own line, so that line numbers stay those of the cell."""
    try:
        return str(shell.transform_cell(source))
    except Exception:  # a cell IPython cannot rewrite: its commands blanked instead
        return "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
        )


def _same_code(one, other):
    """Whether two versions of a cell are the same code (trailing spaces and blank lines aside)."""

    def lines(text):
        return [line.rstrip() for line in text.strip("\n").splitlines()]

    return lines(one) == lines(other)


def _last_run(shell, name):
    """The code of the last cell run in the kernel that defines the function name (or carries
    its `# GRADED FUNCTION:` line), as compiled; None when no such cell has run."""
    defines = re.compile(rf"^[ \t]*def[ \t]+{name}\b|GRADED FUNCTION:[ \t]*{name}\b", re.M)
    runs = [str(source) for source in shell.history_manager.input_hist_raw if source]
    runs = [source for source in runs if defines.search(source)]
    return _as_compiled(shell, runs[-1]) if runs else None


def _defined_by(function, code):
    """Whether the function's code is the cell's code, or cannot be known (a callable without
    Python code of its own, code whose text the kernel did not keep): then it is tested."""
    inner = getattr(function, "__wrapped__", function)
    filename = getattr(getattr(inner, "__code__", None), "co_filename", None)
    text = "".join(linecache.getlines(filename)) if filename else ""
    return not text or _same_code(text, code)


def _failure_of_run(code):
    """(line, error, frame) of the error that stopped the run of this cell's code, from the
    last error the kernel showed (sys.last_value), or None when that error came from
    elsewhere."""
    error = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    found, step = None, getattr(error, "__traceback__", None)
    while step is not None:
        filename = step.tb_frame.f_code.co_filename
        if _same_code("".join(linecache.getlines(filename)), code):
            found = step
        step = step.tb_next
    return (found.tb_lineno, error, found.tb_frame) if found is not None else None


def _defines(code, name):
    """Whether the cell's code, run to the end, defines the function name at its top level."""
    try:
        tree = compile(code, "<answer cell>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    defined = (ast.FunctionDef, ast.AsyncFunctionDef)
    return any(isinstance(node, defined) and node.name == name for node in tree.body)


def not_tested(kind, function):
    """Why the public test of exercise kind must not test function (the function of that name
    in the notebook, or None when there is none), as the text to print; None when it is the
    function that the answer cell's code, as last run, defines.

    The text names the cell, the line and the error, and says that an older definition still
    in memory is not tested. Outside a Jupyter kernel there is no cell to compare with: only a
    missing function is reported.
    """
    name = f"initialize_parameters_{kind}"
    cell = f"your answer cell for exercise {EXERCISES[kind]} (the cell above)"
    again = "run the answer cell again, then run this test again."
    shell = _kernel()
    code = _last_run(shell, name) if shell is not None else None
    if code is None:  # the answer cell has not run in this kernel
        return None if function is not None else _not_defined_yet(kind)
    if function is None:
        older = f"So `{name}` is not defined, and there is nothing to test yet."
    else:
        older = (
            f"The `{name}` still in memory comes from an earlier run of the cell, not from the "
            "code you see, so this test does not check it."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. an invalid escape: not this test's business
            compile(code, "<answer cell>", "exec", dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        return _paragraphs(
            f"Not tested: {cell} did not run. Python cannot read it, at line {line}: "
            + _sentence(error.msg),
            _quoted(code, line),
            f"{older} Fix line {line}, {again}",
        )
    if function is not None and _defined_by(function, code):
        return None
    failure = _failure_of_run(code)
    if failure is not None:
        line, error, frame = failure
        meant = _meant(error, frame, _line_of(code, line))
        return _paragraphs(
            f"Not tested: the last run of {cell} stopped at line {line}: "
            + _sentence(f"{type(error).__name__}: {error}"),
            _quoted(code, line),
            (f"It stopped before it defined `{name}`. " if function is None else "")
            + f"{older} "
            + (f"Did you mean `{meant}`? " if meant else "")
            + f"Fix line {line}, {again}",
        )
    if not _defines(code, name):
        return _paragraphs(
            f"Not tested: {cell}, as last run, does not define `{name}`. {older} Put back "
            f"`def {name}(layers_dims):` as the assignment has it, then {again}"
        )
    return _paragraphs(
        f"Not tested: the last run of {cell} stopped before it defined `{name}`. {older} "
        "Run the answer cell again to see its error, correct it, then run this test again."
    )


def _not_defined_yet(kind):
    """What the public test says when there is no function to test and no run of its cell."""
    return _paragraphs(
        f"Not tested: `initialize_parameters_{kind}` is not defined yet. Run your answer cell "
        f"for exercise {EXERCISES[kind]} (the cell above), then run this test again."
    )


def _sentence(text):
    """Python's message as a sentence: with a full stop, unless it ends with a mark of its own."""
    text = str(text).strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _line_of(code, line):
    """The text of a line of the cell's code, from 1 ("" when there is no such line)."""
    lines = code.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _quoted(code, line):
    """The cell's line, as the messages show it: 'line 7: <its code>' ("" if it is empty)."""
    text = _line_of(code, line)
    return f"line {line}: {text}" if text else ""


def _paragraphs(*paragraphs):
    """Text and quoted lines, each wrapped to WIDTH: a quoted line indented under the text."""
    shown = []
    for paragraph in paragraphs:
        if paragraph.startswith("line "):  # wrapped as a detail line, under its own text
            shown.append(wrap("\n" + paragraph, first="", rest="  ").lstrip("\n"))
        elif paragraph:
            shown.append(wrap(paragraph, first="", rest=""))
    return "\n".join(shown)


def _public_test(kind, target, caller):
    """Check the function of exercise kind (target, or else the notebook's function of that
    name, found in the caller's namespace) on the public example: say first when it is not
    the answer cell's code as last run, and then test nothing; else call it, show its
    parameters and print the verdict."""
    name = f"initialize_parameters_{kind}"
    function = target if target is not None else caller.f_globals.get(name)
    try:
        reason = not_tested(kind, function)
    except Exception:  # a kernel this check cannot read: the function is tested as it is
        reason = None if function is not None else _not_defined_yet(kind)
    if reason:
        print(reason)
        return
    layers_dims, expected = PUBLIC_CASES[kind]
    found, error = _call(function, layers_dims)
    if error:
        report = Report(expected)
        report.add(error)
    else:
        _print_parameters(found, expected)
        report = check_result(found, kind, layers_dims, expected)
    if not report.findings:
        print("All tests passed.")
        return
    print(f"{_count(len(report.findings), 'problem')} with layers_dims={layers_dims}:")
    for problem in report.problems:
        print(wrap(problem))


def public_problems(function, name):
    """The titles of the mistakes the public test of the function named name (e.g.
    "initialize_parameters_he") finds, printing nothing; [] when it passes. The notebook's
    final check (check_submission.py) uses it."""
    kind = name.rsplit("_", 1)[-1]
    return check_case(function, kind, *PUBLIC_CASES[kind]).titles


def initialize_parameters_zeros_test(target=None):
    """Check initialize_parameters_zeros (the notebook's, or target): call it with
    layers_dims = [3, 2, 1], print its parameters and the verdict."""
    _public_test("zeros", target, sys._getframe(1))


def initialize_parameters_random_test(target=None):
    """Check initialize_parameters_random (the notebook's, or target): call it with
    layers_dims = [3, 2, 1], print its parameters and the verdict."""
    _public_test("random", target, sys._getframe(1))


def initialize_parameters_he_test(target=None):
    """Check initialize_parameters_he (the notebook's, or target): call it with
    layers_dims = [2, 4, 1], print its parameters and the verdict."""
    _public_test("he", target, sys._getframe(1))


class Score(float):
    """The share of an exercise's points earned, a number from 0 to 1.

    It is a float: nbgrader reads its plain-text form, e.g. 0.8, as the share of the grade
    cell's points. In the notebook it shows as 'Score on the checks: 80 %'.
    """

    def __repr__(self):
        return float.__repr__(self)

    def _repr_markdown_(self):
        return f"**Score on the checks: {100 * self:.0f} %**"


class FullMarks(Score):
    """Full marks, 1.0, shown as nothing: a grade cell without a result earns the whole of its
    points in nbgrader, when grading and when a student runs nbgrader's Validate."""

    def _ipython_display_(self):
        pass


PARTS = [
    (KEYS_SHARE, "a dictionary with exactly the keys W1, b1, ..., WL, bL"),
    (SHAPES_SHARE, "float64 numpy arrays of the right shapes"),
    (VALUES_SHARE, "the right values"),
]


def grade_exercise(target, kind, hidden_cases=()):
    """Grade one initialization function; return the share of its points earned, a Score.

    target -- the student's function, taking layers_dims
    kind -- "zeros", "random" or "he"
    hidden_cases -- a list of (layers_dims, expected) pairs, checked after the public
        example without showing their expected values

    Each part of the marks (see the top of this file) is earned when it holds in every case.
    Prints which parts were earned and each mistake found, once, with the networks it was
    found on: one entry per mistake, starting with " - Mistake: <title>." and continued on
    lines that start with three spaces (the feedback page reads them in that form).

    When nbgrader's Validate runs the notebook (NBGRADER_VALIDATING is set), the report goes
    to stderr instead: that is the only text nbgrader's Validate dialog shows for a grade
    cell, which would otherwise say just "Partial credit". Grading never sets it.
    """
    cases = [(*PUBLIC_CASES[kind], True)] + [(dims, exp, False) for dims, exp in hidden_cases]
    earned = [True, True, True]
    found = {}  # title -> [Mistake, [layers_dims where found]]
    for layers_dims, expected, reveal in cases:
        report = check_case(target, kind, layers_dims, expected, reveal)
        earned = [a and b for a, b in zip(earned, report.parts())]
        for mistake, explanations, _ in report.findings:
            entry = found.setdefault(
                mistake.title, [replace(mistake, explanation=" ".join(explanations)), []]
            )
            entry[1].append(list(layers_dims))
    share = round(sum(weight for (weight, _), ok in zip(PARTS, earned) if ok), 4)

    networks = "the notebook's example" + (
        f" and {_count(len(hidden_cases), 'other network')}" if hidden_cases else ""
    )
    if share == 1:
        print(f"All checks passed on {networks}.")
        if not hidden_cases:
            print("More network shapes are checked when your notebook is graded.")
        return FullMarks(1.0)
    lines = [f"Checked on {networks}:"]
    for (weight, text), ok in zip(PARTS, earned):
        lines.append(f"  [{'x' if ok else ' '}] {text} ({100 * weight:.0f} % of the points)")
    if found:
        lines.append(f"{_count(len(found), 'mistake')}:")
    for mistake, where in found.values():
        on = (
            "on every network"
            if len(where) == len(cases)
            else "with layers_dims=" + ", ".join(map(str, where))
        )
        lines.append(wrap(mistake.message(after=f"({on})")))
    if os.environ.get("NBGRADER_VALIDATING"):
        lines.insert(0, f"Score on the checks: {100 * share:.0f} % of the points.")
        print("\n".join(lines), file=sys.stderr)
    else:
        print("\n".join(lines))
    return Score(share)
