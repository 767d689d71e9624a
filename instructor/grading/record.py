"""Saving results, in the instructor's process only: the gradebook has one writer.

For every graded submission `Recorder.save` does what `nbgrader autograde` does for it, in the
same order and with nbgrader's own code where there is some:

1. creates the student and the submission in the gradebook, with the time of timestamp.txt
   (a student without names gets their login's: instructor/people.py);
2. rewrites autograded/<student>/<assignment>/: the student's other files, the source
   assignment's files over them, then the autograded notebook;
3. runs nbgrader's SaveAutoGrades and AssignLatePenalties preprocessors on the notebook the
   worker returned, which store the scores (and late penalty) in the gradebook (nbgrader's
   final CheckCellMetadata ran on the worker, see worker.FINAL_CHECK);
4. marks the grades of flagged exercises as needing manual grading, so that the formgrader
   lists them for review;
5. when the code ran with resource limits only (--isolation limits), says so in the comment of
   every answer cell in the gradebook, which the Formgrader shows next to each answer (and
   generate_feedback on the student's page).

A rejected submission gets zero points, marked for review, and no autograded notebook. A
submission the grader failed on is left as it was in the gradebook.

The summary of every student's last grading (status, reason, notes, flags, scores, content
hash) is kept in reports/<assignment>/grading.json, with an append-only log next to it so that
results survive an interrupted run; a class report can read it.
"""

import contextlib
import datetime
import hashlib
import os
import shutil
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from ..people import name_if_unnamed
from .cells import SAVING
from .intake import Submission
from .ledger import Entry, Ledger
from .messages import Bundle, Result
from .sandbox import LIMITS_ONLY


