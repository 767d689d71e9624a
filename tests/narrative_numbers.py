"""The numbers the notebook's narrative quotes, each with the fact that makes it true.

The narrative is the source notebook's markdown. Every number in it that a run or the code
could contradict -- a decimal, a number of 100 or more, a percentage, a power of ten, `inf` --
must lie inside the quotation of a Claim below, and each Claim reads its numbers from the text
(the groups of its pattern) and compares them with what makes them true:

- a run of the course's trainings (tests/course_training.py's JSON: the printed costs and
  accuracies, and run_facts): checked on this machine and under every processor code path of
  tests/course/test_processor_variants.py, since a number that holds on one processor only
  must not be quoted;
- or the code itself (the grading shares of public_tests.py, the scale section's cell), the same
  on every machine, checked once.

A number changed in the text, or a new number no Claim quotes, is reported
(tests/course/test_processor_variants.py plants some as canaries).
"""

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import spec_numbers
from harness import ROOT

import public_tests

NOTEBOOK = ROOT / "source" / "initialization" / "Initialization.ipynb"
LN2 = math.log(2)

# What may be a measurement: a decimal, a number with thousands separators, a number of 100
# or more, a percentage, a power of ten ($10^{-16}$), the word inf. Small whole numbers (section
# numbers, layer counts, the 1/2 of the formulas) are the text's own and are not read.
NUMBER = re.compile(
    r"(?<![\w.\\^{])(?:\d+\.\d+|\d{1,3}(?:,\d{3})+|\d{3,}|\d+(?= ?%))(?![\w.])"
    r"|10\^\{-?\d+\}|\binf\b"
)


