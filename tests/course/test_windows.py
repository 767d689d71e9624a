"""The student's commands on Windows: each command docs/students.md names either works there
or stops with one sentence that says why and what to do.

This machine is not Windows; what Windows lacks is taken away from a real run instead: the
Unix users and groups modules (`grp`, `pwd`) made unimportable in the command's own process,
after the libraries have loaded as they are (they choose their own code for the system when
they load); a report written in Windows' code page (cp1252) rather than UTF-8. The lab command
with Windows' missing process functions is tested in tests/course/test_browser.py
(test_lab_command_runs_where_posix_only_functions_are_missing).
"""

import re
import shutil
import subprocess
import sys

import pytest
from harness import ROOT

STUDENTS_PAGE = ROOT / "docs" / "students.md"

# Every command of the student's page, and what it does on Windows (each entry names the
# command's start; the page writes the Windows form of some in a comment, "# Windows: ...").
ON_WINDOWS = {
    "python3 -m venv": "Python's own; the page gives Windows' form, `py -m venv`",
    "py -m venv": "Python's own, for Windows",
    "source course-env/bin/activate": "Linux and macOS; the page gives Windows' form",
    "course-env\\Scripts\\activate": "Windows' form of the line above",
    "pip install": "pip's own; the pinned packages install on Windows",
    "cd ": "the shell's own",
    "jupyter lab": "JupyterLab's own",
    "jupyter labextension disable": "JupyterLab's own setting, in the student's ~/.jupyter",
    "jupyter server extension disable": "Jupyter Server's own setting, in the environment",
    "python -m jupyterlab": "JupyterLab's own",
    "python3 check_submission.py": "standard library only; the page gives Windows' form",
    "py check_submission.py": "standard library only: test_check_writes_its_report_in_windows_code_page",
    "nbgrader fetch_assignment": "nbgrader's own sentence, which the page quotes: the exchange is not available on Windows",
    "nbgrader submit": "nbgrader's own sentence, as above",
    "nbgrader fetch_feedback": "nbgrader's own sentence, as above",
    "make release": "the course's, not the student's: the student receives the folder it makes",
    "make lab-student": "make is not on Windows; the page gives `python -m instructor lab student`, which runs there",
    "python -m instructor lab student --exchange": "one sentence: test_the_exchange_lab_stops_with_one_sentence",
    "python -m instructor lab student": "runs: tests/course/test_browser.py, without Windows' missing functions",
}  # fmt: skip

COMMAND = re.compile(
    r"^(?:(?:python3?|py|pip|jupyter|nbgrader|make|source|cd) |course-env\\Scripts\\activate)"
)


def students_commands(text):
    """Every command of the page: the lines of its shell blocks, the Windows forms in their
    comments, and the commands written in its code spans."""
    commands = []
    for block in re.findall(r"^ *```\n(.*?)^ *```", text, re.DOTALL | re.MULTILINE):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            commands += [command.strip()] if command.strip() else []
            commands += re.findall(r"Windows: (.+)$", comment)
    commands += [span.replace("\n", " ") for span in re.findall(r"`([^`\n]+)`", text)]
    return [command.strip() for command in commands if COMMAND.match(command.strip())]


def unaccounted(text):
    """The page's commands that ON_WINDOWS says nothing of."""
    return [c for c in students_commands(text) if not any(c.startswith(k) for k in ON_WINDOWS)]


def test_every_students_command_is_accounted_for_on_windows():
    """Does the table above say, for every command of the student's page, what it does on
    Windows (and is every entry still on the page)?"""
    text = STUDENTS_PAGE.read_text(encoding="utf-8")
    assert unaccounted(text) == []
    found = students_commands(text)
    assert [k for k in ON_WINDOWS if not any(c.startswith(k) for c in found)] == []


def test_canary_a_new_command_is_reported():
    """Is a command added to the page, which the table says nothing of, reported?"""
    text = STUDENTS_PAGE.read_text(encoding="utf-8") + "\nThen run `python -m instructor watch`.\n"
    assert unaccounted(text) == ["python -m instructor watch"]


# The command, run as `python -m instructor ...` runs it, with the Unix users and groups
# modules taken away once the libraries have loaded, as on Windows.
WITHOUT_UNIX_GROUPS = (
    "import runpy, sys\n"
    "import instructor.lab\n"
    "sys.modules['grp'] = sys.modules['pwd'] = None  # an import of either fails, as on Windows\n"
    "sys.argv = ['instructor', *sys.argv[1:]]\n"
    "runpy.run_module('instructor', run_name='__main__')\n"
)


