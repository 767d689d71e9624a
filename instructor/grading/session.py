"""One grading of an assignment's submissions, the same whatever route asked for it.

Three routes lead here, and all three give the same scores, flags and notes:

- `python -m instructor grade` (instructor/grade.py): every submission, in parallel on Dask or
  serially;
- `nbgrader autograde` on the command line, and
- the Formgrader's Autograde button (nbgrader's `NbGraderAPI.autograde`): the course configures
  nbgrader's autograde to hand each student to this engine
  (instructor/preprocessors/course_grading.py);

and the grade-on-submit service (`python -m instructor watch`) grades through a Session too.
Every route runs the cells each grade needs (needed.py), or every cell when the course sets
c.CourseGrading.run_whole_notebook (settings.py declares it, and every c.CourseGrading and
c.GradingLimits option, with its help).

A `Session` holds what one grading needs: the course directory of the loaded nbgrader
configuration, the check that the source, the release and the gradebook agree (sync.py), the
limits (defaults derived from the reference run, reference.py), the bundle sent to workers
(bundle.py), the recorder that writes the gradebook, the autograded folder and the ledger
(record.py), and the batch that feeds submissions to a runner (dispatch.py).

Its public steps (see `Session`) are the one interface every route drives: a route calls them
and reads the typed Entries they return, never the recorder, the batch or the ledger behind
them, so that the service grades one submission with the same steps as `grade` grades a class.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TextIO

from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from ..errors import CourseError
from ..gradebook_db import prepare
from .bundle import (
    BundleError,
    build,
    copy_assignment,
    run_whole_notebook,
    source_notebooks,
    with_limits,
)
from .hide import hidden_paths
from .intake import DEFAULT_IGNORE, Submission, digest, find_submissions, read_submission
from .ledger import Entry
from .messages import Bundle, Result, Task
from .normalise import Reference
from .progress import Progress
from .record import Recorder
from .reference import Reference as ReferenceData
from .reference import ReferenceRunError, derived_limits
from .reference import run as run_reference
from .sandbox import Isolation, IsolationRefused, Limits, choose, guard_grader_process
from .settings import SettingsError, course_grading, grading_limits
from .status import Status
from .sync import NOT_RECORDED, out_of_sync

Todo = dict[str, tuple[Path, str]]  # student -> (submitted folder, content hash): what to grade


class Runner(Protocol):
    """Where tasks run (dispatch.py: SerialRunner, DaskRunner): (student, Task) pairs in,
    (student, Result) pairs out as results come in."""

    def run(
        self, items: Iterable[tuple[str, Task]], bundle: Bundle
    ) -> Iterator[tuple[str, Result]]: ...


class CannotGrade(CourseError):
    """Grading cannot start; the message says what to do, in one line."""


def reports_base(config: Config) -> Path:
    """The course's reports folder: the configured c.CourseGrading.reports_directory, else
    reports/ in the course root (the grade-on-submit service's own log and status go there)."""
    base: str | Path = course_grading(config).reports_directory
    if not base:
        base = Path(CourseDirectory(config=config).root) / "reports"
    return Path(base)


def reports_dir(config: Config, assignment: str) -> Path:
    """Where the grading summary and the class report of an assignment go: the course's
    reports folder (reports_base), then the assignment."""
    return reports_base(config) / assignment


def isolation_here(requested: str) -> Isolation:
    """The Isolation that student code gets on this machine (sandbox/modes.py): the one
    decision of it, which every Task and LaunchSpec then carries in its Limits and every
    grade records; CannotGrade, with the platform's fix, when it cannot be isolated here. This
    process holds the course: it is made not dumpable first (closed to other processes of its
    user through /proc)."""
    guard_grader_process()
    try:
        return choose(requested)
    except IsolationRefused as refused:
        raise CannotGrade(str(refused)) from None


@dataclass(frozen=True)
class Prepared:
    """A submission made ready to grade (`Session.prepare`): the Task to run, or, when there
    is nothing to run, the ledger's Entry of it.

    task -- the Task to hand to a runner (None: nothing to run)
    entry -- with no task: the Entry just recorded (the intake rejected the submission), or the
        Entry of this same submission's earlier grading (recorded_before)
    recorded_before -- the submission is unchanged since a grading the ledger holds (e.g. one
        recorded just before the service stopped): it is not graded again
    """

    student: str
    task: Task | None = None
    entry: Entry | None = None
    recorded_before: bool = False


class Session:
    """Everything one grading run needs, built from the loaded nbgrader configuration.

    config -- the course's nbgrader configuration (bundle.load_config, or nbgrader's own),
        the command line's options written into it (settings.apply_options)
    assignment -- the assignment's name (its folder in source/, release/, submitted/)
    force -- grade unchanged submissions again
    log -- a function taking one line, for what the session says before grading

    The public steps of a route, the same for every route:

        folders(students)         the submitted folders, by student
        plan(folders)             which of them to grade (unchanged ones are skipped)
        run(runner, todo)         grade them on a runner (dispatch.py), recording each result
      or, one submission at a time (the grade-on-submit service):
        reload_ledger()           read the ledger again (another route may have graded since)
        prepare(student, folder)  the Prepared: a Task to run, or the Entry already recorded
        record(student, result)   record a runner's Result; the ledger's Entry
        warm_up_task(workdir)     a Task that grades the release notebook, to warm a worker
      then:
        write_ledger(run)         the grading summary and a line of history for this run
        entries, skipped          what this session recorded, and left ungraded as unchanged
    """

    def __init__(
        self,
        config: Config,
        assignment: str,
        force: bool = False,
        log: Callable[[str], object] = print,
        progress_stream: TextIO | None = None,
    ) -> None:
        self.config = config
        self.assignment = assignment
        self.coursedir = CourseDirectory(config=config)
        self.force = force
        prepare(self.coursedir.db_url)  # a writer among others: WAL mode on SQLite
        try:
            source_db = course_grading(config).assignment_db_url
            if source_db and source_db != self.coursedir.db_url:
                copy_assignment(source_db, self.coursedir.db_url, self.coursedir, assignment)
            notebooks = [p.name for p in source_notebooks(self.coursedir, assignment)]
            problems = out_of_sync(self.coursedir, assignment, notebooks)
            if problems:
                why = (
                    "the gradebook does not have this assignment yet (a new course folder or "
                    "gradebook; `nbgrader release_assignment` does not record it)"
                    if all(p.startswith(NOT_RECORDED) for p in problems)
                    else "the source notebook changed since the last release"
                )
                raise CannotGrade(
                    f"{why} ({'; '.join(problems)}): run `python -m instructor release` first, "
                    "so that students, the gradebook and the grader use the same assignment"
                )
            settings = grading_limits(config)
            self.isolation = isolation_here(settings.isolation)
            asked = settings.limits().replace(isolation=self.isolation.mode)
            self.reports = reports_dir(config, assignment)
            bundle = build(self.coursedir, config, asked, assignment)  # read once
            self.limits, self.limits_note, self.whole_limits = derived_limits(
                self.coursedir, config, assignment, self.reports, asked, settings.derived(),
                log=log, bundle=bundle,
            )  # fmt: skip
            self.bundle = with_limits(bundle, self.limits)
            self.run_note = _run_note(self.bundle, config)
        except (BundleError, ReferenceRunError, SettingsError) as error:
            raise CannotGrade(str(error)) from None
        self.recorder = Recorder(self.coursedir, config, self.bundle, self.reports)
        self.release = Path(
            self.coursedir.format_path(self.coursedir.release_directory, ".", assignment)
        )
        self.batch = Batch(
            self.recorder,
            [Reference.from_file(self.release / name) for name in notebooks],
            self.limits,
            hidden_paths(self.coursedir),
            force,
            progress_stream,
            ignore=tuple(self.coursedir.ignore),
            whole_limits=self.whole_limits,
        )

    @property
    def submitted(self) -> str:
        return str(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))

    def folders(self, students: Iterable[str] = ()) -> dict[str, Path]:
        """The submitted folders of the assignment, by student (only those named, if any)."""
        return dict(find_submissions(self.submitted, self.assignment, tuple(students)))

    # --- what the assignment is -----------------------------------------------------------
    @property
    def notebooks(self) -> tuple[str, ...]:
        """The ids of the assignment's notebooks (file names without .ipynb), in order."""
        return tuple(self.bundle.notebooks)

    @property
    def max_score(self) -> float:
        """The points of the assignment's declared exercises."""
        return float(sum(e.points for e in self.bundle.exercises))

    def autograded(self, student: str) -> Path:
        """autograded/<student>/<assignment>/ of the course, where the graded notebooks go."""
        return self.recorder.destination(student)

    # --- grading --------------------------------------------------------------------------
    def plan(self, folders: Mapping[str, Path]) -> Todo:
        """The students to grade: every folder, minus those unchanged since their last grading
        (see `skipped`)."""
        return self.batch.plan(folders)

    def run(self, runner: Runner, todo: Todo, progress: bool = True) -> None:
        """Grade the planned submissions on a runner (dispatch.py), recording each result as it
        comes in (see `entries`)."""
        self.batch.run(runner, todo, self.bundle, progress)

    def prepare(self, student: str, folder: Path) -> Prepared:
        """One student's submitted folder made ready to grade: the Task to run, or the Entry
        when there is nothing to run (rejected by the intake, and recorded so; or unchanged
        since a grading the ledger holds)."""
        return self.batch.prepare(student, folder)

    def record(self, student: str, result: Result) -> Entry:
        """Record a runner's Result for a prepared student (gradebook, autograded folder,
        ledger); returns the ledger's Entry."""
        return self.batch.record(student, result)

    def warm_up_task(self, workdir: Path) -> Task | None:
        """A Task grading the release notebook, unanswered, in workdir (a worker that runs it
        starts its zygote and loads nbgrader's pipeline now, not during a student's grading);
        None when the release cannot be read as a submission. Its Result is not recorded."""
        return self.batch.warm_up_task(self.release, workdir)

    # --- the ledger -----------------------------------------------------------------------
    def reload_ledger(self) -> None:
        """Read the grading ledger again from reports/: another route (instructor grade,
        nbgrader autograde) may have graded since this session was built."""
        self.recorder.reload_ledger()

    def write_ledger(self, run: dict[str, object]) -> Path:
        """The grading summary (grading.json) and a line of history for this run; its path."""
        return self.recorder.ledger.write(run)

    def gradebook(self) -> AbstractContextManager[Gradebook]:
        """nbgrader's gradebook of the course, opened without SQLAlchemy's noise (a context
        manager)."""
        return self.recorder.gradebook()

    @property
    def entries(self) -> list[Entry]:
        """The ledger's Entries this session recorded, in order."""
        return self.batch.entries

    @property
    def skipped(self) -> list[str]:
        """The students `plan` left out, unchanged since their last grading."""
        return self.batch.skipped


