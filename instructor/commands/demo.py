"""`python -m instructor demo`: rebuild the demo class from the student release.

The demo class is a set of synthetic students, each the release notebook with answers typed
into the three answer cells, as a student would type them: one correct student, one who
submitted the untouched release, and one per typical mistake. They live in demo/submitted/,
apart from real submissions, and are graded by the same nbgrader commands (see grade.py).

Each answer replaces the stub `# YOUR CODE HERE / raise NotImplementedError()`; an edit of
the scaffold around it (a loop bound, say) is given as (old, new) text replacements.
"""

import argparse

from ..course import ROOT
from ..demo import STUDENTS, build, prepare_gradebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m instructor demo", description=__doc__.splitlines()[0]
    )
    parser.parse_args(argv)
    from ..grading.bundle import BundleError

    out = build()
    try:
        prepare_gradebook()
    except BundleError as error:
        print(f"The demo class is written, but its gradebook is not ready: {error}.")
        return 1
    print(f"Demo class of {len(STUDENTS)} students written to {out.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
