"""One way to configure: c.GradingLimits and c.CourseGrading are traitlets Configurables, and the
command-line options of `grade` and `watch` are made from their traits.

Pure and fast: the options are parsed in this process and a bad setting is refused before any
grading starts; the import check (slow tier) runs one interpreter that imports every module.
"""

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from traitlets.config import Config
from traitlets.config.loader import DeferredConfigString

from instructor.commands import grade, watch
from instructor.grading.bundle import run_whole_notebook
from instructor.grading.sandbox import Limits
from instructor.grading.session import reports_dir
from instructor.grading.settings import (
    CourseGrading,
    GradingLimits,
    SettingsError,
    apply_options,
    grading_limits,
    options_of,
    read,
)
from instructor.watch.policy import GradeOnSubmit

ROOT = Path(__file__).resolve().parents[2]


def _help_all(command, capsys):
    with pytest.raises(SystemExit) as stop:
        command.parse_args(["--help-all"])
    assert stop.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "command, classes",
    [
        (grade, (GradingLimits, CourseGrading)),
        (watch, (GradingLimits, CourseGrading, GradeOnSubmit)),
    ],
    ids=["grade", "watch"],
)
def test_does_help_all_print_every_option_with_its_config_spelling_and_help(
    command, classes, capsys
):
    """`--help-all` of grade and watch: every option of the settings, as nbgrader_config.py
    spells it with its default, with its command-line forms and the first words of its help."""
    printed = " ".join(_help_all(command, capsys).split())  # the help is wrapped
    for cls in classes:
        for name, trait in options_of(cls).items():
            assert f"c.{cls.__name__}.{name} = {trait.default_value!r}" in printed, name
            assert f"--{cls.__name__}.{name}=VALUE" in printed, name
            assert " ".join(trait.help.split()[:8]) in printed, name
    for flag in ("--cell-timeout N", "--memory N", "--max-output N", "--isolation", "--no-zygote"):
        assert flag in printed


def test_is_every_limit_of_the_sandbox_an_option_with_the_same_default():
    """Each field of Limits (but the derived cell_limits) is a GradingLimits option; the
    options that are not time limits default to Limits' own values, the time limits to
    None (derived from the reference run)."""
    options = options_of(GradingLimits)
    assert set(options) == {f.name for f in fields(Limits)} - {"cell_limits"}
    for name, trait in options.items():
        expected = None if name.endswith("_timeout") else getattr(Limits(), name)
        assert trait.default_value == expected, name


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--memory", "25", "--no-zygote"], {"memory_mb": 25, "zygote": False}),
        (["--cell-timeout", "15", "--isolation", "limits"], {"cell_timeout": 15.0, "isolation": "limits"}),
        (["--GradingLimits.max_procs=64", "--max-output", "2"], {"max_procs": 64, "max_output_mb": 2.0}),
        ([], {}),
    ],
    ids=["flags", "time-and-isolation", "config-spelling", "nothing"],
)  # fmt: skip
def test_do_the_options_write_the_limits_into_the_configuration(argv, expected):
    """What the command line gives lands in c.GradingLimits, over nbgrader_config.py, and is
    what the engine reads: the typed Limits the settings build, with the time limits not set
    left to the reference run (nothing else is read)."""
    config = Config({"GradingLimits": {"memory_mb": 4096}})
    args = grade.parse_args(argv)
    apply_options(args, config, *grade.SETTINGS)
    settings = grading_limits(config)
    assert settings.limits() == Limits().replace(**{"memory_mb": 4096, **expected})
    assert settings.derived() == {
        "cell_timeout", "notebook_timeout", "verify_timeout"
    } - set(expected)  # fmt: skip


