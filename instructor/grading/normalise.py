"""One submitted notebook file read into a notebook nbgrader can grade, never changing the file.

`parse` reads the file's bytes (a UTF-8 byte-order mark, another text encoding read as
Latin-1, an older nbformat converted to version 4, all outputs dropped: grading runs the
notebook again); `normalise` compares its cells with the release's (`Reference`) and repairs
what a student's editing did to them (intake.py's docstring lists the repairs), each repair a
note; `NotebookRejected` says in one line why a file cannot be graded.
"""

import copy
import json
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.utils import compute_checksum

from ..errors import CourseError

# A notebook or a cell as the file's JSON holds it (before nbformat reads it).
RawNotebook = dict[str, Any]
RawCell = dict[str, Any]
MAX_METADATA_KB = 1024  # notebook metadata larger than this keeps only the standard keys
ANSWER_MARKER = re.compile(r"^\s*#\s*GRADED FUNCTION:\s*(\w+)", re.M)
CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class NotebookRejected(CourseError):
    """The submission cannot be graded; the message says why, in one line."""


class Reference:
    """The release notebook's cells that grading relies on, by nbgrader grade id."""

    def __init__(self, release_notebook: RawNotebook | NotebookNode, notebook_name: str) -> None:
        self.notebook_name = notebook_name
        self.nb = nbformat.from_dict(copy.deepcopy(release_notebook))
        self.cells: dict[str, NotebookNode] = {}  # grade id -> release cell
        self.order: list[str] = []  # grade ids in release order
        for cell in self.nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id:
                self.cells[grade_id] = cell
                self.order.append(grade_id)
        self.answers = [g for g in self.order if self.cells[g].metadata.nbgrader.get("solution")]
        # each answer's test: the first graded cell after it in the release
        self.test_of: dict[str, str | None] = {}
        for answer in self.answers:
            later = self.order[self.order.index(answer) + 1 :]
            graded = [g for g in later if self.cells[g].metadata.nbgrader.get("grade")]
            self.test_of[answer] = graded[0] if graded else None
        self._sources = {
            self._key(c.source): g for g, c in self.cells.items() if not self._answer(g)
        }
        # cells of the release without nbgrader metadata (plain nbgrader assignments have
        # some): a submission's copy of one is not a cell the student added
        self.plain = {
            self._key(c.source)
            for c in self.nb.cells
            if not c.metadata.get("nbgrader", {}).get("grade_id")
        }

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "Reference":
        path = Path(path)
        return cls(nbformat.read(path, as_version=4), path.name)

    @staticmethod
    def _key(source: str) -> str:
        return "\n".join(line.rstrip() for line in source.strip().splitlines())

    def _answer(self, grade_id: str) -> bool:
        return grade_id in self.answers

    def recognise(self, cell: RawCell | NotebookNode) -> str | None:
        """The grade id of a cell that lost its grading metadata, from its content, or None."""
        marker = ANSWER_MARKER.search(cell.get("source", ""))
        if marker and marker.group(1) in self.answers:
            return marker.group(1)
        return self._sources.get(self._key(cell.get("source", "")))

    def answered(self, cells: Iterable[NotebookNode]) -> int:
        """How many answer cells differ from the release's unanswered ones."""
        count = 0
        for cell in cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            grade_id = grade_id or self.recognise(cell)
            if grade_id in self.answers and self._key(cell.get("source", "")) != self._key(
                self.cells[grade_id].source
            ):
                count += 1
        return count


