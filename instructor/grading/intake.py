"""Reading what a student submitted, without ever changing it, into a notebook nbgrader can grade.

A submission is the folder submitted/<student>/<assignment>/. `read_submission` reads its files
(never writes them), picks the notebook to grade and returns a NORMALISED COPY of it, or a
rejection with a one-line reason. Everything it had to repair is listed as notes, one line each,
for the summary. It repairs:

- the file: a UTF-8 byte-order mark, another text encoding (read as Latin-1), an older nbformat
  (converted to version 4), missing or extra metadata of another tool, missing or invalid cell
  ids, a kernel of another language (the course's Python kernel is used), outputs of any size
  (all outputs are dropped: grading runs the notebook again);
- the cells, compared with the release: a graded or read-only cell that is copied (one copy is
  kept: the first, or for an answer cell the copy in effect when its test runs), deleted
  (restored from the release; an answer restored this way is unanswered), moved (put back in
  place), changed to markdown (changed back), or whose grading metadata was edited or stripped
  (taken from the release; cells without metadata are recognised by their content); cells the
  student added stay where they were, without grading metadata;
- the notebook's name: when the notebook of the release's name is missing or unusable, another
  notebook of the submission that holds the assignment's answer cells is graded, and the
  summary says so.

Rejected are: no notebook, an empty file, text that is not JSON, JSON that is not a notebook,
a notebook without any of the assignment's answer cells, files beyond the size limit.
"""

import fnmatch
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory

from .normalise import NotebookRejected, Reference, normalise, parse


def _nbgrader_ignore() -> tuple[str, ...]:
    """nbgrader's default CourseDirectory.ignore (the course's config may set another list)."""
    return tuple(CourseDirectory().ignore)


# Files of a submission folder that are never graded or copied: nbgrader's
# CourseDirectory.ignore patterns; the Session passes the course's own.
DEFAULT_IGNORE = _nbgrader_ignore()
MAX_NOTEBOOK_MB = 512  # larger notebook files are not read
MAX_CLEAN_NOTEBOOK_MB = 20  # a notebook without its outputs must be smaller than this
MAX_OTHER_FILES_MB = 50  # other files of a submission, in total


@dataclass
class Submission:
    """One student's submission as the grader uses it.

    status -- "ok" (notebooks holds the normalised notebooks) or "rejected" (reason)
    notebooks -- {notebook id of the release: the normalised notebook, as JSON text}
    notebook_name -- the submitted file(s) graded, for the summary
    notes -- one line per repair or oddity, for the summary
    files -- the other regular files of the submission, by relative path (copied next to the
        notebook when it runs, like nbgrader does)
    digest -- content hash of every submitted file, to skip unchanged submissions
    """

    student: str
    folder: Path
    digest: str
    status: str = "ok"
    reason: str = ""
    notes: list[str] = field(default_factory=list)
    notebooks: dict[str, str] = field(default_factory=dict)
    notebook_name: str = ""
    files: dict[str, bytes] = field(default_factory=dict)


# --- files ---------------------------------------------------------------------------------------


def ignored(relative: str | os.PathLike[str], ignore: Iterable[str] = DEFAULT_IGNORE) -> bool:
    """Does a path of a submission match one of nbgrader's ignore patterns (in any part)?"""
    return any(
        fnmatch.fnmatch(part, pattern) for part in Path(relative).parts for pattern in ignore
    )


