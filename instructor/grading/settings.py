"""The course's grading settings, as nbgrader's own options are: traitlets traits with their help.

    c.GradingLimits.<option>   the bounds on each submission's code (sandbox/limits.py)
    c.CourseGrading.<option>   where grading writes, which cells it runs, which gradebook
                               holds the assignment

Each option is described once, in its trait's help. `python -m instructor grade` and
`python -m instructor watch` make their command-line options from these traits (`add_options`:
the option's name, type, default and help), and write what is given there into the loaded
configuration, as nbgrader's `--Class.option=value` does, so that the engine reads one thing:
the configuration. `--help-all` prints every option with its nbgrader_config.py spelling.

A value that is not an option's type, is out of its range, or names no option (a typing slip
such as c.GradingLimits.memory = 4096) is refused with a one-line message that names it
(`SettingsError`), rather than ignored or turned into a traceback later.

`GradingLimits.limits()` builds the one typed record of the limits, the sandbox's Limits (whose
defaults are the options' defaults here), which goes on to the sandbox as it is (sandbox/limits.py).
This module imports only traitlets and that record: the worker may import it cheaply.
"""

from __future__ import annotations

import argparse
import difflib
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from traitlets import Bool, Enum, Float, Integer, TraitError, TraitType, Unicode, validate
from traitlets.config import Config, Configurable

from .sandbox.limits import REQUESTS, Limits

# The default time limits, derived from the reference run (reference.py): a few times what the
# source notebook takes on this machine, with a floor.
CELL_FLOOR, CELL_FACTOR = 10.0, 5.0
NOTEBOOK_FLOOR, NOTEBOOK_FACTOR = 60.0, 5.0
VERIFY_FLOOR, VERIFY_FACTOR = 10.0, 5.0
TIME_LIMITS = ("cell_timeout", "notebook_timeout", "verify_timeout")


class SettingsError(ValueError):
    """A setting of c.GradingLimits or c.CourseGrading is refused; the message names it."""


class GradingLimits(Configurable):
    """The bounds on each submission's code: time, memory, processes, files, output, disk.

    Every bound ends in a defined score and a reason, never in a grader that hangs or dies. The
    time limits are derived from the reference run unless set; the others default to the
    sandbox's Limits."""

    cell_timeout = Float(
        None,
        allow_none=True,
        help="Seconds one cell may run before it is interrupted; an interrupted test cell "
        "scores zero (nbgrader's Execute.timeout, for grading). Not set (the default): each "
        f"cell gets max({CELL_FLOOR:g}, {CELL_FACTOR:g} x its time in the reference run), the "
        "source notebook graded on this machine (grading/reference.py); a cell without a "
        f"reference time gets {CELL_FLOOR:g}. Set, it is the limit of every cell.",
    ).tag(config=True, flag="--cell-timeout", metavar="N")
    notebook_timeout = Float(
        None,
        allow_none=True,
        help="Seconds the whole notebook may run: when reached, the kernel is stopped and the "
        "cells not run yet score zero; also the CPU-time limit of each of its processes. Not "
        f"set (the default): max({NOTEBOOK_FLOOR:g}, {NOTEBOOK_FACTOR:g} x the reference run's "
        "total), counting the cells that run (the whole run's total for a submission that "
        "must run whole).",
    ).tag(config=True, flag="--notebook-timeout", metavar="N")
    verify_timeout = Float(
        None,
        allow_none=True,
        help="Seconds the clean re-check of one answer may take (grading/recheck/). Not set "
        f"(the default): max({VERIFY_FLOOR:g}, {VERIFY_FACTOR:g} x the reference run's re-check "
        "per exercise).",
    ).tag(config=True, flag="--verify-timeout", metavar="N")
    memory_mb = Integer(
        Limits.memory_mb,
        help="MB of memory (address space) of each process of a submission; a larger "
        "allocation raises MemoryError in the student's code.",
    ).tag(config=True, flag="--memory", metavar="N")
    max_procs = Integer(
        Limits.max_procs,
        help="Processes and threads a submission's code may have at once (the limit does not "
        "bind root under isolation 'limits').",
    ).tag(config=True, flag="--max-procs", metavar="N")
    max_file_mb = Integer(
        Limits.max_file_mb, help="MB of the largest file a submission's code may write."
    ).tag(config=True, flag="--max-file-size", metavar="N")
    max_output_mb = Float(
        Limits.max_output_mb,
        help="MB of output the notebook may print or display in all; past it the output is "
        "dropped (results and errors are kept), that cell is interrupted and the later cells "
        "run without their printed output; a kernel that goes on printing (in the interrupted "
        "cell, or as much again later) is stopped.",
    ).tag(config=True, flag="--max-output", metavar="N")
    max_disk_mb = Integer(
        Limits.max_disk_mb,
        help="MB of the private /tmp, and of the working folder, of an isolated submission.",
    ).tag(config=True, flag="--max-disk", metavar="N")
    isolation = Enum(
        REQUESTS,
        Limits.isolation,
        help="How student code is kept from the course: 'auto': Linux namespaces where the "
        "system allows them, else Landlock and seccomp, else grading refuses to run student "
        "code and says how to fix the machine (sandbox/modes.py); 'namespaces' or 'landlock': "
        "that one, or the same refusal; 'limits': resource limits only, no isolation, never "
        "chosen by 'auto', and every grade made so says so (the security model: docs/administrators.md).",
    ).tag(config=True, flag="--isolation")
    zygote = Bool(
        Limits.zygote,
        help="Start kernels from a process that imported the kernel and the modules the "
        "assignment's course file preloads (assignments/<assignment>.toml, [grading] preload) "
        "once; each kernel is still a fresh process of its own. False: start every kernel as "
        "a new interpreter.",
    ).tag(config=True, flag="--no-zygote")

    @validate(
        "cell_timeout", "notebook_timeout", "verify_timeout", "memory_mb", "max_procs",
        "max_file_mb", "max_output_mb", "max_disk_mb",
    )  # fmt: skip
    def _positive(self, proposal: Mapping[str, Any]) -> Any:
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError("must be more than 0")
        return value

    def limits(self) -> Limits:
        """The Limits these settings ask for: each option as set, and for a time limit not
        set, Limits' default, which bounds the reference run and which the limits derived from
        it replace (`derived`). The isolation is what is asked for, "auto" included: the
        session decides it."""
        given = {name: getattr(self, name) for name in self.trait_names(config=True)}
        return Limits().replace(**given)

    def derived(self) -> frozenset[str]:
        """The time limits the reference run derives: those these settings do not set."""
        return frozenset(name for name in TIME_LIMITS if getattr(self, name) is None)