# --- reading one notebook file --------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str | None]:
    """The text of a notebook file and a note when it was not UTF-8."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "the file is UTF-16 text (read as such)"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        where = f"byte {error.start}"
    try:
        return data.decode("cp1252"), f"the file is not UTF-8 ({where}); read as Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), f"the file is not UTF-8 ({where}); read as Latin-1"


def parse(data: bytes) -> tuple[RawNotebook, list[str]]:
    """(notebook dict in nbformat 4, notes) from a notebook file's bytes, or raise NotebookRejected."""
    if not data.strip():
        raise NotebookRejected("the notebook file is empty")
    text, note = decode(data)
    notes = [note] if note else []
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotebookRejected(
            f"the notebook file is not valid JSON ({error.msg} at line {error.lineno}, "
            f"column {error.colno})"
        ) from None
    if not isinstance(content, dict) or not (
        isinstance(content.get("cells"), list) or isinstance(content.get("worksheets"), list)
    ):
        raise NotebookRejected("the file is JSON but not a notebook (it has no cells)")
    version = content.get("nbformat", 4 if "cells" in content else 3)
    if not isinstance(version, int) or version > 4:
        raise NotebookRejected(
            f"the notebook uses nbformat {version!r}, which this grader does not read"
        )
    _strip_outputs(content)
    if version < 4 or "worksheets" in content:
        content = _upgrade(content, version)
        notes.append(f"the notebook was in the old nbformat {version}; converted to nbformat 4")
    return content, notes


def _strip_outputs(content: RawNotebook) -> None:
    """Drop every output: grading runs the notebook again (and outputs can be huge)."""
    cell_lists = [content.get("cells")] + [
        ws.get("cells") for ws in content.get("worksheets", []) if isinstance(ws, dict)
    ]
    for cells in cell_lists:
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict):
                for key in ("outputs",):
                    if key in cell:
                        cell[key] = []


def _upgrade(content: RawNotebook, version: int) -> RawNotebook:
    content.setdefault("nbformat", version)
    content.setdefault("nbformat_minor", 0)
    content.setdefault("metadata", {})
    try:
        nb = nbformat.convert(nbformat.from_dict(content), 4)
    except Exception as error:  # noqa: BLE001 -- any failure means the file is unusable
        raise NotebookRejected(
            f"the nbformat {version} notebook could not be converted ({error})"
        ) from None
    upgraded: RawNotebook = json.loads(json.dumps(nb))
    return upgraded


# --- normalising the cells ------------------------------------------------------------------------


def _as_text(source: object) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return source if isinstance(source, str) else ""


def _clean_cell(cell: object) -> RawCell | None:
    """A well-formed v4 cell from whatever the file held."""
    if not isinstance(cell, dict):
        return None
    kind = cell.get("cell_type") if cell.get("cell_type") in ("code", "markdown", "raw") else "raw"
    metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
    clean: RawCell = {
        "cell_type": kind,
        "metadata": metadata,
        "source": _as_text(cell.get("source")),
    }
    if isinstance(cell.get("id"), str):
        clean["id"] = cell["id"]
    if kind == "code":
        clean.update(outputs=[], execution_count=None)
    elif isinstance(cell.get("attachments"), dict):
        clean["attachments"] = cell["attachments"]
    return clean


def _grade_id(cell: RawCell) -> str | None:
    nbgrader = cell["metadata"].get("nbgrader")
    return nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None


# Each submitted cell, with the grade id of the release cell it is (None: added by the student).
Identified = list[tuple[RawCell, str | None]]


def _identify(cells: list[RawCell], reference: Reference, notes: list[str]) -> Identified:
    """[(cell, grade id or None)]: the release cell each submitted cell is, if any."""
    identified: Identified = []
    recognised: list[str] = []
    unknown: list[str] = []
    for cell in cells:
        grade_id = _grade_id(cell)
        if grade_id is not None and grade_id not in reference.cells:
            unknown.append(grade_id)
            grade_id = None
        if grade_id is None:
            cell["metadata"].pop("nbgrader", None)
            guess = reference.recognise(cell)
            if guess:
                recognised.append(guess)
                grade_id = guess
        identified.append((cell, grade_id))
    if unknown:
        notes.append(
            f"grading metadata removed from cells the release does not have: {_list(unknown)}"
        )
    if recognised:
        notes.append(
            f"cells recognised by their content (grading metadata missing): {_list(recognised)}"
        )
    return identified


