"""`python -m instructor scores`: every student's score per exercise, from the gradebook."""

import argparse
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .course import ASSIGNMENT, EXERCISES, NOTEBOOK, ROOT

NOTEBOOK_ID = NOTEBOOK.removesuffix(".ipynb")


def db_url(root=ROOT):
    return f"sqlite:///{root / 'gradebook.db'}"


def read_scores(root=ROOT, students=None):
    """{student: {exercise: score, ...}} for every graded submission of the assignment.

    A student whose notebook was not graded is left out; students restricts the result to
    the given ids.
    """
    scores = {}
    if not (Path(root) / "gradebook.db").exists():
        return scores  # nothing graded yet (opening the gradebook would create it)
    with Gradebook(db_url(root)) as gb:
        try:
            assignment = gb.find_assignment(ASSIGNMENT)
        except MissingEntry:
            return {}
        for submission in assignment.submissions:
            student = submission.student_id
            if students and student not in students:
                continue
            try:
                notebook = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, student)
            except MissingEntry:
                continue
            grades = {g.name: g.score for g in notebook.grades}
            if not any(grades.get(cell) is not None for cell in EXERCISES.values()):
                continue
            scores[student] = {name: grades.get(cell) for name, cell in EXERCISES.items()}
    return dict(sorted(scores.items()))


def max_scores(root=ROOT):
    """{exercise: points} as recorded in the gradebook by generate_assignment."""
    with Gradebook(db_url(root)) as gb:
        notebook = gb.find_notebook(NOTEBOOK_ID, ASSIGNMENT)
        points = {cell.name: cell.max_score for cell in notebook.grade_cells}
    return {name: points[cell] for name, cell in EXERCISES.items()}


def table(scores, maxima):
    """The scores as aligned text lines, with a header and the maximum points."""
    names = list(EXERCISES)
    width = max([len("student")] + [len(s) for s in scores])
    header = f"{'student':<{width}}  " + "  ".join(f"{n:>7}" for n in names) + "    total"
    lines = [header, "-" * len(header)]
    for student, row in scores.items():
        cells = ["      -" if row[n] is None else f"{row[n]:>7g}" for n in names]
        total = sum(row[n] or 0 for n in names)
        lines.append(f"{student:<{width}}  " + "  ".join(cells) + f"  {total:>7g}")
    total_max = sum(maxima.values())
    lines.append(
        f"{'(out of)':<{width}}  "
        + "  ".join(f"{maxima[n]:>7g}" for n in names)
        + f"  {total_max:>7g}"
    )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m instructor scores", description=__doc__.splitlines()[0]
    )
    parser.add_argument("students", nargs="*", help="student ids (default: everyone graded)")
    args = parser.parse_args(argv)
    scores = read_scores(students=set(args.students))
    if not scores:
        print("No graded submissions in the gradebook yet.")
        return 1
    print("\n".join(table(scores, max_scores())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