def submission_files(
    folder: str | os.PathLike[str], ignore: Iterable[str] = DEFAULT_IGNORE
) -> list[str]:
    """Regular files of a submission folder (no symbolic links), as sorted relative paths."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not ignored(d, ignore))
        for name in filenames:
            path = Path(dirpath, name)
            relative = str(path.relative_to(folder))
            if path.is_file() and not path.is_symlink() and not ignored(relative, ignore):
                found.append(relative)
    return sorted(found)


def digest(folder: str | os.PathLike[str]) -> str:
    """Content hash of every file of a submission (names, links and bytes)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(folder)):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath, name)
            h.update(str(path.relative_to(folder)).encode() + b"\0")
            if path.is_symlink():
                h.update(b"link:" + os.readlink(path).encode())
            elif path.is_file():
                with open(path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        h.update(chunk)
            h.update(b"\0")
    return h.hexdigest()


def find_submissions(
    submitted_dir: str | os.PathLike[str], assignment: str, students: Sequence[str] = ()
) -> dict[str, Path]:
    """{student: folder} of the submissions of an assignment (all students, or those named)."""
    submitted = Path(submitted_dir)
    if not submitted.is_dir():
        return {}
    names = students or sorted(p.name for p in submitted.iterdir() if p.is_dir())
    return {
        s: submitted / s / assignment
        for s in names
        if (submitted / s / assignment).is_dir() and not (submitted / s / assignment).is_symlink()
    }


# --- choosing the notebook and reading the submission --------------------------------------------


def _load(path: Path, reference: Reference) -> tuple[str, NotebookNode, list[str]]:
    """(normalised notebook as JSON text, as a NotebookNode, notes) of one notebook file, or
    raise NotebookRejected."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_MB << 20:
        raise NotebookRejected(
            f"{path.name} is {size / 2**20:.0f} MB, more than the {MAX_NOTEBOOK_MB} MB limit"
        )
    content, notes = parse(path.read_bytes())
    nb, more = normalise(content, reference)
    text: str = nbformat.writes(nb)
    if len(text) > MAX_CLEAN_NOTEBOOK_MB << 20:
        raise NotebookRejected(
            f"{path.name} is larger than {MAX_CLEAN_NOTEBOOK_MB} MB even without its outputs"
        )
    if size > 10 << 20:
        notes.append(f"outputs of {size / 2**20:.0f} MB dropped")
    return text, nb, notes + more


def _choose(folder: Path, reference: Reference, notes: list[str]) -> tuple[str, str]:
    """(name, text) of the notebook to grade; raise NotebookRejected when none is usable."""
    names = sorted(
        p.name
        for p in folder.iterdir()
        if p.suffix == ".ipynb" and p.is_file() and not p.is_symlink()
    )
    if not names:
        raise NotebookRejected("no notebook in the submission")
    expected = reference.notebook_name
    loaded: dict[str, tuple[str, NotebookNode, list[str]]] = {}
    failures: dict[str, str] = {}
    for name in sorted(names, key=lambda n: n != expected):
        try:
            loaded[name] = _load(folder / name, reference)
        except NotebookRejected as why:
            failures[name] = str(why)
        if name == expected and name in loaded:
            break
    if not loaded:
        reasons = "; ".join(f"{n}: {r}" if len(failures) > 1 else r for n, r in failures.items())
        raise NotebookRejected(reasons)
    if expected in loaded:
        chosen = expected
    else:
        chosen = max(
            loaded,
            key=lambda n: (reference.answered(loaded[n][1].cells), (folder / n).stat().st_mtime, n),
        )
        if expected in failures:
            notes.append(f"{expected} could not be used ({failures[expected]}); graded {chosen}")
        else:
            notes.append(f"graded {chosen} (the notebook should be named {expected})")
    others = [n for n in names if n != chosen]
    if others and expected in loaded:
        notes.append(f"also submitted, not graded: {', '.join(others)}")
    text, _, more = loaded[chosen]
    notes.extend(more)
    return chosen, text


def _other_files(folder: Path, notes: list[str], ignore: Iterable[str]) -> dict[str, bytes]:
    """{relative path: bytes} of the submission's other files, up to a total size."""
    files: dict[str, bytes] = {}
    total = 0
    skipped: list[str] = []
    for relative in submission_files(folder, ignore):
        if relative.endswith(".ipynb"):
            continue
        size = (folder / relative).stat().st_size
        if total + size > MAX_OTHER_FILES_MB << 20:
            skipped.append(relative)
            continue
        total += size
        files[relative] = (folder / relative).read_bytes()
    if skipped:
        notes.append(
            f"files beyond {MAX_OTHER_FILES_MB} MB in total not copied: {', '.join(skipped)}"
        )
    return files


def _choose_each(
    folder: Path, references: Sequence[Reference], notes: list[str]
) -> dict[str, tuple[str, str]]:
    """{notebook id: (name, text)} of an assignment of several notebooks: each one by its name
    (a missing or unusable one is left out, with a note: its cells score nothing)."""
    chosen: dict[str, tuple[str, str]] = {}
    for reference in references:
        name = reference.notebook_name
        path = folder / name
        if not path.is_file() or path.is_symlink():
            notes.append(f"{name} was not submitted: its cells score 0")
            continue
        try:
            text, _, more = _load(path, reference)
        except NotebookRejected as why:
            notes.append(f"{name} could not be graded ({why}): its cells score 0")
            continue
        notes.extend(f"{name}: {line}" for line in more)
        chosen[Path(name).stem] = (name, text)
    if not chosen:
        raise NotebookRejected("none of the assignment's notebooks could be graded")
    return chosen


def read_submission(
    student: str,
    folder: str | os.PathLike[str],
    references: Reference | Iterable[Reference],
    content_hash: str | None = None,
    ignore: Iterable[str] = DEFAULT_IGNORE,
) -> Submission:
    """The Submission of one student (read-only: nothing in folder is changed).

    references -- a Reference per notebook of the release (or one Reference)
    content_hash -- digest(folder), when it is known already
    ignore -- nbgrader's ignore patterns of the course (files never graded or copied)
    """
    where = Path(folder)
    every = [references] if isinstance(references, Reference) else list(references)
    submission = Submission(student=student, folder=where, digest=content_hash or digest(where))
    try:
        if len(every) == 1:
            name, text = _choose(where, every[0], submission.notes)
            chosen = {Path(every[0].notebook_name).stem: (name, text)}
        else:
            chosen = _choose_each(where, every, submission.notes)
    except NotebookRejected as why:
        submission.status, submission.reason = "rejected", str(why)
        return submission
    except (OSError, RecursionError, MemoryError) as error:
        submission.status = "rejected"
        submission.reason = f"the submission could not be read ({type(error).__name__}: {error})"
        return submission
    submission.notebooks = {n: text for n, (_, text) in chosen.items()}
    submission.notebook_name = ", ".join(name for name, _ in chosen.values())
    submission.files = _other_files(where, submission.notes, ignore)
    return submission
