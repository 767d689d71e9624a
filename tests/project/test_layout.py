"""Is the course's tree what its layout says: every top-level folder there, and the generated
ones kept out of git but for the line that says what they hold?"""

import re
import subprocess
from pathlib import PurePosixPath

import pytest
from harness import ROOT

# The top-level folders the README's Layout names (kept here, not read from the README: the
# README says what each holds, this list says which must be in every clone).
LAYOUT_FOLDERS = [
    "source",
    "release",
    "instructor",
    "deploy",
    "demo",
    "autograded",
    "hub",
    "tests",
    "bench",
    "assignments",
    "docs",
]


def git(*args):
    """A git command in the repository; the CompletedProcess."""
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tracked():
    """The files git tracks (a clean clone holds these and nothing else)."""
    listed = git("ls-files")
    if listed.returncode != 0:
        pytest.skip("not a git working tree: " + listed.stderr.strip())
    return listed.stdout.splitlines()


@pytest.mark.parametrize("folder", LAYOUT_FOLDERS)
def test_every_folder_of_the_layout_is_in_a_clean_clone(tracked, folder):
    """Does git hold at least one file in each top-level folder the layout names, so that a
    fresh clone shows it?"""
    assert any(path.startswith(folder + "/") for path in tracked), f"{folder}/ is not in git"


def test_autograded_keeps_its_readme_and_ignores_what_grading_writes(tracked):
    """Does git keep autograded/README.md and ignore the graded notebooks beside it?"""
    assert "autograded/README.md" in tracked
    graded = "autograded/somestudent/initialization/Initialization.ipynb"
    assert git("check-ignore", "-q", "--no-index", graded).returncode == 0
    assert git("check-ignore", "-q", "--no-index", "autograded/README.md").returncode == 1


def test_every_test_file_is_in_a_folder_the_developers_guide_names(tracked):
    """Is every test file in a folder of tests/ that docs/developers.md's table of the tests'
    folders lists, none left at tests/ itself, does each folder listed hold test files, and is
    each file's name unique (pytest imports a test file by its name alone)?"""
    guide = (ROOT / "docs" / "developers.md").read_text()
    listed = re.findall(r"^\| `tests/(\w+)/` \|", guide, re.MULTILINE)
    tests = [PurePosixPath(path) for path in tracked if re.fullmatch(r"tests/.*test_\w+\.py", path)]
    assert listed and tests
    misplaced = [str(path) for path in tests if len(path.parts) != 3 or path.parts[1] not in listed]
    assert not misplaced, "test files outside the folders docs/developers.md lists"
    assert sorted({path.parts[1] for path in tests}) == sorted(listed)
    names = [path.name for path in tests]
    assert len(set(names)) == len(names), "two test files of the same name"