def _run_note(bundle: Bundle, config: Config) -> str:
    """One line: which cells each grading runs."""
    if bundle.skippable:
        return (
            f"each submission runs the cells its grade needs: the {len(bundle.skippable)} cells "
            "the source marks are skipped (c.CourseGrading.run_whole_notebook = True runs them)"
        )
    if run_whole_notebook(config):
        return "each submission runs whole (c.CourseGrading.run_whole_notebook is set)"
    return ""


CHANGED_ELSEWHERE = (
    "graded again: its automatic scores or graded notebook had been changed since its last "
    "grading, by something other than the course's grading"
)


class Batch:
    """One run: reads submissions lazily, feeds the runner, records results."""

    def __init__(
        self,
        recorder: Recorder,
        references: list[Reference],
        limits: Limits,
        hide: Iterable[str],
        force: bool,
        progress_stream: TextIO | None = None,
        ignore: tuple[str, ...] = (),
        whole_limits: Limits | None = None,
    ) -> None:
        self.recorder, self.references, self.limits = recorder, references, limits
        self.whole_limits = whole_limits
        self.ignore = ignore or DEFAULT_IGNORE
        self.hide, self.force = tuple(hide), force
        self.submissions: dict[str, Submission] = {}
        self.entries: list[Entry] = []
        self.skipped: list[str] = []
        self.changed_elsewhere: set[str] = set()  # unchanged, but their grades changed since
        self.progress_stream = progress_stream
        self.progress: Progress | None = None

    def plan(self, folders: Mapping[str, Path]) -> Todo:
        """The students to grade: every folder, minus those unchanged since their last grading
        (and whose grades nothing else has changed since)."""
        todo = {}
        for student, folder in folders.items():
            content_hash = digest(folder)
            if not self.force and self.recorder.unchanged(student, content_hash):
                self.skipped.append(student)
            else:
                if not self.force and self.recorder.unchanged(student, content_hash, True):
                    self.changed_elsewhere.add(student)
                todo[student] = (folder, content_hash)
        return todo

    def _task(self, student: str, folder: Path, content_hash: str) -> Task | Entry:
        """The Task of one submission, or the Entry recorded for it when the intake rejects
        it."""
        submission = read_submission(
            student, folder, self.references, content_hash, ignore=self.ignore
        )
        self.submissions[student] = submission
        if submission.status == Status.REJECTED:
            return self.record(student, Result(student, Status.REJECTED, reason=submission.reason))
        return Task(
            student=student,
            notebooks=submission.notebooks,
            limits=self.limits,
            files=submission.files,
            hide=self.hide,
            workdir=str(self.recorder.destination(student).resolve()),
            whole_limits=self.whole_limits,
        )

    def tasks(self, todo: Todo) -> Iterator[tuple[str, Task]]:
        """(student, Task) for each submission to run; rejected ones are recorded on the way."""
        for student, (folder, content_hash) in todo.items():
            task = self._task(student, folder, content_hash)
            if isinstance(task, Task):
                yield student, task

    def prepare(self, student: str, folder: Path) -> Prepared:
        """One submission made ready on its own (see Session.prepare)."""
        self.submissions.pop(student, None)
        todo = self.plan({student: folder})
        if student in self.skipped:  # graded before, unchanged: nothing to run
            self.skipped.remove(student)
            entry = self.recorder.ledger.entries[student]
            return Prepared(student, entry=entry, recorded_before=True)
        task = self._task(student, *todo[student])
        if isinstance(task, Task):
            return Prepared(student, task=task)
        return Prepared(student, entry=task)

    def warm_up_task(self, release: Path, workdir: Path) -> Task | None:
        """A Task grading the release notebooks as a submission of nobody (see
        Session.warm_up_task)."""
        submission = read_submission("warm-up", release, self.references)
        if submission.status == Status.REJECTED:
            return None
        return Task(
            student="warm-up",
            notebooks=submission.notebooks,
            limits=self.limits,
            files=submission.files,
            hide=self.hide,
            workdir=str(workdir),
        )

    def record(self, student: str, result: Result) -> Entry:
        """Record a Result; returns the ledger's Entry."""
        if student in self.changed_elsewhere:
            result = replace(result, notes=(CHANGED_ELSEWHERE, *result.notes))
        entry = self.recorder.save(self.submissions[student], result)
        self.entries.append(entry)
        if self.progress is not None:
            self.progress.update(entry)
        return entry

    def run(self, runner: Runner, todo: Todo, bundle: Bundle, progress: bool = True) -> None:
        self.progress = Progress(len(todo), self.progress_stream) if progress else None
        try:
            for student, result in runner.run(self.tasks(todo), bundle):
                self.record(student, result)
        finally:
            if self.progress is not None:
                self.progress.close()


