"""Entry point: `python -m instructor COMMAND [options]`; each command is a module here."""

import importlib
import os
import sys

COMMANDS = {
    "release": "regenerate release/ from source/ (or --check that it is in sync)",
    "demo": "rebuild the demo class from the release",
    "grade": "grade every submission: sandboxed, re-checked, in parallel on Dask (nbgrader underneath)",
    "scores": "print every student's score per exercise from the gradebook",
    "lab": "JupyterLab on localhost: `lab student` (a copy of the release) or `lab instructor`",
    "report": "write the class report (scores.csv, report.html) to reports/initialization/",
    "watch": "grade each submission as it arrives and release its feedback (a service)",
    "roster": "`roster import FILE`: a Canvas roster (gradebook CSV) into nbgrader's student table",
    "exchange": "`exchange init|check`: the exchange's folders, made so that students cannot subvert it",
    "gradebook": "`gradebook backup|restore FILE`: the gradebook copied while in use, and put back",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m instructor COMMAND [options]\n\ncommands:")
        for name, text in COMMANDS.items():
            print(f"  {name:<10} {text}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    from .grading.startup import prepare_process

    prepare_process()  # before anything imports nbformat: 0.9 s less to start (startup.py)
    from .course import scripts_first

    scripts_first(os.environ)  # nbgrader runs `alembic` and `jupyter` from PATH: this env's
    module = importlib.import_module(f"instructor.{argv[0]}")
    code: int = module.main(argv[1:])
    return code


if __name__ == "__main__":
    sys.exit(main())
