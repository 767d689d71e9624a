"""Do the README's paths list their steps in the order they must run?

The steps themselves are run elsewhere: the student's path by tests/test_browser_submit.py
(from the README's student section), grade on submit by tests/test_watch.py (a course whose
assignment nbgrader generated, released to its exchange, then the service).
"""

import re

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def section(title):
    """The README's section with this heading, up to the next heading of its level or above."""
    level, _, name = title.partition(" ")
    body = README.split(f"\n{title}\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]


def commands(text):
    """The commands of the text's code blocks, comments left out."""
    blocks = re.findall(r"```\n(.*?)```", text, re.DOTALL)
    return [
        line.split("#")[0].strip()
        for block in blocks
        for line in block.splitlines()
        if line.split("#")[0].strip()
    ]


def test_grade_on_submit_records_the_assignment_before_releasing_it_and_watching():
    """On a fresh clone, does the grade-on-submit section run the course's release (which
    records the assignment in the gradebook) before nbgrader's release_assignment, and the
    service last? (release_assignment alone leaves the service with "cannot grade yet".)"""
    steps = commands(section("### Grade on submit: `python -m instructor watch`"))[:3]
    assert steps[0] == "make release"
    assert steps[1].endswith("nbgrader release_assignment initialization")
    assert steps[2] == "make watch"


def test_the_student_section_covers_the_whole_path_on_every_system():
    """Does the student section install, open, work, check, hand in both ways and read the
    feedback, with the Windows spelling of each command and the fallback when `jupyter` is
    not found?"""
    text = section("## For students")
    for step in [
        "1. Install",
        "2. Open the notebook",
        "3. Work",
        "4. Check and save",
        "5. Hand in",
        "6. Read your feedback",
    ]:
        assert f"**{step}" in text, step
    for needed in [
        "pip install -r requirements-student.txt",
        "py -m venv course-env",
        "course-env\\Scripts\\activate",
        "python -m jupyterlab Initialization.ipynb",
        "py check_submission.py",
        "nbgrader submit initialization --course=initialization-course",
        "nbgrader fetch_feedback initialization --course=initialization-course",
        "Fetch Feedback",
        "not available\non Windows",
    ]:
        assert needed in text, needed
