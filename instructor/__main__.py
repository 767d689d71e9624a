"""Entry point: `python -m instructor COMMAND [options]`; each command is a module of
instructor/commands/."""

import importlib
import os
import sys

from .commands import COMMANDS
from .course import NotACourse


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m instructor COMMAND [options]\n\ncommands:")
        for name, text in COMMANDS.items():
            print(f"  {name:<10} {text}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    # imported here, and the command's module last: prepare_process() must run before anything
    # imports nbformat (its schema's parsers, built at import: 0.9 s less to start, startup.py)
    from .grading.startup import prepare_process

    prepare_process()  # before anything imports nbformat: 0.9 s less to start (startup.py)
    from .course import scripts_first  # after prepare_process, as every module of the package

    scripts_first(os.environ)  # nbgrader runs `alembic` and `jupyter` from PATH: this env's
    module = importlib.import_module(f"instructor.commands.{argv[0]}")
    try:
        code: int = module.main(argv[1:])
    except NotACourse as error:  # the course or the assignment the options name is none
        print(error)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
