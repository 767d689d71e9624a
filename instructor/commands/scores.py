"""`python -m instructor scores`: every student's score per exercise, from the gradebook.

python -m instructor scores [STUDENT ...] [--demo] [--course DIR] [--assignment NAME]
"""

from nbgrader.coursedir import CourseDirectory

from ..course import demo_root, load_config
from ..scores import print_table
from . import add_course_options, assignment_in, command_parser, course_of


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("scores", __doc__)
    parser.add_argument("students", nargs="*", help="student ids (default: everyone graded)")
    parser.add_argument("--demo", action="store_true", help="the demo class's gradebook")
    add_course_options(parser)
    args = parser.parse_args(argv)
    root = course_of(args)
    assignment = assignment_in(root, args)
    config = load_config(demo_root(root) if args.demo else root)
    return print_table(CourseDirectory(config=config), args.students, assignment)


if __name__ == "__main__":
    import sys

    sys.exit(main())
