"""The course's trainings reproduce the specification on every processor code path of this
machine: the random run within spec_numbers.RANDOM_RTOL, He and zeros within 1e-12, the
accuracies exactly; and every number the notebook's narrative quotes holds under each of them
(tests/narrative_numbers.py).

Each variant runs the source notebook's own cells (tests/course_training.py) in its own
process, because numpy and OpenBLAS read their variables when they are loaded:

- as given: the machine's own settings, untouched (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE or
  anything else the environment sets stays as it is);
- OPENBLAS_CORETYPE=Haswell, Sandybridge, Nehalem, Prescott: OpenBLAS's AVX2, AVX, SSE4.2 and
  SSE3 kernels, each where the processor has the instructions it needs (running a kernel
  the processor lacks kills the process with an illegal instruction);
- where numpy dispatches to AVX-512 here: numpy without its AVX-512 groups
  (NPY_DISABLE_CPU_FEATURES), the other exp and log implementation.

At most two processes run at a time. Each test names the kernel OpenBLAS really used, as
threadpoolctl reports it in the child. The machine's own settings also train with the large
random weights x0.01, the variant the narrative suggests trying.
"""

import json
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import narrative_numbers
import pytest
from spec_numbers import RANDOM_RTOL, largest_difference, printed_costs, run_problems

pytestmark = pytest.mark.slow

RUNNER = Path(__file__).resolve().parents[1] / "course_training.py"
KINDS = ["random", "he", "zeros"]
AS_GIVEN_ALSO = ["small"]  # the x0.01 run: not chaotic, trained on the machine's own settings

# OpenBLAS kernels to force, the /proc/cpuinfo flags each needs, and the names threadpoolctl
# may report for it (OpenBLAS names its Prescott kernel table Katmai when it is built
# without the older x86 kernels).
CORETYPES = [
    ("Haswell", {"avx2", "fma"}, {"haswell"}),
    ("Sandybridge", {"avx"}, {"sandybridge"}),
    ("Nehalem", {"ssse3", "sse4_1", "sse4_2"}, {"nehalem"}),
    ("Prescott", set(), {"prescott", "katmai"}),
]


def cpu_flags():
    """The processor's instruction-set flags, lower case ('avx2', 'fma', ...)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    if sys.platform == "darwin":
        names = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
            capture_output=True, text=True,
        ).stdout.lower().split()  # fmt: skip
        return {{"avx1.0": "avx", "sse4.1": "sse4_1", "sse4.2": "sse4_2"}.get(n, n) for n in names}
    return set()


def numpy_uses_openblas():
    """True when numpy's matrix products run on OpenBLAS (the PyPI wheels)."""
    import numpy as np

    try:
        return "openblas" in np.__config__.CONFIG["Build Dependencies"]["blas"]["name"].lower()
    except (AttributeError, KeyError, TypeError):
        return False


def numpy_avx512_groups():
    """numpy's AVX-512 dispatch groups enabled on this machine (empty without AVX-512)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:
        return []
    return [
        name
        for name in __cpu_dispatch__
        if __cpu_features__.get(name) and ("AVX512" in name or name == "X86_V4")
    ]


def variants():
    """(id, environment overrides, accepted OpenBLAS kernel names or None) of every processor
    code path this machine offers."""
    found = [("as-given", {}, None)]
    if platform.machine().lower() in ("x86_64", "amd64") and numpy_uses_openblas():
        flags = cpu_flags()
        for name, needs, reported in CORETYPES:
            if needs <= flags:
                found.append((f"OPENBLAS_CORETYPE={name}", {"OPENBLAS_CORETYPE": name}, reported))
    groups = numpy_avx512_groups()
    if groups:
        disabled = " ".join([os.environ.get("NPY_DISABLE_CPU_FEATURES", ""), *groups]).strip()
        found.append(("numpy-without-AVX-512", {"NPY_DISABLE_CPU_FEATURES": disabled}, None))
    return found


VARIANTS = variants()


def run_variant(overrides, kinds=KINDS):
    """The course's trainings (random, He and zeros) in a new process with these variables set
    on top of this environment."""
    env = dict(os.environ, **overrides)
    return subprocess.run(
        [sys.executable, str(RUNNER), *kinds], env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    """Every variant's finished process, by id, two at a time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(run_variant, env, KINDS + (AS_GIVEN_ALSO if not env else []))
            for name, env, _ in VARIANTS
        }
        return {name: future.result() for name, future in futures.items()}


def finished(runs, name):
    """The JSON a variant's process printed; the test fails with its stderr if it failed."""
    process = runs[name]
    assert process.returncode == 0, (
        f"{name}: the training process exited with {process.returncode}:\n{process.stderr}"
    )
    return json.loads(process.stdout)


def describe(name, result):
    """The variant's id with the OpenBLAS kernel and numpy's dispatch targets its process used."""
    kernels = ", ".join(dict.fromkeys(result["openblas"])) or "none (numpy has no OpenBLAS)"
    simd = " ".join(result["numpy_simd"]) or "baseline only"
    return f"{name} (OpenBLAS kernel: {kernels}; numpy dispatch: {simd})"


