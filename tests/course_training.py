"""Run training cells of the source notebook outside Jupyter and print what they print.

    python tests/course_training.py [--ulp-seed S] [KIND ...]
                                        (KIND: zeros, random, he; default random he)

Executes the notebook's own cells -- `imports` (without its %matplotlib line), `load-data`,
`model`, the three instructor solutions `initialize_parameters_*`, then `train-KIND` for
each KIND -- in one namespace, on matplotlib's Agg backend, and prints one JSON object:

    {"outputs": {KIND: printed text of train-KIND, ...},
     "openblas": [architecture OpenBLAS uses, ...],
     "numpy_simd": [numpy's enabled dispatch targets, ...]}

tests/test_processor_variants.py starts it once per processor code path (environment
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


def main(kinds, ulp_seed=None):
    import matplotlib

    matplotlib.use("Agg")  # plt.show() draws nothing
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    cells = notebook_cells()
    namespace = {"__name__": "__main__"}
    outputs = {}
    for name in SETUP_CELLS + [f"train-{kind}" for kind in kinds]:
        if name.startswith("train-") and ulp_seed is not None:
            namespace["initialize_parameters_random"] = nudge_by_one_ulp(
                namespace["initialize_parameters_random"], ulp_seed
            )
            ulp_seed = None
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(cells[name], f"{NOTEBOOK}:{name}", "exec"), namespace)
        if name.startswith("train-"):
            outputs[name.removeprefix("train-")] = printed.getvalue()
    print(
        json.dumps(
            {"outputs": outputs, "openblas": openblas_architectures(), "numpy_simd": numpy_simd()}
        )
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    seed = None
    if arguments[:1] == ["--ulp-seed"]:
        seed, arguments = int(arguments[1]), arguments[2:]
    main(arguments or ["random", "he"], seed)
