"""The student release made from the source: what `python -m instructor release` runs.

nbgrader generate_assignment strips the solutions and the hidden tests, locks the read-only
cells and copies the helper modules of source/<assignment>/, so release/<assignment>/ is
complete on its own. Before anything is written, the source
notebook is graded as a submission in a temporary copy of the course: a release whose own
solutions do not earn full marks is refused (grading/reference.py; the run also sets the
default time limits of grading). When the source marks cells a grading may skip (`"grading":
{"skip": ...}` in their metadata, grading/needed.py), it is graded both ways, on the cells its
grade needs and whole, and a mark that a test depends on is refused, with the cell named. The command's --check writes nothing: the release is generated in a temporary
copy and compared with the one in the course.
"""

import filecmp
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nbgrader.coursedir import CourseDirectory

from .course import load_config, nbgrader, release_folder
from .errors import CourseError
from .gradebook_db import prepare
from .grading.session import reference_run, reports_dir

# What generate_assignment and the reference run read: the course's configuration, its source
# folder and what the tools know of its assignments (the tools are the installed package).
COURSE_INPUTS = ["nbgrader_config.py", "source", "assignments"]


class ReleaseError(CourseError):
    """generate_assignment failed; the previous release was put back."""


def generate(root: Path, assignment: str, db_url: str | None = None) -> Path:
    """Run nbgrader generate_assignment in the course at root; return the release folder.

    db_url -- another gradebook than the course's (a temporary copy's own).
    nbgrader deletes the release folder when it fails: the previous release is kept aside
    and put back, so a failed run loses nothing.
    """
    out = release_folder(root, assignment)
    prepare(db_url or _db_url(root))  # the gradebook it creates, ready for several writers
    keep = Path(tempfile.mkdtemp(prefix="release-backup-"))
    try:
        if out.exists():
            shutil.copytree(out, keep / "release")
        result = nbgrader(
            "generate_assignment", assignment, "--force",
            *([f"--CourseDirectory.db_url={db_url}"] if db_url else []),
            root=root, capture=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            if (keep / "release").exists():
                shutil.rmtree(out, ignore_errors=True)
                shutil.copytree(keep / "release", out)
            raise ReleaseError(_explain(result.stdout))
    finally:
        shutil.rmtree(keep, ignore_errors=True)
    return out


def _db_url(root: Path) -> str:
    """The gradebook of the course at root, as its nbgrader configuration sets it."""
    return str(CourseDirectory(config=load_config(root)).db_url)


def private_db_url(copy: str | Path) -> str:
    """A temporary copy's own gradebook: never the course's, which a server database would be
    (its URL in the copied configuration names the same server and database)."""
    return f"sqlite:///{Path(copy) / 'gradebook.db'}"


def _explain(log: str) -> str:
    """A short reason for a failed generate_assignment, from nbgrader's log."""
    if "because there are submissions associated with it" in log:
        return (
            "nbgrader cannot add or remove cells of a notebook that already has submissions in "
            "the gradebook. Keep the cells as they are or, if those submissions are only demo "
            "or test ones, remove them first (nbgrader db student remove STUDENT --force)."
        )
    errors = [line.strip() for line in log.splitlines() if "Error" in line]
    return "nbgrader generate_assignment failed: " + (errors[-1] if errors else log[-2000:])


def differences(left: str | Path, right: str | Path) -> list[str]:
    """Files that differ between two folders, as sorted relative paths ('' when equal)."""
    left, right = Path(left), Path(right)
    found = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    found |= {p.relative_to(right) for p in right.rglob("*") if p.is_file()}
    names = {
        n for n in found if "__pycache__" not in n.parts and ".ipynb_checkpoints" not in n.parts
    }
    return sorted(
        str(n)
        for n in names
        if not (
            (left / n).is_file()
            and (right / n).is_file()
            and filecmp.cmp(left / n, right / n, shallow=False)
        )
    )


def generate_in_copy(root: Path, assignment: str) -> tuple[Path, Path]:
    """Generate the release in a temporary copy of the course; return (tmpdir, release folder)."""
    tmp = Path(tempfile.mkdtemp(prefix="release-check-"))
    for name in COURSE_INPUTS:
        src = Path(root) / name
        if not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(
                src, tmp / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(src, tmp / name)
    return tmp, generate(tmp, assignment, db_url=private_db_url(tmp))


def check_solutions(root: Path, assignment: str) -> dict[str, Any]:
    """Generate the release in a temporary copy of the course and grade the source notebook
    there, as a submission: its solutions must earn full marks, without a flag, and the cells
    it marks as ones a grading may skip must change nothing of that (it is graded both ways,
    whatever c.CourseGrading.run_whole_notebook says). Returns the reference run
    (grading/reference.py); raises ReferenceRunError with the scores when they fall short, and
    BundleError for a mark on a cell that cannot be skipped."""
    tmp, _ = generate_in_copy(root, assignment)
    try:
        config = load_config(tmp)
        config.CourseDirectory.db_url = private_db_url(tmp)
        config.CourseGrading.run_whole_notebook = False  # the marks are checked in any case
        return reference_run(config, assignment)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def keep_reference(reference: dict[str, Any], root: Path, assignment: str) -> None:
    """Keep the reference run where grading looks for it (same assignment, same machine)."""
    path = reports_dir(load_config(root), assignment) / "reference.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(reference, indent=1))
