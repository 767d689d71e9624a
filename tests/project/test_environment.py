"""The course's environment as `make setup` leaves it: what it removes (requirements-omitted.txt)
is gone, and the commands start without it."""

import json
import subprocess
import sys

from harness import ROOT


def omitted():
    """The packages requirements-omitted.txt names, as Python imports them."""
    lines = (ROOT / "requirements-omitted.txt").read_text().splitlines()
    return {line.strip().replace("-", "_") for line in lines if line.strip() and line[0] != "#"}


def imported_with_nbformat():
    """Every module a fresh interpreter of the environment has loaded once nbformat is imported
    and has validated a notebook."""
    code = (
        "import json, sys, nbformat\n"
        "nbformat.validate(nbformat.v4.new_notebook())\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_what_the_environment_omits_is_not_loaded_with_nbformat():
    """Is every package requirements-omitted.txt names out of the environment, so that no
    nbgrader, Jupyter or course command pays for loading it?"""
    assert omitted() == {"rfc3987_syntax"}
    loaded = imported_with_nbformat()
    assert not omitted() & loaded, omitted() & loaded
    done = subprocess.run([sys.executable, "-m", "pip", "show", *omitted()], capture_output=True)
    assert done.returncode != 0, done.stdout  # pip knows none of them


def test_canary_the_check_sees_what_nbformat_loads():
    """Does the same list hold jsonschema and its format checker, which nbformat loads (the
    module that would import an omitted package)?"""
    assert {"jsonschema", "jsonschema._format"} <= imported_with_nbformat()
