"""CanvasFileNames: the zip_collect collector for files downloaded from Canvas.

Canvas names every file of a "Download Submissions" zip

    <lastfirst>[_LATE]_<user id>_<submission id>_<uploaded name>[-<n>].<ext>

where the user id is Canvas's, LATE is Canvas's own verdict against its due date, and `-<n>`
is added to a file uploaded again under the same name. nbgrader's plain regular expression
keeps neither the user id nor the marker, and stops the whole collection when one student has
two versions of a notebook. This collector (set in nbgrader_config.py as
`ZipCollectApp.collector_plugin`) instead

- maps the Canvas user id to the student in the gradebook whose `lms_user_id` it is (import
  the roster first: `python -m instructor roster import FILE`); files of users who are not on
  the roster are not collected, and are reported;
- keeps, of several versions of one file of one student, the latest (highest `-<n>`, then
  highest submission id) and reports the others as superseded: the collection never aborts;
- gives every collected submission a time, since Canvas's file names have none: without the
  LATE marker, the due date (on time); with it, `late_marker_seconds` after the due date. With
  the default of one second, a LATE file counts as late by one started day, the least that the
  marker can mean; the late policy (late.py) turns that into the penalty of one day. An exact
  time written to submitted/<student>/<assignment>/timestamp.txt afterwards replaces it.

The due date is the assignment's in the gradebook (`nbgrader db assignment add ASSIGNMENT
--duedate=...`); `due_date` set in the configuration is written to the gradebook first. What
it collected, skipped and why is logged and written to reports/<assignment>/collection.json,
which the class report shows.

Given a `named_regexp` of one's own without a `user_id` group (e.g. on the command line,
`--FileNameCollectorPlugin.named_regexp=...`), it collects as nbgrader's plain collector does.
"""

import datetime
import json
import os
import re
import warnings
from textwrap import dedent
from typing import Any, NoReturn, NotRequired, TypedDict

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets import Float, Unicode, default

CANVAS_NAME = (
    r"(?:.*/)?(?P<name>[^/_]+)(?P<late>_LATE)?_(?P<user_id>\d+)_(?P<submission_id>\d+)_"
    r"(?P<file_id>[^/]+?)(?:-(?P<version>\d+))?(?P<ext>\.[^./]+)$"
)


class Answer(TypedDict):
    """What a FileNameCollectorPlugin tells zip_collect about one file (nbgrader's keys)."""

    student_id: str
    file_id: str
    timestamp: datetime.datetime | None


class CollectedStudent(TypedDict):
    """One student of a Canvas download, in the collection's report."""

    lms_user_id: str
    files: list[str]
    late: bool
    superseded: list[str]
    timestamp: NotRequired[str]


class Plan(TypedDict):
    """The whole download read at once: each file's Answer, by its absolute path, and the
    report written next to the grading summary."""

    answers: dict[str, Answer]
    summary: dict[str, Any]


# A file of the download: (version, submission id, path), its path, its name's parts.
Candidate = tuple[tuple[int, int, str], str, dict[str, Any]]


