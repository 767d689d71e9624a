"""Benchmark: grade on submit's latency, from a student's submit to their feedback.

    .venv/bin/python bench/bench_grade_on_submit.py [--workers N] [--burst N] [--idle-runs N]
                                                     [--quick] [--keep]

A temporary copy of the course (the real notebook, 15,000 iterations; --quick: 500) gets its
release generated with `nbgrader generate_assignment` and released to an exchange of its own
with `nbgrader release_assignment`. `python -m instructor watch --workers N` is started on it
(one Dask worker per core by default), and students use that exchange with nbgrader's commands,
each in a home of their own; every one submits the correct answers. One OS user plays every
student, so the copy's configuration switches nbgrader's owner check off; the service's policy
is otherwise its default (poll every second, no attempt limit, no cooldown).

1. Idle: once the service is idle (its warm-up done: its processes use almost no CPU), one
   student submits, then polls `nbgrader fetch_feedback` until the feedback page arrives;
   --idle-runs students (3 by default), one after the other. Target, for the median: from the
   start of `nbgrader submit` to the page fetched, at most the notebook's own execution time
   (the reference run's total, reports/<assignment>/reference.json: the cells the grade needs,
   which is what grading runs; the whole notebook's is printed too) + 15 s.
2. Burst: --burst students (40 by default) submit at the rate of 40 a minute, a few submitters
   at once. A fetch_feedback takes a core as long as a submit, so the students do not poll
   while the service grades: the script watches the journal, and when every feedback is
   released the student released last fetches theirs at once (the burst ends when that page
   is there); then every other student fetches theirs, to confirm. Target: from the first
   submit to the last student's page fetched, at most burst x per-submission cost / workers
   + 30 s, the per-submission cost measured in this run: the idle runs' median from collected
   to fed back in the journal; or, when that is less than the time the submits took to
   arrive, that time + 30 s (the burst cannot end before its last submission). The burst's
   students submit with nbgrader's own ExchangeSubmit (the code `nbgrader submit` runs) in
   this script's process: 40 `nbgrader submit` commands,
   an interpreter each, use about 115 CPU seconds, most of two cores for the minute of the
   burst, and no service could keep within the target on the cores left (on a course server
   each student's command runs in their own session). --submit-commands runs the commands
   instead; the script prints the CPU seconds the submits used, either way.

The journal (reports/<assignment>/submissions.jsonl) timestamps every step of each submission,
so the script prints where the time goes: submitting and the service's poll (until received),
waiting in the queue (until collected), grading (until graded; the ledger's seconds on the
worker in brackets), making and releasing the feedback (until fed back) and fetching the page.
For the burst it also prints how long the workers stood idle while submissions were waiting.
It prints PASS or MISS per target (no timed assertion); it exits with status 1 only when a
student got no feedback page, or a page without full marks.
"""

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
from answers import CORRECT, fill
from harness import ASSIGNMENT, NOTEBOOK

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import copy_course, course_env  # noqa: E402
from corpus.build import fast_course  # noqa: E402

from instructor.watch.policy import GradeOnSubmit  # noqa: E402

COURSE_ID = "initialization-course"
BIN = Path(sys.executable).parent
IDLE_SLACK, BURST_SLACK = 15.0, 30.0  # the targets: seconds over the notebook's run, the model
BURST_RATE = 40 / 60  # burst submissions per second: 40 within a minute
SUBMITTERS = 6  # students submitting at the same moment, at most (a submit takes a second or two)
FETCH_PAUSE = 1.0  # seconds between two fetch_feedback of a waiting student
WAIT = 1800  # seconds after which a feedback that did not come is given up

SERVICE_CONFIG = """
# --- benchmark: one OS user plays every student
c.ExchangeCollect.check_owner = False
"""

PHASES = (  # (column, from step, to step) of a submission's timeline
    ("submit+poll", "submit", "received"),
    ("queue", "received", "collected"),
    ("grading", "collected", "graded"),
    ("feedback", "graded", "fed back"),
    ("fetch", "fed back", "fetched"),
)


