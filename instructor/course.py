"""Where the course lives, and how its tools run nbgrader."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the nbgrader course directory
ASSIGNMENT = "initialization"
NOTEBOOK = "Initialization.ipynb"

# Helper modules that students receive next to the notebook; the top-level files are the
# only copies kept by hand, source/ links to them and the release copies them.
HELPERS = ["init_utils.py", "public_tests.py", "check_submission.py"]

# The demo class lives in a world of its own under demo/: its submissions, gradebook,
# autograded, feedback and reports folders, set by demo/nbgrader_config.py (the course's
# settings with those folders changed). nbgrader commands run in demo/ use it.
DEMO_CONFIG_DIR = ROOT / "demo"
DEMO_SUBMITTED = "demo/submitted"


def exercises(assignment=ASSIGNMENT, root=ROOT, field="test_cell"):
    """{exercise name: its test cell's grade id} (or another field of the Exercise), as the
    source notebook declares them in its metadata (grading/bundle.py: `declared`)."""
    from .grading.bundle import declared

    notebooks = sorted((Path(root) / "source" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        return {}
    return {e.name: getattr(e, field) for e in declared(notebooks[0])}


# The Initialization assignment's exercises: the grade id of each test cell and answer cell,
# by exercise name, read from the source notebook's metadata (the one place they live).
EXERCISES = exercises()
ANSWER_CELLS = exercises(field="answer_cell")


def scripts_first(env):
    """env with this interpreter's scripts first on its PATH: nbgrader runs `alembic` and
    `jupyter` from PATH, and this environment's must be found even when its python is called
    by path without activating the environment."""
    scripts = os.path.dirname(sys.executable)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts]
    env["PATH"] = os.pathsep.join([scripts, *path])
    return env


scripts_first(os.environ)  # for the nbgrader commands this process runs


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


def load_config(root):
    """The course's nbgrader configuration, read as nbgrader reads it (user files, then course)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(root)]:
        if Path(folder, "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    return config
