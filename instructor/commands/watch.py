"""`python -m instructor watch`: grade each submission minutes after it is submitted.

    python -m instructor watch [--course DIR] [--scheduler ADDRESS | --workers N] [--once]
    python -m instructor watch --status [--course DIR]
    python -m instructor watch --help-policy | --help-all

A long-running service for the course (`make watch`): it watches the exchange's inbound
folder, collects each new submission of a released assignment (the latest per student, with
nbgrader's owner check as configured), grades it with the course's grading engine on a Dask
cluster (a local one by default, or --scheduler), and releases that student's feedback, which
`nbgrader fetch_feedback` and the Assignments tab of JupyterLab deliver. It prints one line
per step of each submission: received, graded with the score, fed back, or failed (or
rejected) with the reason. The policy (attempt limit, cooldown, what feedback shows before the
due date) is set in nbgrader_config.py as c.GradeOnSubmit.<option> (instructor/watch/policy.py);
the limits of each submission and the course's grading options as c.GradingLimits.<option> and
c.CourseGrading.<option> (instructor/grading/settings.py), or with the options made from them
here (--memory N, --GradingLimits.memory_mb=N, ...). --help-all prints every option.

Its lines also go to its own log, watch.log in the course's reports folder (reports/ unless
c.CourseGrading.reports_directory says otherwise), which the instructor can read wherever the
service runs (under JupyterHub its output goes to the hub's log, root's). `--status` says
whether the service runs, what it graded last and what waits (status.py).

Stop it with Ctrl-C or SIGTERM: the gradings in flight finish (or, after
c.GradeOnSubmit.drain_seconds or a second Ctrl-C, are abandoned); whatever arrived while it was
stopped is graded when it starts again, and nothing is graded twice (instructor/watch/journal.py).
"""

import argparse
import sys

from ..grading.settings import CourseGrading, GradingLimits, add_options
from ..watch.policy import GradeOnSubmit
from . import add_course_options, add_route_options, command_parser, course_of

# The settings the command line may give, each an option made from its trait.
SETTINGS = (GradingLimits, CourseGrading, GradeOnSubmit)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = command_parser("watch", __doc__)
    add_course_options(parser, assignment=False)
    add_route_options(parser)
    parser.add_argument(
        "--once",
        action="store_true",
        help="handle what is in the inbound folder now, then stop (e.g. from cron)",
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help="say whether the service runs on the course, what it graded last and what waits, "
        "and stop (exit code 0 when it runs, 3 when it does not)",
    )
    parser.add_argument(
        "--help-policy",
        action="store_true",
        help="print the policy's options (c.GradeOnSubmit.<option> in nbgrader_config.py), "
        "with their defaults and help, and stop",
    )
    add_options(parser, *SETTINGS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.help_policy:
        print(GradeOnSubmit.class_config_section())
        return 0
    # imported here: --help-policy (above) answers at once, without Dask and the engine
    from ..course import load_config
    from ..exchange.layout import ExchangeError
    from ..exchange.make import require_safe
    from ..grading.cluster_security import SchedulerRefused
    from ..grading.dispatch import DaskRunner
    from ..grading.session import reports_base
    from ..grading.settings import SettingsError, apply_options, check, course_grading
    from ..watch.service import Service
    from ..watch.status import LOG_FILE, ServiceLog, StatusFile, report

    course = course_of(args)
    config = load_config(course)
    apply_options(args, config, *SETTINGS)  # over nbgrader_config.py, as nbgrader's options
    try:
        check(config, SETTINGS)
    except SettingsError as error:
        print(f"Not started. {error}", flush=True)
        return 1
    if args.status:
        running, lines = report(config)
        print("\n".join(lines))
        return 0 if running else 3
    log = ServiceLog(reports_base(config) / LOG_FILE)

    def say(line: str) -> None:
        print(line, flush=True)
        log.write(line)

    try:  # a scheduler that cannot be used safely is refused before anything starts
        runner = DaskRunner(args.scheduler, args.workers, grading=course_grading(config))
    except SchedulerRefused as error:
        say(f"Not started. {error}")
        return 1
    try:  # students must not be able to subvert the exchange it serves
        require_safe(config, course=course)
    except ExchangeError as error:
        say(f"Not started. {error}")
        return 1
    try:
        runner.__enter__()
    except (OSError, TimeoutError) as error:
        where = (
            f"the Dask scheduler at {args.scheduler}" if args.scheduler else "a local Dask cluster"
        )
        say(f"Not started. {where} could not be used ({error}).")
        return 1
    status = StatusFile(reports_base(config), runner.description, log.path)
    status.write()
    try:
        service = Service(config, runner, log=say)
        for line in service.prepare():
            say(line)
        service.warm_up()
        say(
            f"watching {service.inbound} for {', '.join(sorted(service.released())) or 'no released assignment yet'}; "
            f"grading {runner.description}"
        )
        service.run(once=args.once)
    finally:
        status.stop()
        runner.__exit__(None, None, None)
    say("stopped")
    return 0
