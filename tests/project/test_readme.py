"""Do the docs' paths list their steps in the order they must run?

The steps themselves are run elsewhere: the student's path by tests/watch/test_browser_submit.py
(from docs/students.md), grade on submit by tests/watch/test_watch.py (a course whose assignment
nbgrader generated, released to its exchange, then the service). That every command of the
README and of docs/ exists as written, and every link leads somewhere, is
tests/project/test_docs.py's.
"""

import re
import subprocess

from conftest import ROOT

DOCS = ROOT / "docs"


def section(page, title):
    """The page's section with this heading, up to the next heading of its level or above."""
    level, _, name = title.partition(" ")
    body = (DOCS / page).read_text().split(f"\n{title}\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]


def commands(text):
    """The commands of the text's code blocks (a fence without a language), comments left out."""
    fences = re.findall(r"^```(\w*)\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    blocks = [body for language, body in fences if not language]
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
    text = section("instructors.md", "## Grade on submit: `python -m instructor watch`")
    steps = commands(text)[:3]
    assert steps[0] == "make release"
    assert steps[1].endswith("nbgrader release_assignment initialization")
    assert steps[2] == "make watch"


def test_the_student_section_covers_the_whole_path_on_every_system():
    """Does the students' page install, open, work, check, hand in both ways and read the
    feedback, with the Windows spelling of each command and the fallback when `jupyter` is
    not found?"""
    text = (DOCS / "students.md").read_text()
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


def test_the_readme_is_a_few_screens_that_lead_to_each_readers_page():
    """Is the README under 10 KB, with the students' and the instructors' command, the test
    command CI runs, and a link to each reader's page?"""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) < 10_000
    steps = commands(readme)
    for command in ["make lab-student", "make demo", "make test"]:
        assert command in steps, command
    assert "exec make test" in (ROOT / ".ci" / "run").read_text()
    for page in ["students", "instructors", "administrators", "developers"]:
        assert f"](docs/{page}.md)" in readme, page


def test_the_readme_names_every_top_level_folder_with_what_it_holds():
    """Does the README's layout give each top-level folder in git (and the autograded/ folder
    grading writes into) one line saying what it holds, and name no folder that is not there?"""
    readme = (ROOT / "README.md").read_text()
    layout = section_of_readme(readme, "## Layout")
    described = {
        line.split()[0].rstrip("/")
        for block in re.findall(r"```text\n(.*?)```", layout, re.DOTALL)
        for line in block.splitlines()
        if line.strip() and len(line.split()) > 1
    }
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    folders = {path.split("/")[0] for path in tracked if "/" in path} | {"autograded"}
    assert folders <= described, sorted(folders - described)
    assert described <= folders, sorted(described - folders)


def section_of_readme(text, title):
    """The README's section with this heading, up to the next heading of its level or above."""
    level, _, name = title.partition(" ")
    body = text.split(f"\n{title}\n", 1)[1]
    return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]
