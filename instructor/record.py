"""Saving results, in the instructor's process only: the gradebook has one writer.

For every graded submission `Recorder.save` does what `nbgrader autograde` does for it, in the
same order and with nbgrader's own code where there is some:

1. creates the student and the submission in the gradebook, with the time of timestamp.txt;
2. rewrites autograded/<student>/<assignment>/: the student's other files, the source
   assignment's files over them, then the autograded notebook;
3. runs nbgrader's SaveAutoGrades, AssignLatePenalties and CheckCellMetadata preprocessors on
   the notebook the worker returned, which store the scores (and late penalty) in the gradebook;
4. marks the grades of flagged exercises as needing manual grading, so that the formgrader
   lists them for review.

A rejected submission gets zero points, marked for review, and no autograded notebook. A
submission the grader failed on is left as it was in the gradebook.

The summary of every student's last grading (status, reason, notes, flags, scores, content
hash) is kept in reports/<assignment>/grading.json, with an append-only log next to it so that
results survive an interrupted run; a class report can read it.
"""

import datetime
import json
import os
import shutil
import warnings
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from .course import EXERCISES
from .worker import SAVING


class Recorder:
    """Writes results into the course: gradebook, autograded folder and grading summary."""

    def __init__(self, coursedir, config, bundle, summary_dir):
        self.coursedir = coursedir
        self.config = config.copy()
        self.config.Exporter.default_preprocessors = []
        self.assignment = bundle["assignment"]
        self.notebook_id = bundle["notebook_id"]
        self.helpers = bundle["helpers"]
        self.fingerprint = bundle["fingerprint"]
        self.ledger = Ledger(summary_dir, self.assignment)

    # gradebook
    def _gradebook(self):
        return _Quiet(Gradebook(self.coursedir.db_url, self.coursedir.course_id))

    def _submission(self, student, folder):
        timestamp = self.coursedir.get_existing_timestamp(str(folder))
        with self._gradebook() as gb:
            gb.update_or_create_student(student)
            gb.find_assignment(self.assignment)
            if timestamp:
                gb.update_or_create_submission(self.assignment, student, timestamp=timestamp)
            else:
                gb.update_or_create_submission(self.assignment, student)

    def _grades(self, student):
        with self._gradebook() as gb:
            notebook = gb.find_submission_notebook(self.notebook_id, self.assignment, student)
            return {g.name: g.score for g in notebook.grades}

    def _review(self, student, grade_ids):
        """Mark grades as needing manual grading (the formgrader lists them for review)."""
        if not grade_ids:
            return
        with self._gradebook() as gb:
            for grade_id in grade_ids:
                grade = gb.find_grade(grade_id, self.notebook_id, self.assignment, student)
                grade.needs_manual_grade = True
            gb.db.commit()

    # autograded folder
    def destination(self, student):
        """autograded/<student>/<assignment>/ of the course."""
        return Path(
            self.coursedir.format_path(
                self.coursedir.autograded_directory, student, self.assignment
            )
        )

    def _write_folder(self, student, files, notebook_text):
        """The student's other files, the source's files over them, then the notebook."""
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
        if notebook_text is not None:
            (dest / f"{self.notebook_id}.ipynb").write_text(notebook_text, encoding="utf-8")
        permissions = 0o664 if self.coursedir.groupshared else 0o444  # as nbgrader sets them
        for dirpath, _, filenames in os.walk(dest):
            for name in filenames:
                os.chmod(os.path.join(dirpath, name), permissions)

    def _save_grades(self, student, notebook_text):
        """nbgrader's saving preprocessors on the autograded notebook; returns its final text."""
        exporter = NotebookExporter(config=self.config)
        for pp in SAVING:
            exporter.register_preprocessor(pp)
        resources = {
            "unique_key": self.notebook_id,
            "output_files_dir": f"{self.notebook_id}_files",
            "nbgrader": {
                "student": student,
                "assignment": self.assignment,
                "notebook": self.notebook_id,
                "db_url": self.coursedir.db_url,
            },
        }
        output, _ = exporter.from_notebook_node(nbformat.reads(notebook_text, 4), resources)
        return output

    # results
    def save(self, submission, result):
        """Record one result (graded, rejected or failed); return the summary entry."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's queries, harmless
            return self._save(submission, result)

    def _save(self, submission, result):
        entry = {
            "student": submission.student,
            "status": result["status"],
            "reason": result.get("reason", ""),
            "notes": submission.notes + result.get("notes", []),
            "flags": list(result.get("flags", [])),
            "notebook": submission.notebook_name,
            "digest": submission.digest,
            "fingerprint": self.fingerprint,
            "isolation": result.get("isolation"),
            "worker": result.get("worker"),
            "seconds": result.get("seconds"),
            "graded_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        if result["status"] == "failed" and result.get("trace"):
            entry["trace"] = result["trace"]  # the grader's own error, for whoever fixes it
        if result["status"] == "graded":
            self._submission(submission.student, submission.folder)
            output = self._save_grades(submission.student, result["notebook"])
            self._write_folder(submission.student, submission.files, output)
            self._review(submission.student, result.get("review", []))
            entry["scores"] = self._scores(submission.student)
            entry["written"] = self._written(submission.student)
            entry["late_penalty"] = self._late_penalty(submission.student)
        elif result["status"] == "rejected":
            self._submission(submission.student, submission.folder)
            self._reject(submission.student)
            entry["scores"] = self._scores(submission.student)
            entry["written"] = self._written(submission.student)
        self.ledger.add(entry)
        return entry

    def _scores(self, student):
        grades = self._grades(student)
        return {name: grades.get(test) for name, test in EXERCISES.items()}

    def _reject(self, student):
        """Zero points, for review; no autograded notebook (an old one would mislead)."""
        dest = self.destination(student)
        if dest.exists():
            shutil.rmtree(dest)
        with self._gradebook() as gb:
            notebook = gb.find_submission_notebook(self.notebook_id, self.assignment, student)
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = True
            gb.db.commit()

    def _late_penalty(self, student):
        """The late penalty nbgrader's AssignLatePenalties recorded (None when on time)."""
        with self._gradebook() as gb:
            penalty = gb.find_submission(self.assignment, student).late_submission_penalty
        return penalty or None

    def _written(self, student):
        """What this grading wrote and another route could change: the automatic scores in the
        gradebook and the graded notebook's content hash."""
        import hashlib

        with self._gradebook() as gb:
            notebook = gb.find_submission_notebook(self.notebook_id, self.assignment, student)
            auto = {g.name: g.auto_score for g in notebook.grades}
        path = self.destination(student) / f"{self.notebook_id}.ipynb"
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        return {"auto_scores": dict(sorted(auto.items())), "notebook_sha256": digest}

    def changed_elsewhere(self, student):
        """True when the gradebook's automatic scores or the graded notebook of a student are
        not what the last grading wrote (another route, or a hand, changed them)."""
        entry = self.ledger.entries.get(student) or {}
        try:
            return entry.get("written") != self._written(student)
        except MissingEntry:
            return True

    def unchanged(self, student, digest, ignore_elsewhere=False):
        """True when this exact submission was graded (or rejected) with the same assignment,
        and nothing else changed what that grading wrote (not checked with ignore_elsewhere)."""
        entry = self.ledger.entries.get(student)
        if (
            not entry
            or entry.get("digest") != digest
            or entry.get("fingerprint") != self.fingerprint
        ):
            return False
        if entry.get("status") not in ("graded", "rejected"):
            return False
        if (
            entry["status"] == "graded"
            and not (self.destination(student) / f"{self.notebook_id}.ipynb").exists()
        ):
            return False
        try:
            with self._gradebook() as gb:
                gb.find_submission(self.assignment, student)
        except MissingEntry:
            return False
        return ignore_elsewhere or not self.changed_elsewhere(student)


