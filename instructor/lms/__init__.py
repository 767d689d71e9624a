"""The course's round trip with a learning-management system (Canvas), as nbgrader plugins.

    roster.py (python -m instructor roster import FILE)  Canvas roster -> nbgrader's student table
    collector.py   CanvasFileNames       zip_collect: Canvas file names -> student, lateness
    late.py        PercentPerDayLate     the late penalty, applied when grades are saved
    export.py      CanvasGradesExport    nbgrader export -> a CSV Canvas's gradebook imports

nbgrader's student table keeps the id, the names, the e-mail and the Canvas user id
(`Student.lms_user_id`); the ids nbgrader has no column for (SIS user id, SIS login id,
section) are kept in a table of their own, `lms_student`, in the same gradebook database, so
that the export finds everything where the grades are. This module holds that table.
"""

from nbgrader.api import Gradebook
from sqlalchemy import Column, MetaData, String, Table, select

LMS_COLUMNS = ("sis_user_id", "sis_login_id", "section")

_metadata = MetaData()
LMS_STUDENT = Table(
    "lms_student",
    _metadata,
    Column("student_id", String(128), primary_key=True),
    Column("sis_user_id", String(128)),
    Column("sis_login_id", String(128)),
    Column("section", String(256)),
)


def ensure_table(gradebook: Gradebook) -> None:
    """Create the lms_student table in an open nbgrader Gradebook's database if needed."""
    _metadata.create_all(bind=gradebook.engine, tables=[LMS_STUDENT])


def lms_ids(gradebook: Gradebook) -> dict[str, dict[str, str]]:
    """{student id: {sis_user_id, sis_login_id, section}} for every student with LMS ids."""
    ensure_table(gradebook)
    rows = gradebook.db.execute(select(LMS_STUDENT)).mappings()
    return {row["student_id"]: {k: row[k] or "" for k in LMS_COLUMNS} for row in rows}


def save_lms_ids(gradebook: Gradebook, student_id: str, **ids: str | None) -> None:
    """Insert or update one student's LMS ids (not committed)."""
    ensure_table(gradebook)
    values = {k: ids.get(k, "") or "" for k in LMS_COLUMNS}
    table = LMS_STUDENT
    exists = gradebook.db.execute(
        select(table.c.student_id).where(table.c.student_id == student_id)
    ).first()
    if exists:
        gradebook.db.execute(
            table.update().where(table.c.student_id == student_id).values(**values)
        )
    else:
        gradebook.db.execute(table.insert().values(student_id=student_id, **values))