def test_do_the_course_options_come_from_the_configuration_or_the_command_line(tmp_path):
    """c.CourseGrading: the defaults, the --CourseGrading.x=VALUE form of `watch` (whose limit
    options write c.GradingLimits as grade's do), and nbgrader's own command line (a string
    read by the trait)."""
    config = Config({"CourseDirectory": {"root": str(tmp_path)}})
    assert not run_whole_notebook(config)
    assert reports_dir(config, "a1") == tmp_path / "reports" / "a1"
    args = watch.parse_args(
        ["--CourseGrading.run_whole_notebook=true", "--CourseGrading.reports_directory=/r", "--memory", "25"]
    )  # fmt: skip
    apply_options(args, config, *watch.SETTINGS)
    assert grading_limits(config).limits() == Limits(memory_mb=25)  # the service's sessions
    assert run_whole_notebook(config)
    assert reports_dir(config, "a1") == Path("/r/a1")
    nbgrader_line = Config({"CourseGrading": {"run_whole_notebook": DeferredConfigString("True")}})
    assert run_whole_notebook(
        nbgrader_line
    )  # `nbgrader autograde --CourseGrading.run_whole_notebook=True`


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--memory", "lots"], "argument --memory: invalid int value: 'lots'"),
        (["--memory", "0"], "argument --memory: must be more than 0"),
        (["--cell-timeout", "-1"], "argument --cell-timeout: must be more than 0"),
        (["--isolation", "none"], "argument --isolation: invalid choice: 'none' (choose from 'auto', 'namespaces', 'landlock', 'limits')"),
        (["--GradingLimits.zygote=maybe"], "argument --GradingLimits.zygote: invalid boolean value: 'maybe'"),
        (["--GradingLimits.isolation=none"], "argument --GradingLimits.isolation: expected any of ['auto', 'namespaces', 'landlock', 'limits'], not the str 'none'"),
    ],
    ids=["not-a-number", "zero", "negative", "no-such-isolation", "not-a-boolean", "config-spelling"],
)  # fmt: skip
def test_is_a_mistyped_option_value_refused_with_one_line(argv, message, capsys):
    """A value of the wrong type or out of range on the command line stops the command before
    anything runs, with argparse's one line naming the option, not a traceback."""
    with pytest.raises(SystemExit) as stop:
        grade.parse_args(argv)
    assert stop.value.code == 2
    assert (
        capsys.readouterr().err.splitlines()[-1] == f"python -m instructor grade: error: {message}"
    )


def an_assignment(course):
    """The course folder's one assignment, initialization: a folder of source/ with a notebook
    (its content is never read before the settings are)."""
    folder = course / "source" / "initialization"
    folder.mkdir(parents=True)
    (folder / "Initialization.ipynb").write_text("{}")


@pytest.mark.parametrize(
    "setting, message",
    [
        ("c.GradingLimits.memory = 4096", "c.GradingLimits.memory is not an option (did you mean c.GradingLimits.memory_mb?); the options are cell_timeout, isolation, max_disk_mb, max_file_mb, max_output_mb, max_procs, memory_mb, notebook_timeout, verify_timeout, zygote"),
        ('c.GradingLimits.memory_mb = "4GB"', "c.GradingLimits.memory_mb = '4GB' is refused: expected an int, not the str '4GB'"),
        ("c.GradingLimits.notebook_timeout = 0", "c.GradingLimits.notebook_timeout = 0 is refused: must be more than 0"),
        ('c.CourseGrading.run_whole_notebook = "yes"', "c.CourseGrading.run_whole_notebook = 'yes' is refused: expected a boolean, not the str 'yes'"),
        ("c.CourseGrading.reports_dir = '/tmp'", "c.CourseGrading.reports_dir is not an option (did you mean c.CourseGrading.reports_directory?); the options are assignment_db_url, plain_tcp_scheduler, reports_directory, run_whole_notebook, tls_ca_file, tls_cert, tls_key"),
    ],
    ids=["misspelt-limit", "limit-of-wrong-type", "zero-limit", "flag-of-wrong-type", "misspelt-option"],
)  # fmt: skip
def test_is_a_bad_setting_in_nbgrader_config_refused_before_grading(
    setting, message, tmp_path, capsys
):
    """A course whose nbgrader_config.py sets a limit or a course option wrongly: `grade` says
    which one and why, in one line, and grades nothing (exit 2); `watch` does not start."""
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\n{setting}\n")
    an_assignment(tmp_path)
    assert grade.main(["--course", str(tmp_path)]) == 2
    assert capsys.readouterr().out == f"Cannot grade initialization: {message}.\n"
    assert watch.main(["--course", str(tmp_path)]) == 1
    assert capsys.readouterr().out == f"Not started. {message}\n"


TCP_REFUSED = (
    "{address} is a plain TCP scheduler, which runs the code of any account that reaches its "
    "port and sees every submission sent to it: start the cluster with TLS and give "
    "tls://HOST:PORT with --tls-ca-file, --tls-cert and --tls-key, or --plain-tcp-scheduler to "
    "use it anyway"
)


