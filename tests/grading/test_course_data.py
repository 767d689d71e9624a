"""Is what the tools know of one assignment the course's data, read when it is needed?

The Initialization assignment's teaching notes, the way its feedback names the hidden networks
and the modules its kernels load in advance live in assignments/initialization.toml
(instructor/course_data.py reads it). These tests check that the engine, the report and the
feedback read them as data: a second assignment gets none of them, and gives its own.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from instructor import course_data
from instructor.hidden_values import Secrets
from instructor.preprocessors.withhold_hidden_tests import WithholdHiddenTests
from instructor.report import RankedMistake, render

ACTIVATIONS = ROOT / "tests" / "assignments" / "activations"
TRANSPOSED = RankedMistake("transposed weights", 1, ["ann"], ["zeros"], "W1 has shape (3, 2).")


def _notes_of_initialization():
    return list(course_data.load(ROOT, "initialization").notes.values())


def test_importing_the_tools_changes_no_path_and_loads_no_course_module():
    """Does importing the report, the feedback and the course data leave sys.path as it was and
    load no module of the course (public_tests is loaded by its path when a report is made)?"""
    code = (
        "import sys; path = list(sys.path)\n"
        "import instructor.report, instructor.preprocessors.withhold_hidden_tests, instructor.course_data\n"
        "print(sys.path == path, 'public_tests' in sys.modules, 'matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "False", "False"]


def test_notes_are_read_by_path_without_touching_the_import_system():
    """Are the notes of the assignment keyed by the titles its tests print, read without
    changing sys.path or sys.modules?"""
    path, modules = list(sys.path), set(sys.modules)
    notes = course_data.teaching_notes(ROOT, "initialization")
    assert sys.path == path
    assert not [name for name in set(sys.modules) - modules if "public_tests" in name]
    assert notes["transposed weights"].endswith("Worth one slide on why W has one row per unit.")
    assert len(notes) == len(_notes_of_initialization()) == 21


def _second_course(tmp_path: Path) -> Path:
    """A course folder holding the second assignment's source only."""
    root = tmp_path / "course"
    (root / "source").mkdir(parents=True)
    (root / "source" / "activations").symlink_to(ACTIVATIONS)
    return root


def test_a_second_assignment_gets_none_of_this_assignments_data(tmp_path):
    """Does a second assignment, without a file of its own, get no note, no description of
    hidden networks and no preloaded module of the Initialization assignment, in the report
    and in the feedback?"""
    root = _second_course(tmp_path)
    data = course_data.load(root, "activations")
    assert (data.notes, data.hidden_cases, data.preload) == ({}, None, ())
    assert course_data.teaching_notes(root, "activations") == {}
    maxima = {"zeros": 5.0}
    page = render({"ann": {"zeros": 0.0}}, maxima, [TRANSPOSED], {}, assignment="activations")
    assert "The tests say: W1 has shape (3, 2)." in page
    assert not [note for note in _notes_of_initialization() if note[:40] in page]
    hidden = ["hidden_cases = [", "    ([5, 4, 3, 2, 1], {"]
    line = "W1 has shape (5, 4) (with layers_dims=[5, 4, 3, 2, 1])"
    assert Secrets(hidden, [], cases=data.hidden_cases).mask(line) == line
    withhold = WithholdHiddenTests()
    withhold.config.CourseDirectory.root = str(root)
    assert withhold._hidden_cases({"nbgrader": {"assignment": "activations"}}) is None
    initialization = WithholdHiddenTests()
    initialization.config.CourseDirectory.root = str(ROOT)
    cases = initialization._hidden_cases({"nbgrader": {"assignment": "initialization"}})
    assert cases == course_data.load(ROOT, "initialization").hidden_cases is not None


def test_a_second_assignment_gives_its_own_notes(tmp_path):
    """With assignments/activations.toml naming a mistake of its own checks module, does the
    report show that note, and is a note naming a mistake the module does not list refused?"""
    root = _second_course(tmp_path)
    checks = root / "source" / "own"
    checks.mkdir()
    (checks / "checks.py").write_text(
        "from types import SimpleNamespace\n"
        "MISTAKES = {'sign': SimpleNamespace(title='sign error in the exponent')}\n"
    )
    (root / "assignments").mkdir()
    note = "np.exp(z) where np.exp(-z) is meant: go over `sigmoid` on the board."
    (root / "assignments" / "own.toml").write_text(
        f'[report]\nmistakes = "checks.py"\n[report.notes]\nsign = "{note}"\n'
        '[grading]\npreload = ["numpy"]\n'
    )
    assert course_data.load(root, "own").preload == ("numpy",)
    notes = course_data.teaching_notes(root, "own")
    assert notes == {"sign error in the exponent": note}
    ranked = [RankedMistake("sign error in the exponent", 1, ["ann"], ["sigmoid"], "m")]
    page = render({"ann": {"sigmoid": 0.0}}, {"sigmoid": 5.0}, ranked, {}, notes=notes)
    assert "go over <code>sigmoid</code> on the board." in page
    (root / "assignments" / "own.toml").write_text(
        '[report]\nmistakes = "checks.py"\n[report.notes]\nunknown = "a note"\n'
    )
    with pytest.raises(course_data.CourseDataError, match=r"does not list: \['unknown'\]"):
        course_data.teaching_notes(root, "own")


def test_an_unreadable_file_is_refused_with_its_path(tmp_path):
    """Is a course file that is not TOML, or a section that is not a table, refused with the
    file's path and the reason, and does grading say so instead of a traceback?"""
    from types import SimpleNamespace

    from instructor.grading.bundle import BundleError, _preload

    (tmp_path / "assignments").mkdir()
    (tmp_path / "assignments" / "x.toml").write_text("[grading\n")
    with pytest.raises(course_data.CourseDataError, match=r"x\.toml cannot be read: Expected"):
        course_data.load(tmp_path, "x")
    with pytest.raises(BundleError, match=r"x\.toml cannot be read"):
        _preload(SimpleNamespace(root=str(tmp_path)), "x")
    (tmp_path / "assignments" / "x.toml").write_text('report = "notes"\n')
    with pytest.raises(course_data.CourseDataError, match=r"\[report\] must be a table"):
        course_data.load(tmp_path, "x")
