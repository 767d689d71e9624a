"""SafeCollect: `nbgrader collect` reading the inbound folder with the rules of inbound.py.

nbgrader's ExchangeCollect trusts the inbound folder, which every student can write to:

- init_src parses every name that matches <student>+<assignment>+* with parse_utc, so a single
  folder named alice+ps1+not-a-time stops the whole collection (a ValueError), and it takes a
  student's latest entry even when that is a symbolic link or a file;
- copy_files only warns when a folder's owner is not the student its name claims, and it
  removes the student's previous copy in submitted/ before copying the new one, so a copy that
  fails leaves nothing;
- do_copy is shutil.copytree: links followed, FIFOs opened (the collection hangs), no limit on
  the number of files.

SafeCollect replaces these three methods, and only these:

- init_src reads inbound with inbound.scan: invalid entries of the assignment are logged and
  left alone; with check_owner, a folder whose owner is not the student its name claims (made
  by `nbgrader submit --student=<classmate>` or by hand) is refused, logged with the login
  that owns it and recorded for the class report (forgeries.py), and never taken as that
  student's submission; nbgrader's choice (the latest submission, or with --before-duedate
  the latest on time) is made among the valid ones;
- copy_files keeps nbgrader's decisions (--update, --before-duedate, already collected) but
  leaves the previous copy where it is: do_copy replaces it atomically, or not at all;
- do_copy is copier.collect with the course's ignore, include, max_file_size and max_dir_size,
  and the owner check made a refusal when check_owner is set (the student is the one the
  folder's name claims, as nbgrader's _path_to_record reads it). It can be called on its own
  with nbgrader's arguments (src, dest).

A refused submission is logged as an error (its one-line reason) and the others are still
collected; `nbgrader collect` ends with status 0. Set it in nbgrader_config.py:

    c.ExchangeFactory.collect = "instructor.exchange.collect.SafeCollect"
"""

import copy
import datetime
import fnmatch
import os
from textwrap import dedent
from typing import TypedDict

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import check_mode
from traitlets import Float, Integer

from instructor.exchange import copier, forgeries, inbound


class SourceRecord(TypedDict):
    """nbgrader's record of a submission to collect (ExchangeCollect.src_records): the
    student, the folder's name in inbound and its time (naive UTC)."""

    username: str
    filename: str
    timestamp: datetime.datetime


