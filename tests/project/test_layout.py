"""Is the course's tree what its layout says: every top-level folder there, and the generated
ones kept out of git but for the line that says what they hold?"""

import subprocess

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
