"""The grade-on-submit service: from the exchange's inbound folder to the student's feedback.

One loop, in one process, does everything that writes (the journal, the gradebook, the
autograded and feedback folders); only the gradings themselves run elsewhere, on the Dask
workers. Each turn of the loop:

1. looks at the inbound folder (instructor/exchange/inbound.py reads it without following a
   link or trusting a name), refuses each folder made in another student's name (its owner is
   not the student it names: logged with that owner and kept for the class report,
   exchange/forgeries.py; never queued, so never taken as that student's latest), and queues
   each new submission of a released assignment, the latest per student (fair.py);
2. starts gradings while workers are free: the submission is collected into
   submitted/<student>/<assignment>/ with nbgrader's semantics, then graded by the course's
   grading engine (instructor/grading/), exactly as `instructor grade` and `nbgrader autograde`
   grade it;
3. records each grading that finished, in the gradebook and the grading ledger, then makes and
   releases that student's feedback (deliver.py), as the policy allows (policy.py);
4. after the due date, releases the feedback that the policy held back.

Every step of every submission goes to the journal (journal.py) before the next one, and to
the log as one line.
"""

import datetime
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, overload

from distributed import wait
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from ..exchange import copier, forgeries, inbound
from ..grading.dispatch import DaskRunner
from ..grading.ledger import Entry
from ..grading.messages import Result, Task
from ..grading.sandbox import shared_process_limit
from ..grading.session import CannotGrade, Session, reports_dir
from ..grading.status import Status
from . import deliver
from .fair import FairQueue
from .journal import Journal, Step
from .policy import GradeOnSubmit

RETRY_INCOMPLETE_SECONDS = 2.0
Key = tuple[str, str]  # (assignment, student)
Signature = tuple[tuple[str, int, int], ...]  # (path, mtime in ns, size) of each file
DUE_DATE_SECONDS = 5.0  # how long a due date read from the gradebook is used before reading again


@dataclass
class Flight:
    """A grading running on the cluster."""

    record: inbound.Record
    session: Session
    task: Task
    future: Any  # a distributed.Future
    started: float


