"""`python -m instructor demo`: rebuild the demo class from the student release.

    python -m instructor demo [--course DIR] [--assignment NAME]

The demo class is a set of synthetic students, each the release notebook with answers typed
into its answer cells, as a student would type them: one correct student, one who submitted
the untouched release, and one per typical mistake (the course's data on the assignment,
assignments/<assignment>.toml, [demo], says what each types: instructor/demo.py). They live in
demo/submitted/, apart from real submissions, with a gradebook of their own, and are graded by
the same commands (`python -m instructor grade --demo`).
"""

from ..demo import build, prepare_gradebook
from ..grading.bundle import BundleError
from . import add_course_options, assignment_in, command_parser, course_of


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("demo", __doc__)
    add_course_options(parser)
    args = parser.parse_args(argv)
    root = course_of(args)
    assignment = assignment_in(root, args)
    out, count = build(root, assignment)
    try:
        prepare_gradebook(root, assignment)
    except BundleError as error:
        print(f"The demo class is written, but its gradebook is not ready: {error}.")
        return 1
    print(f"Demo class of {count} students written to {out.relative_to(root)}/")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
