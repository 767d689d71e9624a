"""Where the course is and how its commands are run: the one definition of each, for the tests,
their helper modules and scripts (tests/course_training.py) and the benchmarks (bench/).

It imports nothing but the standard library, so that a script run with `python tests/X.py` or
`python bench/X.py` can use it before anything of the course is importable."""

import os
import sys
import time
from pathlib import Path

# The repository: the course (source/, release/, instructor/...) the tests copy and run.
ROOT = Path(__file__).resolve().parent.parent

# The environment whose nbgrader, jupyter, dask and alembic the commands run.
BIN = Path(sys.executable).parent


def course_env(**extra):
    """This environment, with this interpreter's scripts first on PATH (nbgrader runs them),
    plus the variables in extra."""
    return dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), **extra)


def wait_for_service(condition, what, service, log, timeout):
    """Wait until condition() holds, at most timeout seconds, polling; a service (a Popen, or
    None) that exits ends the wait. AssertionError with what was awaited and the service's
    log (a Path) when it did not come."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if service is not None and service.poll() is not None:
            break
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; the service said:\n{log.read_text()}")


# The course's one assignment, as its source folder names it: the tests are this course's, so
# they name it (the tools take it from the course: instructor/course.py).
ASSIGNMENT = "initialization"
NOTEBOOK = "Initialization.ipynb"
NOTEBOOK_ID = NOTEBOOK.removesuffix(".ipynb")  # the gradebook's name of the notebook
COURSE_ID = "initialization-course"  # nbgrader_config.py's CourseDirectory.course_id
DEMO_SUBMITTED = "demo/submitted"  # the demo class's submissions, relative to the course
# The modules students receive with the notebook: the .py files of its source folder.
HELPERS = sorted(p.name for p in (ROOT / "source" / ASSIGNMENT).glob("*.py"))
RELEASE = ROOT / "release" / ASSIGNMENT  # the course's release (make release makes it)
SOURCE_NOTEBOOK = ROOT / "source" / ASSIGNMENT / NOTEBOOK
