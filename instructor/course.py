"""Where a course lives and what it holds, read from its folder; how the tools run nbgrader.

A course is a folder with an nbgrader_config.py, nbgrader's course directory. Nothing here
names one of its assignments: an assignment is a folder of the course's source directory
(source/<assignment>/) that holds a notebook, and the commands take the course and the
assignment as options (`--course DIR`, the current folder by default; `--assignment NAME`, the
course's only assignment by default: `assignment_of`). What the tools know of an assignment
beyond its source folder is assignments/<assignment>.toml (course_data.py).
"""

import os
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path

from jupyter_core.paths import jupyter_config_path
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .errors import CourseError

CONFIG_FILE = "nbgrader_config.py"
# The demo class lives in a world of its own under demo/ in the course: its submissions,
# gradebook, autograded, feedback and reports folders, set by demo/nbgrader_config.py (the
# course's settings with those folders changed). nbgrader commands run in demo/ use it.
DEMO_FOLDER = "demo"


class NotACourse(CourseError):
    """The folder is no course, or names no assignment; the message says what to give."""


def course_root(given: str | os.PathLike[str] | None = None) -> Path:
    """The course's folder: the one given (--course), else the current folder; NotACourse
    when it has no nbgrader_config.py."""
    folder = Path(given if given is not None else os.getcwd()).resolve()
    if not (folder / CONFIG_FILE).is_file():
        raise NotACourse(
            f"{folder} is not a course folder (it has no {CONFIG_FILE}): run the command in the "
            "course's folder, or give it with --course DIR"
        )
    return folder


def demo_root(root: str | os.PathLike[str]) -> Path:
    """The demo class's course folder inside the course."""
    return Path(root) / DEMO_FOLDER


def source_folder(root: str | os.PathLike[str]) -> Path:
    """The course's source directory, as its nbgrader configuration names it."""
    name = load_config(root).get("CourseDirectory", {}).get("source_directory", "source")
    return Path(root) / str(name)


def assignments(root: str | os.PathLike[str]) -> list[str]:
    """The course's assignments: the folders of its source directory that hold a notebook."""
    source = source_folder(root)
    if not source.is_dir():
        return []
    return sorted(f.name for f in source.iterdir() if f.is_dir() and any(f.glob("*.ipynb")))


def assignment_of(root: str | os.PathLike[str], given: str | None = None) -> str:
    """The assignment a command works on: the one given (--assignment), else the course's
    only one; NotACourse, naming them, when there are several or none."""
    found = assignments(root)
    if given is not None:
        if given not in found:
            listed = ", ".join(found) or "none"
            raise NotACourse(
                f"{given} is not an assignment of the course (its assignments: {listed})"
            )
        return given
    if len(found) != 1:
        listed = ", ".join(found) or "none: no folder of source/ holds a notebook"
        raise NotACourse(f"name the assignment with --assignment NAME (the course's: {listed})")
    return found[0]


def notebook_of(root: str | os.PathLike[str], assignment: str) -> str:
    """The file name of the assignment's notebook (the first, for an assignment of several)."""
    found = sorted(p.name for p in (source_folder(root) / assignment).glob("*.ipynb"))
    if not found:
        raise NotACourse(f"the assignment {assignment} has no notebook in {source_folder(root)}")
    return found[0]


def helpers_of(root: str | os.PathLike[str], assignment: str) -> list[str]:
    """The helper modules the students receive with the assignment's notebook: the .py files of
    its source folder."""
    return sorted(p.name for p in (source_folder(root) / assignment).glob("*.py"))


def release_folder(root: str | os.PathLike[str], assignment: str) -> Path:
    """release/<assignment>/ of the course: what its students receive."""
    name = load_config(root).get("CourseDirectory", {}).get("release_directory", "release")
    return Path(root) / str(name) / assignment


def exercises(
    root: str | os.PathLike[str], assignment: str, field: str = "test_cell"
) -> dict[str, str]:
    """{exercise name: its test cell's grade id} (or another field of the Exercise), as the
    assignment's source notebook declares them in its metadata (grading/bundle.py: `declared`)."""
    # imported here: the commands import this module before they start (instructor/__main__.py
    # prepares the process first: grading/startup.py), and reading notebooks imports nbformat
    from .grading.bundle import declared

    notebooks = sorted((source_folder(root) / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        return {}
    return {e.name: getattr(e, field) for e in declared(notebooks[0])}


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


def nbgrader(
    *args: object,
    root: str | os.PathLike[str],
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


def load_config(root: str | os.PathLike[str]) -> Config:
    """The course's nbgrader configuration, read as nbgrader reads it (user files, then course)."""
    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(root)]:
        if Path(folder, CONFIG_FILE).is_file():
            config.merge(PyFileConfigLoader(CONFIG_FILE, path=folder).load_config())
    return config