def without_unix_groups(*arguments, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_UNIX_GROUPS, *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_sentence(text):
    """The text is one line holding one sentence: a capital first, a full stop last and no
    full stop followed by a space in between."""
    return "\n" not in text.strip() and re.fullmatch(r"[A-Za-z`].*?[^. ]\.", text.strip(), re.S)


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["lab", "student", "--exchange"], "start `python -m instructor lab student` without --exchange"),
        (["lab", "instructor"], "start the instructor's JupyterLab on the course's Linux or macOS server"),
    ],
    ids=["student --exchange", "instructor"],
)  # fmt: skip
def test_the_exchange_lab_stops_with_one_sentence(tmp_path, arguments, says):
    """Where Python has no Unix users and groups (Windows), does `python -m instructor lab
    student --exchange` (and the instructor's lab, which checks the exchange) stop with exit
    status 1 and one sentence saying why and what to do, with no traceback and no folder made?"""
    work = tmp_path / "student-exchange"
    extra = ["--dir", str(work)] if "student" in arguments else []
    result = without_unix_groups(*arguments, *extra)
    assert (result.returncode, result.stderr) == (1, ""), result.stdout + result.stderr
    assert one_sentence(result.stdout), result.stdout
    assert "does not run on Windows" in result.stdout and says in result.stdout
    assert not work.exists()


def test_canary_with_unix_groups_the_exchange_is_not_refused():
    """Where Python has the Unix users and groups modules, is the exchange not refused (the
    sentence above comes from their absence, not from a flag)?"""
    from instructor import lab

    assert lab.exchange_unavailable("exchange") is None
    assert lab.exchange_unavailable("instructor") is None


def test_check_writes_its_report_in_windows_code_page(tmp_path):
    """With the report written in Windows' code page (cp1252, as `py check_submission.py >
    report.txt` writes it), does a line of the student's code with a character that code page
    lacks (an arrow) come out escaped, instead of stopping the check with an error?"""
    import test_check_submission as check_tests  # its notebooks, answered as students do

    notebook = check_tests.answered(check_tests.STUDENTS["demo-correct"])
    check_tests.edit(
        notebook, "initialize_parameters_zeros", "    return", "    print('W → b')\n    return"
    )
    check_tests.write(notebook, tmp_path)
    for helper in ("check_submission.py", "public_tests.py", "init_utils.py"):
        shutil.copy(ROOT / helper, tmp_path)
    result = subprocess.run(
        [sys.executable, "check_submission.py"],
        cwd=tmp_path,
        capture_output=True,
        env={"PYTHONIOENCODING": "cp1252", "PATH": ""},
        timeout=60,
    )
    report = result.stdout.decode("cp1252")
    assert (result.returncode, result.stderr) == (1, b""), report + result.stderr.decode()
    assert "`print('W \\u2192 b')`: `print(...)` is an extra print." in report


# Python without the `resource` module, as on Windows: the course's configuration is read (the
# student's lab reads it for the course's folders), and student code is refused a run.
WITHOUT_RESOURCE = """
import sys
sys.modules["resource"] = None  # an import of it fails, as on Windows
from instructor.course import load_config
from instructor.grading.sandbox.modes import IsolationRefused, choose
config = load_config(sys.argv[1])
print(config.CourseDirectory.course_id)
try:
    choose("limits")
except IsolationRefused as refusal:
    print(refusal)
"""


def test_without_resource_limits_the_config_loads_and_student_code_is_refused():
    """Where Python has no `resource` module (Windows), does the course's configuration still
    load, and does asking for the least isolation ("limits", by name) refuse to run student
    code, saying why and where to grade instead?"""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RESOURCE, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, ""), result.stdout + result.stderr
    course_id, refusal = result.stdout.splitlines()
    assert course_id == "initialization-course"
    assert refusal.startswith("student code is not run on this system: it has no resource limits")
    assert "Grade on Linux" in refusal


def test_canary_with_resource_limits_limits_is_chosen():
    """Where Python has `resource`, is "limits" by name chosen (the refusal above comes from its
    absence)?"""
    from instructor.grading.sandbox.modes import choose

    assert choose("limits").mode == "limits"
