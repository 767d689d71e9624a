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
c.CourseGrading.run_whole_notebook (read here, as the other c.CourseGrading settings are).

A `Session` holds what one grading needs: the course directory of the loaded nbgrader
configuration, the check that the source, the release and the gradebook agree (sync.py), the
limits (defaults derived from the reference run, reference.py), the bundle sent to workers
(bundle.py), the recorder that writes the gradebook, the autograded folder and the ledger
(record.py), and the batch that feeds submissions to a runner (dispatch.py).
"""

from dataclasses import replace
from pathlib import Path

from ..errors import CourseError
from ..gradebook_db import prepare
from .bundle import BundleError, build, copy_assignment, source_notebooks, with_limits
from .hide import hidden_paths
from .intake import DEFAULT_IGNORE, Reference, digest, find_submissions, read_submission
from .messages import Result, Task
from .progress import Progress
from .record import Recorder
from .reference import ReferenceRunError, derived_limits
from .sandbox import Limits
from .sync import NOT_RECORDED, out_of_sync


class CannotGrade(CourseError):
    """Grading cannot start; the message says what to do, in one line."""


def reports_dir(config, assignment):
    """Where the grading summary and the class report of an assignment go: the configured
    c.CourseGrading.reports_directory, else reports/ in the course root, then the assignment."""
    base = config.CourseGrading.get("reports_directory") if "CourseGrading" in config else None
    if not base:
        from nbgrader.coursedir import CourseDirectory

        base = Path(CourseDirectory(config=config).root) / "reports"
    return Path(base) / assignment


def explicit_limits(config, overrides=None):
    """Limits set by the instructor: c.GradingLimits.<field> in the config, then the command
    line (None values are not set)."""
    values = dict(config.GradingLimits) if "GradingLimits" in config else {}
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return values


def isolation_here(requested):
    """The Isolation that student code gets on this machine (sandbox/modes.py); CannotGrade,
    with the platform's fix, when it cannot be isolated here. This process holds the course:
    it is made not dumpable first (closed to other processes of its user through /proc)."""
    from .sandbox import IsolationRefused, choose, guard_grader_process

    guard_grader_process()
    try:
        return choose(requested)
    except IsolationRefused as refused:
        raise CannotGrade(str(refused)) from None


class Session:
    """Everything one grading run needs, built from the loaded nbgrader configuration.

    config -- the course's nbgrader configuration (bundle.load_config, or nbgrader's own)
    assignment -- the assignment's name (its folder in source/, release/, submitted/)
    overrides -- limits given on the command line, by Limits field (None: not given)
    force -- grade unchanged submissions again
    log -- a function taking one line, for what the session says before grading
    """

    def __init__(
        self, config, assignment, overrides=None, force=False, log=print, progress_stream=None
    ):
        from nbgrader.coursedir import CourseDirectory

        self.config = config
        self.assignment = assignment
        self.coursedir = CourseDirectory(config=config)
        self.force = force
        source_db = (
            config.CourseGrading.get("assignment_db_url") if "CourseGrading" in config else None
        )
        prepare(self.coursedir.db_url)  # a writer among others: WAL mode on SQLite
        try:
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
            explicit = explicit_limits(config, overrides)
            self.isolation = isolation_here(explicit.get("isolation", Limits().isolation))
            self.reports = reports_dir(config, assignment)
            bundle = build(self.coursedir, config, Limits(), assignment)  # read once
            self.limits, self.limits_note, self.whole_limits = derived_limits(
                self.coursedir, config, assignment, self.reports, explicit, log=log, bundle=bundle
            )
            self.bundle = with_limits(bundle, self.limits)
            self.run_note = _run_note(self.bundle, config)
        except (BundleError, ReferenceRunError) as error:
            raise CannotGrade(str(error)) from None
        self.recorder = Recorder(self.coursedir, config, self.bundle, self.reports)
        release = Path(
            self.coursedir.format_path(self.coursedir.release_directory, ".", assignment)
        )
        self.batch = Batch(
            self.recorder,
            [Reference.from_file(release / name) for name in notebooks],
            self.limits,
            hidden_paths(self.coursedir),
            force,
            progress_stream,
            ignore=tuple(self.coursedir.ignore),
            whole_limits=self.whole_limits,
        )

    @property
    def submitted(self):
        return self.coursedir.format_path(self.coursedir.submitted_directory, ".", ".")

    def folders(self, students=()):
        return find_submissions(self.submitted, self.assignment, students)


def _run_note(bundle, config):
    """One line: which cells each grading runs."""
    from .bundle import run_whole_notebook

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
        self, recorder, references, limits, hide, force, progress_stream=None, ignore=(),
        whole_limits=None,
    ):  # fmt: skip
        self.recorder, self.references, self.limits = recorder, references, limits
        self.whole_limits = whole_limits
        self.ignore = ignore or DEFAULT_IGNORE
        self.hide, self.force = hide, force
        self.submissions, self.entries, self.skipped = {}, [], []
        self.changed_elsewhere = set()  # unchanged, but their grades were changed since
        self.progress_stream = progress_stream
        self.progress = None

    def plan(self, folders):
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

    def tasks(self, todo):
        """(student, Task) for each submission to run; rejected ones are recorded on the way."""
        for student, (folder, content_hash) in todo.items():
            submission = read_submission(
                student, folder, self.references, content_hash, ignore=self.ignore
            )
            self.submissions[student] = submission
            if submission.status == "rejected":
                self.record(student, Result(student, "rejected", reason=submission.reason))
                continue
            yield (
                student,
                Task(
                    student=student,
                    notebooks=submission.notebooks,
                    limits=self.limits,
                    files=submission.files,
                    hide=tuple(self.hide),
                    workdir=str(self.recorder.destination(student).resolve()),
                    whole_limits=self.whole_limits,
                ),
            )

    def record(self, student, result):
        """Record a Result; returns the ledger's Entry."""
        if student in self.changed_elsewhere:
            result = replace(result, notes=(CHANGED_ELSEWHERE, *result.notes))
        entry = self.recorder.save(self.submissions[student], result)
        self.entries.append(entry)
        if self.progress is not None:
            self.progress.update(entry)
        return entry

    def run(self, runner, todo, bundle, progress=True):
        self.progress = Progress(len(todo), self.progress_stream) if progress else None
        try:
            for student, result in runner.run(self.tasks(todo), bundle):
                self.record(student, result)
        finally:
            if self.progress is not None:
                self.progress.close()


def grade_one(config, assignment, student, log=lambda line: None):
    """Grade one student's submission in this process, as every route does; return (the
    ledger's Entry: status graded, rejected or failed, with reason, notes and flags; the
    Session)."""
    from .dispatch import SerialRunner

    session = Session(config, assignment, force=True, log=log)
    folders = session.folders([student])
    if student not in folders:
        raise CannotGrade(f"no submission of {assignment} for {student} in {session.submitted}")
    batch = session.batch
    todo = batch.plan(folders)
    batch.run(SerialRunner(), todo, session.bundle, progress=False)
    session.recorder.ledger.write(
        {"students": [student], "skipped": [], "route": "nbgrader autograde (in this process)"}
    )
    return batch.entries[-1], session


__all__ = ["Batch", "CannotGrade", "Limits", "Session", "grade_one", "reports_dir"]