class Recorder:
    """Writes results into the course: gradebook, autograded folder and grading summary."""

    def __init__(
        self,
        coursedir: CourseDirectory,
        config: Config,
        bundle: Bundle,
        summary_dir: str | os.PathLike[str],
    ) -> None:
        self.coursedir = coursedir
        self.config: Config = cast(Config, config.copy())
        self.config.Exporter.default_preprocessors = []
        self.assignment = bundle.assignment
        self.notebooks = bundle.notebooks
        self.helpers = bundle.helpers
        self.exercises = {e.name: (e.notebook, e.test_cell) for e in bundle.exercises}
        self.fingerprint = bundle.fingerprint
        self.summary_dir = summary_dir
        self.ledger = Ledger(summary_dir, self.assignment)
        self._current: Gradebook | None = None  # the gradebook of the save in progress

    def reload_ledger(self) -> None:
        """Read the ledger again (another route may have written it since)."""
        self.ledger = Ledger(self.summary_dir, self.assignment)

    # gradebook
    def gradebook(self) -> "_Quiet":
        """The course's gradebook, opened without SQLAlchemy's warnings (a context manager)."""
        return _Quiet(Gradebook(self.coursedir.db_url, self.coursedir.course_id))

    @contextlib.contextmanager
    def _open(self) -> Iterator[Gradebook]:
        """The gradebook of the save in progress, else one opened for the caller.

        nbgrader's Gradebook makes a database engine and checks every table each time it is
        opened; a save opened it four times, a tenth of a second of the instructor's process
        per submission. A save now opens it once for its own queries (nbgrader's saving
        preprocessors open theirs). Each of its writes commits, as before."""
        if self._current is not None:
            yield self._current
            return
        with self.gradebook() as gb:
            self._current = gb
            try:
                yield gb
            finally:
                self._current = None

    def _submission(self, student: str, folder: str | os.PathLike[str]) -> None:
        timestamp = self.coursedir.get_existing_timestamp(str(folder))
        with self._open() as gb:
            gb.update_or_create_student(student)
            name_if_unnamed(gb, student)  # the roster's names, else the login's
            gb.find_assignment(self.assignment)
            if timestamp:
                gb.update_or_create_submission(self.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(self.assignment, student)

    def _grades(self, student: str, field: str = "score") -> dict[tuple[str, str], Any]:
        """{(notebook id, grade id): score (or another field of the grade)} of a student."""
        with self._open() as gb:
            return {
                (notebook_id, g.name): getattr(g, field)
                for notebook_id in self.notebooks
                for g in gb.find_submission_notebook(notebook_id, self.assignment, student).grades
            }

    def _review(self, student: str, cells: Iterable[tuple[str, str]]) -> None:
        """Mark grades, given as (notebook id, grade id), as needing manual grading (the
        formgrader lists them for review)."""
        if not cells:
            return
        with self._open() as gb:
            for notebook_id, grade_id in cells:
                grade = gb.find_grade(grade_id, notebook_id, self.assignment, student)
                grade.needs_manual_grade = True
            gb.db.commit()

    # autograded folder
    def destination(self, student: str) -> Path:
        """autograded/<student>/<assignment>/ of the course."""
        return Path(
            self.coursedir.format_path(
                self.coursedir.autograded_directory, student, self.assignment
            )
        )

    def _write_folder(
        self, student: str, files: Mapping[str, bytes], notebooks: Mapping[str, str]
    ) -> None:
        """The student's other files, the source's files over them, then the notebooks
        ({notebook id: text})."""
        dest = self.destination(student)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for relative, data in {**files, **self.helpers}.items():
            target = (dest / relative).resolve()
            if dest.resolve() not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for notebook_id, text in notebooks.items():
            (dest / f"{notebook_id}.ipynb").write_text(text, encoding="utf-8")
        permissions = 0o664 if self.coursedir.groupshared else 0o444  # as nbgrader sets them
        for dirpath, _, filenames in os.walk(dest):
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), permissions)

    def _save_grades(self, student: str, notebook_id: str, notebook_text: str) -> str:
        """nbgrader's saving preprocessors on an autograded notebook; returns its final text."""
        exporter = NotebookExporter(config=self.config)
        for pp in SAVING:
            exporter.register_preprocessor(pp)
        resources = {
            "unique_key": notebook_id,
            "output_files_dir": f"{notebook_id}_files",
            "nbgrader": {
                "student": student,
                "assignment": self.assignment,
                "notebook": notebook_id,
                "db_url": self.coursedir.db_url,
            },
        }
        output, _ = exporter.from_notebook_node(nbformat.reads(notebook_text, 4), resources)
        return cast(str, output)

    # results
    def save(self, submission: Submission, result: Result) -> Entry:
        """Record one Result (graded, rejected or failed); return the ledger's Entry."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's queries, harmless
            return self._save(submission, result)

    def _save(self, submission: Submission, result: Result) -> Entry:
        with self._open():
            return self._save_in(submission, result)

    def _save_in(self, submission: Submission, result: Result) -> Entry:
        entry = Entry(
            student=submission.student,
            status=result.status,
            reason=result.reason,
            notes=(*submission.notes, *result.notes),
            flags=tuple(result.flags),
            notebook=submission.notebook_name,
            digest=submission.digest,
            fingerprint=self.fingerprint,
            isolation=result.isolation,
            worker=result.worker,
            seconds=result.seconds,
            ran=result.ran or None,
            graded_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            # the grader's own error, for whoever fixes it
            trace=result.trace if result.status == "failed" and result.trace else None,
        )
        if result.status == "graded":
            self._submission(submission.student, submission.folder)
            outputs = {
                notebook_id: self._save_grades(submission.student, notebook_id, text)
                for notebook_id, text in result.notebooks.items()
            }
            self._write_folder(submission.student, submission.files, outputs)
            self._review(submission.student, result.review)
            if result.isolation == "limits":
                self._mark_not_isolated(submission.student)
            entry = replace(
                entry,
                scores=self._scores(submission.student),
                written=self._written(submission.student),
                late_penalty=self._late_penalty(submission.student),
            )
        elif result.status == "rejected":
            self._submission(submission.student, submission.folder)
            self._reject(submission.student)
            entry = replace(
                entry,
                scores=self._scores(submission.student),
                written=self._written(submission.student),
            )
        self.ledger.add(entry)
        return entry

    def _mark_not_isolated(self, student: str) -> None:
        """The comment of each answer cell says that the code ran with limits only (nbgrader
        resets automatic comments at each grading, so a grading with isolation clears it)."""
        note = f"The grader {LIMITS_ONLY}."
        with self._open() as gb:
            for notebook_id in self.notebooks:
                notebook = gb.find_submission_notebook(notebook_id, self.assignment, student)
                for comment in notebook.comments:
                    if note not in (comment.auto_comment or ""):
                        comment.auto_comment = " ".join(filter(None, [note, comment.auto_comment]))
            gb.db.commit()

    def _scores(self, student: str) -> dict[str, float | None]:
        grades = self._grades(student)
        if not self.exercises:  # no declared exercises: every graded cell, by grade id
            several = len(self.notebooks) > 1
            return {
                f"{notebook_id}/{grade_id}" if several else grade_id: score
                for (notebook_id, grade_id), score in sorted(grades.items())
            }
        return {name: grades.get(cell) for name, cell in self.exercises.items()}

    def _reject(self, student: str) -> None:
        """Zero points, for review; no autograded notebook (an old one would mislead)."""
        dest = self.destination(student)
        if dest.exists():
            shutil.rmtree(dest)
        with self._open() as gb:
            for notebook_id in self.notebooks:
                notebook = gb.find_submission_notebook(notebook_id, self.assignment, student)
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = True
            gb.db.commit()

    def _late_penalty(self, student: str) -> float | None:
        """The late penalty nbgrader's AssignLatePenalties recorded (None when on time)."""
        with self._open() as gb:
            penalty = gb.find_submission(self.assignment, student).late_submission_penalty
        return penalty or None

    def _written(self, student: str) -> dict[str, Any]:
        """What this grading wrote and another route could change: the automatic scores in the
        gradebook and the graded notebook's content hash."""
        auto = {
            "/".join(key) if len(self.notebooks) > 1 else key[1]: score
            for key, score in self._grades(student, "auto_score").items()
        }
        digests = []
        for notebook_id in self.notebooks:
            path = self.destination(student) / f"{notebook_id}.ipynb"
            digests.append(
                hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            )
        digest = digests[0] if len(digests) == 1 else digests
        return {"auto_scores": dict(sorted(auto.items())), "notebook_sha256": digest}

    def changed_elsewhere(self, student: str) -> bool:
        """True when the gradebook's automatic scores or the graded notebook of a student are
        not what the last grading wrote (another route, or a hand, changed them)."""
        entry = self.ledger.entries.get(student)
        try:
            return entry is None or entry.written != self._written(student)
        except MissingEntry:
            return True

    def unchanged(self, student: str, digest: str, ignore_elsewhere: bool = False) -> bool:
        """True when this exact submission was graded (or rejected) with the same assignment,
        and nothing else changed what that grading wrote (not checked with ignore_elsewhere)."""
        entry = self.ledger.entries.get(student)
        if entry is None or entry.digest != digest or entry.fingerprint != self.fingerprint:
            return False
        if entry.status not in ("graded", "rejected"):
            return False
        if entry.status == "graded" and not any(
            (self.destination(student) / f"{n}.ipynb").exists() for n in self.notebooks
        ):
            return False
        try:
            with self._open() as gb:
                gb.find_submission(self.assignment, student)
        except MissingEntry:
            return False
        return ignore_elsewhere or not self.changed_elsewhere(student)


class _Quiet:
    """A gradebook session without SQLAlchemy's warnings about nbgrader's own queries."""

    def __init__(self, gradebook: Gradebook) -> None:
        self.gradebook = gradebook
        self.filters = warnings.catch_warnings()

    def __enter__(self) -> Gradebook:
        self.filters.__enter__()
        warnings.simplefilter("ignore", SAWarning)
        return self.gradebook.__enter__()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> bool | None:
        try:
            return bool(self.gradebook.__exit__(kind, error, trace))
        finally:
            self.filters.__exit__(kind, error, trace)
