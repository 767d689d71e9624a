"""The demo class of an assignment: synthetic students made from its release, never real ones.

Each demo student is the release notebook with answers typed into its answer cells, as a
student would type them: one who answers correctly, one who submits the untouched release,
and one per typical mistake. What each types, and the names the Formgrader shows, are the
course's data on the assignment (assignments/<assignment>.toml, [demo]: course_data.py); the
answer cells are the ones the notebook's test cells declare (`"grading": {"answer_cell": ...}`
in their metadata). The class lives in demo/ in the course, an nbgrader course folder of its
own (its gradebook, submissions and grades apart from the real class), and is graded by the
same commands (`python -m instructor grade --demo`).

Each answer replaces the stub `# YOUR CODE HERE / raise NotImplementedError()`; an edit of
the scaffold around it (a loop bound, say) is given as (old, new) text replacements.
"""

import shutil
from collections.abc import Mapping
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory

from . import course_data
from .course import demo_root, load_config, notebook_of, release_folder
from .course_data import Answer, DemoStudent
from .grading.bundle import copy_assignment
from .grading.settings import course_grading

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
SUBMITTED = "submitted"  # demo/submitted/<student>/<assignment>/


def answer_cells(notebook: NotebookNode) -> dict[str, str]:
    """{exercise: grade id of its answer cell}, as the notebook's test cells declare them."""
    found = {}
    for cell in notebook.cells:
        grading = cell.get("metadata", {}).get("grading") or {}
        if grading.get("exercise") and grading.get("answer_cell"):
            found[str(grading["exercise"])] = str(grading["answer_cell"])
    return found


def fill(notebook: NotebookNode, answers: Mapping[str, Answer]) -> NotebookNode:
    """Type the answers into a copy of the release notebook (an nbformat node)."""
    nb = nbformat.from_dict(notebook)
    cells = answer_cells(nb)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for exercise, answer in answers.items():
        lines, edits = answer if isinstance(answer, tuple) else (answer, ())
        cell = by_id[cells[exercise]]
        source = cell.source
        stub_line = next(line for line in source.splitlines() if line.strip() == "# YOUR CODE HERE")
        indent = stub_line[: len(stub_line) - len(stub_line.lstrip())]
        stub = "\n".join(indent + line for line in STUB.splitlines())
        typed = "\n".join(indent + line for line in lines.splitlines())
        if stub not in source:
            raise ValueError(f"the release's {exercise} cell has no stub to replace")
        source = source.replace(stub, typed)
        for old, new in edits:
            if old not in source:
                raise ValueError(f"{old!r} is not in the release's {exercise} cell")
            source = source.replace(old, new)
        cell.source = source
    return nb


def students(root: str | Path, assignment: str) -> tuple[DemoStudent, ...]:
    """The demo class of the assignment, as the course's data on it describes it."""
    return course_data.load(root, assignment).demo


def correct_answers(root: str | Path, assignment: str) -> dict[str, str]:
    """What a correct student types for each exercise of the assignment."""
    return dict(course_data.load(root, assignment).correct)


def build(root: str | Path, assignment: str, release: str | Path | None = None) -> tuple[Path, int]:
    """Write demo/submitted/<student>/<assignment>/<notebook> for every demo student, from the
    release (the course's own, unless another folder holding the notebook is given); return
    (the folder of submissions, how many students)."""
    name = notebook_of(root, assignment)
    folder = Path(release) if release is not None else release_folder(root, assignment)
    release_nb = nbformat.read(folder / name, as_version=4)
    out = demo_root(root) / SUBMITTED
    if out.exists():
        shutil.rmtree(out)
    made = students(root, assignment)
    for student in made:
        target = out / student.student / assignment
        target.mkdir(parents=True)
        nbformat.write(fill(release_nb, student.answers), target / name)
    return out, len(made)


def prepare_gradebook(root: str | Path, assignment: str) -> str:
    """The demo class's own gradebook (demo/gradebook.db): the assignment as the course's
    gradebook holds it, and the demo students with their names. Returns its URL."""
    config = load_config(demo_root(root))
    coursedir = CourseDirectory(config=config)
    source_db = course_grading(config).assignment_db_url
    copy_assignment(source_db, coursedir.db_url, coursedir, assignment)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for student in students(root, assignment):
            first, last = student.name
            gb.update_or_create_student(student.student, first_name=first, last_name=last)
    return str(coursedir.db_url)
