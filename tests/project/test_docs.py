"""Does every command of the README and of docs/ run as written, and every link lead somewhere?

A reader copies a command from the page they read: a misspelt option, a make target that was
renamed or a path that moved fails them at the first step. So every command is read from the
pages themselves, from their shell blocks (a fence without a language) and from the code spans
of their prose and tables, and checked against the code, cheaply (no command is run, only its
`--help`):

- `python -m instructor COMMAND ...`: the command exists, and every option it shows is in that
  command's `--help` (its real argparse parser, in this process);
- `make TARGET`: the Makefile has the target;
- `nbgrader SUB ...`: nbgrader has the subcommand (nested ones too: `db assignment add`), and
  every option it shows is one of that app's aliases or flags, or a `--Class.trait` of one of
  its classes;
- `python SCRIPT.py --option`: the script is in the tree and defines the option;
- `python -m MODULE`: the module can be imported from the course;
- `dask scheduler|worker ...`: every option it shows is one of the installed Dask's own
  command line (its click command, read in this process);
- a path of the repository named in a code span (`instructor/grading/needed.py`) exists, unless
  git ignores it (what a run writes: `reports/`, `demo/gradebook.db`, ...).

The output shown on a page (a table of scores, the service's log lines) is fenced as `text`, so
that every line of an untagged fence is a command. The canaries at the end prove that each
check reports a misspelling.
"""

import contextlib
import importlib.util
import io
import re
import shlex
import subprocess
from functools import cache

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def page_id(path):
    return str(path.relative_to(ROOT))


# ---------------------------------------------------------------------------------------
# Reading the commands of a page

FENCE = re.compile(r"^ *```([\w-]*)\n(.*?)^ *```", re.DOTALL | re.MULTILINE)

# The programs a shell block may start a line with: those checked below, and the system's and
# Python's own tools, which are left as they are (no course code behind them).
CHECKED = ("python", "python3", "py", "make", "nbgrader", "jupyter", "pip")
SYSTEM = (
    "cd",
    "mkdir",
    "cp",
    "git",
    "source",
    "sudo",
    "sqlite3",
    "groupadd",
    "usermod",
    "chmod",
    "chgrp",
    "setfacl",
    "sed",
    "createuser",
    "createdb",
    "apparmor_parser",
    "systemctl",
    "setsid",
    "kill",
    "openssl",
    "course-env\\Scripts\\activate",
)


def prose(text):
    """The page without its fenced blocks."""
    return FENCE.sub("", text)


def shell_lines(text):
    """Every command line of the page's untagged fences, its comment left out."""
    lines = []
    for language, body in FENCE.findall(text):
        if language:
            continue
        for line in body.splitlines():
            line = re.sub(r"\s#.*$", "", line).strip()
            if line:
                lines.append(line)
    return lines