class CourseGrading(Configurable):
    """Where grading writes, which cells it runs, and which gradebook holds the assignment."""

    reports_directory = Unicode(
        "",
        help="The folder of the grading's own files and the class report: "
        "<folder>/<assignment>/ holds the ledger (grading.json), the reference run "
        "(reference.json), the grade-on-submit journal, the Canvas collection summary and the "
        "report. Empty (the default): reports/ in the course root.",
    ).tag(config=True)
    run_whole_notebook = Bool(
        False,
        help="Run every cell of each submission, the trainings and plots included, as nbgrader "
        "does: for a course that wants the grader's own plots in the feedback; each submission "
        "then costs a whole run of the notebook. False (the default): a notebook whose source "
        'marks cells that its grade does not depend on (`"grading": {"skip": ...}` in their '
        "metadata) is graded on the other cells alone, with the same scores, flags and notes "
        "(grading/needed.py).",
    ).tag(config=True)
    assignment_db_url = Unicode(
        "",
        help="A gradebook (database URL) whose definition of the assignment is copied into the "
        "course's gradebook (c.CourseDirectory.db_url) before grading: for a class kept apart "
        "with a gradebook of its own, such as the demo class, which takes the assignment from "
        "the course's. Empty (the default): the course's gradebook holds it.",
    ).tag(config=True)
    tls_ca_file = Unicode(
        "",
        help="For --scheduler tls://HOST:PORT, an existing Dask cluster: the certificate (PEM) "
        "of the authority that signed the cluster's certificates, or the cluster's own "
        "self-signed certificate. The scheduler must show a certificate it signed, and accepts "
        "only clients that show one (--tls-cert). A relative path is read from the folder the "
        "command runs in. Not used by the local cluster, which makes its own for each run.",
    ).tag(config=True, flag="--tls-ca-file", metavar="FILE")
    tls_cert = Unicode(
        "",
        help="For --scheduler tls://...: the certificate (PEM) this command shows the "
        "scheduler, signed by the authority of --tls-ca-file.",
    ).tag(config=True, flag="--tls-cert", metavar="FILE")
    tls_key = Unicode(
        "",
        help="For --scheduler tls://...: the private key (PEM) of --tls-cert, in a file no "
        "other account can read (grading refuses one that others can read: whoever holds it "
        "can run code on the cluster's workers).",
    ).tag(config=True, flag="--tls-key", metavar="FILE")
    plain_tcp_scheduler = Bool(
        False,
        help="Grade on a --scheduler tcp://HOST:PORT, without TLS. Such a cluster runs the "
        "code of whoever reaches its port, and sees every submission sent to it: only for a "
        "cluster that nothing else can reach (its own private network). False (the default): "
        "a tcp:// scheduler is refused, and tls:// with --tls-ca-file, --tls-cert and "
        "--tls-key is the way.",
    ).tag(config=True, flag="--plain-tcp-scheduler")


