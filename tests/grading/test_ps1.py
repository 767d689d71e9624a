"""Do plain nbgrader assignments grade too? nbgrader's documentation example, ps1.

ps1 (shipped inside the nbgrader package, with the submissions of bitdiddle and hacker) has two
notebooks, plain assert test cells, manually graded answers and no exercise declarations, so
the engine grades it by the sandboxed run alone, with no re-check. It is graded twice:

- in a course with nbgrader's own settings, by `nbgrader autograde`;
- in a course with this course's settings, by `python -m instructor grade`;

and every cell's automatic score must be the same, except where the course's rules
deliberately differ (DIFFERENCES names each one, with why). ps1 marks no cell as one grading
may skip, so the course's grading runs every cell: what it sends its workers is what a course
set to run whole notebooks (c.CourseGrading.run_whole_notebook) sends, so both grade alike.
"""

import shutil
import textwrap
from pathlib import Path

import nbgrader
import pytest
from conftest import ROOT, instructor_grade, own_course, run_nbgrader
from nbgrader.api import Gradebook

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

GUIDE = Path(nbgrader.__file__).parent / "docs" / "source" / "user_guide"
STUDENTS = ("bitdiddle", "hacker")
NOTEBOOKS = ("problem1", "problem2")

# Where the course's grading gives another automatic score than nbgrader's, and why:
# (student, notebook, grade id) -> reason. Empty: ps1 meets none of the course's rules.
DIFFERENCES = {}

STOCK = textwrap.dedent(
    """
    import os

    c = get_config()
    c.CourseDirectory.course_id = "ps1-stock"
    c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
    # ps1's notebooks ask for a kernel named "python"; this machine's is python3
    c.Execute.kernel_name = "python3"
    """
)


def ps1_course(root, config=None):
    """A course folder with ps1's source and its two submissions, released: with nbgrader's
    settings (config), or the course's."""
    if config is None:
        own_course(root, "ps1-course")
    else:
        root.mkdir(parents=True)
        (root / "nbgrader_config.py").write_text(config)
    shutil.copytree(GUIDE / "source" / "ps1", root / "source" / "ps1")
    for student in STUDENTS:
        shutil.copytree(GUIDE / "submitted" / student / "ps1", root / "submitted" / student / "ps1")
    result = run_nbgrader("generate_assignment", "ps1", "--force", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def auto_scores(root):
    """{(student, notebook, grade id): automatic score} of every graded cell."""
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            for notebook in NOTEBOOKS:
                for grade in gb.find_submission_notebook(notebook, "ps1", student).grades:
                    scores[(student, notebook, grade.name)] = grade.auto_score
    return scores


@pytest.fixture(scope="module")
def graded_both_ways(tmp_path_factory):
    base = tmp_path_factory.mktemp("ps1")
    stock = ps1_course(base / "stock", STOCK)
    result = run_nbgrader("autograde", "ps1", cwd=stock)
    assert result.returncode == 0, result.stdout + result.stderr
    course = ps1_course(base / "course")
    graded = instructor_grade(ROOT, "--course", course, "--assignment", "ps1", "--serial")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return auto_scores(stock), auto_scores(course), graded.stdout, course


def test_ps1_gets_nbgraders_scores_per_cell(graded_both_ways):
    """Does every automatically graded cell of ps1 score the same under the course's grading
    as under nbgrader's, apart from the differences named in DIFFERENCES?"""
    stock, course, _, _ = graded_both_ways
    assert set(stock) == set(course) and stock  # the same cells, and some
    differing = {key for key in stock if stock[key] != course[key]}
    assert differing == set(DIFFERENCES), {k: (stock[k], course[k]) for k in differing}


def test_ps1_is_graded_without_a_recheck_or_a_rejection(graded_both_ways):
    """Are both submissions graded (none rejected or failed), with both notebooks each?"""
    _, course, output, _ = graded_both_ways
    assert "2 graded, 0 rejected, 0 failed" in output, output
    assert {notebook for _, notebook, _ in course} == set(NOTEBOOKS)


def test_ps1_grades_as_a_run_of_the_whole_notebook(graded_both_ways):
    """With no cell marked, does the course's grading run every cell of ps1 (the ledger says
    nothing of skipped cells), and is the assignment's bundle, all that its workers get
    besides each submission, the very one of a course set to run whole notebooks? (A grading
    is a function of its task and its bundle: the two grade every submission alike.)"""
    import copy
    import json

    from nbgrader.coursedir import CourseDirectory

    from instructor.course import load_config
    from instructor.grading.bundle import build
    from instructor.grading.sandbox import Limits

    _, _, _, course = graded_both_ways
    entries = json.loads((course / "reports" / "ps1" / "grading.json").read_text())["students"]
    assert set(entries) == set(STUDENTS) and all("ran" not in e for e in entries.values())
    config = load_config(course)
    whole = copy.deepcopy(config)
    whole.CourseGrading.run_whole_notebook = True
    bundles = [build(CourseDirectory(config=c), c, Limits(), "ps1") for c in (config, whole)]
    assert bundles[0].skippable == () and bundles[0] == bundles[1]