def span_commands(text):
    """The commands written in the prose's and tables' code spans (a span may wrap a line)."""
    spans = [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", prose(text))]
    return [
        span for span in spans if re.match(r"(sudo )?(\.?venv/bin/)?(python|make|nbgrader) ", span)
    ]


def simple_commands(line):
    """One shell line as its simple commands: `a && b`, `a | b`, a `sudo` or an environment
    variable before each left out; a `|` inside `[...]` or within a word (`init|check`) is the
    prose's alternative, not a pipe."""
    commands = []
    line = re.sub(r"\[[^\]]*\]", lambda optional: optional.group().replace("|", " "), line)
    for part in re.split(r"&&|\|\||\s\|\s|;", line):
        words = part.split()
        while words and (words[0] == "sudo" or re.fullmatch(r"[A-Z_]+=\S*", words[0])):
            words = words[1:]
            if words[:2] == ["-u", "postgres"]:
                words = words[2:]
        if words:
            commands.append(" ".join(words))
    return commands


def commands_of(text):
    """Every simple command of the page, in its shell blocks and its code spans."""
    found = []
    for line in shell_lines(text) + span_commands(text):
        found.extend(simple_commands(line))
    return found


# ---------------------------------------------------------------------------------------
# Checking one command


def words_of(command):
    """The command's words, the placeholders of the prose left out: `...`, `[--option N]`'s
    brackets, and `a|b` alternatives split."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    out = []
    for word in words:
        word = word.strip("[]")
        if word in ("", "...", "|") or word.endswith("..."):
            continue
        out.extend(word.split("|") if "|" in word and not word.startswith("-") else [word])
    return out


def options(words):
    """The long options among the words, without their values."""
    return [word.split("=")[0] for word in words if word.startswith("--")]


def has_option(text, option):
    """Is the option in the text as a whole word (not the start of a longer option)?"""
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


@cache
def instructor_help(*subcommand):
    """What `python -m instructor SUBCOMMAND --help` prints: the real parser, in this process."""
    from instructor.__main__ import COMMANDS, main

    if subcommand and subcommand[0] not in COMMANDS:
        return None
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main([*subcommand, "--help"])
        except SystemExit:
            pass
    return out.getvalue()


def check_instructor(words):
    """`python -m instructor COMMAND [SUB] options`: the command and each option exist."""
    from instructor.__main__ import COMMANDS

    if not words or words[0].isupper():  # `python -m instructor COMMAND`
        return []
    if words[0] in ("-h", "--help"):
        return []
    if words[0] not in COMMANDS:
        return [f"`python -m instructor {words[0]}`: no such command (python -m instructor --help)"]
    help_text = instructor_help(words[0])
    problems = positional_problems(words[0], words[1:], help_text)
    if words[0] == "roster" and words[1:2] == ["import"]:
        help_text += instructor_help("roster", "import")
    return problems + [
        f"`python -m instructor {words[0]}`: no option {option} in its --help"
        for option in options(words[1:])
        if not has_option(help_text, option)
    ]


def is_option_without_value(token):
    """Is this token of a usage line an option still waiting for its value (`[--isolation`,
    whose `{auto,...}` follows), rather than a whole one (`[--replace]`)?"""
    return token.startswith(("--", "[--")) and not token.endswith("]")


def positional_problems(command, words, help_text):
    """The command's first positional word, when its usage offers a choice
    (`{student,instructor}`), must be one of the choices."""
    usage = help_text.split("\n\n", 1)[0]
    choices = [
        group.split(",")
        for before, group in re.findall(r"(\S*)\s*\{([\w,-]+)\}", usage)
        if not is_option_without_value(before)
    ]
    if not choices:
        return []
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word.startswith("-"):
            takes_value = re.search(rf"{re.escape(word.split('=')[0])}[ =][A-Z{{]", help_text)
            if takes_value and "=" not in word and rest:
                rest.pop(0)
            continue
        if word.isupper():  # a placeholder of the prose
            return []
        if word not in choices[0]:
            return [f"`python -m instructor {command} {word}`: not one of {', '.join(choices[0])}"]
        return []
    return []


@cache
def make_targets():
    text = (ROOT / "Makefile").read_text()
    return {
        target
        for line in re.findall(r"^([\w.$() -]+):(?!=)", text, re.MULTILINE)
        for target in line.split()
    }


def check_make(words):
    """`make TARGET [VAR=value]`: the Makefile has each target."""
    targets = [word for word in words if not word.startswith("-") and "=" not in word]
    return [
        f"`make {target}`: no such target in the Makefile"
        for target in targets
        if target not in make_targets()
    ]


def nbgrader_app(words):
    """nbgrader's app for these words (subcommands followed as deep as they go), and the words
    left; None when the first word is no subcommand."""
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app, rest = NbGraderApp, list(words)
    while rest and rest[0] in (app().subcommands or {}):
        app = app().subcommands[rest.pop(0)][0]
        if isinstance(app, str):
            module, _, name = app.rpartition(".")
            app = getattr(importlib.import_module(module), name)
    return (None if app is NbGraderApp else app), rest


def configurable(app, name):
    """The classes of this name among the app's configurable classes and their bases, else
    among every Configurable declared (a command line may set any class's trait, as
    `--FileNameCollectorPlugin.named_regexp` does for a plugin the app loads)."""
    mine = [base for cls in app().classes for base in cls.__mro__ if base.__name__ == name]
    return mine + configurables().get(name, [])


def check_nbgrader(words):
    """`nbgrader SUB [SUB] options`: the subcommand exists, and each option is an alias or a
    flag of its app, or a `--Class.trait` of one of its classes."""
    if not words:
        return []
    app, rest = nbgrader_app(words)
    if app is None:
        return [f"`nbgrader {words[0]}`: no such nbgrader subcommand"]
    name = " ".join(words[: len(words) - len(rest)])
    problems = []
    for option in options(rest):
        key = option[2:]
        if "." in key:
            cls_name, _, trait = key.rpartition(".")
            classes = configurable(app, cls_name)
            if not any(trait in cls.class_trait_names(config=True) for cls in classes):
                problems.append(f"`nbgrader {name}`: no option {option} (no trait {key})")
        elif key not in app.aliases and key not in app.flags and key not in ("help", "help-all"):
            problems.append(f"`nbgrader {name}`: no option {option}")
    return problems


def check_script(words):
    """`python SCRIPT.py --option`: the script is in the course (or in the student's release
    folder, where the student runs it) and defines each option."""
    script = next(
        (
            ROOT / where / words[0]
            for where in (".", "release/initialization")
            if (ROOT / where / words[0]).is_file()
        ),
        None,
    )
    if script is None:
        return [f"`python {words[0]}`: no such script"]
    source = script.read_text()
    return [
        f"`python {words[0]}`: no option {option} in the script"
        for option in options(words[1:])
        if f'"{option}"' not in source and f"'{option}'" not in source
    ]


@cache
def dask_options(command):
    """The options of `dask scheduler` or `dask worker`, as the installed distributed's click
    command declares them; None for another command."""
    module = {"scheduler": "dask_scheduler", "worker": "dask_worker"}.get(command)
    if module is None:
        return None
    main = importlib.import_module(f"distributed.cli.{module}").main
    return {option for param in main.params for option in [*param.opts, *param.secondary_opts]}


def check_dask(words):
    """`dask scheduler|worker options`: the command exists, and each option is Dask's."""
    known = dask_options(words[0]) if words else None
    if known is None:
        return [f"`dask {' '.join(words[:1])}`: not a dask command these pages use"]
    return [
        f"`dask {words[0]}`: no option {option}"
        for option in options(words[1:])
        if option not in known
    ]


def check_module(module):
    """`python -m MODULE`: the module can be imported from the course's environment."""
    try:
        found = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        found = None
    return [] if found else [f"`python -m {module}`: no such module"]


def problems(command):
    """What is wrong with one simple command as a page writes it: an empty list when it runs as
    written (as far as these checks can tell without running it)."""
    words = words_of(command)
    if not words:
        return []
    program = words[0].rsplit("/", 1)[-1] if words[0].startswith((".venv/", "venv/")) else words[0]
    rest = words[1:]
    if program == "make":
        return check_make(rest)
    if program == "nbgrader":
        return check_nbgrader(rest)
    if program == "dask":
        return check_dask(rest)
    if program in ("python", "python3", "py"):
        if rest[:1] == ["-m"] and len(rest) > 1:
            if rest[1] == "instructor":
                return check_instructor(rest[2:])
            return check_module(rest[1])
        if rest and rest[0].endswith(".py"):
            return check_script(rest)
        return []
    if program in CHECKED or program in SYSTEM:
        return []
    if re.match(r"c\.\w+\.", command):  # a line of nbgrader_config.py, in a student's block
        return setting_problems(command)
    return [f"`{command}`: not a command these pages may use (fence output as ```text)"]


# ---------------------------------------------------------------------------------------
# Settings: `c.Class.trait` in nbgrader_config.py or JupyterHub's configuration


@cache
def configurables():
    """Every traitlets Configurable that nbgrader, JupyterHub and the course declare, by name
    (the course's: its plugins, and every module of instructor/ that declares a Configurable)."""
    from traitlets.config import Configurable

    declaring = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in sorted((ROOT / "instructor").rglob("*.py"))
        if "(Configurable)" in path.read_text()
    ]
    for module in declaring + [
        "nbgrader.apps",
        "nbgrader.plugins",
        "nbgrader.exchange.default",
        "jupyterhub.app",
        "instructor.exchange.collect",
        "instructor.lms.collector",
        "instructor.lms.export",
        "instructor.lms.late",
        "instructor.watch.policy",
        "instructor.preprocessors.withhold_hidden_tests",
        "instructor.preprocessors.course_grading",
    ]:
        importlib.import_module(module)
    found, todo = {}, [Configurable]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, []).append(cls)
        todo.extend(cls.__subclasses__())
    return found