class CanvasFileNames(FileNameCollectorPlugin):
    """zip_collect collector for Canvas downloads: roster ids, LATE marker, resubmissions."""

    @default("named_regexp")
    def _named_regexp_default(self) -> str:
        return CANVAS_NAME

    late_marker_seconds = Float(
        1.0,
        help=dedent(
            """
            How late a file that Canvas marked LATE counts, in seconds after the due date, when
            nothing tells the real time. The default (1 s) is one started day for a per-day
            penalty: the least lateness the marker can mean.
            """
        ),
    ).tag(config=True)

    due_date = Unicode(
        "",
        help=dedent(
            """
            The assignment's due date, e.g. '2026-03-02 23:59:00 America/Toronto'. When set,
            zip_collect writes it to the gradebook before collecting; when empty, the gradebook's
            due date (nbgrader db assignment add --duedate=...) is used.
            """
        ),
    ).tag(config=True)

    report_name = Unicode(
        "collection.json",
        help="File in reports/<assignment>/ where what was collected and skipped is written.",
    ).tag(config=True)

    plan: Plan | None = None

    def collect(self, submitted_file: str) -> Answer | dict[str, Any] | None:
        if "user_id" not in re.compile(self.named_regexp).groupindex:
            # A regular expression of one's own, without a Canvas user id: nbgrader's plain
            # collection, the student id taken from the file name.
            return super().collect(submitted_file)
        if self.plan is None:
            self.plan = self._make_plan(submitted_file)
        return self.plan["answers"].get(os.path.abspath(submitted_file))

    # planning: every file of the download at once, on the first call
    def _course(self) -> tuple[CourseDirectory, str, str | None]:
        """(coursedir, assignment id, extracted folder or None) from the zip_collect app."""
        app = self.parent
        coursedir = getattr(app, "coursedir", None)
        if coursedir is None:
            raise ValueError("CanvasFileNames runs inside nbgrader zip_collect only")
        folder = None
        if hasattr(app, "_format_collect_path"):
            folder = app._format_collect_path(app.extracted_directory)
        return coursedir, coursedir.assignment_id, folder

    def _fail(self, message: str) -> NoReturn:
        if hasattr(self.parent, "fail"):
            self.parent.fail(message)
        raise ValueError(message)

    def _gradebook_state(
        self, coursedir: CourseDirectory, assignment: str
    ) -> tuple[dict[str, str], datetime.datetime | None]:
        """({canvas user id: student id}, due date as naive UTC or None)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
                if self.due_date:
                    gb.update_or_create_assignment(assignment, duedate=parse_utc(self.due_date))
                    self.log.info(
                        "Due date of %s set to %s (UTC)", assignment, parse_utc(self.due_date)
                    )
                try:
                    due = gb.find_assignment(assignment).duedate
                except MissingEntry:
                    due = None
                roster = {s.lms_user_id: s.id for s in gb.students if s.lms_user_id}
        return roster, due

    def _make_plan(self, first_file: str) -> Plan:
        coursedir, assignment, folder = self._course()
        folder = folder or os.path.dirname(os.path.abspath(first_file))
        roster, due = self._gradebook_state(coursedir, assignment)
        if not roster:
            self._fail(
                "No student in the gradebook has a Canvas user id: import the roster first "
                "(python -m instructor roster import FILE)"
            )
        files = sorted(
            os.path.join(dirpath, name) for dirpath, _, names in os.walk(folder) for name in names
        )
        pattern = re.compile(self.named_regexp)
        versions: dict[tuple[str, str], list[Candidate]] = {}
        unknown: list[dict[str, str]] = []
        unmatched: list[str] = []
        for path in files:
            if os.path.splitext(path)[1] not in self.valid_ext:
                continue
            match = pattern.match(path)
            if not match:
                unmatched.append(os.path.relpath(path, folder))
                continue
            found = match.groupdict()
            student = roster.get(found["user_id"])
            if student is None:
                unknown.append(
                    {
                        "file": os.path.relpath(path, folder),
                        "lms_user_id": found["user_id"],
                        "name": found["name"],
                        "reason": f"Canvas user {found['user_id']} ({found['name']}) is not on "
                        "the roster: not collected",
                    }
                )
                continue
            file_id = found["file_id"] + found["ext"]
            order = (int(found.get("version") or 0), int(found["submission_id"]), path)
            versions.setdefault((student, file_id), []).append((order, path, found))

        answers: dict[str, Answer] = {}
        students: dict[str, CollectedStudent] = {}
        for (student, file_id), candidates in sorted(versions.items()):
            candidates.sort()
            _, path, found = candidates[-1]
            is_late = bool(found.get("late"))
            timestamp = None
            if due is not None:
                timestamp = due + datetime.timedelta(
                    seconds=self.late_marker_seconds if is_late else 0
                )
            elif is_late:
                self.log.warning(
                    "%s is marked LATE but %s has no due date in the gradebook: no penalty "
                    "(set one with nbgrader db assignment add %s --duedate=...)",
                    os.path.basename(path), assignment, assignment,
                )  # fmt: skip
            answers[os.path.abspath(path)] = {
                "student_id": student,
                "file_id": file_id,
                "timestamp": timestamp,
            }
            record = students.setdefault(
                student,
                {"lms_user_id": found["user_id"], "files": [], "late": False, "superseded": []},
            )
            record["files"].append(os.path.relpath(path, folder))
            record["late"] = record["late"] or is_late
            if timestamp is not None:
                old = record.get("timestamp")
                record["timestamp"] = (
                    max(old, timestamp.isoformat(" ")) if old else timestamp.isoformat(" ")
                )
            for _, older, _ in candidates[:-1]:
                record["superseded"].append(os.path.relpath(older, folder))
                self.log.warning(
                    "%s: %s superseded by the later %s (not collected)",
                    student, os.path.basename(older), os.path.basename(path),
                )  # fmt: skip
        for item in unknown:
            self.log.warning("%s: %s", item["file"], item["reason"])
        for name in unmatched:
            self.log.warning("%s: not a Canvas submission file name, not collected", name)
        summary = {
            "assignment": assignment,
            "due_date": due.isoformat(" ") if due else None,
            "collected_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "students": students,
            "not_on_roster": unknown,
            "unmatched": unmatched,
            "late_marker_seconds": self.late_marker_seconds,
        }
        self._write(coursedir, assignment, summary)
        late = sorted(s for s, r in students.items() if r["late"])
        self.log.info(
            "Canvas download: %d student(s) collected, %d late%s; %d superseded version(s); "
            "%d file(s) of users not on the roster",
            len(students), len(late), f" ({', '.join(late)})" if late else "",
            sum(len(r["superseded"]) for r in students.values()), len(unknown),
        )  # fmt: skip
        return {"answers": answers, "summary": summary}

    def _write(self, coursedir: CourseDirectory, assignment: str, summary: dict[str, Any]) -> None:
        """Next to the grading summary: c.CourseGrading.reports_directory (default reports/)."""
        # imported here: nbgrader loads this plugin for every zip_collect, and the engine is
        # needed only once the files are chosen
        from ..grading.session import reports_dir

        out = reports_dir(self.config, assignment)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / (self.report_name + ".tmp")
        tmp.write_text(json.dumps(summary, indent=1))
        os.replace(tmp, out / self.report_name)