C = TypeVar("C", bound=Configurable)


def read(cls: type[C], config: Config) -> C:
    """cls's settings in this configuration, checked; SettingsError names a refused one."""
    section = config.get(cls.__name__, {})
    known = set(cls.class_trait_names(config=True))
    for name in section:
        if name not in known and not name[:1].isupper():  # an upper-case key is a subsection
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean c.{cls.__name__}.{close[0]}?)" if close else ""
            raise SettingsError(
                f"c.{cls.__name__}.{name} is not an option{hint}; the options are "
                + ", ".join(sorted(known))
            )
    try:
        return cls(config=config)
    except TraitError as error:
        for name in known & set(section):  # which one: each alone
            try:
                cls(config=Config({cls.__name__: {name: section[name]}}))
            except TraitError as alone:
                raise SettingsError(
                    f"c.{cls.__name__}.{name} = {section[name]!r} is refused: {reason(alone)}"
                ) from None
        raise SettingsError(f"c.{cls.__name__}: {reason(error)}") from None


def reason(error: TraitError) -> str:
    """traitlets' message, without the words that name the trait and the class (the caller
    names them as nbgrader_config.py spells them)."""
    return re.sub(r"^The '\w+' trait of an? \w+ instance ", "", str(error)).rstrip(".")


def grading_limits(config: Config) -> GradingLimits:
    """c.GradingLimits of the configuration, checked."""
    return read(GradingLimits, config)


def course_grading(config: Config) -> CourseGrading:
    """c.CourseGrading of the configuration, checked."""
    return read(CourseGrading, config)


def check(config: Config, classes: Iterable[type[Configurable]] = ()) -> None:
    """Read every setting of these classes (GradingLimits and CourseGrading by default) once,
    so that a command refuses a bad one before it starts; SettingsError otherwise."""
    for cls in tuple(classes) or (GradingLimits, CourseGrading):
        read(cls, config)


# --- The command line, made from the traits ---------------------------------------------------


def _spelling(cls: type[Configurable], name: str) -> str:
    return f"c.{cls.__name__}.{name}"


def _kind(trait: TraitType[Any, Any]) -> str:
    if isinstance(trait, Enum):
        return " | ".join(repr(v) for v in trait.values or ())
    return {Float: "a number", Integer: "an integer", Bool: "True or False", Unicode: "a string"}[
        next(t for t in (Bool, Integer, Float, Unicode) if isinstance(trait, t))
    ]


def _default(trait: TraitType[Any, Any]) -> str:
    return repr(trait.default_value)


def _converter(
    cls: type[Configurable], name: str, trait: TraitType[Any, Any]
) -> Callable[[str], Any]:
    """The argparse type of an option: the string read as the trait's type (int, float, a
    boolean, str), then the trait's own validation (its range, its choices); a refusal becomes
    argparse's one-line error naming the option."""
    base: Callable[[str], Any]
    if isinstance(trait, Bool):
        base = _boolean
    elif isinstance(trait, Integer):
        base = int
    elif isinstance(trait, Float):
        base = float
    else:
        base = str

    def convert(text: str) -> Any:
        value = base(text)
        try:
            cls(**{name: value})
        except TraitError as error:
            raise argparse.ArgumentTypeError(reason(error)) from None
        return value

    convert.__name__ = base.__name__  # argparse says "invalid int value: 'x'"
    return convert


def _boolean(text: str) -> bool:
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if text.strip().lower() not in words:
        raise ValueError(text)
    return words[text.strip().lower()]


_boolean.__name__ = "boolean"


def options_of(cls: type[Configurable]) -> dict[str, TraitType[Any, Any]]:
    """cls's configurable traits, in the order the class declares them."""
    traits = cls.class_traits(config=True)
    order = [name for klass in reversed(cls.__mro__) for name in vars(klass) if name in traits]
    return {name: traits[name] for name in dict.fromkeys(order)}