@pytest.mark.parametrize(
    "address, files, message",
    [
        ("tcp://10.0.0.5:8786", {}, TCP_REFUSED.format(address="tcp://10.0.0.5:8786")),
        ("10.0.0.5:8786", {}, TCP_REFUSED.format(address="10.0.0.5:8786")),
        ("ucx://10.0.0.5:8786", {}, "ucx://10.0.0.5:8786: the grading reaches a scheduler over tls:// (or tcp:// with --plain-tcp-scheduler), not ucx://"),
        ("tls://10.0.0.5:8786", {"tls_cert": "c.pem"}, "tls://10.0.0.5:8786 needs the cluster's certificates: --tls-ca-file, --tls-key not given (or c.CourseGrading.tls_ca_file, tls_cert, tls_key in nbgrader_config.py)"),
        ("tls://10.0.0.5:8786", {"tls_ca_file": "ca.pem", "tls_cert": "c.pem", "tls_key": "gone.key"}, "--tls-key {folder}/gone.key cannot be read (No such file or directory)"),
        ("tls://10.0.0.5:8786", {"tls_ca_file": "ca.pem", "tls_cert": "c.pem", "tls_key": "open.key"}, "--tls-key {folder}/open.key can be read or written by other accounts (mode 0644), and whoever holds it can run code on the cluster: chmod 600 {folder}/open.key"),
    ],
    ids=["tcp", "no-scheme", "other-protocol", "certificates-missing", "key-missing", "key-readable-by-others"],
)  # fmt: skip
def test_is_a_scheduler_that_cannot_be_used_safely_refused_in_one_line(
    address, files, message, tmp_path, capsys
):
    """`grade` and `watch` with --scheduler: a plain TCP scheduler (unless asked for by name),
    another protocol, missing certificates, a key that cannot be read or that others can read
    are refused before anything starts, in one line that says why (exit 2; watch does not
    start)."""
    for name, mode in (("ca.pem", 0o644), ("c.pem", 0o644), ("open.key", 0o644)):
        (tmp_path / name).write_text("PEM")
        (tmp_path / name).chmod(mode)
    given = [f"--CourseGrading.{trait}={tmp_path / path}" for trait, path in files.items()]
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    an_assignment(tmp_path)
    argv = ["--course", str(tmp_path), "--scheduler", address, *given]
    message = message.format(folder=tmp_path)
    assert grade.main(argv) == 2
    assert capsys.readouterr().out == f"Cannot grade initialization: {message}.\n"
    assert watch.main(argv) == 1
    assert capsys.readouterr().out == f"Not started. {message}\n"


def test_are_a_tls_scheduler_with_its_certificates_and_a_plain_one_asked_for_by_name_used(tmp_path):
    """The Security the command reaches the scheduler with: TLS required, with the
    instructor's certificate and the cluster's CA; none (Dask's plain TCP) for tcp:// with
    --plain-tcp-scheduler."""
    from instructor.grading.cluster_security import for_scheduler

    for name in ("ca.pem", "c.pem", "c.key"):
        (tmp_path / name).write_text("PEM")
    (tmp_path / "c.key").chmod(0o600)
    args = grade.parse_args(["--tls-ca-file", str(tmp_path / "ca.pem"), "--tls-cert",
                             str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "c.key")])  # fmt: skip
    config = Config()
    apply_options(args, config, *grade.SETTINGS)
    security = for_scheduler("tls://10.0.0.5:8786", read(CourseGrading, config))
    assert security.require_encryption
    assert (security.tls_ca_file, security.tls_client_cert, security.tls_client_key) == (
        str(tmp_path / "ca.pem"),
        str(tmp_path / "c.pem"),
        str(tmp_path / "c.key"),
    )
    args = grade.parse_args(["--plain-tcp-scheduler"])
    apply_options(args, config, *grade.SETTINGS)
    assert for_scheduler("tcp://10.0.0.5:8786", read(CourseGrading, config)) is None


def test_does_reading_a_refused_setting_raise_settings_error():
    """The engine's own reads (the nbgrader autograde route among them) refuse alike."""
    with pytest.raises(SettingsError, match=r"^c\.GradingLimits\.max_procs = 'many' is refused"):
        read(GradingLimits, Config({"GradingLimits": {"max_procs": "many"}}))