def reference_run(config: Config, assignment: str) -> ReferenceData:
    """The source graded as a submission, as every session's reference run is, with the
    course's limits and the isolation decided here (`python -m instructor release` checks
    the source with it before it writes a release); ReferenceRunError when its solutions
    fall short, CannotGrade when student code cannot be isolated here."""
    settings = grading_limits(config)
    asked = settings.limits().replace(isolation=isolation_here(settings.isolation).mode)
    return run_reference(CourseDirectory(config=config), config, assignment, asked)


def grade_one(
    config: Config, assignment: str, student: str, log: Callable[[str], object] = lambda line: None
) -> tuple[Entry, Session]:
    """Grade one student's submission in this process, as every route does; return (the
    ledger's Entry: status graded, rejected or failed, with reason, notes and flags; the
    Session)."""
    # imported here: dispatch.py imports Dask, which nbgrader's own routes (autograde, the
    # Formgrader's button), the only callers, never need
    from .dispatch import SerialRunner

    session = Session(config, assignment, force=True, log=log)
    folders = session.folders([student])
    if student not in folders:
        raise CannotGrade(f"no submission of {assignment} for {student} in {session.submitted}")
    session.run(SerialRunner(), session.plan(folders), progress=False)
    session.write_ledger(
        {"students": [student], "skipped": [], "route": "nbgrader autograde (in this process)"}
    )
    return session.entries[-1], session


__all__ = [
    "Batch",
    "CannotGrade",
    "Limits",
    "Prepared",
    "Session",
    "grade_one",
    "reference_run",
    "reports_dir",
]
