"""Submissions made in another student's name: refused, and kept for the instructor to act on.

Every student can create a folder in the exchange's inbound, named as they like: `nbgrader
submit --student=<classmate>` does it, and so does `mkdir`. nbgrader's collect only warns about
such a folder ("cheating attempt?") and collects it as the classmate's submission; taken as
the classmate's latest, it would replace their real work. The course never takes it: the
collect routes (SafeCollect: `nbgrader collect`, the Formgrader's Collect button) and the
grade-on-submit service leave it out before they choose a student's latest submission
(inbound.split_forged), so the classmate is collected, graded and fed back as if it were not
there. Each such folder is logged where it is found, with the login that owns it (who made
it), and written once to reports/<assignment>/forgeries.jsonl, which the class report shows,
and the Formgrader too (its Forgeries page, instructor/formgrader.py).
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .inbound import Record, printable

FILE = "forgeries.jsonl"


@dataclass(frozen=True)
class Forgery:
    """A folder of inbound refused because its owner is not the student its name claims."""

    folder: str  # its name in inbound (printable)
    student: str  # the student it claims to be (printable)
    owner: str  # the login that owns the folder: who made it
    assignment: str
    submitted: str  # the time in its name, ISO 8601 UTC
    found: str  # when it was first found, ISO 8601 UTC
    by: str  # what found it: "grade on submit" or "collect"


def reason(record: Record, owner: str) -> str:
    """One printable line: what the folder claims, who made it, and what becomes of it."""
    student = printable(record.student)
    return (
        f"{printable(record.name)}: it is owned by {printable(owner)}, not by {student}: made "
        f"in {student}'s name by another login, refused; {student}'s own submissions are "
        "handled as if it were not there"
    )


def note(folder: Path, record: Record, owner: str, by: str) -> Forgery | None:
    """Write the forgery to folder/forgeries.jsonl unless it is there already; the Forgery
    written, or None when it was known."""
    path = Path(folder) / FILE
    name = printable(record.name)
    if any(f.folder == name for f in read(folder)):
        return None
    forgery = Forgery(
        folder=name,
        student=printable(record.student),
        owner=printable(owner),
        assignment=printable(record.assignment),
        submitted=record.timestamp.isoformat(),
        found=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        by=by,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(forgery)) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line)  # one write: lines of two writers never mix
        os.fsync(fd)
    finally:
        os.close(fd)
    return forgery


def read(folder: Path) -> list[Forgery]:
    """The forgeries recorded in folder/forgeries.jsonl, each once, oldest first."""
    path = Path(folder) / FILE
    found: list[Forgery] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            forgery = Forgery(**json.loads(line))
        except (ValueError, TypeError):
            continue  # a line cut short
        if forgery.folder not in seen:
            seen.add(forgery.folder)
            found.append(forgery)
    return found


def read_all(reports: Path) -> list[Forgery]:
    """The forgeries recorded for every assignment of a course (reports/*/forgeries.jsonl,
    reports being the course's reports folder), the earliest found first."""
    found: list[Forgery] = []
    try:
        folders = sorted(p for p in Path(reports).iterdir() if (p / FILE).is_file())
    except OSError:
        return []
    for folder in folders:
        found.extend(read(folder))
    return sorted(found, key=lambda f: (f.found, f.assignment, f.folder))
