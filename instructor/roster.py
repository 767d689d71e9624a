"""A Canvas roster read into nbgrader's student table (`python -m instructor roster import FILE`).

FILE is a CSV exported from Canvas's gradebook (Grades > Export). Its identifying columns are
read; the assignment columns are ignored:

    Student        "Last, First" (or "First Last")
    ID             Canvas's user id             -> Student.lms_user_id
    SIS User ID    the institution's student id -> lms_student.sis_user_id
    SIS Login ID   the login name               -> lms_student.sis_login_id (and the e-mail when
                                                   it is an address; an Email column wins)
    Section        the section(s)               -> lms_student.section

Each student's nbgrader id is the first of --id-from (default: SIS Login ID, then SIS User ID,
then ID) that the row has, so that the exchange's logins and the Canvas download agree. A
student already in the gradebook is updated, never removed; nothing else changes. Canvas's
"Points Possible" row and its "Test Student" are skipped. `nbgrader db student list` shows
the result, and `nbgrader export --exporter=instructor.lms.export.CanvasGradesExport` writes
the ids back next to the grades.
"""

import csv
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypedDict

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from .errors import CourseError
from .lms import save_lms_ids

ID_COLUMNS = ("SIS Login ID", "SIS User ID", "ID")
REQUIRED = ("Student", "ID")
TEST_STUDENT = {"student, test", "test student"}


class RosterError(CourseError):
    """The roster cannot be read; the message says why."""


class RosterStudent(TypedDict):
    """One student of a Canvas roster: nbgrader's student fields and the LMS ids."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    lms_user_id: str
    sis_user_id: str
    sis_login_id: str
    section: str


def split_name(text: str) -> tuple[str, str]:
    """(first, last) of Canvas's "Last, First" or of "First Last"."""
    text = " ".join(text.split())
    if "," in text:
        last, first = (part.strip() for part in text.split(",", 1))
        return first, last
    first, _, last = text.rpartition(" ")
    return (first, last) if first else ("", last)


def read_roster(
    path: str | Path, id_from: Sequence[str] = ID_COLUMNS
) -> tuple[list[RosterStudent], list[tuple[int, str]]]:
    """(students, skipped): students as dicts with the gradebook's fields and the LMS ids;
    skipped as (row number, reason) for the rows left out."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"cannot read {path}: {error}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RosterError(
            f"{path.name} is not a Canvas gradebook export: no column {', '.join(missing)} "
            f"(columns found: {', '.join(header) or 'none'})"
        )
    students: list[RosterStudent] = []
    skipped: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        name, canvas_id = row.get("Student", ""), row.get("ID", "")
        if not canvas_id and "points possible" in name.lower():
            continue  # Canvas's second header row
        if name.lower() in TEST_STUDENT:
            skipped.append((number, f"{name}: Canvas's test student"))
            continue
        if not re.fullmatch(r"\d+", canvas_id):
            skipped.append((number, f"{name or '(no name)'}: no Canvas user id in column ID"))
            continue
        student_id = next((row[c] for c in id_from if row.get(c)), "")
        if student_id in seen:
            skipped.append(
                (number, f"{name}: id {student_id} already used in row {seen[student_id]}")
            )
            continue
        seen[student_id] = number
        first, last = split_name(name)
        login = row.get("SIS Login ID", "")
        email = row.get("Email", "") or (login if "@" in login else "")
        students.append(
            {
                "id": student_id,
                "first_name": first,
                "last_name": last,
                "email": email or None,
                "lms_user_id": canvas_id,
                "sis_user_id": row.get("SIS User ID", ""),
                "sis_login_id": login,
                "section": row.get("Section", ""),
            }
        )
    return students, skipped


def import_roster(
    students: Iterable[RosterStudent], db_url: str, course_id: str
) -> tuple[list[str], list[str], list[str]]:
    """Add or update the students in the gradebook; return (added, updated, conflicts)."""
    added: list[str] = []
    updated: list[str] = []
    conflicts: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        with Gradebook(db_url, course_id) as gb:
            known = {s.id: s for s in gb.students}
            by_canvas = {s.lms_user_id: s.id for s in known.values() if s.lms_user_id}
            for student in students:
                owner = by_canvas.get(student["lms_user_id"])
                if owner is not None and owner != student["id"]:
                    conflicts.append(
                        f"Canvas user {student['lms_user_id']} is already student {owner} in "
                        f"the gradebook, not {student['id']}: left as it was"
                    )
                    continue
                fields = {
                    "first_name": student["first_name"],
                    "last_name": student["last_name"],
                    "email": student["email"],
                    "lms_user_id": student["lms_user_id"],
                }
                (updated if student["id"] in known else added).append(student["id"])
                gb.update_or_create_student(student["id"], **fields)
                save_lms_ids(gb, student["id"], **student)
            gb.db.commit()
    return added, updated, conflicts
