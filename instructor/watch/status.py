"""Whether the grade-on-submit service is up, what it graded last, and what waits:
`python -m instructor watch --status`.

The service writes watch-status.json, in the course's reports folder, when it starts and
when it stops (whole: a reader never sees half of it): its process id and that process's start
time, the cluster it grades on and its own log (watch.log, beside it, which the instructor can
read). --status reads it and checks that this very process still runs; the rest is read
where it is kept, so that it is true whether the service runs or not:

- the last grading: the journals (reports/<assignment>/submissions.jsonl);
- what waits: the submissions of the exchange's inbound folder that the journal holds no final
  step for (not seen yet, queued, being graded, or graded with the feedback still to make),
  the latest per student, with how many more of theirs came before;
- the submissions refused as made in another student's name (forgeries.jsonl).
"""

import datetime
import json
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from ..exchange import forgeries, inbound
from ..grading.session import reports_base
from .journal import Journal, Step

STATUS_FILE = "watch-status.json"
LOG_FILE = "watch.log"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def shown(moment: str | None) -> str:
    """An ISO time as the status prints it: UTC, to the second."""
    if not moment:
        return "unknown"
    try:
        when = datetime.datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return f"{when.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


def process_start(pid: int) -> int | None:
    """When a process started (clock ticks since boot), or None when there is none: with the
    pid it names one process, even after the pid is reused."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class ServiceState:
    """What the running service says of itself in watch-status.json."""

    pid: int
    started_ticks: int | None  # the process's start time (process_start)
    host: str
    started: str  # ISO, UTC
    grading: str  # the cluster it grades on
    log: str  # its own log
    stopped: str | None = None  # ISO, UTC: when it stopped, None while it runs


class ServiceLog:
    """The service's own log: its lines, each with the time, appended to a file of the
    course's that only its owner can read (the lines name submissions' folders of the
    exchange, whose names are secret)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(path, flags, 0o600)
        os.fchmod(self.fd, 0o600)

    def write(self, line: str) -> None:
        if not re.match(r"\d{4}-\d\d-\d\d ", line):
            line = f"{datetime.datetime.now():%Y-%m-%d %H:%M:%S}  {line}"
        os.write(self.fd, (line + "\n").encode("utf-8", "replace"))


class StatusFile:
    """watch-status.json of the running service, written whole (a reader never sees half)."""

    def __init__(self, folder: Path, grading: str, log: Path) -> None:
        self.path = Path(folder) / STATUS_FILE
        pid = os.getpid()
        moment = now().isoformat(timespec="seconds")
        self.state = ServiceState(
            pid, process_start(pid), socket.gethostname(), moment, grading, str(log)
        )

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{STATUS_FILE}.{os.getpid()}")
        temporary.write_text(json.dumps(asdict(self.state), indent=1) + "\n")
        os.replace(temporary, self.path)

    def stop(self) -> None:
        self.state.stopped = now().isoformat(timespec="seconds")
        self.write()


