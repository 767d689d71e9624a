"""Students' names in the gradebook: the roster's when there is one, else the login's.

nbgrader creates a student with no name when it first records their submission, and the
Formgrader then lists them as "None, None". The course names them when it records a
grading (grading/record.py): a student the roster named (`python -m instructor roster
import`, or `nbgrader db student add`) keeps those names; one without a name gets their
account's full name (the first field of its GECOS entry, "First Last"), and without one, their
login as the last name. A roster imported later replaces them.
"""

import pwd

from nbgrader.api import Gradebook

from .roster import split_name


def names_of_login(login: str) -> tuple[str, str]:
    """(first name, last name) of a login: its account's full name when the system has one,
    else ("", login)."""
    try:
        full = pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
    except KeyError:
        full = ""
    if not full:
        return "", login
    first, last = split_name(full)
    return first, last or login


def name_if_unnamed(gradebook: Gradebook, student_id: str) -> bool:
    """Give the gradebook's student the names of their login when they have none; whether
    they were named now."""
    student = gradebook.find_student(student_id)
    if student.first_name is not None or student.last_name is not None:
        return False
    student.first_name, student.last_name = names_of_login(student_id)
    gradebook.db.commit()
    return True
