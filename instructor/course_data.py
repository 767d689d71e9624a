"""What the instructor's tools know of one assignment beyond its source folder, read as data.

The grading engine, the feedback and the class report are general. What they know of an
assignment comes from its source folder (the notebook and its metadata, the helper modules)
and from one file of the course, `assignments/<assignment>.toml`:

    [report]                 mistakes = the helper module whose MISTAKES lists the mistakes
                             the tests can name (a path in source/<assignment>/)
    [report.notes]           a teaching note per mistake, keyed by its name in MISTAKES
    [feedback.hidden_cases]  how the feedback names the hidden cases without their inputs
    [grading]                preload = modules every kernel of the assignment imports anyway
    [demo]                   the demo class: what a correct student types for each exercise
                             ([demo.correct]), and each demo student's name and answers
                             ([demo.students.<id>]): demo.py

The file is kept outside source/ on purpose: nbgrader's generate_assignment copies every file
of source/<assignment>/ into the release the students receive, and the notes are the
instructor's. An assignment without a file is graded, fed back and reported all the same, with
no notes, no description of hidden cases and nothing loaded in advance.

Nothing here runs when the module is imported: the file is read, and the mistakes module
loaded (by its path: sys.path is not touched), when a report or a feedback page is made.
"""

import importlib.util
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Where the course keeps the file of each assignment, under its root.
FOLDER = "assignments"


class CourseDataError(ValueError):
    """The course's file of an assignment is unreadable or names what the assignment lacks."""


@dataclass(frozen=True)
class HiddenCases:
    """How the hidden cases of the tests are recognised and named in the feedback.

    case -- a regular expression finding one hidden case in the hidden tests' lines; its first
        group is the case's input, a list of integers ("5, 4, 3, 2, 1")
    argument -- the name after which the tests print the inputs they checked ("layers_dims")
    another -- how one hidden input is named ("another network")
    others -- how several are counted ("other network shape": "on two other network shapes")
    shapes -- the shapes an input gives away, as numpy prints them, one template per pair of
        consecutive integers of the input, {before} and {after}
    another_shape -- what a shape that only a hidden input has is replaced with
    """

    case: str
    argument: str
    another: str
    others: str
    shapes: tuple[str, ...] = ()
    another_shape: str = ""


# What a student types for one exercise: the answer, or (answer, ((old, new), ...)) when the
# student also changed the code around it (each pair a replacement of the cell's text).
Answer = str | tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class DemoStudent:
    """One student of the demo class: a name as the Formgrader shows it (first, last), and
    the answer typed for each exercise (none at all: the release as it is)."""

    student: str
    name: tuple[str, str]
    answers: Mapping[str, Answer]


@dataclass(frozen=True)
class AssignmentData:
    """One assignment's file (assignments/<assignment>.toml), read; empty without one."""

    assignment: str
    path: Path | None = None  # the file read, None when the course has none
    mistakes_module: str = ""  # [report] mistakes: a helper module of the source folder
    notes: Mapping[str, str] = field(default_factory=dict)  # [report.notes], by mistake name
    hidden_cases: HiddenCases | None = None  # [feedback.hidden_cases]
    preload: tuple[str, ...] = ()  # [grading] preload
    correct: Mapping[str, str] = field(default_factory=dict)  # [demo.correct], by exercise
    demo: tuple[DemoStudent, ...] = ()  # [demo.students]


def data_file(root: Path | str, assignment: str) -> Path:
    """The course's file of an assignment: <root>/assignments/<assignment>.toml."""
    return Path(root) / FOLDER / f"{assignment}.toml"


def load(root: Path | str, assignment: str) -> AssignmentData:
    """The course's data on an assignment, or empty data when its file does not exist."""
    path = data_file(root, assignment)
    if not path.is_file():
        return AssignmentData(assignment)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise CourseDataError(f"{path} cannot be read: {error}") from error
    report = _section(table, "report", path)
    notes = _section(report, "notes", path)
    cases = _section(_section(table, "feedback", path), "hidden_cases", path)
    grading = _section(table, "grading", path)
    demo = _section(table, "demo", path)
    correct = {str(k): str(v) for k, v in _section(demo, "correct", path).items()}
    try:
        hidden = (
            HiddenCases(**{**cases, "shapes": tuple(cases.get("shapes", ()))}) if cases else None
        )
    except TypeError as error:
        raise CourseDataError(f"{path}, [feedback.hidden_cases]: {error}") from error
    return AssignmentData(
        assignment,
        path=path,
        mistakes_module=str(report.get("mistakes", "")),
        notes={str(name): str(text) for name, text in notes.items()},
        hidden_cases=hidden,
        preload=tuple(str(name) for name in grading.get("preload", ())),
        correct=correct,
        demo=tuple(
            _demo_student(student, entry, correct, path)
            for student, entry in _section(demo, "students", path).items()
        ),
    )


def _demo_student(
    student: str, entry: Mapping[str, Any], correct: Mapping[str, str], path: Path
) -> DemoStudent:
    """One demo student of the file: the correct answers, but for the exercises it names."""
    if not isinstance(entry, dict) or len(entry.get("name", ())) != 2:
        raise CourseDataError(f"{path}, [demo.students.{student}]: name = [FIRST, LAST] is needed")
    first, last = (str(part) for part in entry["name"])
    if entry.get("untouched"):
        return DemoStudent(student, (first, last), {})
    answers: dict[str, Answer] = dict(correct)
    for exercise, given in entry.items():
        if exercise in ("name", "untouched"):
            continue
        if exercise not in correct:
            raise CourseDataError(f"{path}, [demo.students.{student}]: no exercise {exercise}")
        if isinstance(given, dict):
            replace = tuple((str(old), str(new)) for old, new in given.get("replace", ()))
            answers[exercise] = (str(given.get("answer", correct[exercise])), replace)
        else:
            answers[exercise] = str(given)
    return DemoStudent(student, (first, last), answers)


def _section(table: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = table.get(name, {})
    if not isinstance(value, dict):
        raise CourseDataError(f"{path}: [{name}] must be a table")
    return value


def mistake_titles(source: Path, module: str) -> dict[str, str]:
    """{name: the title the tests print} of the MISTAKES of a helper module of the source
    folder, loaded by its path (sys.path and sys.modules are left as they are)."""
    path = source / module
    spec = importlib.util.spec_from_file_location(f"_course_{path.stem}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise CourseDataError(f"the mistakes module {path} does not exist")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    mistakes = getattr(loaded, "MISTAKES", None)
    if not isinstance(mistakes, dict):
        raise CourseDataError(f"{path} has no MISTAKES dictionary")
    return {str(name): str(getattr(m, "title", name)) for name, m in mistakes.items()}


def notes_by_title(notes: Mapping[str, str], titles: Mapping[str, str]) -> dict[str, str]:
    """The notes keyed by the titles the tests print; every note must name a known mistake."""
    unknown = sorted(set(notes) - set(titles))
    if unknown:
        raise CourseDataError(
            f"the course's notes name mistakes that MISTAKES does not list: {unknown}"
        )
    return {titles[name]: text for name, text in notes.items()}


def teaching_notes(root: Path | str, assignment: str) -> dict[str, str]:
    """{mistake title: the instructor's note} of an assignment ({} without notes)."""
    data = load(root, assignment)
    if not data.notes:
        return {}
    if not data.mistakes_module:
        raise CourseDataError(f"{data.path}: [report.notes] needs [report] mistakes = MODULE")
    source = Path(root) / "source" / assignment
    return notes_by_title(data.notes, mistake_titles(source, data.mistakes_module))
