"""Reading the nbgrader exchange's inbound folder, which every student can write to.

nbgrader's `submit` copies a student's assignment folder to
<exchange>/<course>/inbound/<student>+<assignment>+<timestamp>[+<random>] and writes its
timestamp.txt last. nbgrader's `collect` reads it back with shutil.copytree, which follows
symbolic links, opens whatever it finds (opening a FIFO blocks for ever) and has no limit on the
number of files. A student who writes into inbound directly can thus have the instructor copy an
instructor's file (through a link to it) into submitted/, hang the collection, or make it crawl
a million files. This module reads inbound trusting nothing in it:

- scan() lists the submission folders, their names parsed as nbgrader parses them, without
  following a link or descending into anything; what is not a valid submission comes with a
  reason;
- copier.py's collect() copies one submission folder, as safely.

Every reason is one line, with names escaped by printable(): safe to print in a log or on a
terminal.
"""

import os
import pwd
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.utils import parse_utc

TIMESTAMP = "timestamp.txt"  # nbgrader's submit writes it last: without it, not finished yet


def account_name(uid: int) -> str:
    """The login of a user id, or "unknown id"."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "unknown id"


def printable(text: object) -> str:
    """text with control characters, other unprintable ones (line separators, bidirectional
    overrides) and undecodable bytes escaped as repr() escapes them, and so the backslash too:
    a name a student chose can neither break a log line nor drive a terminal, and two
    different names never print the same."""
    out: list[str] = []
    for ch in str(text):
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte that was not UTF-8, as os.fsdecode keeps it
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        elif ch.isprintable() and ch != "\\":
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "".join(out)


def name_problem(name: str) -> str | None:
    """Why a file name cannot be taken as it is, or None: bytes that are not UTF-8 (nothing
    downstream could name the file), control characters and line separators (they would break
    the notebook's paths in logs and reports)."""
    try:
        os.fsencode(name).decode("utf-8")
    except UnicodeError:
        return "its name is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029" for ch in name):
        return "its name has control characters"
    return None


def _id_problem(value: str, what: str) -> str | None:
    """Why a student or assignment id of a folder name cannot be used, or None: it becomes a
    folder of submitted/ ('.' and '..' would be another folder) and '*' means every student to
    nbgrader."""
    if value in ("", ".", "..") or "/" in value or "*" in value:
        return f"invalid {what} id '{printable(value)}'"
    return None


# --- the folders of inbound ----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One folder of inbound, named by nbgrader's submit: student+assignment+timestamp, and
    +random when submit adds a random string (its default)."""

    name: str
    student: str
    assignment: str
    timestamp: datetime  # aware, UTC (nbgrader.utils.parse_utc's time, which is naive UTC)
    path: Path
    owner: int | None = None  # the folder's owner (uid), as scan() saw it; None: not looked at


# (printable name, reason) of an entry that is not a valid submission, or of a file not copied
Skipped = tuple[str, str]


def scan(
    inbound: str | os.PathLike[str], assignments: Iterable[str] | None = None
) -> tuple[list[Record], list[Skipped]]:
    """(records, invalid) of an inbound folder: the submission folders, sorted by student and
    time, and (printable name, reason) of the entries that are not valid submissions.

    Names are parsed as nbgrader's ExchangeCollect._path_to_record parses them
    (name.rsplit('+', 3): student, assignment, timestamp[, random]). Entries are only lstat'ed:
    no link is followed, no folder entered. Entries of an assignment not in `assignments`
    (when given) are left out silently: they are not this collection's business.
    """
    folder = Path(inbound)
    wanted = None if assignments is None else set(assignments)
    records: list[Record] = []
    invalid: list[Skipped] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name, shown = entry.name, printable(entry.name)
            problem = name_problem(name)
            parts = name.rsplit("+", 3)
            if problem is None and len(parts) < 3:
                problem = "not a submission (student+assignment+timestamp)"
            if problem:
                invalid.append((shown, problem))
                continue
            student, assignment, stamp = parts[:3]
            if wanted is not None and assignment not in wanted:
                continue
            problem = _id_problem(student, "student") or _id_problem(assignment, "assignment")
            try:
                timestamp = parse_utc(stamp).replace(tzinfo=UTC)
            except (ValueError, OverflowError, TypeError):
                problem = problem or f"its timestamp '{printable(stamp)}' is not a time"
            if problem is None:
                try:
                    seen = entry.stat(follow_symlinks=False)
                except OSError as error:
                    problem = f"it could not be read ({error.strerror})"
                else:
                    mode = seen.st_mode
                    if stat.S_ISLNK(mode):
                        problem = "a symbolic link (not followed)"
                    elif not stat.S_ISDIR(mode):
                        problem = "not a folder"
            if problem:
                invalid.append((shown, problem))
            else:
                records.append(
                    Record(name, student, assignment, timestamp, folder / name, seen.st_uid)
                )
    records.sort(key=lambda r: (r.student, r.timestamp, r.name))
    invalid.sort()
    return records, invalid


def owner_login(record: Record) -> str:
    """The login that owns a record's folder ("unknown id" for a uid without an account)."""
    if record.owner is None:
        raise ValueError(f"the owner of {record.name} was not looked at (scan() records it)")
    return account_name(record.owner)


def split_forged(
    records: Iterable[Record],
) -> tuple[list[Record], list[tuple[Record, str]]]:
    """(genuine, forged) of scan()'s records: forged are (record, owner's login) of the folders
    whose owner is not the student their name claims, nbgrader's owner check. Only the owner of
    a folder can have made it (nobody but root can give a folder away), so a folder in
    another student's name, made by `nbgrader submit --student=<classmate>` or by hand, is
    never that student's: it must never count as their submission, their latest least of all.
    Records not looked at (owner None) count as genuine."""
    genuine: list[Record] = []
    forged: list[tuple[Record, str]] = []
    for record in records:
        owner = None if record.owner is None else owner_login(record)
        if owner is None or owner == record.student:
            genuine.append(record)
        else:
            forged.append((record, owner))
    return genuine, forged


def latest_per_student(records: Iterable[Record]) -> dict[str, Record]:
    """{student: record} of the latest timestamp per student: nbgrader's rule (collect takes a
    student's most recent submission). Equal times are decided by the name, to be repeatable."""
    latest: dict[str, Record] = {}
    for record in records:
        best = latest.get(record.student)
        if best is None or (record.timestamp, record.name) > (best.timestamp, best.name):
            latest[record.student] = record
    return latest