@overload
def utc(moment: None) -> None: ...
@overload
def utc(moment: datetime.datetime) -> datetime.datetime: ...
def utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """An aware UTC datetime (the gradebook keeps naive UTC ones)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=datetime.UTC)


class Service:
    """config -- the course's nbgrader configuration; runner -- a started DaskRunner;
    log -- a function taking one line."""

    def __init__(
        self, config: Config, runner: "DaskRunner", log: Callable[[str], object] = print
    ) -> None:
        self.config = config
        self.coursedir = CourseDirectory(config=config)
        self.policy = GradeOnSubmit(config=config)
        self.runner = runner
        self.say = log
        exchange_root = config.Exchange.get("root") if "Exchange" in config else None
        self.course = Path(exchange_root or "/srv/nbgrader/exchange") / self.coursedir.course_id
        self.inbound = self.course / "inbound"
        self.check_owner = (
            config.ExchangeCollect.get("check_owner", True) if "ExchangeCollect" in config else True
        )
        self.queue = FairQueue()
        self.inflight: dict[Key, Flight] = {}  # (assignment, student) -> Flight
        self.newest: dict[
            Key, datetime.datetime
        ] = {}  # (assignment, student) -> timestamp of the latest submission taken
        self.not_before: dict[
            str, float
        ] = {}  # record name -> monotonic time before which it is not retried
        self.first_seen: dict[str, float] = {}  # record name -> monotonic time it was first seen
        self.sessions: dict[
            str, tuple[Signature, Session]
        ] = {}  # assignment -> (signature, Session)
        self.journals: dict[str, Journal] = {}
        self.dues: dict[
            str, tuple[float, datetime.datetime | None]
        ] = {}  # assignment -> (monotonic time read, due date)
        self.said: set[object] = set()  # one-time messages already logged
        self.stopping = self.abandon = False
        self.warming: list[Any] = []  # the warm-up's futures
        self.warm_folder: Path | None = None
        self.to_feed_back: list[
            tuple[inbound.Record, Session, Entry]
        ] = []  # (record, session, entry) graded, their feedback not made yet

    # --- log -------------------------------------------------------------------------------
    def log(self, record: inbound.Record, text: str) -> None:
        moment = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        self.say(f"{moment}  {record.assignment}  {inbound.printable(record.student)}  {text}")

    def once(self, text: str) -> None:
        if text not in self.said:
            self.said.add(text)
            self.say(datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S") + "  " + text)

    # --- assignments ---------------------------------------------------------------------------
    def released(self) -> set[str]:
        """Assignments released to the exchange that the course has a source for."""
        outbound = self.course / "outbound"
        source = Path(self.coursedir.root) / self.coursedir.source_directory
        if not outbound.is_dir():
            return set()
        return {
            p.name
            for p in outbound.iterdir()
            if p.is_dir() and not p.is_symlink() and (source / p.name).is_dir()
        }

    def journal(self, assignment: str) -> Journal:
        if assignment not in self.journals:
            path = reports_dir(self.config, assignment) / "submissions.jsonl"
            journal = self.journals[assignment] = Journal(path)
            for step in journal.history:  # the latest submission taken, per student
                if step["step"] in (
                    Step.COLLECTED,
                    Step.GRADED,
                    Step.FED_BACK,
                    Step.HELD,
                    Step.REJECTED,
                ):
                    key = (assignment, step["student"])
                    moment = datetime.datetime.fromisoformat(step["submitted"])
                    self.newest[key] = max(self.newest.get(key, moment), moment)
        return self.journals[assignment]

    def _signature(self, assignment: str) -> Signature:
        """What a Session depends on that an instructor may change while the service runs."""
        root = Path(self.coursedir.root)
        files = []
        for folder in (self.coursedir.source_directory, self.coursedir.release_directory):
            base = root / folder / assignment
            files += sorted(base.glob("*")) if base.is_dir() else []
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)

    def session(self, assignment: str) -> Session:
        """The grading session of an assignment, built again when its source or release
        changed; raises CannotGrade (e.g. the source changed and was not released)."""
        signature = self._signature(assignment)
        cached = self.sessions.get(assignment)
        if cached is None or cached[0] != signature:
            session = Session(self.config, assignment, log=lambda line: None)
            self.sessions[assignment] = (signature, session)
        return self.sessions[assignment][1]

    def due(self, assignment: str) -> datetime.datetime | None:
        """The assignment's due date in the gradebook (None: none), read again every few
        seconds (an instructor may set it while the service runs)."""
        cached = self.dues.get(assignment)
        if cached is not None and time.monotonic() - cached[0] < DUE_DATE_SECONDS:
            return cached[1]
        due: datetime.datetime | None
        try:
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                due = utc(gb.find_assignment(assignment).duedate)
        except MissingEntry:
            due = None
        self.dues[assignment] = (time.monotonic(), due)
        return due

    def before_due(self, assignment: str, moment: datetime.datetime | None = None) -> bool:
        due = self.due(assignment)
        moment = moment or datetime.datetime.now(datetime.UTC)
        return due is None or utc(moment) <= due

    # --- 1. the inbound folder -----------------------------------------------------------------
    def poll(self) -> None:
        assignments = self.released()
        if not assignments or not self.inbound.is_dir():
            return
        for assignment in assignments:
            self.journal(assignment)  # its held feedback is released after the due date
        records, bad = inbound.scan(self.inbound, assignments)
        for name, reason in bad:
            self.once(f"ignored in the inbound folder: {name}: {reason}")
        if self.check_owner:  # before anything is chosen: a forgery never counts as the latest
            records, forged = inbound.split_forged(records)
            for record, owner in forged:
                self.forged(record, owner)
        for record in sorted(records, key=lambda r: r.timestamp):
            journal = self.journal(record.assignment)
            key = (record.assignment, record.student)
            if journal.is_final(record.name) or record.name in self.first_seen:
                continue
            self.first_seen[record.name] = time.monotonic()
            if journal.last(record.name) is None:
                journal.write(record, Step.RECEIVED)
                self.log(record, f"received (submitted {record.timestamp:%Y-%m-%d %H:%M:%S} UTC)")
                newest = self.newest.get(key)
                if newest is not None and record.timestamp <= newest:
                    self.supersede(record, "a later submission of this student was already taken")
                    continue
            else:  # received, maybe collected or graded, before the service stopped
                self.log(record, "received before the service stopped; handled now")
            older = self.queue.offer(record)
            if older is not None:
                self.supersede(older, "replaced by a later submission before it was graded")

    def forged(self, record: inbound.Record, owner: str) -> None:
        """A folder in another student's name: refused once, logged with the login that made
        it and recorded for the class report; the student it names is served as if it were
        not there."""
        journal = self.journal(record.assignment)
        if journal.is_final(record.name):
            return
        journal.write(record, Step.FORGED, owner=owner, reason=forgeries.reason(record, owner))
        student, maker = inbound.printable(record.student), inbound.printable(owner)
        self.log(
            record,
            f"refused: {inbound.printable(record.name)} was made in {student}'s name by "
            f"{maker} (the folder is {maker}'s); {student}'s own submissions are graded as if "
            "it were not there",
        )
        try:
            forgeries.note(
                reports_dir(self.config, record.assignment), record, owner, "grade on submit"
            )
        except OSError as error:
            self.once(f"could not record a forgery for the class report: {error}")

    def supersede(self, record: inbound.Record, why: str) -> None:
        self.journal(record.assignment).write(record, Step.SUPERSEDED, reason=why)
        self.log(record, f"superseded: {why}")

    # --- 2. starting gradings ------------------------------------------------------------------
    def ready(self, record: inbound.Record) -> bool:
        if time.monotonic() < self.not_before.get(record.name, 0):
            return False
        cooldown = self.policy.cooldown_minutes * 60
        if cooldown and self.before_due(record.assignment):
            last = self.journal(record.assignment).last_feedback_at(record.student)
            if last is not None:
                wait = (last - datetime.datetime.now(datetime.UTC)).total_seconds() + cooldown
                if wait > 0:
                    self.once_for(record, f"waits {wait:.0f} s for the cooldown between feedbacks")
                    return False
        return True

    def once_for(self, record: inbound.Record, text: str) -> None:
        marker = (record.name, text.split()[0])
        if marker not in self.said:
            self.said.add(marker)
            self.log(record, text)

    def dispatch(self) -> None:
        while not self.stopping and len(self.inflight) < self.runner.workers:
            record = self.queue.take(busy=self.inflight.keys(), ready=self.ready)
            if record is None:
                return
            self.start(record)

    def submitted_folder(self, record: inbound.Record) -> Path:
        return Path(
            self.coursedir.format_path(
                self.coursedir.submitted_directory, record.student, record.assignment
            )
        )

    def start(self, record: inbound.Record) -> None:
        key = (record.assignment, record.student)
        journal = self.journal(record.assignment)
        try:
            session = self.session(record.assignment)
        except CannotGrade as error:
            self.once(f"{record.assignment}: cannot grade yet: {error}")
            self.queue.offer(record)
            self.not_before[record.name] = time.monotonic() + 10
            return
        dest = self.submitted_folder(record)
        try:
            collected = copier.collect(
                record.path,
                dest,
                student=record.student if self.check_owner else None,
                ignore=tuple(self.coursedir.ignore),
                include=tuple(self.coursedir.include),
                max_file_size_kb=self.coursedir.max_file_size,
                max_dir_size_kb=self.coursedir.max_dir_size,
            )
        except copier.Incomplete as error:
            waited = time.monotonic() - self.first_seen.get(record.name, time.monotonic())
            if waited < self.policy.incomplete_minutes * 60:
                self.queue.offer(record)
                self.not_before[record.name] = time.monotonic() + RETRY_INCOMPLETE_SECONDS
                return
            return self.reject(record, str(error))
        except copier.FolderRefused as error:
            return self.reject(record, str(error))
        self.newest[key] = max(self.newest.get(key, record.timestamp), record.timestamp)
        journal.write(
            record,
            Step.COLLECTED,
            files=len(collected.files),
            skipped=[f"{path}: {why}" for path, why in collected.skipped],
        )
        session.reload_ledger()  # another route may have graded since
        prepared = session.prepare(record.student, dest)
        if prepared.task is None:  # rejected by the grading's intake (recorded with zero
            # points), or graded just before the service stopped
            assert prepared.entry is not None  # a Prepared holds a task or an entry
            return self.finish(record, session, prepared.entry, recovered=prepared.recorded_before)
        future = self.runner.submit(prepared.task, session.bundle)
        self.inflight[key] = Flight(record, session, prepared.task, future, time.monotonic())

    def reject(self, record: inbound.Record, reason: str) -> None:
        self.journal(record.assignment).write(record, Step.REJECTED, reason=reason)
        self.log(record, f"rejected: {reason}")

    # --- 3. finished gradings ------------------------------------------------------------------
    def harvest(self, timeout: float) -> None:
        """Record every grading that finished within `timeout` seconds."""
        if not self.inflight:
            time.sleep(timeout)
            return
        futures = [flight.future for flight in self.inflight.values()]
        try:
            wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return
        for key, flight in list(self.inflight.items()):
            if flight.future.done():
                del self.inflight[key]
                result = self.runner.outcome(flight.future, flight.task)
                self.record(flight, result)

    def record(self, flight: Flight, result: Result) -> None:
        record, session = flight.record, flight.session
        entry = session.record(record.student, result)
        session.write_ledger(
            {"route": "grade on submit (instructor watch)", "students": [record.student]}
        )
        self.finish(record, session, entry, seconds=time.monotonic() - flight.started)

    def finish(
        self,
        record: inbound.Record,
        session: Session,
        entry: Entry,
        recovered: bool = False,
        seconds: float | None = None,
    ) -> None:
        journal = self.journal(record.assignment)
        if entry.status == Status.FAILED:
            journal.write(record, Step.FAILED, reason=entry.reason)
            self.log(record, f"failed: {entry.reason}")
            return
        points = session.max_score
        total = sum(v for v in (entry.scores or {}).values() if v is not None)
        late = f", late (penalty {entry.late_penalty:g})" if entry.late_penalty else ""
        took = f" in {seconds:.0f} s" if seconds is not None else ""
        if entry.status == Status.REJECTED:
            journal.write(record, Step.GRADED, status=Status.REJECTED, reason=entry.reason)
            self.log(record, f"rejected by the grader: {entry.reason}")
            # At once: the page is released with the secret of the copy in submitted/, which
            # the student's next submission replaces as soon as it is collected.
            self.give_feedback(record, session, entry)
        else:
            how = " (it was recorded before the service stopped)" if recovered else ""
            journal.write(record, Step.GRADED, score=total, max_score=points, scores=entry.scores)
            self.log(record, f"graded: {total:g}/{points:g}{late}{took}{how}")
            # After the next gradings have started (feed_back): the page is made from
            # autograded/, which only this loop writes.
            self.to_feed_back.append((record, session, entry))

    def feed_back(self) -> None:
        """Make and release the feedback of the gradings recorded since the last call. The
        loop starts the next gradings first, so that no worker waits while it does this."""
        while self.to_feed_back:
            self.give_feedback(*self.to_feed_back.pop(0))

    def give_feedback(self, record: inbound.Record, session: Session, entry: Entry) -> None:
        journal = self.journal(record.assignment)
        before_due = self.before_due(record.assignment, record.timestamp)
        limit = self.policy.max_attempts
        if before_due and limit and journal.feedbacks(record.student) >= limit:
            journal.write(record, Step.HELD, reason="attempt limit")
            self.log(
                record,
                f"feedback held: the limit of {limit} graded attempt(s) before the due date is "
                "reached; it is released after the due date",
            )
            return
        show = self.policy.hidden_verdicts_before_due or not self.before_due(record.assignment)
        try:
            if entry.status == Status.REJECTED:
                deliver.rejection(
                    self.config,
                    record.assignment,
                    record.student,
                    session.notebooks,
                    self.submitted_folder(record),
                    entry.reason,
                )
            else:
                deliver.feedback(self.config, record.assignment, record.student, show)
        except deliver.FeedbackError as error:
            journal.write(record, Step.FAILED, reason=str(error))
            self.log(record, f"failed: feedback: {error}")
            return
        journal.write(record, Step.FED_BACK, full=show)
        self.log(record, "fed back" + ("" if show else " (verdicts after the due date)"))

    # --- 4. after the due date -----------------------------------------------------------------
    def after_due(self) -> None:
        """Release what the policy held back before the due date: held feedback, and the
        verdicts of feedback released without them. Only each student's latest grading."""
        for assignment, journal in self.journals.items():
            if self.before_due(assignment):
                continue
            latest = {}
            for step in journal.history:
                if step["step"] in (Step.GRADED, Step.FED_BACK, Step.HELD):
                    latest[step["student"]] = step
            for student, step in latest.items():
                pending = step["step"] == Step.HELD or (
                    step["step"] == Step.FED_BACK and not step.get("full", True)
                )
                key = (assignment, student)
                if not pending or key in self.inflight or key in self.queue:
                    continue
                record = inbound.Record(
                    name=step["record"],
                    student=student,
                    assignment=assignment,
                    timestamp=datetime.datetime.fromisoformat(step["submitted"]),
                    path=self.inbound / step["record"],
                )
                try:
                    deliver.feedback(self.config, assignment, student, True)
                except deliver.FeedbackError as error:
                    journal.write(record, Step.FAILED, reason=str(error))
                    self.log(record, f"failed: feedback after the due date: {error}")
                    continue
                journal.write(record, Step.FED_BACK, full=True)
                self.log(record, "fed back (the due date has passed)")

    # --- the loop ------------------------------------------------------------------------------
    def warm_up(self) -> list[Any]:
        """Grade each released assignment's release notebook, unanswered, once on every
        worker, and drop the results: each worker starts its kernel zygote, loads nbgrader's
        pipeline and fills matplotlib's font cache now, not during a student's first grading.
        Returns the futures (the service does not wait for them)."""
        futures: list[Any] = []
        folder = self.warm_folder = Path(tempfile.mkdtemp(prefix="instructor-watch-warm-up-"))
        for assignment, (_, session) in self.sessions.items():
            for worker in self.runner.addresses():
                workdir = folder / f"{assignment}-{len(futures)}"
                task = session.warm_up_task(workdir)
                if task is None:  # the release cannot be read as a submission
                    break
                workdir.mkdir()
                futures.append(self.runner.submit(task, session.bundle, worker=worker))
        self.warming = futures
        return futures

    def prepare(self) -> list[str]:
        """Build each released assignment's grading session now (its reference run, if it has
        none yet, takes a notebook's run), so that the first submission does not wait for it.
        Returns one line per assignment, then the warning of a process limit shared with the
        submissions graded beside each (sandbox.shared_process_limit), if it applies."""
        lines: list[str] = []
        warnings: set[str] = set()
        for assignment in sorted(self.released()):
            try:
                session = self.session(assignment)
            except CannotGrade as error:
                lines.append(f"{assignment}: cannot grade yet: {error}")
                self.said.add(lines[-1])  # said now: not again at the first submission
                continue
            lines.append(
                f"{assignment}: ready; isolation: {session.isolation.describe()}; "
                f"{session.limits_note}".rstrip("; ")
            )
            shared = shared_process_limit(session.isolation.mode, self.runner.workers > 1)
            warnings.update([shared] if shared else [])
        return lines + sorted(warnings)

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if self.stopping:
            self.abandon = True
        self.stopping = True

    def idle(self) -> bool:
        return not self.inflight and not len(self.queue) and not self.to_feed_back

    def run(self, once: bool = False) -> None:
        """Serve until SIGTERM or Ctrl-C (or, with once, until nothing is left to do)."""
        previous = {s: signal.signal(s, self.stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping:
                self.poll()
                self.dispatch()
                self.harvest(self.policy.poll_seconds)
                self.dispatch()  # the workers that just finished take the next submissions
                self.feed_back()
                self.after_due()
                if once and self.idle():
                    self.poll()
                    if self.idle():
                        break
            self.drain()
        finally:
            for future in self.warming:
                future.cancel()
            if self.warm_folder is not None:
                shutil.rmtree(self.warm_folder, ignore_errors=True)
            for s, handler in previous.items():
                signal.signal(s, handler)

    def drain(self) -> None:
        """Let the gradings in flight finish, for at most drain_seconds (a second signal:
        at once); abandon the others, which the next start grades (their journal says so)."""
        if not self.inflight:
            return
        self.say(
            f"stopping: {len(self.inflight)} grading(s) in flight may finish in the next "
            f"{self.policy.drain_seconds:g} s (a second Ctrl-C abandons them)"
        )
        deadline = time.monotonic() + self.policy.drain_seconds
        while self.inflight and not self.abandon and time.monotonic() < deadline:
            self.harvest(0.5)
            self.feed_back()
        for flight in self.inflight.values():
            flight.future.cancel()
            self.log(flight.record, "abandoned: graded when the service starts again")
        self.inflight.clear()