@cache
def course_sources():
    """The course's own code that reads settings: its nbgrader_config.py and instructor/."""
    files = [ROOT / "nbgrader_config.py", *sorted((ROOT / "instructor").rglob("*.py"))]
    return "\n".join(path.read_text() for path in files)


def setting_problems(setting):
    """`c.Class.trait`: a config trait of a Configurable of that name, or, for a section the
    course reads from the config by hand, a section and a key its code names."""
    cls_name, trait = re.match(r"c\.(\w+)\.([\w<>]+)", setting).groups()
    classes = configurables().get(cls_name)
    if classes:
        if trait.startswith("<") or any(
            trait in cls.class_trait_names(config=True) for cls in classes
        ):
            return []
        return [f"`{setting}`: {cls_name} declares no setting {trait}"]
    source = course_sources()
    if re.search(rf"\b{cls_name}\b", source) and (
        trait.startswith("<") or re.search(rf"\b{trait}\b", source)
    ):
        return []
    return [f"`{setting}`: no setting {trait} of {cls_name} is declared or read by the course"]


def settings_of(text):
    """The settings the page names in its prose and tables (`c.GradeOnSubmit.max_attempts`)."""
    return [span for span in re.findall(r"`(c\.\w+\.[\w<>]+)", prose(text))]