class Course:
    """The course copy, its exchange, the students' homes and the running service."""

    def __init__(self, work, quick, workers):
        self.work = work
        self.workers = workers
        if quick:
            self.root = fast_course(work / "course", copy_course)  # generates the release
        else:
            self.root = copy_course(work / "course")
            run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
                self.root, course_env())  # fmt: skip
        with open(self.root / "nbgrader_config.py", "a") as f:
            f.write(SERVICE_CONFIG)
        self.exchange = self.root / "exchange"
        self.exchange.mkdir()
        self.env = course_env(NBGRADER_EXCHANGE=str(self.exchange))
        run([sys.executable, "-m", "nbgrader", "release_assignment", ASSIGNMENT],
            self.root, self.env)  # fmt: skip
        release = nbformat.read(self.root / "release" / ASSIGNMENT / NOTEBOOK, 4)
        self.answered = nbformat.writes(fill(release, CORRECT))
        self.reports = self.root / "reports" / ASSIGNMENT
        self.log = work / "watch.log"
        self.service = None

    # --- the service ---------------------------------------------------------------------------
    def start(self):
        command = [sys.executable, "-m", "instructor", "watch", "--course", str(self.root),
                   "--workers", str(self.workers)]  # fmt: skip
        self.service = subprocess.Popen(
            command,
            cwd=self.root,
            env=self.env,
            stdout=open(self.log, "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Dask workers in its process group
        )
        deadline = time.monotonic() + WAIT
        while "watching" not in self.log.read_text():
            self.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not start:\n" + self.log.read_text())
            time.sleep(0.5)

    def cpu_seconds(self):
        """CPU seconds used so far by the service's live processes (its session: the service,
        its Dask workers, their kernels)."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # a process that ended meanwhile
            if int(fields[3]) == self.service.pid:  # its session id
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def settle(self, window=3.0, busy=0.15):
        """Wait until the service is idle (its warm-up gradings, a grading's leftovers done):
        less than `busy` of a core used over `window` seconds. Returns the seconds waited."""
        started = time.monotonic()
        while True:
            before = self.cpu_seconds()
            time.sleep(window)
            self.check_alive()
            if self.cpu_seconds() - before < busy * window:
                return time.monotonic() - started
            if time.monotonic() - started > WAIT:
                raise RuntimeError("the service never became idle:\n" + self.log.read_text())

    def check_alive(self):
        if self.service.poll() is not None:
            raise RuntimeError("the service stopped:\n" + self.log.read_text())

    def stop(self):
        if self.service is None:
            return
        self.service.send_signal(signal.SIGTERM)
        try:
            self.service.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.service.pid, signal.SIGKILL)  # the group this script started
            self.service.wait()
        self.service = None

    # --- what the service wrote ------------------------------------------------------------------
    def journal(self):
        """{student: {step: epoch seconds}} from the journal (each student submits once)."""
        path = self.reports / "submissions.jsonl"
        steps = {}
        for line in path.read_text().splitlines() if path.exists() else []:
            try:
                step = json.loads(line)
            except ValueError:
                continue  # a line being written
            at = datetime.datetime.fromisoformat(step["at"]).timestamp()
            steps.setdefault(step["student"], {})[step["step"]] = at
        return steps

    def notebook_seconds(self):
        """The notebook's own execution time, as grading runs it: the reference run's total
        (cells' seconds); and the whole notebook's (None when grading runs it whole)."""
        reference = json.loads((self.reports / "reference.json").read_text())
        whole = (reference.get("whole_notebook") or {}).get("total_seconds")
        return reference["total_seconds"], whole

    def worker_seconds(self):
        """{student: seconds of the grading on its worker}, from the grading ledger."""
        path = self.reports / "grading.json"
        students = json.loads(path.read_text()).get("students", {}) if path.exists() else {}
        return {s: e.get("seconds") for s, e in students.items()}

    # --- the students ----------------------------------------------------------------------------
    def nbgrader(self, student, command, check=True):
        """Run `nbgrader COMMAND` as the student, in their home; the CompletedProcess."""
        home = self.work / "homes" / student
        home.mkdir(parents=True, exist_ok=True)
        env = dict(self.env, HOME=str(home))
        for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
            env.pop(var, None)
        command = [str(BIN / "nbgrader"), command, ASSIGNMENT, f"--Exchange.root={self.exchange}",
                   f"--course={COURSE_ID}", f"--student={student}"]  # fmt: skip
        return run(command, home, env, check)

    def fetch_and_answer(self, student):
        self.nbgrader(student, "fetch_assignment")
        home = self.work / "homes" / student
        (home / ASSIGNMENT / NOTEBOOK).write_text(self.answered, encoding="utf-8")

    def submit(self, student):
        """nbgrader submit; (when it started, when it ended), epoch seconds."""
        started = time.time()
        self.nbgrader(student, "submit")
        return started, time.time()

    def submit_in_process(self, student):
        """The student's submission with nbgrader's ExchangeSubmit, the code `nbgrader submit`
        runs, in this process (the options the command gets, the student's folder and cache
        given); (when it started, when it ended), epoch seconds."""
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange.default.submit import ExchangeSubmit
        from traitlets.config import Config

        home = self.work / "homes" / student
        config = Config()
        config.CourseDirectory.course_id = COURSE_ID
        config.CourseDirectory.assignment_id = ASSIGNMENT
        config.CourseDirectory.student_id = student
        config.Exchange.root = str(self.exchange)
        config.Exchange.assignment_dir = str(home)
        config.Exchange.cache = str(home / ".local" / "share" / "jupyter" / "nbgrader_cache")
        started = time.time()
        coursedir = CourseDirectory(config=config)
        authenticator = Authenticator(config=config)
        ExchangeSubmit(coursedir=coursedir, authenticator=authenticator, config=config).start()
        return started, time.time()

    def fetch_feedback(self, student):
        """nbgrader fetch_feedback; the text of every feedback page the student has (none
        while the exchange has no feedback folder yet: nbgrader then fails, saying so)."""
        result = self.nbgrader(student, "fetch_feedback", check=False)
        if result.returncode != 0 and "Assignment not found" not in result.stdout + result.stderr:
            sys.exit(f"fetch_feedback of {student} failed:\n{result.stderr[-2000:]}")
        folder = self.work / "homes" / student / ASSIGNMENT / "feedback"
        return [p.read_text() for p in sorted(folder.glob("*/*.html"))]


def run(command, cwd, env, check=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}"
                 f"\n{result.stderr[-2000:]}")  # fmt: skip
    return result


def full_marks(pages):
    """One feedback page, showing full marks ('Initialization (Score: 30.0 / 30.0)')."""
    scores = [re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)", page) for page in pages]
    return len(pages) == 1 and scores[0] is not None and scores[0][1] == scores[0][2]


# --- the measurements --------------------------------------------------------------------------


def timeline(course, student, submitted, fetched):
    """{step: epoch seconds} of a student's one submission: submit (the command started),
    submitted (it ended), the journal's steps (received, collected, graded, fed back) and
    fetched (the page was in the student's folder)."""
    return {"submit": submitted[0], "submitted": submitted[1], **course.journal()[student],
            "fetched": fetched}  # fmt: skip


def idle_run(course, student):
    """One student submits while nothing else is graded, then polls fetch_feedback until the
    page is there; (timeline, pages)."""
    submitted = course.submit(student)
    deadline = time.monotonic() + WAIT
    while not (pages := course.fetch_feedback(student)):
        course.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"no feedback for {student}:\n" + course.log.read_text())
        time.sleep(FETCH_PAUSE)
    return timeline(course, student, submitted, time.time()), pages


def burst_run(course, students, commands=False):
    """The students submit at BURST_RATE, SUBMITTERS at a time at most. A fetch_feedback costs
    the cores as much as a submit, so the students do not poll while the service grades: the
    script watches the journal, and once every feedback is released the student released
    last fetches theirs (the burst ends when that page is there), then every other student
    fetches theirs, to confirm. ({student: timeline}, {student: pages}, the last student)."""
    first = time.time() + 1.0
    submitted = {}
    before = cpu_seconds()
    submit = course.submit if commands else course.submit_in_process

    def submit_on_time(i, student):
        time.sleep(max(0.0, first + i / BURST_RATE - time.time()))
        submitted[student] = submit(student)

    deadline = time.monotonic() + WAIT + 60 * len(students)
    with ThreadPoolExecutor(SUBMITTERS) as submitters:
        jobs = [submitters.submit(submit_on_time, i, s) for i, s in enumerate(students)]
        while True:
            course.check_alive()
            for job in jobs:
                if job.done():
                    job.result()  # raises what went wrong in a submitter
            journal = course.journal()
            released = all("fed back" in journal.get(s, {}) for s in students)
            if released and all(job.done() for job in jobs):
                break  # the only commands ended so far are the submits
            if time.monotonic() > deadline:
                raise RuntimeError("the burst's feedback did not come:\n" + course.log.read_text())
            time.sleep(0.5)
    submits_cpu = cpu_seconds() - before
    last = max(students, key=lambda s: journal[s]["fed back"])
    pages = {last: course.fetch_feedback(last)}
    fetched = time.time()
    others = [s for s in students if s != last]
    with ThreadPoolExecutor(2) as fetchers:
        pages.update(zip(others, fetchers.map(course.fetch_feedback, others)))
    timelines = {
        s: timeline(course, s, submitted[s], fetched if s == last else None) for s in students
    }
    return timelines, pages, last, submits_cpu


def cpu_seconds():
    """CPU seconds used by this script (the students' submits in this process) and by its
    ended commands (the students' nbgrader commands; the service is still running and is not
    counted)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def phases(t):
    """{column: seconds} of a timeline: PHASES (fetch None when the student did not fetch
    as soon as released), released (submit -> fed back), total (submit -> fetched, or None)
    and the submit command's own time."""
    fetched = t["fetched"] is not None
    out = {name: t[end] - t[start] for name, start, end in PHASES if fetched or end != "fetched"}
    out["fetch"] = out.get("fetch")
    out["released"] = t["fed back"] - t["submit"]
    out["total"] = t["fetched"] - t["submit"] if fetched else None
    out["command"] = t["submitted"] - t["submit"]
    return out


def lost_worker_seconds(timelines, workers):
    """Worker-seconds during which a worker was free while a submission waited in the queue
    (received, not collected yet): the service's own delay in starting gradings."""
    events = []  # (moment, change of the waiting submissions, change of the busy workers)
    for t in timelines.values():
        events += [(t["received"], +1, 0), (t["collected"], -1, +1), (t["graded"], 0, -1)]
    events.sort()
    waiting = busy = 0
    lost, previous = 0.0, events[0][0]
    for moment, d_waiting, d_busy in events:
        lost += (moment - previous) * min(waiting, max(0, workers - busy))
        waiting, busy, previous = waiting + d_waiting, busy + d_busy, moment
    return lost


# --- printing ----------------------------------------------------------------------------------

COLUMNS = "submit+poll (cmd)  queue  grading (worker)  feedback  = released  fetch  = fetched"


def row(label, p, worker):
    def num(value, width=7):
        return f"{value:{width}.1f}" if value is not None else f"{'-':>{width}}"

    return (
        f"  {label:<15}{num(p['submit+poll'])} ({num(p['command'], 5)}){num(p['queue'])}"
        f"{num(p['grading'])} ({num(worker, 5)}){num(p['feedback'], 10)}{num(p['released'], 12)}"
        f"{num(p['fetch'])}{num(p['total'], 11)}"
    )


def where_the_time_goes(idle, burst, last, worker_seconds, workers):
    print("\nwhere the time goes, in seconds (the journal's steps; in brackets the submit "
          "command's own time and the ledger's seconds of the grading on its worker)")  # fmt: skip
    print(f"  {'':15}{COLUMNS}")
    for student, t in idle.items():
        print(row(student, phases(t), worker_seconds.get(student)))
    each = {s: phases(t) for s, t in burst.items()}
    on_worker = [worker_seconds[s] for s in burst if worker_seconds.get(s) is not None]
    for name, pick in (("burst median", statistics.median), ("burst max", max)):
        values = {  # None for the columns some students have none of (fetch)
            column: None if None in (p[column] for p in each.values())
            else pick(p[column] for p in each.values())
            for column in each[last]
        }  # fmt: skip
        print(row(name, values, pick(on_worker) if on_worker else None))
    print(row(f"{last} (last)", each[last], worker_seconds.get(last)))
    grading = sum(p["grading"] for p in each.values())
    feedback = sum(p["feedback"] for p in each.values())
    span = max(t["graded"] for t in burst.values()) - min(t["collected"] for t in burst.values())
    lost = lost_worker_seconds(burst, workers)
    cost = statistics.median(p["grading"] + p["feedback"] for p in each.values())
    print(f"  burst: the workers were grading {grading / (workers * span):.0%} of {workers} x "
          f"{span:.0f} s (first collected to last graded); they stood free {lost:.0f} "
          "worker-seconds while submissions waited in the queue")  # fmt: skip
    print(f"  burst: the service's loop spent {feedback:.0f} s making and releasing feedback "
          f"(the workers grade the next ones meanwhile); per-submission cost (collected -> fed back, median) "
          f"{cost:.1f} s")  # fmt: skip


def targets(rows):
    """Print (label, measured, target, why) rows with PASS or MISS."""
    print(f"\n{'target':58}{'measured':>10}{'target':>12}")
    for label, measured, target, why in rows:
        verdict = "PASS" if measured <= target else "MISS"
        print(f"{label:58}{measured:8.1f} s  <={target:6.1f} s  {verdict}  ({why})")


def main(argv=None):
    cores = os.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=cores,
        help=f"the service's Dask workers (default: one per core, {cores})",
    )
    parser.add_argument("--burst", type=int, default=40, help="students in the burst (default 40)")
    parser.add_argument("--idle-runs", type=int, default=3, help="idle submissions (default 3)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the quick notebook (500 iterations): a smoke run, not the figures",
    )
    parser.add_argument(
        "--submit-commands",
        action="store_true",
        help="the burst's students run `nbgrader submit` commands, an interpreter each, on the "
        "cores the service grades on (by default nbgrader's ExchangeSubmit in this process)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the course copy and the log")
    args = parser.parse_args(argv)  # fmt: skip

    load_start = os.getloadavg()[0]
    kind = (
        "the quick notebook (500 iterations)"
        if args.quick
        else "the real notebook (15,000 iterations)"
    )
    print(f"{cores} cores, load average {load_start:.2f}; {kind}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-grade-on-submit-"))
    course = None
    try:
        course = Course(work, args.quick, args.workers)
        idle = [f"idle-{i}" for i in range(1, args.idle_runs + 1)]
        burst = [f"burst-{i:02d}" for i in range(1, args.burst + 1)]
        with ThreadPoolExecutor(2) as pool:  # every student fetches the assignment first
            list(pool.map(course.fetch_and_answer, idle + burst))
        course.start()
        warm = course.settle()
        notebook, whole = course.notebook_seconds()
        print(f"service started: {args.workers} workers, poll every "
              f"{GradeOnSubmit().poll_seconds:g} s, idle {warm:.0f} s after it said 'watching' "
              f"(its warm-up); the notebook's own execution time (reference.json) "
              f"{notebook:.2f} s" + (f" for the cells the grade needs, {whole:.2f} s whole"
              if whole else ""), flush=True)  # fmt: skip

        print(f"\n1. idle: {len(idle)} student(s), one at a time", flush=True)
        idle_timelines, pages = {}, {}
        for student in idle:
            t, pages[student] = idle_run(course, student)
            idle_timelines[student] = t
            print(f"  {student}: {t['fetched'] - t['submit']:5.1f} s from submit to the page "
                  f"fetched (released after {t['fed back'] - t['submit']:.1f} s)", flush=True)  # fmt: skip
            course.settle()
        idle_total = statistics.median(phases(t)["total"] for t in idle_timelines.values())
        cost = statistics.median(t["fed back"] - t["collected"] for t in idle_timelines.values())
        print(f"  median {idle_total:.1f} s; per-submission cost (collected -> fed back, "
              f"median) {cost:.1f} s", flush=True)  # fmt: skip

        how = (
            "`nbgrader submit` commands"
            if args.submit_commands
            else "ExchangeSubmit, in this process"
        )
        print(f"\n2. burst: {len(burst)} students submit within "
              f"{(len(burst) - 1) / BURST_RATE:.0f} s ({SUBMITTERS} submitters; {how})", flush=True)  # fmt: skip
        burst_timelines, burst_pages, last, submits_cpu = burst_run(
            course, burst, args.submit_commands
        )
        pages.update(burst_pages)
        start = min(t["submit"] for t in burst_timelines.values())
        spread = max(t["submit"] for t in burst_timelines.values()) - start
        released = max(t["fed back"] for t in burst_timelines.values()) - start
        burst_total = burst_timelines[last]["fetched"] - start
        print(f"  the submits started over {spread:.1f} s; the last feedback ({last}'s) was "
              f"released {released:.1f} s after the first submit, and fetched {burst_total:.1f} s "
              f"after it: {burst_total - spread:.1f} s after the last submit started (the "
              "burst cannot end before its last submission)", flush=True)  # fmt: skip
        print(f"  the students' {len(burst)} submits used {submits_cpu:.0f} CPU seconds "
              f"of the same {cores} cores ({submits_cpu / len(burst):.2f} s each; on a course "
              "server they run in the students' own sessions)", flush=True)  # fmt: skip
        load_end = os.getloadavg()[0]
        course.stop()

        where_the_time_goes(
            idle_timelines, burst_timelines, last, course.worker_seconds(), args.workers
        )
        expected = len(burst) * cost / args.workers
        # the burst cannot end before its last submission: a grader quicker than the submits
        # arrive is held to their span
        bound, bound_why = max(
            (expected, f"{len(burst)} x {cost:.1f} s / {args.workers} workers = {expected:.0f} s"),
            (spread, f"the submits' span {spread:.0f} s"),
        )
        targets([
            (f"idle: submit -> feedback fetched (median of {len(idle)})", idle_total,
             notebook + IDLE_SLACK, f"notebook {notebook:.1f} s + {IDLE_SLACK:g} s"),
            (f"burst: {len(burst)} students, first submit -> last fetched", burst_total,
             bound + BURST_SLACK, f"{bound_why}, + {BURST_SLACK:g} s"),
        ])  # fmt: skip
        print(f"load average (1 minute): {load_start:.2f} at the start, {load_end:.2f} at the "
              "end of the burst")  # fmt: skip
        good = sum(full_marks(p) for p in pages.values())
        print(f"feedback with full marks: {good} of {len(idle) + len(burst)} students")
        if "Traceback" in course.log.read_text():
            print("the service's log has a traceback:\n" + course.log.read_text()[-3000:])
        return 0 if good == len(idle) + len(burst) else 1
    finally:
        if course is not None:
            course.stop()
        if args.keep:
            print(f"course copy and service log kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
