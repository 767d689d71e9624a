"""`python -m instructor scores`: every student's score per exercise, from the gradebook."""

import argparse

from nbgrader.coursedir import CourseDirectory

from ..course import ASSIGNMENT, ROOT, load_config
from ..scores import print_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m instructor scores", description=__doc__.splitlines()[0]
    )
    parser.add_argument("students", nargs="*", help="student ids (default: everyone graded)")
    parser.add_argument("--demo", action="store_true", help="the demo class's gradebook")
    parser.add_argument("--assignment", default=ASSIGNMENT, help=f"default: {ASSIGNMENT}")
    args = parser.parse_args(argv)
    from ..course import DEMO_CONFIG_DIR

    config = load_config(DEMO_CONFIG_DIR if args.demo else ROOT)
    return print_table(CourseDirectory(config=config), args.students, args.assignment)


if __name__ == "__main__":
    import sys

    sys.exit(main())
