"""Shared fixtures: temporary copies of the course, so tests never touch the real one."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# What a course copy needs: configuration, source, release, helpers and the tooling.
COURSE_FILES = [
    "nbgrader_config.py",
    "init_utils.py",
    "public_tests.py",
    "check_submission.py",
    "source",
    "release",
    "instructor",
    "demo",
]


def copy_course(dest):
    """Copy the course (without gradebook, submissions or grades) to dest; return dest."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "gradebook.db")
    for name in COURSE_FILES:
        src = ROOT / name
        if not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, dest / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture
def course(tmp_path):
    """A fresh copy of the course in a temporary directory."""
    return copy_course(tmp_path / "course")


def run_nbgrader(*args, cwd):
    """Run a real nbgrader command in a course directory; return the CompletedProcess."""
    import os
    import subprocess

    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="session")
def graded_demo(tmp_path_factory):
    """A course copy whose demo class was graded by the real `nbgrader autograde`."""
    course = copy_course(tmp_path_factory.mktemp("graded-demo") / "course")
    for args in [
        ("generate_assignment", "initialization", "--force"),
        ("autograde", "initialization", "--CourseDirectory.submitted_directory=demo/submitted"),
    ]:
        result = run_nbgrader(*args, cwd=course)
        assert result.returncode == 0, result.stdout + result.stderr
    return course