def _deduplicate(identified: Identified, reference: Reference, notes: list[str]) -> Identified:
    """Keep one cell per grade id: the first, or the answer in effect when its test runs."""
    positions: dict[str | None, list[int]] = {}
    for i, (_, grade_id) in enumerate(identified):
        if grade_id:
            positions.setdefault(grade_id, []).append(i)
    dropped: set[int] = set()
    for grade_id, where in positions.items():
        if len(where) == 1:
            continue
        keep = where[0]
        if grade_id in reference.answers:
            test = reference.test_of.get(grade_id)
            test_at = positions.get(test, [len(identified)])[0]
            before = [i for i in where if i < test_at]
            keep = before[-1] if before else where[0]
            which = "the copy in effect when its test runs"
        else:
            which = "the first copy"
        dropped |= set(where) - {keep}
        notes.append(f"cell {grade_id} appears {len(where)} times; graded {which}")
    return [item for i, item in enumerate(identified) if i not in dropped]


def _as_released(cell: RawCell) -> bool:
    """True when a cell is exactly as a release shipped it: nbgrader's checksum, written into
    the cell's metadata by generate_assignment, still matches its content."""
    recorded = cell.get("metadata", {}).get("nbgrader", {}).get("checksum")
    try:
        return bool(recorded) and recorded == compute_checksum(nbformat.from_dict(cell))
    except (KeyError, TypeError, ValueError):
        return False


