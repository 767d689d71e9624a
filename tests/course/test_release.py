"""The student release: generated from the source, in sync, self-contained, and free of answers."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from answers import ANSWER_CELLS
from harness import ASSIGNMENT, HELPERS, NOTEBOOK, RELEASE, ROOT, SOURCE_NOTEBOOK, course_env

from instructor import release


def cells(path):
    return json.loads(Path(path).read_text())["cells"]


def marked_blocks(begin, end, inside=True):
    """Lines between (or, with inside=False, outside) the begin/end markers in the source
    notebook's cells, stripped, non-blank."""
    found = []
    for cell in cells(SOURCE_NOTEBOOK):
        within = False
        for line in "".join(cell["source"]).splitlines():
            if begin in line:
                within = True
            elif end in line:
                within = False
            elif within == inside and line.strip():
                found.append(line.strip())
    return found


@pytest.mark.slow
def test_committed_release_is_what_the_source_generates():
    """Does nbgrader generate_assignment, run now on the source, give the committed release?"""
    tmp, fresh = release.generate_in_copy(ROOT, ASSIGNMENT)
    try:
        assert release.differences(fresh, RELEASE) == []
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("helper", HELPERS)
def test_helpers_have_a_single_source(helper):
    """Are the source's helpers real files, the top-level names links to them, and the
    release's copies identical?"""
    source = ROOT / "source" / "initialization" / helper
    assert source.is_file() and not source.is_symlink()
    assert (ROOT / helper).is_symlink() and (ROOT / helper).resolve() == source
    assert (RELEASE / helper).read_bytes() == source.read_bytes()


def test_release_is_self_contained():
    """Does the release folder hold the notebook and every module it imports from the course?"""
    names = {p.name for p in RELEASE.iterdir()}
    assert {"Initialization.ipynb", *HELPERS} <= names
    source = "\n".join(
        "".join(c["source"])
        for c in cells(RELEASE / "Initialization.ipynb")
        if c["cell_type"] == "code"
    )
    imported = set(re.findall(r"^\s*(?:from|import) (\w+)", source, flags=re.M))
    local = {name.removesuffix(".py") for name in names if name.endswith(".py")}
    assert imported - local <= {"numpy", "matplotlib", "IPython"}


def test_release_holds_none_of_the_instructors_course_data():
    """Is the course's file of the assignment (its teaching notes) kept outside the source
    folder that generate_assignment copies to the students, and does no released file quote
    one of its notes?"""
    from instructor import course_data

    data = course_data.load(ROOT, "initialization")
    assert data.path is not None and data.notes
    source = SOURCE_NOTEBOOK.parent.resolve()
    assert source not in data.path.resolve().parents
    released = [p for p in RELEASE.rglob("*") if p.is_file()]
    assert not [p for p in released if p.suffix == ".toml"]
    text = "\n".join(p.read_text(errors="replace") for p in released)
    assert not [note for note in data.notes.values() if note[:40] in text]


def test_release_has_no_solutions_and_no_hidden_tests():
    """Is every solution line and every hidden test line of the source absent from the release?"""
    released = cells(RELEASE / "Initialization.ipynb")
    text = "\n".join("".join(c["source"]) for c in released)
    lines = {line.strip() for line in text.splitlines()}
    solutions = marked_blocks("### BEGIN SOLUTION", "### END SOLUTION")
    hidden = marked_blocks("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    assert len(solutions) == 6 and len(hidden) > 20
    for line in solutions + hidden:
        assert line in {"]", "}),", "})"} or line not in lines, line
    # Hidden values that the public example does not show (the seeded streams share a start).
    public = "\n".join(marked_blocks("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS", False))
    public += (ROOT / "public_tests.py").read_text()
    secret = [n for n in re.findall(r"-?\d+\.\d{6,}", "\n".join(hidden)) if n[:8] not in public]
    assert len(secret) > 20
    for number in secret:
        assert number[:8] not in text, number
    assert "BEGIN SOLUTION" not in text and "HIDDEN" not in text


def test_cells_students_must_not_change_are_read_only():
    """Is every cell but the three answer cells locked in the release?"""
    for cell in cells(RELEASE / "Initialization.ipynb"):
        meta = cell["metadata"]
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        assert meta.get("deletable") is False, grade_id
        if grade_id in ANSWER_CELLS.values():
            assert meta["nbgrader"]["solution"] is True and meta.get("editable", True) is True
        else:
            assert meta.get("editable") is False and meta["nbgrader"]["locked"] is True, grade_id


def test_source_notebook_is_committed_clean():
    """Is the source notebook stored without outputs or execution counts?"""
    for cell in cells(SOURCE_NOTEBOOK):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def nbgrader(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=course_env(),
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_source_notebook_passes_nbgrader_validate(course):
    """Does nbgrader validate accept the instructor's notebook with its solutions?"""
    result = nbgrader("validate", "source/initialization/Initialization.ipynb", cwd=course)
    assert "Success! Your notebook passes all the tests." in result.stdout, (
        result.stdout + result.stderr
    )


@pytest.mark.slow
def test_every_test_fails_on_the_unanswered_release(course):
    """Does nbgrader validate --invert show that no test passes on the untouched release?"""
    result = nbgrader(
        "validate", "--invert", "release/initialization/Initialization.ipynb", cwd=course
    )
    assert "Success! The notebook does not pass any tests." in result.stdout, (
        result.stdout + result.stderr
    )


@pytest.mark.slow
def test_failed_regeneration_keeps_the_previous_release(course, capsys):
    """When nbgrader refuses to regenerate (cells added after submissions), is the release kept?"""
    import nbformat
    from nbgrader.api import Gradebook

    assert release.generate(course, ASSIGNMENT).exists()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        gb.add_student("early-bird")
        gb.add_submission("initialization", "early-bird")
    before = {p.name: p.read_bytes() for p in (course / "release" / ASSIGNMENT).iterdir()}
    nb = nbformat.read((course / "source" / ASSIGNMENT / NOTEBOOK), as_version=4)
    remark = nbformat.v4.new_markdown_cell("One more remark.")
    remark.metadata["nbgrader"] = {
        "grade": False, "grade_id": "remark", "locked": True, "schema_version": 3, "solution": False
    }  # fmt: skip
    nb.cells.append(remark)
    nbformat.write(nb, (course / "source" / ASSIGNMENT / NOTEBOOK))

    with pytest.raises(release.ReleaseError, match="already has submissions"):
        release.generate(course, ASSIGNMENT)
    assert {p.name: p.read_bytes() for p in (course / "release" / ASSIGNMENT).iterdir()} == before
