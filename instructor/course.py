"""Where the course lives, and how its tools run nbgrader."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the nbgrader course directory
ASSIGNMENT = "initialization"
NOTEBOOK = "Initialization.ipynb"

# Graded exercises: nbgrader grade id of the test cell, by exercise name.
EXERCISES = {
    "zeros": "test_initialize_parameters_zeros",
    "random": "test_initialize_parameters_random",
    "he": "test_initialize_parameters_he",
}
# The answer cell of each exercise.
ANSWER_CELLS = {
    "zeros": "initialize_parameters_zeros",
    "random": "initialize_parameters_random",
    "he": "initialize_parameters_he",
}
# Helper modules that students receive next to the notebook; the top-level files are the
# only copies kept by hand, source/ links to them and the release copies them.
HELPERS = ["init_utils.py", "public_tests.py", "check_submission.py"]

# The demo class lives in a world of its own under demo/: its submissions, gradebook,
# autograded, feedback and reports folders, set by demo/nbgrader_config.py (the course's
# settings with those folders changed). nbgrader commands run in demo/ use it.
DEMO_CONFIG_DIR = ROOT / "demo"
DEMO_SUBMITTED = "demo/submitted"


# nbgrader runs `alembic` and `jupyter` from PATH: make this environment's scripts found even
# when its python is called by path without activating the environment.
_SCRIPTS = os.path.dirname(sys.executable)
if _SCRIPTS not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _SCRIPTS + os.pathsep + os.environ.get("PATH", "")


def source_notebook(root=ROOT):
    return Path(root) / "source" / ASSIGNMENT / NOTEBOOK


def release_dir(root=ROOT):
    return Path(root) / "release" / ASSIGNMENT


def nbgrader(*args, root=ROOT, check=True, capture=False):
    """Run an nbgrader command in the course directory, with this interpreter's nbgrader."""
    command = [sys.executable, "-m", "nbgrader", *map(str, args)]
    return subprocess.run(
        command,
        cwd=root,
        check=check,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
