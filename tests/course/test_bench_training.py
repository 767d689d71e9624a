"""The training benchmark: does it run, does the course train exactly like its baseline (in one
process, on the same processor code paths), and does it reproduce the specification's costs
within the tolerances of tests/spec_numbers.py?"""

import re
import subprocess
import sys

import pytest
from harness import ROOT
from spec_numbers import RANDOM_RTOL


@pytest.fixture(scope="module")
def benchmark_run():
    """bench_training.py on all three initializations, for 1,001 iterations (costs printed
    at iterations 0 and 1000), one run of the baseline and one of the course."""
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_training.py"),
         "--iterations", "1001", "--repeat", "1", "--init", "all"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow  # a training of 1,001 iterations, six times
def test_course_prints_the_baseline_costs_for_every_initialization(benchmark_run):
    """Do the course's model() and the baseline print the same costs and return identical
    parameters for zeros, random and He, with the costs within the specification's
    tolerances, the benchmark exiting 0, nothing on stderr, a time for the baseline and a time
    and speed-up for the course?"""
    out = benchmark_run.stdout
    assert benchmark_run.returncode == 0, out + benchmark_run.stderr
    assert benchmark_run.stderr == ""
    assert out.count("course printed costs: same (2 lines)") == 3
    assert out.count("course parameters: identical") == 3
    within = re.findall(r"course vs the specification: within \((.*?)\)", out)
    assert within == [
        "a relative 1e-12",
        f"inf at iteration 0, then a relative {RANDOM_RTOL:g}",
        "a relative 1e-12",
    ], out
    assert len(re.findall(r"\n  baseline +\d+\.\d us/iteration  \(", out)) == 3
    assert len(re.findall(r"\n  course +\d+\.\d us/iteration  speed-up \d+\.\d\dx", out)) == 3
