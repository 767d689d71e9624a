"""What the tests type into the release: the course's demo answers and the assignment's
exercises, read once from the course as the tools read them (assignments/initialization.toml,
[demo], through instructor/demo.py; the source notebook's metadata, through
instructor/course.py)."""

from harness import ASSIGNMENT, ROOT

from instructor import demo
from instructor.course import exercises

fill = demo.fill
CORRECT = demo.correct_answers(ROOT, ASSIGNMENT)  # {exercise: what a correct student types}
ZEROS, RANDOM, HE = CORRECT["zeros"], CORRECT["random"], CORRECT["he"]
# {demo student: {exercise: answer}}, and their names as the Formgrader shows them
STUDENTS = {s.student: dict(s.answers) for s in demo.students(ROOT, ASSIGNMENT)}
NAMES = {s.student: s.name for s in demo.students(ROOT, ASSIGNMENT)}
EXERCISES = exercises(ROOT, ASSIGNMENT)  # {exercise: grade id of its test cell}
ANSWER_CELLS = exercises(ROOT, ASSIGNMENT, "answer_cell")  # {exercise: grade id of its answer}


def build_demo(root):
    """The demo class written into the course copy at root (demo/submitted/); its folder."""
    return demo.build(root, ASSIGNMENT)[0]