class SafeCollect(ExchangeCollect):  # type: ignore[misc]  # nbgrader ships no types
    """nbgrader's collect with inbound.scan and copier.collect: see the module's docstring."""

    max_files = Integer(
        1000,
        help=dedent(
            """
            Most files and folders a submission may hold (every entry counts, ignored ones
            too); a submission with more is not collected. Counting stops there, so a folder
            of a million files costs little.
            """
        ),
    ).tag(config=True)

    max_depth = Integer(
        8,
        help="Most folder levels below a submission's own; a deeper one is not collected.",
    ).tag(config=True)

    settle_seconds = Float(
        0.5,
        help=dedent(
            """
            Seconds to wait before copying a submission again when it changed while it was
            copied.
            """
        ),
    ).tag(config=True)

    attempts = Integer(
        4,
        help=dedent(
            """
            Copies tried of a submission that keeps changing; after the last one it is not
            collected.
            """
        ),
    ).tag(config=True)

    src_records: list[SourceRecord]
    inbound_path: str

    def init_src(self) -> None:
        """nbgrader's init_src, with inbound.scan reading the inbound folder."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")

        assignment = self.coursedir.assignment_id
        student = self.coursedir.student_id or "*"  # a glob, as in nbgrader's own pattern
        records, invalid = inbound.scan(self.inbound_path, [assignment])
        for name, reason in invalid:
            # those nbgrader's glob would have taken; other entries are not this collection's
            if fnmatch.fnmatchcase(name, f"{student}+{assignment}+*"):
                self.log.error("Not collected: %s: %s", name, reason)
        records = [r for r in records if fnmatch.fnmatchcase(r.student, student)]
        if self.check_owner:  # a folder in another student's name never counts as theirs
            records, forged = inbound.split_forged(records)
            self._report_forgeries(forged)

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                self.duedate = gb.find_assignment(assignment).duedate
            except MissingEntry:
                self.duedate = None
        chosen = inbound.latest_per_student(records)
        if self.duedate is not None and self.before_duedate:
            on_time = [r for r in records if _naive(r.timestamp) <= self.duedate]
            chosen.update(inbound.latest_per_student(on_time))
        # nbgrader's records: naive UTC times, as its gradebook and timestamp.txt give them
        self.src_records = [
            {"username": r.student, "filename": r.name, "timestamp": _naive(r.timestamp)}
            for _, r in sorted(chosen.items())
        ]

    def _report_forgeries(self, forged: list[tuple[inbound.Record, str]]) -> None:
        """Log each folder made in another student's name, with its owner, and record it for
        the class report (forgeries.py)."""
        if not forged:
            return
        # imported here: nbgrader loads this plugin for every collect, and the engine is needed
        # only when a forgery is found
        from ..grading.session import reports_dir

        config = copy.deepcopy(self.config)  # the course root is the coursedir's, as collected
        config.CourseDirectory.root = self.coursedir.root
        folder = reports_dir(config, self.coursedir.assignment_id)
        for record, owner in forged:
            self.log.error("Not collected: %s", forgeries.reason(record, owner))
            try:
                forgeries.note(folder, record, owner, "collect")
            except OSError as error:
                self.log.error("Could not record it in %s: %s", folder, error)

    def copy_files(self) -> None:
        """nbgrader's copy_files, except that the previous copy is not removed first."""
        assignment, course = self.coursedir.assignment_id, self.coursedir.course_id
        if not self.src_records:
            self.log.warning(f"No submissions of '{assignment}' for course '{course}' to collect")
        else:
            self.log.info(
                f"Processing {len(self.src_records)} submissions of '{assignment}' for course "
                f"'{course}'"
            )
        for rec in self.src_records:
            student = rec["username"]
            src_path = os.path.join(self.inbound_path, rec["filename"])
            dest_path = self.coursedir.format_path(
                self.coursedir.submitted_directory, student, assignment
            )
            if os.path.isdir(dest_path):
                existing = self._existing_timestamp(dest_path)
                if (self.update and (existing is None or rec["timestamp"] > existing)) or (
                    self.before_duedate and existing != rec["timestamp"]
                ):
                    self.log.info(f"Updating submission: {student} {assignment}")
                elif self.update:
                    self.log.info(f"No newer submission to collect: {student} {assignment}")
                    continue
                else:
                    self.log.info(
                        f"Submission already exists, use --update to update: {student} {assignment}"
                    )
                    continue
            else:
                self.log.info(f"Collecting submission: {student} {assignment}")
            self.do_copy(src_path, dest_path)

    def _existing_timestamp(self, dest_path: str) -> datetime.datetime | None:
        """The time of the copy already collected, or None (then it is replaced): its
        timestamp.txt is the student's, and nbgrader's reader fails on an invalid one."""
        try:
            existing: datetime.datetime | None = self.coursedir.get_existing_timestamp(dest_path)
            return existing
        except Exception as error:  # noqa: BLE001 -- any unreadable time means "unknown"
            self.log.warning("Unreadable timestamp.txt in %s (%s)", dest_path, error)
            return None

    def do_copy(self, src: str, dest: str, log: object = None) -> copier.Collected | None:
        """copier.collect in place of shutil.copytree; the Collected, or None when the
        submission was refused (logged as an error)."""
        student = None
        if self.check_owner:
            student = os.path.basename(src).rsplit("+", 3)[0]  # as nbgrader's _path_to_record
        try:
            collected = copier.collect(
                src,
                dest,
                student=student,
                ignore=self.coursedir.ignore,
                include=self.coursedir.include,
                max_file_size_kb=self.coursedir.max_file_size,
                max_dir_size_kb=self.coursedir.max_dir_size,
                max_files=self.max_files,
                max_depth=self.max_depth,
                settle_seconds=self.settle_seconds,
                attempts=self.attempts,
            )
        except copier.FolderRefused as why:
            self.log.error("%s", why)
            return None
        label = inbound.printable(os.path.basename(src))
        for path, reason in collected.skipped:
            self.log.warning("%s: %s not collected: %s", label, path, reason)
        if self.coursedir.groupshared:
            _share_with_group(dest)
        return collected


def _naive(timestamp: datetime.datetime) -> datetime.datetime:
    """An aware UTC time as nbgrader keeps it (naive UTC)."""
    return timestamp.replace(tzinfo=None)


def _share_with_group(dest: str) -> None:
    """nbgrader's groupshared permissions on a collected copy: folders g+rws, files g+rw."""
    for folder, _, files in os.walk(dest):
        os.chmod(folder, 0o2775)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o664)
