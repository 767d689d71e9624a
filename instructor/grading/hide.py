"""What the submissions' code must not see on this machine.

Both the grading of submissions (session.py) and the reference run of the source notebook
(reference.py) hide the same folders from the code they run: it lives here, below both, so
that neither imports the other for it.
"""

import os
from pathlib import Path
from typing import Protocol

from ..gradebook_db import local_folders


class CourseFolders(Protocol):
    """What hidden_paths reads of nbgrader's CourseDirectory."""

    root: str
    db_url: str


def hidden_paths(coursedir: CourseFolders) -> list[str]:
    """What the submissions' code must not see on this machine: the course, this package's
    course (where the instructor's tools live) and the gradebook (a SQLite file's folder, or
    a PostgreSQL server's unix socket folder)."""
    package_course = Path(__file__).resolve().parents[2]
    paths = [os.path.realpath(coursedir.root), str(package_course)]
    paths += local_folders(coursedir.db_url)
    return sorted(set(paths))


__all__ = ["CourseFolders", "hidden_paths"]