# ---------------------------------------------------------------------------------------
# Paths named in code spans


def repository_paths(text):
    """The code spans that name a path of the repository: a relative path whose first part is
    a top-level file or folder of the course."""
    top = {path.name for path in ROOT.iterdir()}
    found = []
    for span in re.findall(r"`([^`\s]+)`", prose(text)):
        if re.fullmatch(r"[\w.-]+(/[\w.*-]+)*/?", span) and "/" in span:
            if span.split("/")[0] in top - {".venv", ".git"}:
                found.append(span)
    return found


def missing_paths(paths):
    """The paths that are neither in the tree nor ignored by git (written by a run)."""
    absent = [path for path in paths if not any(ROOT.glob(path.rstrip("/")))]
    if not absent:
        return []
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=ROOT,
        input="\n".join(absent),
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return [path for path in absent if path not in ignored]


# ---------------------------------------------------------------------------------------
# Links


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation but `-` and `_` left out, every
    space a hyphen."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    seen, found = {}, set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(path.read_text()), re.MULTILINE):
        base = slug(heading)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def broken_links(page):
    """The page's relative links whose file does not exist, or whose anchor is no heading of
    that file."""
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        where = (page.parent / file).resolve() if file else page
        if not where.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and (where.suffix != ".md" or anchor not in anchors(where)):
            broken.append(f"{target}: no heading #{anchor} in {where.name}")
    return broken


