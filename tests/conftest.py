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


def source_points(root=ROOT):
    """(zeros, random, he): each exercise's points, as the source notebook's grade cells
    declare them in their nbgrader metadata (the one place points live)."""
    import json

    nb = json.loads((Path(root) / "source" / "initialization" / "Initialization.ipynb").read_text())
    points = {
        c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"]
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
    }
    return tuple(points[f"test_initialize_parameters_{k}"] for k in ("zeros", "random", "he"))


def shares_of(*shares, root=ROOT):
    """The points of the three exercises for these shares of each (1 = full marks)."""
    return tuple(round(share * points, 2) for share, points in zip(shares, source_points(root)))


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


# Two more students graded with the demo class, for the feedback and report tests:
#   demo-np-rebound: rebinds np = None after the random function, so the hidden tests of
#     random and he raise inside their hidden block (the traceback quotes it).
#   demo-echoes-tests: the random function prints the cell that calls it (IPython's In[-1]),
#     which during grading is the test cell with its hidden tests; he uses Xavier's scale.
def extra_students():
    from instructor import demo

    return {
        "demo-np-rebound": {
            **demo.CORRECT,
            "random": (
                demo.RANDOM,
                [("    return parameters", "    return parameters\n\n\nnp = None")],
            ),
        },
        "demo-echoes-tests": {
            **demo.CORRECT,
            "random": (
                demo.RANDOM,
                [("    np.random.seed(3)", "    print(In[-1])\n    np.random.seed(3)")],
            ),
            "he": demo.STUDENTS["demo-xavier"]["he"],
        },
    }


def tree_hashes(folder):
    """{relative path: sha256} of every file under folder."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def graded_demo(tmp_path_factory):
    """A course copy whose demo class, plus extra_students(), the real `nbgrader autograde`
    graded once per session; course.submitted_hashes holds the submissions' hashes before."""
    import nbformat

    from instructor import demo
    from instructor.course import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK

    course = copy_course(tmp_path_factory.mktemp("graded-demo") / "course")
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for student, answers in extra_students().items():
        folder = course / DEMO_SUBMITTED / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(demo.fill(release, answers), folder / NOTEBOOK)
    hashes = tree_hashes(course / DEMO_SUBMITTED)
    for args in [
        ("generate_assignment", ASSIGNMENT, "--force"),
        ("autograde", ASSIGNMENT, f"--CourseDirectory.submitted_directory={DEMO_SUBMITTED}"),
    ]:
        result = run_nbgrader(*args, cwd=course)
        assert result.returncode == 0, result.stdout + result.stderr
    (course.parent / "submitted-hashes.json").write_text(__import__("json").dumps(hashes))
    return course


def submitted_hashes_before_grading(course):
    """The hashes of the demo submissions taken before graded_demo graded them."""
    import json

    return json.loads((Path(course).parent / "submitted-hashes.json").read_text())
