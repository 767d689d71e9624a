"""Shared fixtures: temporary copies of the course, so tests never touch the real one."""

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The commands that tests run in this process find this environment's scripts on PATH, as
# `python -m instructor` makes them (nbgrader's Gradebook runs `alembic` from there).
from instructor.course import scripts_first  # noqa: E402

scripts_first(__import__("os").environ)

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


# The longest test files first: pytest-xdist hands out whole files in collection order, and a
# long file started last would run on alone while the other worker idles.
LONGEST_FIRST = [
    "test_isolation_modes.py",
    "test_watch.py",
    "test_forgery.py",
    "test_instructor_state.py",
    "test_routes.py",
    "test_grading_parallel.py",
    "test_grading_corpus.py",
    "test_isolation_choice.py",
    "test_nbgrader_cycle.py",
    "test_lms.py",
    "test_browser.py",
    "test_databases.py",
    "test_browser_submit.py",
    "test_demo_class.py",
    "test_feedback.py",
    "test_processor_variants.py",
    "test_release.py",
    "test_ps1.py",
    "test_second_assignment.py",
    "test_exchange.py",
]


def pytest_collection_modifyitems(session, config, items):
    """Run the longest files first (LONGEST_FIRST), the others after them, in their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


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


def course_env(**extra):
    """This environment, with this interpreter's scripts first on PATH (nbgrader runs them)."""
    import os

    return dict(
        os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"], **extra
    )


def run_in(root, *command, timeout=900, **kwargs):
    """Run a command in a course folder; the CompletedProcess, output captured as text."""
    import subprocess

    return subprocess.run(
        [*map(str, command)], cwd=root, env=course_env(), capture_output=True, text=True,
        timeout=timeout, **kwargs,
    )  # fmt: skip


def instructor_grade(root, *args, timeout=900):
    """`python -m instructor grade` run in a course folder; the CompletedProcess."""
    return run_in(root, sys.executable, "-m", "instructor", "grade", *args, timeout=timeout)


# The course's settings, in a course folder of its own (as demo/nbgrader_config.py does).
OWN_COURSE_CONFIG = """\
import os

c = get_config()
here = os.path.dirname(os.path.abspath(__file__))
course_config = {course_config!r}
with open(course_config) as f:
    exec(compile(f.read(), course_config, "exec"),
         {{"get_config": get_config, "__file__": course_config}})
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = here
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(here, "gradebook.db") + "?timeout=60"
c.CourseGrading.reports_directory = os.path.join(here, "reports")
c.Exchange.root = os.path.join(here, "exchange")
"""


def own_course(root, course_id):
    """A new course folder with the course's nbgrader settings and its own gradebook,
    reports and exchange (nothing else yet); returns root."""
    root = Path(root)
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        OWN_COURSE_CONFIG.format(
            course_config=str(ROOT / "nbgrader_config.py"), course_id=course_id
        )
    )
    return root


def run_nbgrader(*args, cwd):
    """Run a real nbgrader command in a course directory; return the CompletedProcess."""
    return run_in(cwd, sys.executable, "-m", "nbgrader", *args, timeout=None)


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


@pytest.fixture(scope="session", autouse=True)
def kept_references(tmp_path_factory):
    """A folder, shared by this run's workers, where quick course copies keep the reference
    run of their source (corpus.build.kept_reference): it is made once, not in every copy."""
    import os

    from corpus.build import REFERENCE_CACHE

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, shared by its workers
    os.environ[REFERENCE_CACHE] = str(base / "kept-references")
    yield
    os.environ.pop(REFERENCE_CACHE, None)


@pytest.fixture(scope="session")
def graded_demo(tmp_path_factory):
    """A quick course copy (its model trains 500 iterations) whose demo class, plus
    extra_students(), the real `nbgrader autograde` graded once per test run;
    submitted_hashes_before_grading(course) gives the submissions' hashes before.

    The tests only read it. Under pytest-xdist the workers share one copy: the first to need it
    grades it while holding a lock, the others wait and then use it.
    """
    import fcntl
    import os

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, shared by its workers
    folder = base / "graded-demo"
    with open(base / "graded-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "done").exists():
            shutil.rmtree(folder, ignore_errors=True)
            grade_demo(folder)
            (folder / "done").touch()
    return folder / "course"


def grade_demo(folder, whole_notebook=False):
    """Grade the demo class and extra_students() with nbgrader autograde in a quick course copy
    in folder/course (whole_notebook: set to run every cell of each submission)."""
    import json

    import nbformat
    from corpus.build import fast_course

    from instructor import demo
    from instructor.course import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK

    # the scores do not depend on how long the model trains: a quick notebook (500 iterations)
    course = fast_course(folder / "course", copy_course, whole_notebook=whole_notebook)
    demo.build(course)  # the demo class, from the quick release
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for student, answers in extra_students().items():
        target = course / DEMO_SUBMITTED / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(demo.fill(release, answers), target / NOTEBOOK)
    hashes = tree_hashes(course / DEMO_SUBMITTED)
    result = run_nbgrader(
        "autograde", ASSIGNMENT, f"--CourseDirectory.submitted_directory={DEMO_SUBMITTED}",
        cwd=course,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    (folder / "submitted-hashes.json").write_text(json.dumps(hashes))
    return course


def submitted_hashes_before_grading(course):
    """The hashes of the demo submissions taken before graded_demo graded them."""
    import json

    return json.loads((Path(course).parent / "submitted-hashes.json").read_text())