def narrative(path=NOTEBOOK):
    """{cell id: text} of the notebook's markdown cells."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return {c["id"]: "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"}


@dataclass(frozen=True)
class Claim:
    """A quotation of the narrative, the numbers in it and what makes them true.

    cell -- the markdown cell's id
    pattern -- a regular expression matching the quotation; its groups are the numbers
    says -- the claim in words, for the messages
    check -- (the numbers as quoted, facts) -> what is wrong, or None; facts is a run's JSON
        (tests/course_training.py) for a claim on runs, None for a claim on the code
    on_runs -- checked against every run (True) or once against the code (False)
    """

    cell: str
    pattern: str
    says: str
    check: Callable
    on_runs: bool = True


def _costs(run, kind):
    return [cost for _, cost in spec_numbers.printed_costs(run["outputs"][kind])]


def _number(text):
    return float(text.replace(",", ""))


def _expected_block(text):
    """The parameters of an "Expected output" block, as the public test prints them."""
    return text.strip("`\n").strip()


def _ln2(quoted, run):
    value = float(quoted[0])
    first = _costs(run, "zeros")[0]
    if value != LN2 or first != value:
        return f"ln 2 is {LN2!r}, the zeros run prints {first!r} at iteration 0, quoted {value!r}"
    return None


def _another_last_digit(quoted, run):
    value, costs = float(quoted[0]), _costs(run, "zeros")
    others = [cost for cost in costs if cost != LN2]
    if costs[0] != LN2 or sum(cost == LN2 for cost in costs) < len(costs) - 2:
        return f"the zeros run prints ln 2 at iteration 0 and all but a line or two: {costs}"
    if not all(repr(cost)[:-1] == repr(LN2)[:-1] for cost in costs):
        return f"a zeros cost differs from ln 2 before the last digit: {costs}"
    seen = set(others) | set(spec_numbers.COSTS["zeros"])
    if value == LN2 or repr(value)[:-1] != repr(LN2)[:-1] or value not in seen:
        return f"{value!r} is not a cost printed here or in the specification: {sorted(seen)}"
    return None


def _class_sizes(quoted, run):
    sizes = run["facts"]["train_class_sizes"]
    return None if sizes == [int(quoted[0])] * 2 else f"the classes have {sizes} points"


def _train_size(quoted, run):
    size = run["facts"]["train_size"]
    return None if size == _number(quoted[0]) else f"the training set has {size} points"


def _sizes(quoted, run):
    found = (run["facts"]["train_size"], run["facts"]["test_size"])
    return None if found == tuple(map(int, quoted)) else f"the data set has {found} points"


def _bias_end(quoted, run):
    power = int(re.search(r"-?\d+}", quoted[0]).group()[:-1])
    b3 = run["facts"]["zeros_end"]["b3"]
    # "a little over 10^k": above it, and well below the next power of ten
    if not 10.0**power < b3 < 2.5 * 10.0**power:
        return f"the zeros run ends with the output bias at {b3!r}"
    return None


def _next_after_half(quoted, run):
    value = float(quoted[0])
    return None if value == np.nextafter(0.5, 1) else f"{value!r} is not the number after 0.5"


def _ends_at_half(quoted, run):
    outputs = run["facts"]["zeros_end"]["outputs"]
    return None if outputs == [float(quoted[0])] else f"the zeros run ends with outputs {outputs}"


def _says_label(quoted, run):
    labels = run["facts"]["zeros_end"]["labels"]
    return None if labels == [int(quoted[0])] else f"the zeros run predicts {labels}"


def _first_cost_inf(quoted, run):
    first = _costs(run, "random")[0]
    return None if quoted[0] == "inf" and math.isinf(first) else f"the first cost is {first!r}"


def _random_spread(quoted, run):
    spread = spec_numbers.largest_difference("random", _costs(run, "random"))
    if not spread <= spec_numbers.RANDOM_RTOL:  # "a few percent" at most, as measured
        return f"the large random run differs from the specification's by {spread:.2g}"
    accuracies = tuple(spec_numbers.printed_accuracies(run["outputs"]["random"]))
    if accuracies != spec_numbers.ACCURACY["random"]:
        return f"the large random run's accuracies are {accuracies}"
    return None


def _small_weights(quoted, run):
    if "small" not in run["outputs"]:
        return None  # run on the machine's own settings only
    costs = _costs(run, "small")
    accuracies = [float(a) for a in spec_numbers.printed_accuracies(run["outputs"]["small"])]
    if not all(abs(cost - LN2) < 1e-3 for cost in costs):
        return f"with x{quoted[0]} the costs are {costs}, not near ln 2"
    if not all(abs(100 * a - int(quoted[1])) <= 5 for a in accuracies):
        return f"with x{quoted[0]} the accuracies are {accuracies}"
    return None


def _iterations(quoted, run):
    iterations = run["facts"]["num_iterations"]
    printed = [i for i, _ in spec_numbers.printed_costs(run["outputs"]["he"])]
    if iterations != _number(quoted[0]) or printed[-1] + 1000 != iterations:
        return f"the model trains for {iterations} iterations and prints up to {printed[-1]}"
    return None


def _network(quoted, run):
    facts, (dims, rate, iterations, every) = run["facts"], quoted
    printed = [i for i, _ in spec_numbers.printed_costs(run["outputs"]["he"])]
    problems = []
    if [int(d) for d in dims.split(", ")][:1] != [facts["inputs"]]:
        problems.append(f"the data have {facts['inputs']} inputs")
    if float(rate) != facts["learning_rate"]:
        problems.append(f"the learning rate is {facts['learning_rate']}")
    if _number(iterations) != facts["num_iterations"]:
        problems.append(f"the model trains for {facts['num_iterations']} iterations")
    if printed != list(range(0, facts["num_iterations"], int(_number(every)))):
        problems.append(f"the costs are printed at iterations {printed}")
    return "; ".join(problems) or None


def _example(kind):
    def check(quoted, run):
        printed = run["facts"]["examples"][kind].strip()
        return (
            None if printed == _expected_block(quoted[0]) else f"the public test prints\n{printed}"
        )

    return check


def _shares(quoted, _):
    keys, shapes, values = (int(q) for q in quoted)
    found = tuple(
        round(100 * s)
        for s in (public_tests.KEYS_SHARE, public_tests.SHAPES_SHARE, public_tests.VALUES_SHARE)
    )
    return None if (keys, shapes, values) == found else f"public_tests.py shares out {found} %"


def _partial(quoted, _):
    keys, shapes, values = (
        round(100 * s)
        for s in (public_tests.KEYS_SHARE, public_tests.SHAPES_SHARE, public_tests.VALUES_SHARE)
    )
    found = (keys + shapes, keys + values)
    if tuple(map(int, quoted)) != found:
        return f"right shapes earn {found[0]} %, right float32 values {found[1]} %"
    return None


def _model_code(quoted, _):
    """The network the model cell builds: [inputs, 10, 5, 1] in its own code."""
    dims = quoted[0]
    return (
        None
        if "[X.shape[0], " + dims.split(", ", 1)[1] + "]" in _code("model")
        else (f"the model cell does not build [inputs, {dims.split(', ', 1)[1]}]")
    )


def _scale_section(quoted, _):
    units, points, divisor = (int(q) for q in quoted)
    code = _code("scale-plot")
    wanted = [f"[{units}] * 10", f"train_X[:, :{points}]", f"0.{'0' * (len(str(divisor)) - 2)}1)"]
    missing = [text for text in wanted if text not in code]
    return f"the scale section's code has none of {missing}" if missing else None


def _code(cell_id):
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return next("".join(c["source"]) for c in cells if c["id"] == cell_id)


def _threshold(quoted, _):
    """predict and predict_dec say 1 above the threshold only: `a3 > 0.5` in init_utils.py."""
    code = (ROOT / "init_utils.py").read_text(encoding="utf-8")
    return (
        None if code.count(f"a3 > {quoted[0]}") == 2 else f"init_utils.py has no `a3 > {quoted[0]}`"
    )


def _scale_label(quoted, _):
    """The scale section's curve of weights x0.01 is labelled so in its cell's code."""
    label = f'("×{quoted[0]} (exercise 2 ÷ 1000)"'
    return None if label in _code("scale-plot") else f"the scale section has no curve {label}"


def _citation(quoted, _):
    return None if quoted[0] == "2015" else "He et al. published in 2015"


EXPECTED = r"(```\n(?:[^`]|\n)*?```)"

CLAIMS = [
    Claim("submission-advice", r"(\d+) % for a dictionary .*?- (\d+) % for float64 .*?- (\d+) % for the right values",
          "the grading shares", _shares, on_runs=False),
    Claim("submission-advice", r"wrong scale earn (\d+) %, and an answer built .*? earns (\d+) %",
          "what right shapes and float32 values earn", _partial, on_runs=False),
    Claim("data-title", r"(\d+) for training and (\d+) for testing", "the data set's sizes", _sizes),
    Claim("model-title", r"`layers_dims = \[(\d, 10, 5, 1)\]`", "the layer sizes", _model_code, on_runs=False),
    Claim("model-title", r"`layers_dims = \[(\d, 10, 5, 1)\]`.*? learning rate of (0\.\d+) for ([\d,]+) iterations, and prints the cost every ([\d,]+) iterations",
          "the network's training", _network),
    Claim("model-title", r"He et al\. \((\d{4})\)", "a citation", _citation, on_runs=False),
    Claim("he-title", r"He et al\., (\d{4})", "a citation", _citation, on_runs=False),
    Claim("expected-zeros", EXPECTED, "the zeros example", _example("zeros")),
    Claim("expected-random", EXPECTED, "the large random example", _example("random")),
    Claim("expected-he", EXPECTED, "the He example", _example("he")),
    Claim("train-zeros-intro", r"for ([\d,]+) iterations", "the training's length", _iterations),
    Claim("train-random-intro", r"for ([\d,]+) iterations", "the training's length", _iterations),
    Claim("train-he-intro", r"for ([\d,]+) iterations", "the training's length", _iterations),
    Claim("zeros-why", r"\\ln 2 = (0\.\d+)", "ln 2, the cost at iteration 0", _ln2),
    Claim("zeros-why", r"may end in another digit, (0\.\d+) for instance", "the other last digit", _another_last_digit),
    Claim("zeros-why", r"equally frequent \((\d+) points each\)", "the classes' sizes", _class_sizes),
    Claim("zeros-why", r"the (\d+) terms do not quite cancel", "the training set's size", _train_size),
    Claim("zeros-why", r"a little over (\$10\^\{-?\d+\}\$)", "where the output bias ends", _bias_end),
    Claim("zeros-why", r"return (0\.5\d+), the next number after (0\.5)", "the number after 0.5", _next_after_half),
    Claim("zeros-why", r"is exactly (0\.5) again", "the zeros run's last outputs", _ends_at_half),
    Claim("zeros-why", r"only values above (0\.5) count as 1", "the threshold of predict", _threshold, on_runs=False),
    Claim("zeros-why", r"Every prediction is (\d+)", "the zeros run's predictions", _says_label),
    Claim("train-random-intro", r"by a few parts in a thousand and now and then by a few percent\. .*? first cost, `(inf)`, and the accuracies come out the same everywhere",
          "the spread of the large random run", _random_spread),
    Claim("random-inf", r"The first cost is `(inf)`", "the large random run's first cost", _first_cost_inf),
    Claim("random-observations", r"try `\* (0\.01)` instead of `\* 10` and the cost stays near ln 2, the accuracy near (\d+) %",
          "the run with weights x0.01", _small_weights),
    Claim("scale-title", r"(\d+) ReLU units, .*? fed with (\d+) of the training points\. .*? divided by (\d+)\.",
          "the scale section's network", _scale_section, on_runs=False),
    Claim("scale-title", r"The weights ×(0\.01) are", "the scale section's label", _scale_label, on_runs=False),
    Claim("scale-observations", r"\*\*×(0\.01)\*\*: the signal shrinks", "the scale section's label", _scale_label, on_runs=False),
    Claim("scale-observations", r"this is why ×(0\.01) leaves", "the scale section's label", _scale_label, on_runs=False),
]  # fmt: skip


def quoted(claim, text):
    """Every quotation of a claim in its cell's text: (the numbers quoted, their span). A space
    of the pattern matches any spaces and line breaks, and the `>` that starts each line of a
    quoted block: the text is wrapped at will."""
    pattern = re.sub(r"(?<!\\) ", r"[\\s>]+", claim.pattern)
    return [(match.groups(), match.span()) for match in re.finditer(pattern, text, re.DOTALL)]


def unclaimed(cells):
    """Numbers of the narrative that no claim quotes: ["cell: number (context)"]."""
    found = []
    for cell, text in cells.items():
        spans = [span for claim in CLAIMS if claim.cell == cell for _, span in quoted(claim, text)]
        for match in NUMBER.finditer(text):
            if not any(start <= match.start() < end for start, end in spans):
                context = text[max(0, match.start() - 30) : match.end() + 10].replace("\n", " ")
                found.append(f"{cell}: {match.group()} (...{context}...)")
    return found


def problems(cells, run=None):
    """What the narrative's cells say that this run (or, with run None, the code) contradicts:
    one line per claim not found or not true; [] when everything holds."""
    lines = []
    for claim in CLAIMS:
        if claim.on_runs != (run is not None):
            continue
        found = quoted(claim, cells.get(claim.cell, ""))
        if not found:
            lines.append(f"{claim.cell}: {claim.says}: the quotation is not in the text")
        for numbers, _ in found:
            wrong = claim.check(numbers, run)
            if wrong:
                lines.append(f"{claim.cell}: {claim.says} {numbers}: {wrong}")
    return lines