def _restore_cell(
    cell: RawCell,
    grade_id: str,
    reference: Reference,
    notes: list[str],
    changed: list[str],
    edited: list[str],
    outdated: list[str] | None = None,
) -> RawCell:
    """Give a release cell back its release metadata (and cell type)."""
    release = reference.cells[grade_id]
    if release.metadata.get("nbgrader", {}).get("locked") and Reference._key(
        cell["source"]
    ) != Reference._key(release.source):
        (outdated if outdated is not None and _as_released(cell) else edited).append(grade_id)
    if cell["cell_type"] != release.cell_type:
        changed.append(f"{grade_id} ({cell['cell_type']} back to {release.cell_type})")
        cell["cell_type"] = release.cell_type
        cell.pop("attachments", None)
        if release.cell_type == "code":
            cell.update(outputs=[], execution_count=None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    cell["metadata"] = copy.deepcopy(dict(release.metadata))
    return cell


def _order(identified: Identified, reference: Reference, notes: list[str]) -> list[RawCell]:
    """Release cells in release order (missing ones restored); added cells stay after the
    release cell they followed."""
    present = {g: c for c, g in identified if g}
    # grade id of the release cell an added cell follows -> added cells
    after: dict[str | None, list[RawCell]] = {None: []}
    anchor: str | None = None
    seen: list[str] = []
    for cell, grade_id in identified:
        if grade_id:
            anchor = grade_id
            seen.append(grade_id)
            after.setdefault(grade_id, [])
        else:
            after.setdefault(anchor, []).append(cell)
    expected = [g for g in reference.order if g in present]
    if seen != expected:
        moved = [g for g, want in zip(seen, expected) if g != want]
        notes.append(f"cells moved back to their place in the release: {_list(moved)}")
    missing = [g for g in reference.order if g not in present]
    if missing:
        unanswered = [g for g in missing if g in reference.answers]
        notes.append(
            f"cells missing from the submission, restored from the release: {_list(missing)}"
            + (f" (answers restored unanswered: {_list(unanswered)})" if unanswered else "")
        )
    cells = list(after[None])
    for grade_id in reference.order:
        kept = present.get(grade_id)
        cells.append(
            kept if kept is not None else json.loads(json.dumps(reference.cells[grade_id]))
        )
        cells.extend(after.get(grade_id, []))
    return cells


def _clean_added(cell: RawCell) -> RawCell:
    """A cell the student added: no grading metadata, no tag that would skip its execution."""
    cell["metadata"].pop("nbgrader", None)
    tags = cell["metadata"].get("tags")
    if isinstance(tags, list):
        cell["metadata"]["tags"] = [
            t for t in tags if t not in ("skip-execution", "raises-exception")
        ]
    return cell


def _assign_ids(cells: list[RawCell]) -> None:
    seen: set[str] = set()
    for cell in cells:
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or not CELL_ID.match(cell_id) or cell_id in seen:
            cell_id = uuid.uuid4().hex[:8]
            while cell_id in seen:
                cell_id = uuid.uuid4().hex[:8]
        cell["id"] = cell_id
        seen.add(cell_id)


def _metadata(content: RawNotebook, reference: Reference, notes: list[str]) -> dict[str, Any]:
    given = content.get("metadata")
    metadata: dict[str, Any] = given if isinstance(given, dict) else {}
    spec = metadata.get("kernelspec")
    kernelspec: dict[str, Any] = spec if isinstance(spec, dict) else {}
    want = dict(reference.nb.metadata.get("kernelspec", {}))
    if kernelspec.get("language", want.get("language")) != want.get("language"):
        notes.append(
            f"the notebook asked for a {kernelspec.get('language')!r} kernel; graded with the "
            "course's Python kernel"
        )
    elif not kernelspec:
        notes.append("the notebook had no kernel information; the course's Python kernel is used")
    if len(json.dumps(metadata)) > MAX_METADATA_KB * 1024:
        metadata = {k: metadata[k] for k in ("kernelspec", "language_info") if k in metadata}
        notes.append(f"notebook metadata larger than {MAX_METADATA_KB} KB was dropped")
    metadata["kernelspec"] = want
    metadata["language_info"] = dict(reference.nb.metadata.get("language_info", {"name": "python"}))
    return metadata


def normalise(content: RawNotebook, reference: Reference) -> tuple[NotebookNode, list[str]]:
    """(normalised notebook as a NotebookNode, notes) from a parsed v4 notebook dict."""
    notes: list[str] = []
    cells = [c for c in (_clean_cell(c) for c in content.get("cells", [])) if c is not None]
    identified = _identify(cells, reference, notes)
    if not any(g in reference.answers for _, g in identified):
        raise NotebookRejected("the notebook has none of the assignment's answer cells")
    identified = _deduplicate(identified, reference, notes)
    changed: list[str] = []
    edited: list[str] = []
    outdated: list[str] = []
    identified = [
        (
            _restore_cell(c, g, reference, notes, changed, edited, outdated)
            if g
            else _clean_added(c),
            g,
        )
        for c, g in identified
    ]
    if changed:
        notes.append(f"cell types restored: {_list(changed)}")
    if outdated:
        notes.append(
            "the release changed since the student fetched it (the student's copy of these "
            f"read-only cells is an earlier release's, unedited); graded with the current ones: "
            f"{_list(outdated)}"
        )
    if edited:
        notes.append(f"read-only cells had been edited; graded with the originals: {_list(edited)}")
    added = sum(
        1
        for c, g in identified
        if g is None and Reference._key(_as_text(c.get("source", ""))) not in reference.plain
    )
    if added:
        notes.append(f"{added} cell(s) added by the student, kept in place")
    cells = _order(identified, reference, notes)
    _assign_ids(cells)
    nb = nbformat.from_dict(
        {
            "cells": cells,
            "metadata": _metadata(content, reference, notes),
            "nbformat": 4,
            "nbformat_minor": max(5, int(content.get("nbformat_minor", 5) or 5)),
        }
    )
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        raise NotebookRejected(f"the notebook could not be repaired ({error.message})") from None
    return nb, notes


def _list(items: Iterable[object]) -> str:
    return ", ".join(str(i) for i in items)