def read_state(folder: Path) -> ServiceState | None:
    try:
        return ServiceState(**json.loads((Path(folder) / STATUS_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def service_lines(state: ServiceState | None, folder: Path) -> tuple[bool, list[str]]:
    """(whether the service runs, what to say of it)."""
    if state is None:
        return False, [
            f"grade on submit: not running (it never ran on this course: no {folder / STATUS_FILE})"
        ]
    since = f"since {shown(state.started)}; grading {state.grading}"
    log = f"  its log: {state.log}"
    if state.stopped:
        return False, [f"grade on submit: not running (stopped at {shown(state.stopped)})", log]
    if state.host != socket.gethostname():
        return True, [
            f"grade on submit: running on {state.host}, as its status says (pid {state.pid}, "
            f"{since}); it cannot be checked from here",
            log,
        ]
    if process_start(state.pid) != state.started_ticks:
        return False, [
            f"grade on submit: not running (pid {state.pid}, started {shown(state.started)}, "
            "ended without stopping: killed or crashed; what it was grading is graded at its "
            "next start)",
            log,
        ]
    return True, [f"grade on submit: running (pid {state.pid}, {since})", log]


def released(config: Config, exchange_course: Path) -> set[str]:
    """The assignments of the exchange's outbound that the course has a source for (as the
    service chooses them)."""
    coursedir = CourseDirectory(config=config)
    outbound = exchange_course / "outbound"
    source = Path(coursedir.root) / coursedir.source_directory
    if not outbound.is_dir():
        return set()
    return {
        p.name
        for p in outbound.iterdir()
        if p.is_dir() and not p.is_symlink() and (source / p.name).is_dir()
    }


def last_graded(journals: Iterable[Journal]) -> list[str]:
    """The last grading of any journal, and the last failure when it came after it."""
    graded = [s for j in journals for s in j.history if s["step"] == Step.GRADED]
    failed = [s for j in journals for s in j.history if s["step"] == Step.FAILED]
    lines = []
    last = max(graded, key=lambda s: s["at"], default=None)
    if last is None:
        lines.append("last graded: nothing yet")
    else:
        student = inbound.printable(last["student"])
        if last.get("status") == "rejected":
            what = f"rejected: {last.get('reason', '')}"
        else:
            what = f"{last.get('score', 0):g}/{last.get('max_score', 0):g}"
        lines.append(
            f"last graded: {student} ({last['assignment']}) {what}, at {shown(last['at'])} "
            f"(submitted {shown(last['submitted'])})"
        )
    failure = max(failed, key=lambda s: s["at"], default=None)
    if failure is not None and (last is None or failure["at"] > last["at"]):
        lines.append(
            f"last failure: {inbound.printable(failure['student'])} ({failure['assignment']}), "
            f"at {shown(failure['at'])}: {failure.get('reason', '')}"
        )
    return lines


WAITING_STEPS: dict[str | None, str] = {
    None: "not seen yet",
    Step.RECEIVED: "queued",
    Step.COLLECTED: "being graded",
    Step.GRADED: "graded, its feedback being made",
}


def waiting_lines(
    config: Config, exchange_course: Path, journals: dict[str, Journal], check_owner: bool
) -> list[str]:
    """The submissions of the inbound folder that wait, the latest per student."""
    assignments = released(config, exchange_course)
    if not assignments:
        return ["waiting: nothing (no assignment is released to the exchange yet)"]
    try:
        records, _ = inbound.scan(exchange_course / "inbound", assignments)
    except OSError as error:
        return [f"waiting: unknown (the inbound folder cannot be read: {error.strerror})"]
    if check_owner:
        records, _ = inbound.split_forged(records)
    pending: dict[tuple[str, str], list[inbound.Record]] = {}
    for record in records:
        journal = journals[record.assignment]
        if not journal.is_final(record.name):
            pending.setdefault((record.assignment, record.student), []).append(record)
    if not pending:
        return ["waiting: nothing"]
    lines = [f"waiting: {len(pending)} submission(s), the latest of each student:"]
    for (assignment, student), found in sorted(pending.items(), key=lambda i: i[1][-1].timestamp):
        latest = max(found, key=lambda r: (r.timestamp, r.name))
        step = journals[assignment].last(latest.name)
        earlier = f"; {len(found) - 1} earlier one(s) of theirs too" if len(found) > 1 else ""
        lines.append(
            f"  {inbound.printable(student)} ({assignment}), submitted "
            f"{latest.timestamp:%Y-%m-%d %H:%M:%S} UTC: {WAITING_STEPS.get(step, step)}{earlier}"
        )
    return lines


def report(config: Config) -> tuple[bool, list[str]]:
    """(whether the service runs, the lines of `watch --status`) for the course's config."""
    folder = reports_base(config)
    running, lines = service_lines(read_state(folder), folder)
    coursedir = CourseDirectory(config=config)
    exchange_root = config.Exchange.get("root") if "Exchange" in config else None
    exchange_course = Path(exchange_root or "/srv/nbgrader/exchange") / coursedir.course_id
    check_owner = (
        config.ExchangeCollect.get("check_owner", True) if "ExchangeCollect" in config else True
    )
    names = released(config, exchange_course) | {
        p.parent.name for p in folder.glob("*/submissions.jsonl")
    }
    journals = {name: Journal(folder / name / "submissions.jsonl") for name in sorted(names)}
    lines += last_graded(journals.values())
    lines += waiting_lines(config, exchange_course, journals, check_owner)
    refused = forgeries.read_all(folder)
    if refused:
        makers = ", ".join(sorted({f.owner for f in refused}))
        lines.append(
            f"made in another student's name: {len(refused)} submission(s), refused, by "
            f"{makers} (the Formgrader's Forgeries page; python -m instructor report)"
        )
    return running, lines
