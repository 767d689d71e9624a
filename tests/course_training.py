"""Run training cells of the source notebook outside Jupyter and print what they print.

    python tests/course_training.py [--ulp-seed S] [KIND ...]
                                (KIND: zeros, random, he, small; default random he)

Executes the notebook's own cells -- `imports` (without its %matplotlib line), `load-data`,
`model`, the three instructor solutions `initialize_parameters_*`, then `train-KIND` for
each KIND -- in one namespace, on matplotlib's Agg backend, and prints one JSON object:

    {"outputs": {KIND: printed text of train-KIND, ...},
     "facts": {what the notebook's narrative quotes of this run, see run_facts},
     "openblas": [architecture OpenBLAS uses, ...],
     "numpy_simd": [numpy's enabled dispatch targets, ...]}

KIND small is the large random training with the weights x0.01 instead of x10 (the
solution's `* 10` made `* 0.01`), the variant the notebook suggests trying.

tests/course/test_processor_variants.py starts it once per processor code path (environment
variables such as OPENBLAS_CORETYPE are read when numpy is imported, hence one process each).

With --ulp-seed S, the large random initialization's weights are then moved by -1, 0 or +1
unit in the last place, chosen at random with seed S: a stand-in for the last-bit differences
of another processor, which is how the tolerance of tests/spec_numbers.py was measured.
"""

import contextlib
import io
import json
import os
import sys

from harness import ROOT

NOTEBOOK = os.path.join(ROOT, "source", "initialization", "Initialization.ipynb")
SETUP_CELLS = [
    "imports",
    "load-data",
    "model",
    "initialize_parameters_zeros",
    "initialize_parameters_random",
    "initialize_parameters_he",
]


def notebook_cells(path=NOTEBOOK):
    """The code of each cell of the notebook, by cell id, without IPython magic lines."""
    with open(path, encoding="utf-8") as f:
        cells = json.load(f)["cells"]
    return {
        cell.get("id"): "\n".join(
            line for line in "".join(cell["source"]).splitlines() if not line.startswith("%")
        )
        for cell in cells
    }


def openblas_architectures():
    """The kernel names of every OpenBLAS loaded in this process, as threadpoolctl reports them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["unknown (threadpoolctl is not installed)"]
    return [
        str(info.get("architecture"))
        for info in threadpool_info()
        if info.get("internal_api") == "openblas"
    ]


def numpy_simd():
    """numpy's runtime-dispatched CPU feature groups that are enabled in this process."""
    import numpy as np

    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        return ["unknown (numpy " + np.__version__ + ")"]
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def nudge_by_one_ulp(initialize, seed):
    """initialize, with each returned weight moved by -1, 0 or +1 unit in the last place."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def nudged(layers_dims):
        parameters = initialize(layers_dims)
        for key, value in parameters.items():
            if key.startswith("W"):
                parameters[key] = np.nextafter(value, value + rng.integers(-1, 2, value.shape))
        return parameters

    return nudged


def public_examples(namespace):
    """What each public test prints on the instructor's solution: {kind: text}."""
    examples = {}
    for kind in ["zeros", "random", "he"]:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            namespace[f"initialize_parameters_{kind}_test"](
                namespace[f"initialize_parameters_{kind}"]
            )
        examples[kind] = printed.getvalue()
    return examples


def run_facts(namespace, examples):
    """What the notebook's narrative says of a run, as this run has it (tests/narrative_numbers.py
    compares): the data set's sizes, the model's defaults, the public examples' printed
    parameters (public_examples), and how the zeros run ends."""
    import inspect

    import numpy as np

    train_X, train_Y = namespace["train_X"], namespace["train_Y"]
    defaults = inspect.signature(namespace["model"]).parameters
    facts = {
        "inputs": int(train_X.shape[0]),
        "train_size": int(train_X.shape[1]),
        "test_size": int(namespace["test_X"].shape[1]),
        "train_class_sizes": [int(np.sum(train_Y == label)) for label in (0, 1)],
        "learning_rate": defaults["learning_rate"].default,
        "num_iterations": defaults["num_iterations"].default,
        "examples": examples,
    }
    zeros = namespace.get("trained", {}).get("zeros")
    if zeros is not None:
        a3, _ = namespace["forward_propagation"](train_X, zeros)
        labels = [namespace["predict_dec"](zeros, X) for X in (train_X, namespace["test_X"])]
        facts["zeros_end"] = {
            "outputs": sorted(set(a3.ravel().tolist())),
            "b3": float(zeros["b3"][0, 0]),
            "labels": sorted({int(label) for found in labels for label in found.ravel()}),
        }
    return facts


def main(kinds, ulp_seed=None):
    import matplotlib

    matplotlib.use("Agg")  # plt.show() draws nothing
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    cells = notebook_cells()
    namespace = {"__name__": "__main__"}
    outputs = {}
    steps = SETUP_CELLS + [f"train-{kind}" for kind in kinds if kind != "small"]
    steps += ["small"] if "small" in kinds else []
    for name in steps:
        if name.startswith("train-") and ulp_seed is not None:
            namespace["initialize_parameters_random"] = nudge_by_one_ulp(
                namespace["initialize_parameters_random"], ulp_seed
            )
            ulp_seed = None
        code = cells.get(name)
        if name == "small":  # the large random training, its solution's * 10 made * 0.01
            solution = cells["initialize_parameters_random"]
            assert solution.count(" * 10\n") == 1, "the random solution's `* 10` is not found"
            exec(compile(solution.replace(" * 10\n", " * 0.01\n"), "small", "exec"), namespace)
            code = cells["train-random"]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, f"{NOTEBOOK}:{name}", "exec"), namespace)
        if name.startswith("train-") or name == "small":
            outputs[name.removeprefix("train-")] = printed.getvalue()
        if name == SETUP_CELLS[-1]:  # the solutions as written, before any training
            examples = public_examples(namespace)
    print(
        json.dumps(
            {
                "outputs": outputs,
                "facts": run_facts(namespace, examples),
                "openblas": openblas_architectures(),
                "numpy_simd": numpy_simd(),
            }
        )
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    seed = None
    if arguments[:1] == ["--ulp-seed"]:
        seed, arguments = int(arguments[1]), arguments[2:]
    main(arguments or ["random", "he"], seed)