@pytest.mark.parametrize(("name", "reported"), [(n, r) for n, _, r in VARIANTS],
                         ids=[n for n, _, _ in VARIANTS])  # fmt: skip
def test_trainings_match_the_specification(runs, name, reported):
    """Under this processor code path, does the random run print inf and then costs within
    RANDOM_RTOL of the specification's, He and zeros every cost within 1e-12, and all three the
    specification's accuracies exactly?"""
    result = finished(runs, name)
    kernels = {kernel.lower() for kernel in result["openblas"]}
    if reported is not None and kernels and not kernels & reported:
        pytest.skip(f"{describe(name, result)}: OpenBLAS ignored the variable here")
    problems = [p for kind in KINDS for p in run_problems(kind, result["outputs"][kind])]
    spread = largest_difference(
        "random", [c for _, c in printed_costs(result["outputs"]["random"])]
    )
    print(f"{describe(name, result)}: random run within {spread:.2g} of the specification")
    assert not problems, f"{describe(name, result)}:\n" + "\n".join(problems)


def test_canary_a_tighter_tolerance_fails_the_check(runs):
    """Does the very check above report the random run of a variant that passes it when the
    tolerance is tightened to half the largest difference such a variant shows? (So the
    variant test can fail: a processor beyond RANDOM_RTOL would be reported like this.)"""
    passing = {
        name: json.loads(p.stdout)["outputs"]["random"]
        for name, p in runs.items()
        if p.returncode == 0
        and not run_problems("random", json.loads(p.stdout)["outputs"]["random"])
    }
    spreads = {
        name: largest_difference("random", [c for _, c in printed_costs(text)])
        for name, text in passing.items()
    }
    name, spread = max(spreads.items(), key=lambda item: item[1], default=(None, 0.0))
    if spread == 0:
        pytest.skip("no variant here both passes and differs from the specification's random run")
    assert 0 < spread <= RANDOM_RTOL
    problems = run_problems("random", passing[name], rtol=spread / 2)
    assert problems, f"{name}: a tolerance of {spread / 2:.2g} went unnoticed"
    assert all(p.startswith("random: cost after iteration ") for p in problems), problems
    assert any(f"allowed {spread / 2:g}" in p for p in problems), problems


# --- The narrative's numbers under every processor code path -------------------------------


@pytest.mark.parametrize(("name", "reported"), [(n, r) for n, _, r in VARIANTS],
                         ids=[n for n, _, _ in VARIANTS])  # fmt: skip
def test_the_narratives_numbers_hold(runs, name, reported):
    """Under this processor code path, is every number the notebook's narrative quotes of a
    run true of this run: ln 2 at iteration 0 and all but a line or two of the zeros run, the
    other last digit quoted, the bias a little over 1e-16 and the outputs exactly 0.5 at the
    end, predictions all 0, the first large random cost inf, the spread a few percent at most,
    the examples' printed parameters, the data's sizes, the training's length?"""
    result = finished(runs, name)
    kernels = {kernel.lower() for kernel in result["openblas"]}
    if reported is not None and kernels and not kernels & reported:
        pytest.skip(f"{describe(name, result)}: OpenBLAS ignored the variable here")
    other = [i for i, c in printed_costs(result["outputs"]["zeros"]) if c != narrative_numbers.LN2]
    print(f"{describe(name, result)}: the zeros run prints ln 2 except at iterations {other}")
    wrong = narrative_numbers.problems(narrative_numbers.narrative(), result)
    assert not wrong, f"{describe(name, result)}:\n" + "\n".join(wrong)


# A number changed in the narrative, each contradicted by the run on the machine's own settings
PLANTED = [
    ("zeros-why", "= 0.6931471805599453, ", "= 0.6931471805599454, ", "ln 2"),
    ("zeros-why", "another digit, 0.6931471805599455", "another digit, 0.6931471805599457", "the other last digit"),
    ("zeros-why", "(150 points each)", "(160 points each)", "the classes' sizes"),
    ("data-title", "300 for training", "310 for training", "the data set's sizes"),
    ("expected-he", "0.43650985", "0.43650986", "the He example"),
    ("random-observations", "the accuracy near 50 %", "the accuracy near 80 %", "the run with weights x0.01"),
    ("train-he-intro", "15,000", "20,000", "the training's length"),
]  # fmt: skip


@pytest.mark.parametrize(("cell", "old", "new", "claim"), PLANTED, ids=[p[3] for p in PLANTED])
def test_canary_a_planted_wrong_number_is_reported(runs, cell, old, new, claim):
    """Does the narrative's check report a number planted wrong in the text, as the run on the
    machine's own settings contradicts it?"""
    result = finished(runs, "as-given")
    cells = narrative_numbers.narrative()
    assert old in cells[cell], (cell, old)
    cells[cell] = cells[cell].replace(old, new, 1)
    wrong = narrative_numbers.problems(cells, result)
    assert [line for line in wrong if line.startswith(f"{cell}: {claim}")], wrong
