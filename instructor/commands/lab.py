"""`python -m instructor lab student|instructor`: the course in JupyterLab, as people use it.

    student      copies the release to a student work folder (student-work/ASSIGNMENT/ by
                 default; a student's files already there are kept, never overwritten) and
                 opens JupyterLab there, with nbgrader's Validate button only
    student --exchange
                 a student who works through the course's exchange, as on a shared server:
                 JupyterLab in student-exchange/ (or --dir) with nbgrader's Assignments tab
                 (fetch, submit, fetch feedback; the grade-on-submit service, `python -m
                 instructor watch`, grades what is submitted) and the Validate button
    instructor   opens JupyterLab at the course root with nbgrader's instructor tools: the
                 Formgrader, the assignment and course lists and the Create Assignment panel;
                 the Formgrader's pages run their own scripts only (instructor/formgrader.py)

JupyterLab listens on 127.0.0.1 only, behind a token (a random one unless --token is given),
opens no browser and tries no network of its own (no news, no update check). The URL to open,
token included, is printed; Ctrl+C stops JupyterLab and its kernels, on Linux, macOS and Windows
(instructor/lab.py).
"""

import signal
import sys

from ..course import NotACourse
from ..lab import (
    DEFAULT_PORT,
    HOST,
    STUDENT_EXCHANGE_WORK,
    STUDENT_WORK,
    Lab,
    LabError,
    start_exchange_student,
    start_instructor,
    start_student,
)
from . import add_course_options, assignment_in, command_parser, course_of


def describe_student_copy(work, copied, kept):
    """One or two lines about what the student's folder now holds."""
    lines = [f"Student work folder: {work}"]
    if copied:
        lines.append("  copied from the release: " + ", ".join(copied))
    if kept:
        lines.append("  kept as they were (never overwritten): " + ", ".join(kept))
    return "\n".join(lines)


def serve_until_stopped(lab: Lab) -> int:
    """Wait for Ctrl+C (or SIGTERM, or the terminal closing), or for the server to end;
    then stop it."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    for name in ("SIGTERM", "SIGHUP", "SIGBREAK"):  # SIGHUP: not on Windows; SIGBREAK: only there
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: sys.exit(0))
    try:
        return int(lab.process.wait())
    except KeyboardInterrupt:
        print("\nStopping JupyterLab...")
        return 0
    finally:
        lab.stop()


def main(argv: list[str] | None = None) -> int:
    parser = command_parser("lab", __doc__, epilog=True)
    parser.add_argument("mode", choices=["student", "instructor"])
    parser.add_argument(
        "--port", type=int, help=f"port on {HOST} (default: {DEFAULT_PORT} if free)"
    )
    parser.add_argument("--token", help="the access token (default: a new random one)")
    parser.add_argument(
        "--dir", help=f"the student work folder (default: {STUDENT_WORK}/ASSIGNMENT/)"
    )
    parser.add_argument(
        "--exchange",
        action="store_true",
        help=f"student: work through the course's exchange with nbgrader's Assignments tab "
        f"(default folder: {STUDENT_EXCHANGE_WORK}/)",
    )
    add_course_options(parser)
    args = parser.parse_args(argv)
    try:
        root = course_of(args)
        if args.mode == "student" and args.exchange:
            lab = start_exchange_student(root, work=args.dir, port=args.port, token=args.token)
            print(
                f"Student folder: {lab.root_dir} (Nbgrader > Assignment List: fetch, submit, fetch feedback)"
            )
        elif args.mode == "student":
            lab, copied, kept = start_student(
                root, assignment_in(root, args), work=args.dir, port=args.port, token=args.token
            )
            print(describe_student_copy(lab.root_dir, copied, kept))
        else:
            lab = start_instructor(root, port=args.port, token=args.token)
            print(f"Course root: {lab.root_dir}")
            print(f"Formgrader:  {lab.formgrader_url()}")
    except (LabError, NotACourse) as error:
        print(error)
        return 1
    except KeyboardInterrupt:
        print("\nStopped before JupyterLab was ready.")
        return 130
    print(f"JupyterLab:  {lab.start_url()}")
    print("Open that address in a browser on this machine; Ctrl+C stops JupyterLab.")
    sys.stdout.flush()
    return serve_until_stopped(lab)


if __name__ == "__main__":
    import sys

    sys.exit(main())
