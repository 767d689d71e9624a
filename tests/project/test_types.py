"""Is the type checker configured as the course says: strict on the grading engine, the grading
service and the exchange, checked on the rest of instructor/?

mypy's `strict` switch is global: set in a per-module section of pyproject.toml it turns on
every module, so the strict packages list the flags themselves. These tests read the
configuration as mypy reads it (no type checking runs here: `make typecheck` does that) and
compare each module's flags with what `mypy --strict` would set.
"""

from pathlib import Path

import pytest
from mypy import main, options

ROOT = Path(__file__).resolve().parents[2]
STRICT_PACKAGES = ("instructor.grading", "instructor.watch", "instructor.exchange")


def _options(*args):
    _, found = main.process_options(list(args), require_targets=False)
    return found


@pytest.fixture(scope="module")
def configured():
    return _options("--config-file", str(ROOT / "pyproject.toml"))


@pytest.fixture(scope="module")
def strict_flags():
    """{per-module flag: its value} of every flag `mypy --strict` changes for a module."""
    strict, default = _options("--strict"), options.Options()
    return {
        name: getattr(strict, name)
        for name in options.PER_MODULE_OPTIONS
        if getattr(strict, name) != getattr(default, name)
    }


def test_strict_flags_are_the_ones_mypy_knows(strict_flags):
    """A canary: --strict changes the flags these tests compare (the comparison can fail)."""
    assert strict_flags["disallow_untyped_defs"] is True
    assert strict_flags["disallow_any_generics"] is True
    assert len(strict_flags) >= 10


@pytest.mark.parametrize(
    "module",
    ["instructor.grading.worker", "instructor.grading.sandbox.launcher",
     "instructor.grading.recheck.run", "instructor.exchange.inbound", "instructor.watch.fair"],
)  # fmt: skip
def test_the_strict_packages_get_every_strict_flag(configured, strict_flags, module):
    """Does each module of the strict packages get every flag --strict would set?"""
    assert module.startswith(STRICT_PACKAGES)
    here = configured.clone_for_module(module)
    differ = {
        name: getattr(here, name)
        for name, value in strict_flags.items()
        if getattr(here, name) != value
    }
    assert not differ, f"{module} is not checked as --strict would check it: {differ}"


@pytest.mark.parametrize(
    "module", ["instructor.scores", "instructor.roster", "instructor.lms.late"]
)
def test_the_rest_of_instructor_is_checked_not_strict(configured, module):
    """Are the other modules' bodies checked, without the strict packages' demands?"""
    here = configured.clone_for_module(module)
    assert here.check_untyped_defs and not here.ignore_errors
    assert not here.disallow_untyped_defs and not here.disallow_any_generics


def test_no_module_of_ours_is_silenced(configured):
    """Is no module of ours set aside from the check (ignore_errors or an untyped-call
    exemption), so that a clean run means every module passed?"""
    silenced = {
        pattern
        for pattern, values in configured.per_module_options.items()
        if values.get("ignore_errors") or values.get("disallow_untyped_calls") is False
    }
    assert not {p for p in silenced if p.startswith("instructor")}, silenced
    assert all(p.startswith("instructor.") for p in silenced)
    assert not silenced & {
        "instructor.*",
        "instructor.grading.*",
        "instructor.exchange.*",
        "instructor.grading.worker",
    }
