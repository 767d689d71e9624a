"""`python -m instructor release`: regenerate the student release from the source notebook.

nbgrader generate_assignment strips the solutions and the hidden tests, locks the read-only
cells and copies the helper modules (source/initialization links to the top-level files), so
release/initialization/ is complete on its own. Before anything is written, the source
notebook is graded as a submission in a temporary copy of the course: a release whose own
solutions do not earn full marks is refused (grading/reference.py; the run also sets the
default time limits of grading). When the source marks cells a grading may skip (`"grading":
{"skip": ...}` in their metadata, grading/needed.py), it is graded both ways, on the cells its
grade needs and whole, and a mark that a test depends on is refused, with the cell named. With --check nothing is written: the release is generated in a temporary
copy and compared with the committed one.
"""

import shutil

from ..course import demo_root, release_folder
from ..demo import prepare_gradebook
from ..grading.bundle import BundleError
from ..grading.reference import ReferenceRunError
from ..grading.session import CannotGrade
from ..lab import LabError, ensure_exchange
from ..release import (
    ReleaseError,
    check_solutions,
    differences,
    generate,
    generate_in_copy,
    keep_reference,
)
from . import add_course_options, assignment_in, command_parser, course_of


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("release", __doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check that the course's release is what the source generates now",
    )
    add_course_options(parser)
    args = parser.parse_args(argv)
    root = course_of(args)
    assignment = assignment_in(root, args)
    if args.check:
        tmp, fresh = generate_in_copy(root, assignment)
        try:
            diff = differences(fresh, release_folder(root, assignment))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if diff:
            print(
                "The release is out of date; run `python -m instructor release`. Differs: "
                + ", ".join(diff)
            )
            return 1
        print("The release is what the source generates.")
        return 0
    try:
        ensure_exchange(root)  # the exchange checked (the course's own: made), before anything
        reference = check_solutions(root, assignment)
        out = generate(root, assignment)
    except (ReleaseError, ReferenceRunError, BundleError, LabError, CannotGrade) as error:
        print(f"The release was not regenerated; the previous one is unchanged. {error}")
        return 1
    keep_reference(reference, root, assignment)
    if (demo_root(root) / "nbgrader_config.py").is_file():
        prepare_gradebook(root, assignment)  # the demo class's gradebook gets it too
    whole = reference.get("whole_notebook")
    ran = (
        f"the same on the cells the grade needs, without the {len(reference['skipped'])} marked "
        f"cells, as on the whole notebook: {reference['total_seconds']:g} s to run instead of "
        f"{whole['total_seconds']:g} s"
        if whole
        else f"{reference['total_seconds']:g} s to run"
    )
    print(
        f"The source's solutions earn full marks ({ran}). "
        f"Release written to {out.relative_to(root)}: "
        + ", ".join(sorted(p.name for p in out.iterdir()))
    )
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
