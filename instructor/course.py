"""Where the course lives, and how its tools run nbgrader."""

import functools
import os
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traitlets.config import Config

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


def exercises(
    assignment: str = ASSIGNMENT, root: str | os.PathLike[str] = ROOT, field: str = "test_cell"
) -> dict[str, str]:
    """{exercise name: its test cell's grade id} (or another field of the Exercise), as the
    source notebook declares them in its metadata (grading/bundle.py: `declared`)."""
    from .grading.bundle import declared

    notebooks = sorted((Path(root) / "source" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        return {}
    return {e.name: getattr(e, field) for e in declared(notebooks[0])}


@functools.cache
def _course_exercises(field: str) -> dict[str, str]:
    return exercises(field=field)


def course_exercises(field: str = "test_cell") -> dict[str, str]:
    """exercises() of the course's own assignment, read from its source notebook once."""
    return dict(_course_exercises(field))


def __getattr__(name: str) -> dict[str, str]:
    """EXERCISES and ANSWER_CELLS: the Initialization assignment's exercises, the grade id of
    each test cell and answer cell by exercise name, read from the source notebook's metadata
    (the one place they live) when first asked for, not when this module is imported."""
    fields = {"EXERCISES": "test_cell", "ANSWER_CELLS": "answer_cell"}
    if name in fields:
        return course_exercises(fields[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def scripts_first(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """env with this interpreter's scripts first on its PATH: nbgrader runs `alembic` and
    `jupyter` from PATH, and this environment's must be found even when its python is called
    by path without activating the environment. The commands call it on os.environ when they
    start (instructor/__main__.py), for the nbgrader commands their process runs; importing
    this module changes nothing."""
    scripts = os.path.dirname(sys.executable)
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != scripts]
    env["PATH"] = os.pathsep.join([scripts, *path])
    return env


def source_notebook(root: str | os.PathLike[str] = ROOT) -> Path:
    return Path(root) / "source" / ASSIGNMENT / NOTEBOOK


def release_dir(root: str | os.PathLike[str] = ROOT) -> Path:
    return Path(root) / "release" / ASSIGNMENT


def nbgrader(
    *args: object,
    root: str | os.PathLike[str] = ROOT,
    check: bool = True,
    capture: bool = False,
) -> "subprocess.CompletedProcess[str]":
    """Run an nbgrader command in the course directory, with this interpreter's nbgrader (and
    its scripts first on the PATH: nbgrader runs `alembic` and `jupyter` from there)."""
    command = [sys.executable, "-m", "nbgrader", *map(str, args)]
    return subprocess.run(
        command,
        cwd=root,
        env=dict(scripts_first(dict(os.environ))),
        check=check,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )


def load_config(root: str | os.PathLike[str]) -> "Config":
    """The course's nbgrader configuration, read as nbgrader reads it (user files, then course)."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(root)]:
        if Path(folder, "nbgrader_config.py").is_file():
            config.merge(PyFileConfigLoader("nbgrader_config.py", path=folder).load_config())
    return config
