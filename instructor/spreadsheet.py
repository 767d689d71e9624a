"""The cells of the CSV files the course writes, as text that a spreadsheet never runs.

A spreadsheet that opens a CSV file (Excel, LibreOffice, Google Sheets, Canvas's own preview)
takes a cell starting with `=`, `+`, `-` or `@` as a formula, and a leading tab or carriage
return can hide one. A student's text reaches the course's CSV files through their names (the
LMS roster, which students may edit) and their id; a formula there would run on the
instructor's or a TA's machine when they open the export (`=HYPERLINK(...)` sending the sheet
elsewhere, `=cmd|...` on old Excel). `inert_cell` writes such a cell with a leading `'`, the
spreadsheets' own mark for "this is text"; a plain number (a score, `-2.5`) stays a number.

Used by every CSV writer of the course: the class report's scores.csv (instructor/report/),
the Canvas export (instructor/lms/export.py) and nbgrader's own `nbgrader export` as the course
configures it (`InertCsvExport`, instructor/lms/export.py).
"""

import re
from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def inert_cell(value: object) -> str:
    """The cell as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not NUMBER.match(text):
        return "'" + text
    return text


def inert_row(row: Iterable[object]) -> list[str]:
    """Every cell of a row made inert (see inert_cell)."""
    return [inert_cell(value) for value in row]