def add_options(parser: argparse.ArgumentParser, *classes: type[Configurable]) -> None:
    """The command-line options of these classes' traits: each trait tagged with a flag gets
    that option (--cell-timeout N), and every trait --Class.option=VALUE, nbgrader's spelling
    (shown by --help-all only). What is given is written into the configuration by
    `apply_options`; nothing given keeps nbgrader_config.py's value."""
    for cls in classes:
        options = options_of(cls)
        group: argparse._ActionsContainer = parser
        if any(trait.metadata.get("flag") for trait in options.values()):
            group = parser.add_argument_group(
                f"{cls.__name__}: also c.{cls.__name__}.<option> in nbgrader_config.py, or "
                f"--{cls.__name__}.<option>=VALUE (--help-all: every option)"
            )
        for name, trait in options.items():
            dest = f"{cls.__name__}.{name}"
            flag = trait.metadata.get("flag")
            if flag and isinstance(trait, Bool):  # --no-zygote: the opposite of the default
                group.add_argument(
                    flag, dest=dest, action="store_const", const=not trait.default_value,
                    help=_flag_help(cls, name, trait, set_to=not trait.default_value),
                )  # fmt: skip
            elif flag:
                group.add_argument(
                    flag,
                    dest=dest,
                    type=str if isinstance(trait, Enum) else _converter(cls, name, trait),
                    choices=list(trait.values or ()) if isinstance(trait, Enum) else None,
                    metavar=trait.metadata.get("metavar"),
                    help=_flag_help(cls, name, trait),
                )
            group.add_argument(
                f"--{dest}",
                dest=dest,
                type=_converter(cls, name, trait),
                metavar="VALUE",
                help=argparse.SUPPRESS,
            )
    parser.add_argument(
        "--help-all",
        action=_HelpAll,
        classes=classes,
        help="print every option of "
        + ", ".join(f"c.{cls.__name__}" for cls in classes)
        + ", with its help, its default and its nbgrader_config.py spelling, and stop",
    )


def _flag_help(
    cls: type[Configurable], name: str, trait: TraitType[Any, Any], set_to: object = None
) -> str:
    """A flag's help in --help: its nbgrader_config.py spelling, then the trait's help."""
    spelling = _spelling(cls, name) + ("" if set_to is None else f" = {set_to!r}")
    return f"({spelling}) {trait.help}".replace("%", "%%")


def apply_options(args: argparse.Namespace, config: Config, *classes: type[Configurable]) -> None:
    """Write the options given on the command line into the configuration (c.Class.option),
    over nbgrader_config.py's values, as nbgrader's own command line does."""
    for cls in classes:
        for name in cls.class_trait_names(config=True):
            value = getattr(args, f"{cls.__name__}.{name}", None)
            if value is not None:
                config[cls.__name__][name] = value


def help_all(classes: Iterable[type[Configurable]], width: int = 88) -> str:
    """Every option of these classes: its nbgrader_config.py spelling with the default, its
    command-line options, and its help."""
    lines: list[str] = []
    for cls in classes:
        doc = " ".join((cls.__doc__ or "").split())
        lines += ["", f"{cls.__name__}: c.{cls.__name__}.<option> in nbgrader_config.py"]
        lines += textwrap.wrap(doc, width, initial_indent="  ", subsequent_indent="  ")
        for name, trait in options_of(cls).items():
            flag = trait.metadata.get("flag")
            metavar = trait.metadata.get("metavar")
            options = ([f"{flag} {metavar}" if metavar else flag] if flag else []) + [
                f"--{cls.__name__}.{name}=VALUE"
            ]
            kind = _kind(trait) + (", or None: derived" if trait.default_value is None else "")
            lines += [
                "",
                f"  {_spelling(cls, name)} = {_default(trait)}    ({kind})",
                f"    on the command line: {', '.join(options)}",
            ]
            lines += textwrap.wrap(
                trait.help, width, initial_indent="    ", subsequent_indent="    "
            )
    return "\n".join(lines).lstrip("\n")


class _HelpAll(argparse.Action):
    """--help-all: argparse's help, then every option of the classes (help_all), then stop."""

    def __init__(
        self,
        option_strings: list[str],
        dest: str,
        classes: Iterable[type[Configurable]] = (),
        **kwargs: Any,
    ) -> None:
        self.classes = tuple(classes)
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, **kwargs
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(parser.format_help())
        print(
            "Every option, as set in nbgrader_config.py (the default shown) or on the command line:\n"
        )
        print(help_all(self.classes))
        parser.exit()
