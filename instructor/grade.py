"""`python -m instructor grade`: grade submissions with nbgrader autograde.

By default it grades the real submissions in submitted/; --demo grades the demo class in
demo/submitted/ instead (same assignment, same gradebook, student ids starting demo-).
Scores land in nbgrader's gradebook and the graded notebooks in autograded/, so the
formgrader, generate_feedback and export work as usual. It ends with the score table.
"""

import argparse
import sys

from . import scores as scores_module
from .course import ASSIGNMENT, DEMO_SUBMITTED, ROOT, nbgrader


def autograde(root=ROOT, demo=False, students=(), force=True):
    args = ["autograde", ASSIGNMENT]
    if demo:
        args.append(f"--CourseDirectory.submitted_directory={DEMO_SUBMITTED}")
    if len(students) == 1:
        args.append(f"--student={students[0]}")
    if force:
        args.append("--force")
    return nbgrader(*args, root=root, check=False, capture=True)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m instructor grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("students", nargs="*", help="student ids (default: all)")
    parser.add_argument(
        "--demo", action="store_true", help="grade the demo class in demo/submitted/"
    )
    args = parser.parse_args(argv)
    result = autograde(demo=args.demo, students=args.students)
    if result.returncode != 0:
        print(result.stdout)
        print("nbgrader autograde reported errors (above).")
    return scores_module.main(args.students) or result.returncode


if __name__ == "__main__":
    sys.exit(main())