class _Quiet:
    """A gradebook session without SQLAlchemy's warnings about nbgrader's own queries."""

    def __init__(self, gradebook):
        self.gradebook = gradebook
        self.filters = warnings.catch_warnings()

    def __enter__(self):
        self.filters.__enter__()
        warnings.simplefilter("ignore", SAWarning)
        return self.gradebook.__enter__()

    def __exit__(self, *exc):
        try:
            return self.gradebook.__exit__(*exc)
        finally:
            self.filters.__exit__(*exc)


class Ledger:
    """reports/<assignment>/grading.json, its append-only log grading.log.jsonl, and the
    history of grading runs history.jsonl.

    grading.json holds every student's last grading. history.jsonl gets one line per run
    (`write`): when, how, who was graded, and what changed since the previous grading of each
    student (status and scores before and after, total before and after, and why: first
    grading, submission changed, assignment or grader changed, or graded again unchanged).
    A run that was interrupted before `write` is recorded by the next run's line, marked so.
    """

    def __init__(self, folder, assignment):
        self.folder = Path(folder)
        self.path = self.folder / "grading.json"
        self.log = self.folder / "grading.log.jsonl"
        self.history = self.folder / "history.jsonl"
        self.assignment = assignment
        self.entries = {}
        self.graded, self.changes = [], []
        if self.path.exists():
            try:
                self.entries = json.loads(self.path.read_text()).get("students", {})
            except (OSError, ValueError):
                self.entries = {}
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                self._note(entry, interrupted=True)
                self.entries[entry["student"]] = entry

    def _note(self, entry, interrupted=False):
        """Remember, for the history, that this entry was recorded and what it changed."""
        graded = {"student": entry["student"], "status": entry["status"]}
        if interrupted:
            graded["interrupted_run"] = True
        self.graded.append(graded)
        change = self.change_of(self.entries.get(entry["student"]), entry)
        if change:
            if interrupted:
                change["interrupted_run"] = True
            self.changes.append(change)

    def add(self, entry):
        self._note(entry)
        self.entries[entry["student"]] = entry
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write(self, run):
        """The summary file, a line of history, then an empty log (its entries are in the
        summary now)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        content = {
            "assignment": self.assignment,
            "updated": now,
            "last_run": run,
            "students": dict(sorted(self.entries.items())),
        }
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(content, indent=1))
        os.replace(tmp, self.path)
        line = {"at": now, "run": run, "graded": self.graded, "changes": self.changes}
        with open(self.history, "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.graded, self.changes = [], []
        self.log.unlink(missing_ok=True)
        return self.path

    @staticmethod
    def read_history(folder):
        """The runs of history.jsonl in folder, oldest first ([] when there is none)."""
        path = Path(folder) / "history.jsonl"
        runs = []
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    runs.append(json.loads(line))
                except ValueError:
                    continue
        return runs

    @staticmethod
    def _total(scores):
        values = [v for v in (scores or {}).values() if v is not None]
        return sum(values) if values else None

    @classmethod
    def change_of(cls, before, after):
        """What a new grading entry changed since the previous one of the same student, as a
        history record, or None when status, scores and late penalty are all the same."""
        keys = ("status", "scores", "late_penalty")
        if before is not None and all(before.get(k) == after.get(k) for k in keys):
            return None
        if before is None:
            why = ["first grading"]
        else:
            why = []
            if before.get("digest") != after.get("digest"):
                why.append("submission changed")
            if before.get("fingerprint") != after.get("fingerprint"):
                why.append("assignment or grader changed")
            if not why:
                why.append("graded again, submission and assignment unchanged")
        if after.get("status") != "graded" and after.get("reason"):
            why.append(f"{after['status']}: {after['reason']}")
        old = before or {}
        return {
            "student": after["student"],
            "status": [old.get("status"), after.get("status")],
            "scores": [old.get("scores"), after.get("scores")],
            "total": [cls._total(old.get("scores")), cls._total(after.get("scores"))],
            "late_penalty": [old.get("late_penalty"), after.get("late_penalty")],
            "why": why,
            "at": after.get("graded_at"),
        }
