"""Shared fixtures: temporary copies of the course, so tests never touch the real one."""

import shutil
import sys
from pathlib import Path

import pytest
from answers import CORRECT, RANDOM, STUDENTS, build_demo, fill
from harness import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK, ROOT, course_env

sys.path.insert(0, str(ROOT))

# The commands that tests run in this process find this environment's scripts on PATH, as
# `python -m instructor` makes them (nbgrader's Gradebook runs `alembic` from there).
from instructor.course import scripts_first

scripts_first(__import__("os").environ)

# What a course copy needs: configuration, source, release, helpers, the course's data and the
# demo class (the tools are the instructor package installed in the environment, not a folder
# of the course).
COURSE_FILES = [
    "nbgrader_config.py",
    "init_utils.py",
    "public_tests.py",
    "check_submission.py",
    "source",
    "assignments",
    "release",
    "demo",
]


# The order of the run. pytest-xdist hands out whole files (--dist loadfile), and a long file
# started last runs on alone while the other worker idles: the files run longest first.
# A file's length is the sum of its tests' durations on this machine, recorded by every run in
# pytest's cache (.pytest_cache, key DURATIONS_KEY). A test the cache does not know yet (a fresh
# clone, as in CI, or a new test) counts SLOW_GUESS seconds if it is slow or a browser test,
# FAST_GUESS otherwise; a file marked `heavy` (its module fixtures grade a class, run a service
# or a browser: minutes) with a test not recorded yet counts HEAVY_GUESS more.
# Ties keep the collection order.
DURATIONS_KEY = "course/durations"
HEAVY_GUESS, SLOW_GUESS, FAST_GUESS = 300.0, 5.0, 0.05


def pytest_configure(config):
    """Keep the order of pytest_collection_modifyitems under xdist: by default xdist orders the
    files by their number of tests, which says little about their length here (the 105 quick
    checks of one graded corpus, against the 9 long tests of another file). In the controller,
    register the guard of the machine's shared state (tests/shared_state.py)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    # The controller (the only process, without xdist) guards the machine's shared state.
    if not hasattr(config, "workerinput"):
        from shared_state import SharedStateGuard

        config.pluginmanager.register(SharedStateGuard(), "shared-state-guard")


def recorded_durations(config):
    """{test id: seconds} from the runs before this one ({} without pytest's cache)."""
    cache = getattr(config, "cache", None)
    return cache.get(DURATIONS_KEY, {}) if cache is not None else {}


def guessed_seconds(item):
    """How long a test the cache does not know should take, by what it does."""
    slow = item.get_closest_marker("slow") or item.get_closest_marker("browser")
    return SLOW_GUESS if slow else FAST_GUESS


def file_lengths(items, recorded):
    """{file: expected seconds} of the files of these tests."""
    length, unknown_heavy = {}, set()
    for item in items:
        if item.nodeid not in recorded and item.get_closest_marker("heavy"):
            unknown_heavy.add(item.path)
        seconds = recorded.get(item.nodeid, guessed_seconds(item))
        length[item.path] = length.get(item.path, 0.0) + seconds
    for path in unknown_heavy:
        length[path] += HEAVY_GUESS
    return length


def pytest_collection_modifyitems(session, config, items):
    """Run the files longest first, each file's tests in their own order."""
    length = file_lengths(items, recorded_durations(config))
    items.sort(key=lambda item: -length[item.path])


_this_run = {}  # {test id: seconds} of the tests this run ran


def pytest_runtest_logreport(report):
    """Add this phase's duration (setup, call, teardown) to its test's record of this run."""
    if report.when in ("setup", "call", "teardown"):
        _this_run[report.nodeid] = _this_run.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    """Record the durations of the tests this run ran, the others' kept, in pytest's cache.
    Under xdist the controller records (it receives every worker's reports); the workers do not."""
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _this_run:
        return
    recorded = recorded_durations(session.config)
    recorded.update({nodeid: round(seconds, 3) for nodeid, seconds in _this_run.items()})
    cache.set(DURATIONS_KEY, recorded)


# What grading the demo class writes into demo/ (.gitignore): never part of a fresh copy.
DEMO_MADE = {"autograded", "feedback", "reports", "exchange"}


def copy_course(dest):
    """Copy the course (without gradebook, submissions or grades) to dest; return dest."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    patterns = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "gradebook.db*")

    def ignore(folder, names):  # and what `make demo` made here: the copy's demo is as cloned
        made = DEMO_MADE if Path(folder) == ROOT / "demo" else set()
        return patterns(folder, names) | (made & set(names))

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

    return {
        "demo-np-rebound": {
            **CORRECT,
            "random": (
                RANDOM,
                [("    return parameters", "    return parameters\n\n\nnp = None")],
            ),
        },
        "demo-echoes-tests": {
            **CORRECT,
            "random": (
                RANDOM,
                [("    np.random.seed(3)", "    print(In[-1])\n    np.random.seed(3)")],
            ),
            "he": STUDENTS["demo-xavier"]["he"],
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

    # the scores do not depend on how long the model trains: a quick notebook (500 iterations)
    course = fast_course(folder / "course", copy_course, whole_notebook=whole_notebook)
    build_demo(course)  # the demo class, from the quick release
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    for student, answers in extra_students().items():
        target = course / DEMO_SUBMITTED / student / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(fill(release, answers), target / NOTEBOOK)
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