# ---------------------------------------------------------------------------------------
# The pages


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_command_of_the_page_exists_as_written(page):
    """Does every command of the page name a command, subcommand, option, make target and
    script that exist?"""
    found = commands_of(page.read_text())
    wrong = [problem for command in found for problem in problems(command)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_setting_the_page_names_exists(page):
    """Is every `c.Class.trait` the page names a setting that nbgrader, JupyterHub or the
    course declares or reads?"""
    wrong = [
        problem
        for setting in settings_of(page.read_text())
        for problem in setting_problems(setting)
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_path_the_page_names_is_in_the_tree(page):
    """Is every path of the repository that the page names there, or written by a run?"""
    missing = missing_paths(repository_paths(page.read_text()))
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_link_of_the_page_leads_to_a_file_and_a_heading(page):
    """Does every relative link of the page point to a file of the repository, and its
    anchor to a heading of that file?"""
    assert not broken_links(page), broken_links(page)


def test_the_pages_commands_are_found():
    """Are the commands read from the pages at all, from blocks, prose and tables alike (so
    that the tests above cannot pass by finding nothing)?"""
    found = {page.name: commands_of(page.read_text()) for page in PAGES}
    assert {"make lab-student", "make demo", "make test"} <= set(found["README.md"])
    assert "nbgrader submit initialization --course=initialization-course" in found["students.md"]
    instructors = found["instructors.md"]
    assert (  # a block
        "python -m instructor grade --scheduler tls://10.0.0.5:8786 --tls-ca-file ca.pem "
        "--tls-cert me.pem --tls-key me.key" in instructors
    )
    assert any(line.startswith("dask worker tls://") for line in found["administrators.md"])
    assert "nbgrader export --to=grades.csv" in instructors  # a table
    assert "python -m instructor watch --help-policy" in instructors  # prose, wrapped
    admin = found["administrators.md"]
    assert (
        ".venv/bin/python -m instructor exchange init --root /srv/nbgrader/exchange --owner teacher"
        in admin
    )
    assert sum(len(commands) for commands in found.values()) > 60
    assert sum(len(repository_paths(page.read_text())) for page in PAGES) > 60


# ---------------------------------------------------------------------------------------
# Canaries: each check reports a misspelling


@pytest.mark.parametrize(
    "command, reported",
    [
        ("python -m instructor grade --wokers 2", "no option --wokers"),
        ("python -m instructor grade --work 2", "no option --work"),
        ("python -m instructor grades", "no such command"),
        ("python -m instructor exchange init --owners teacher", "no option --owners"),
        ("python -m instructor exchange inti --owner teacher", "not one of init, check"),
        ("python -m instructor lab --port 8888 studnet", "not one of student, instructor"),
        ("python -m instructor roster imports roster.csv", "not one of import"),
        ("make tset", "no such target"),
        ("nbgrader autgrade initialization", "no such nbgrader subcommand"),
        ("nbgrader submit initialization --corse=initialization-course", "no option --corse"),
        ("nbgrader collect initialization --Exchange.rot=EXCHANGE", "no trait Exchange.rot"),
        ("nbgrader db assignment add initialization --due=2026", "no option --due"),
        ("python bench/bench_grading.py 40 --worker 2", "no option --worker"),
        ("python bench/bench_grade.py 40", "no such script"),
        ("python -m instructr grade", "no such module"),
        ("mak demo", "not a command"),
        ("dask scheduler --tls-cafile ca.pem", "no option --tls-cafile"),
        ("dask workers tls://10.0.0.5:8786", "not a dask command"),
        ('c.Exchange.roots = "/srv/nbgrader/exchange"', "no setting roots"),
        ("c.GradeOnSubmit.max_attempt", "no setting max_attempt"),
        ("c.CourseGrading.run_whole_notebooks", "no setting run_whole_notebooks"),
    ],
)
def test_a_misspelt_command_is_reported(command, reported):
    """Canary: does the check report a misspelt command, subcommand, option, target or script,
    while the same command spelt right passes?"""
    found = problems(command)
    assert any(reported in problem for problem in found), found


@pytest.mark.parametrize(
    "command",
    [
        "python -m instructor grade --workers 2",
        "python -m instructor exchange init --owner teacher",
        "python -m instructor lab --port 8888 student",
        "python -m instructor roster import roster.csv",
        "make test",
        "nbgrader autograde initialization",
        "nbgrader submit initialization --course=initialization-course",
        "nbgrader collect initialization --Exchange.root=EXCHANGE",
        "nbgrader db assignment add initialization --duedate=2026",
        "python bench/bench_grading.py 40 --workers 2",
        "dask scheduler --tls-ca-file ca.pem",
        "dask worker tls://10.0.0.5:8786 --no-dashboard",
        'c.Exchange.root = "/srv/nbgrader/exchange"',
        "c.GradeOnSubmit.max_attempts",
        "c.CourseGrading.run_whole_notebook",
    ],
)
def test_the_same_commands_spelt_right_pass(command):
    """The canaries' commands spelt right: no problem reported."""
    assert problems(command) == []


def test_a_broken_link_and_a_missing_path_are_reported(tmp_path):
    """Canary: is a link to a missing heading or file, and a path not in the tree, reported?"""
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n[ok](#a-page) [no](#a-pag) [gone](missing.md)\n")
    assert broken_links(page) == [
        "#a-pag: no heading #a-pag in page.md",
        "missing.md: no file missing.md",
    ]
    assert missing_paths(["instructor/grading/neded.py", "instructor/grading/needed.py"]) == [
        "instructor/grading/neded.py"
    ]
