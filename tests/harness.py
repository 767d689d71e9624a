"""Where the course is and how its commands are run: the one definition of each, for the tests,
their helper modules and scripts (tests/course_training.py) and the benchmarks (bench/).

It imports nothing but the standard library, so that a script run with `python tests/X.py` or
`python bench/X.py` can use it before anything of the course is importable."""

import os
import sys
from pathlib import Path

# The repository: the course (source/, release/, instructor/...) the tests copy and run.
ROOT = Path(__file__).resolve().parent.parent

# The environment whose nbgrader, jupyter, dask and alembic the commands run.
BIN = Path(sys.executable).parent


def course_env(**extra):
    """This environment, with this interpreter's scripts first on PATH (nbgrader runs them),
    plus the variables in extra."""
    return dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""), **extra)