# --- Importing a module changes nothing ------------------------------------------------------

IMPORT_EVERY_MODULE = r"""
import importlib, json, os, pkgutil, sys

opened = []


def audit(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        if os.fsdecode(args[0]).endswith(".ipynb"):
            opened.append(os.fsdecode(args[0]))


sys.addaudithook(audit)
import instructor

found = {}
for module in sorted(pkgutil.walk_packages(instructor.__path__, "instructor."), key=lambda m: m.name):
    if module.name.endswith("__main__"):  # a program, not a module to import
        continue
    env, path, cwd, loaded = dict(os.environ), list(sys.path), os.getcwd(), set(sys.modules)
    opened.clear()
    importlib.import_module(module.name)
    changes = [f"os.environ[{k!r}]" for k in sorted(set(env) | set(os.environ)) if env.get(k) != os.environ.get(k)]
    changes += ["sys.path"] if sys.path != path else []
    changes += ["the working folder"] if os.getcwd() != cwd else []
    changes += [  # a course file imported as a module: it was put on sys.path, if only for a while
        f"imported {name}" for name in sorted(set(sys.modules) - loaded)
        if os.path.dirname(getattr(sys.modules[name], "__file__", None) or "/") == os.getcwd()
    ]
    changes += [f"read {os.path.basename(p)}" for p in sorted(set(opened))]
    found[module.name] = changes
print(json.dumps(found))
"""  # fmt: skip


@pytest.fixture(scope="module")
def import_effects():
    """{module of instructor/: what importing it first changed or read}, in one interpreter
    that imports them all, in the course root."""
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE], cwd=ROOT, capture_output=True, text=True, timeout=300
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.slow  # an interpreter that imports every module: about 5 to 12 s
def test_does_importing_a_module_leave_the_environment_the_path_and_the_notebooks_alone(
    import_effects,
):
    """No module of instructor/ changes os.environ or sys.path, or reads a notebook, when it
    is imported: the commands do what they need when they run (course.py's exercises are read
    when first asked for, the PATH is set by `python -m instructor`)."""
    assert len(import_effects) > 50
    assert "instructor.course" in import_effects
    effects = {name: changes for name, changes in import_effects.items() if changes}
    effects.pop("instructor.report", None)  # the next test
    assert effects == {}


@pytest.mark.slow
def test_does_importing_the_report_read_no_notebook(import_effects):
    """The class report's module, imported, reads nothing and imports no course file either."""
    assert import_effects["instructor.report"] == []


def instructor_command(*argv, cwd):
    """`python -m instructor ARGV` run in cwd, as an instructor types it; the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "instructor", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.mark.slow  # a command's process
def test_the_tools_run_from_any_folder_on_the_course_they_are_given(tmp_path):
    """The tools are the installed instructor package: from a folder that holds no course and
    no copy of the package, a command works on the course --course names (here: it reads the
    course's gradebook, which holds no grade yet, and says so)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'a-course'\n"
    )
    an_assignment(course)
    run = instructor_command("scores", "--course", str(course), cwd=elsewhere)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout == "No graded submissions in the gradebook yet.\n" and not run.stderr
    assert not (elsewhere / "instructor").exists()


@pytest.mark.slow  # a command's process each
@pytest.mark.parametrize(
    "assignments, argv, message",
    [
        (None, [], "{folder} is not a course folder (it has no nbgrader_config.py): run the command in the course's folder, or give it with --course DIR"),
        (["a1", "a2"], [], "name the assignment with --assignment NAME (the course's: a1, a2)"),
        (["a1"], ["--assignment", "a3"], "a3 is not an assignment of the course (its assignments: a1)"),
    ],
    ids=["no-course", "two-assignments", "no-such-assignment"],
)  # fmt: skip
def test_a_command_without_its_course_or_assignment_says_what_to_give(
    assignments, argv, message, tmp_path
):
    """No course in the folder, or no assignment named where the course has several (or one
    it has not): the command says in one line what to give, and exits 2 without a traceback."""
    if assignments is not None:
        (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
        for name in assignments:
            (tmp_path / "source" / name).mkdir(parents=True)
            (tmp_path / "source" / name / f"{name}.ipynb").write_text("{}")
    run = instructor_command("grade", *argv, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == message.format(folder=tmp_path) + "\n" and not run.stderr
