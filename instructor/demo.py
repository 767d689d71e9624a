"""`python -m instructor demo`: rebuild the demo class from the student release.

The demo class is a set of synthetic students, each the release notebook with answers typed
into the three answer cells, as a student would type them: one correct student, one who
submitted the untouched release, and one per typical mistake. They live in demo/submitted/,
apart from real submissions, and are graded by the same nbgrader commands (see grade.py).

Each answer replaces the stub `# YOUR CODE HERE / raise NotImplementedError()`; an edit of
the scaffold around it (a loop bound, say) is given as (old, new) text replacements.
"""

import shutil
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .course import ASSIGNMENT, DEMO_SUBMITTED, NOTEBOOK, ROOT, course_exercises, release_dir

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

ZEROS = """\
parameters['W' + str(l)] = np.zeros((layers_dims[l], layers_dims[l - 1]))
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))"""
RANDOM = """\
parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))"""
HE = """\
parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))"""
# What a demo student types for one exercise: the answer, or (answer, [(old scaffold, new
# scaffold)]) when the student also changed the code around it.
Answer = str | tuple[str, list[tuple[str, str]]]
CORRECT: dict[str, Answer] = {"zeros": ZEROS, "random": RANDOM, "he": HE}


def _answers(**changes: Answer) -> dict[str, Answer]:
    """The correct answers, with some exercises answered differently."""
    return {**CORRECT, **changes}


# Student id -> exercise -> the typed answer, or (answer, [(old scaffold, new scaffold)]).
STUDENTS: dict[str, dict[str, Answer]] = {
    "demo-correct": _answers(),
    "demo-untouched": {},
    "demo-transposed": {
        "zeros": """\
parameters['W' + str(l)] = np.zeros((layers_dims[l - 1], layers_dims[l]))
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
        "random": """\
parameters['W' + str(l)] = np.random.randn(layers_dims[l - 1], layers_dims[l]) * 10
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
        "he": """\
parameters['W' + str(l)] = np.random.randn(layers_dims[l - 1], layers_dims[l]) * np.sqrt(2 / layers_dims[l - 1])
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
    },
    "demo-fixed-index": {
        "zeros": """\
parameters['W' + str(l)] = np.zeros((layers_dims[1], layers_dims[1 - 1]))
parameters['b' + str(l)] = np.zeros((layers_dims[1], 1))""",
        "random": """\
parameters['W' + str(l)] = np.random.randn(layers_dims[1], layers_dims[1 - 1]) * 10
parameters['b' + str(l)] = np.zeros((layers_dims[1], 1))""",
        "he": """\
parameters['W' + str(l)] = np.random.randn(layers_dims[1], layers_dims[1 - 1]) * np.sqrt(2 / layers_dims[1 - 1])
parameters['b' + str(l)] = np.zeros((layers_dims[1], 1))""",
    },
    "demo-uniform-rand": _answers(
        random="""\
parameters['W' + str(l)] = np.random.rand(layers_dims[l], layers_dims[l - 1]) * 10
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
        he="""\
parameters['W' + str(l)] = np.random.rand(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
    ),
    "demo-small-random": _answers(
        random="""\
parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
    ),
    "demo-xavier": _answers(
        he="""\
parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(1 / layers_dims[l - 1])
parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))""",
    ),
    "demo-random-biases": _answers(
        random="""\
parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10
parameters['b' + str(l)] = np.random.randn(layers_dims[l], 1)""",
        he="""\
parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])
parameters['b' + str(l)] = np.random.randn(layers_dims[l], 1)""",
    ),
    "demo-skip-last-layer": _answers(
        he=(HE, [("for l in range(1, L + 1):", "for l in range(1, L):")]),
    ),
}


# How the formgrader and exports name each demo student: (first name, last name).
NAMES = {
    "demo-correct": ("Demo", "Correct answers"),
    "demo-untouched": ("Demo", "Untouched release"),
    "demo-transposed": ("Demo", "Transposed weights"),
    "demo-fixed-index": ("Demo", "layers_dims[1] for layers_dims[l]"),
    "demo-uniform-rand": ("Demo", "rand for randn"),
    "demo-small-random": ("Demo", "Random scaled by 0.01"),
    "demo-xavier": ("Demo", "Xavier for He"),
    "demo-random-biases": ("Demo", "Random biases"),
    "demo-skip-last-layer": ("Demo", "Last layer skipped"),
}


def fill(notebook: NotebookNode, answers: dict[str, Answer]) -> NotebookNode:
    """Type the answers into a copy of the release notebook (an nbformat node)."""
    nb = nbformat.from_dict(notebook)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for exercise, answer in answers.items():
        lines, edits = answer if isinstance(answer, tuple) else (answer, [])
        cell = by_id[course_exercises("answer_cell")[exercise]]
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


def build(root: Path = ROOT, students: dict[str, dict[str, Answer]] = STUDENTS) -> Path:
    """Write demo/submitted/<student>/initialization/Initialization.ipynb for every student."""
    release = nbformat.read(release_dir(root) / NOTEBOOK, as_version=4)
    out = root / DEMO_SUBMITTED
    if out.exists():
        shutil.rmtree(out)
    for student, answers in students.items():
        folder = out / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(fill(release, answers), folder / NOTEBOOK)
    return out


def prepare_gradebook(root: Path = ROOT) -> str:
    """The demo class's own gradebook (demo/gradebook.db): the assignment as the course's
    gradebook holds it, and the demo students with their names. Returns its URL."""
    from nbgrader.api import Gradebook
    from nbgrader.coursedir import CourseDirectory

    from .course import load_config
    from .grading.bundle import copy_assignment
    from .grading.settings import course_grading

    config = load_config(Path(root) / "demo")
    coursedir = CourseDirectory(config=config)
    source_db = course_grading(config).assignment_db_url
    copy_assignment(source_db, coursedir.db_url, coursedir, ASSIGNMENT)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        for student, (first, last) in NAMES.items():
            gb.update_or_create_student(student, first_name=first, last_name=last)
    return str(coursedir.db_url)
