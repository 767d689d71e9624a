"""The gradebook where several writers meet, on SQLite and on PostgreSQL.

- The course on PostgreSQL: a quick copy of the course whose db_url names a new database on a
  throwaway server (tests/databases.py) is released with `python -m instructor release`,
  two demo students are graded by `python -m instructor grade --serial` and by `nbgrader
  autograde` with the same scores, and `nbgrader export` and `python -m instructor scores`
  read them back.
- Writers at the same time, on both databases: the real Formgrader (JupyterLab at the course
  root) receives, as fast as it answers, the requests its page sends when an instructor saves
  a manual score or a comment, on students being graded again by the grade-on-submit service
  (`python -m instructor watch --once`, which collects their submissions from the exchange's
  inbound folder, records their grades and releases their feedback). Nothing may fail with "database is locked",
  the last manual score and comment written to each cell must be in the gradebook, and the
  grading's scores too.
- A write held 8 s, longer than pysqlite's default 5 s busy timeout, on SQLite: the course's
  grading waits for it (the `?timeout=` of the course's db_url), while the same grading with
  a plain `sqlite:///` URL fails with "database is locked" (the canary: the check can fail).
"""

import contextlib
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from answers import build_demo
from conftest import ROOT, copy_course, course_env, instructor_grade, run_in, run_nbgrader
from databases import postgresql_server  # noqa: F401 (the `postgresql` fixture)
from harness import ASSIGNMENT, NOTEBOOK_ID
from nbgrader.api import Gradebook
from sqlalchemy.engine import make_url

from instructor.gradebook_db import local_folders, prepare, sqlite_path

pytestmark = pytest.mark.heavy

STUDENTS = ("demo-correct", "demo-transposed")
LOCKED = "database is locked"
# pysqlite's default busy timeout (seconds), which a held write must outlast to be a test
DEFAULT_BUSY_TIMEOUT = 5.0
HOLD_SECONDS = 8.0


# --- courses -------------------------------------------------------------------------------
def point_at(root, db_url):
    """Make the course folder root use the gradebook at db_url (its config's last word)."""
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("\n# tests/grading/test_databases.py: this copy's gradebook\n")
        config.write(f"c.CourseDirectory.db_url = {db_url!r}\n")
    return root


def course_db_url(root):
    from nbgrader.coursedir import CourseDirectory

    from instructor.course import load_config

    return CourseDirectory(config=load_config(root)).db_url


def copy_of(base, dest, with_gradebook):
    """A copy of a course folder (submissions included; grades and reports only when
    with_gradebook: a SQLite gradebook goes with its folder)."""
    base = Path(base)
    skip = {"exchange", "feedback"} | (set() if with_gradebook else {"autograded", "reports"})

    def ignore(folder, names):
        top = Path(folder) == base
        return [
            n
            for n in names
            if n == "__pycache__"
            or (top and n in skip)
            or (not with_gradebook and n.startswith("gradebook.db"))
        ]

    shutil.copytree(base, dest, symlinks=True, ignore=ignore)
    return dest


def grades(db_url, students=STUDENTS, course_id="initialization-course"):
    """{(student, grade id): (auto score, manual score)} and {(student, comment id): manual
    comment}, with the ids of the gradebook's rows ({key: row id})."""
    scores, comments, ids = {}, {}, {}
    with Gradebook(db_url, course_id) as gb:
        for student in students:
            notebook = gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, student)
            for g in notebook.grades:
                scores[student, g.name] = (g.auto_score, g.manual_score)
                ids["grade", student, g.name] = g.id
            for c in notebook.comments:
                comments[student, c.name] = c.manual_comment
                ids["comment", student, c.name] = c.id
    return scores, comments, ids


def auto_scores(db_url, students=STUDENTS):
    return {key: auto for key, (auto, _) in grades(db_url, students)[0].items()}


def totals(db_url, students=STUDENTS):
    """{student: total score}, a manual score replacing the automatic one (as nbgrader's)."""
    found = {student: 0.0 for student in students}
    for (student, _), (auto, manual) in grades(db_url, students)[0].items():
        found[student] += manual if manual is not None else auto
    return found


def recorded_at(root, students=STUDENTS):
    """{student: when the grading last recorded it (epoch seconds, whole)}, from the grading's
    ledger (reports/<assignment>/grading.json)."""
    import datetime

    ledger = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())
    return {
        s: datetime.datetime.fromisoformat(ledger["students"][s]["graded_at"]).timestamp()
        for s in students
    }


def check(result):
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert LOCKED not in out, out[-4000:]
    return out


@pytest.fixture(scope="module")
def sqlite_course(tmp_path_factory):
    """A quick copy of the course (the model trains 500 iterations) on SQLite, with the course's
    own db_url, released by nbgrader; STUDENTS submitted and graded by `instructor grade`."""
    from corpus.build import fast_course

    root = fast_course(tmp_path_factory.mktemp("sqlite") / "course", copy_course)
    build_demo(root)  # the demo class, answered in the quick release
    for student in STUDENTS:
        shutil.copytree(root / "demo" / "submitted" / student, root / "submitted" / student)
    check(instructor_grade(root, "--serial"))
    return root


@pytest.fixture(scope="module")
def postgresql_course(sqlite_course, tmp_path_factory, postgresql):
    """The same course and submissions, its gradebook a new PostgreSQL database where nbgrader
    generate_assignment put the assignment, graded by `instructor grade --serial`; (root, URL,
    the server)."""
    url = postgresql()
    root = copy_of(sqlite_course, tmp_path_factory.mktemp("postgresql") / "course", False)
    point_at(root, url)
    assert course_db_url(root) == url
    # the reference run of the same assignment on this machine: grading does not run it again
    reference = Path("reports", ASSIGNMENT, "reference.json")
    (root / reference).parent.mkdir(parents=True)
    shutil.copy2(sqlite_course / reference, root / reference)
    check(run_nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root))
    check(instructor_grade(root, "--serial"))
    return root, url, postgresql


# --- the URL and the journal mode -------------------------------------------------------------
def test_course_db_url_waits_and_gradebook_files_are_found(tmp_path):
    """The course's db_url waits for other writers; every place that reads a SQLite path from
    a URL leaves the query out; WAL is set once and stays in the file."""
    from types import SimpleNamespace

    from instructor.grading.session import hidden_paths
    from instructor.scores import _exists

    url = course_db_url(ROOT)
    assert sqlite_path(url) == ROOT / "gradebook.db"
    assert float(make_url(url).query["timeout"]) >= 30, url

    url = f"sqlite:///{tmp_path / 'gradebook.db'}?timeout=60"
    assert sqlite_path(url) == tmp_path / "gradebook.db"
    assert not _exists(url)
    assert prepare(url) == "wal" and prepare(url) == "wal"
    assert _exists(url)
    db = sqlite3.connect(tmp_path / "gradebook.db")
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    assert local_folders(url) == [os.path.realpath(tmp_path)]
    course = SimpleNamespace(root=str(tmp_path / "course"), db_url=url)
    assert os.path.realpath(tmp_path) in hidden_paths(course)

    server = "postgresql+psycopg2://postgres@/gradebook?host=/tmp/pg-socket&port=5433"
    assert sqlite_path(server) is None and prepare(server) is None and _exists(server)
    assert local_folders(server) == ["/tmp/pg-socket"]
    assert "/tmp/pg-socket" in hidden_paths(SimpleNamespace(root=str(tmp_path), db_url=server))
    assert local_folders("postgresql+psycopg2://grader@/gradebook") == ["/var/run/postgresql"]
    assert local_folders("postgresql+psycopg2://grader@db.example.org/gradebook") == []


# --- the course on PostgreSQL ----------------------------------------------------------------
@pytest.mark.slow
def test_course_runs_on_postgresql(postgresql_course, sqlite_course):
    root, url, server = postgresql_course
    assert not (root / "gradebook.db").exists()  # nothing went to a SQLite file of the course
    with Gradebook(url, "initialization-course") as gb:
        assert [a.name for a in gb.assignments] == [ASSIGNMENT]
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)
    by_instructor = auto_scores(url)
    # the same grades as the course on SQLite, where the same submissions were graded
    assert by_instructor == auto_scores(course_db_url(sqlite_course))
    assert {by_instructor[s, "test_initialize_parameters_he"] for s in STUDENTS} == {10, 2}

    # nbgrader's own route, handed to the course's grading, gives the same scores
    check(run_nbgrader("autograde", ASSIGNMENT, "--force", cwd=root))
    assert auto_scores(url) == by_instructor

    check(run_nbgrader("export", cwd=root))
    with open(root / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(STUDENTS)
    expected = totals(url)
    for student in STUDENTS:
        assert float(rows[student]["raw_score"]) == pytest.approx(expected[student])

    table = check(run_in(root, sys.executable, "-m", "instructor", "scores"))
    for student in STUDENTS:
        line = next(line for line in table.splitlines() if line.startswith(student))
        assert line.split()[-1] == f"{expected[student]:g}", table

    # `instructor release` (and its --check) generates the release in a temporary copy of the
    # course, whose configuration names the same database: the copy must use a gradebook of
    # its own, here while the course's database refuses every connection
    from instructor import release

    database = make_url(url).database
    server.admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
    try:
        tmp, fresh = release.generate_in_copy(root, ASSIGNMENT)
    finally:
        server.admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
    try:
        assert release.differences(fresh, root / "release" / ASSIGNMENT) == []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- writers at the same time ------------------------------------------------------------------
# An instructor typing manual scores and comments in the Formgrader, as fast as the Formgrader
# answers: the real Formgrader (JupyterLab at the course root, nbgrader's server extension, one
# long-lived Gradebook) receives the requests its page sends when a score or a comment is
# saved, `PUT formgrader/api/grade/<id>` and `PUT formgrader/api/comment/<id>`, until the
# stop file appears. Every value the Formgrader confirmed, and every failure, go to the output
# file.
FORMGRADER_WRITER = r"""
import json, sys, time, traceback, urllib.error, urllib.request
from pathlib import Path

base, token, targets, stop, out = sys.argv[1:6]
targets, stop = json.loads(targets), Path(stop)
writes, errors, i = [], [], 0
deadline = time.monotonic() + 600
while not stop.exists() and time.monotonic() < deadline:
    kind, row = targets[i % len(targets)]
    i += 1
    if kind == "grade":
        value, field = (i % 1000) / 100, "manual_score"
        body = {"manual_score": value, "extra_credit": None}
    else:
        value, field = f"comment {i}", "manual_comment"
        body = {"manual_comment": value}
    request = urllib.request.Request(
        f"{base}/formgrader/api/{kind}/{row}", data=json.dumps(body).encode(), method="PUT",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            saved = json.loads(response.read())
        if saved.get(field) != value:
            errors.append(f"the Formgrader answered {saved!r} for {kind} {row} = {value!r}")
            continue
        writes.append([kind, row, value, time.time()])
    except urllib.error.HTTPError as error:
        errors.append(f"HTTP {error.code} for {kind} {row}: {error.read()[:300]!r}")
    except Exception:
        errors.append(traceback.format_exc())
Path(out).write_text(json.dumps({"writes": writes, "errors": errors}))
"""


def service_writer(root, students):
    """The grade-on-submit service, on the students' submissions put in the exchange's inbound
    folder as `nbgrader submit` leaves them (a timestamp, a secret): `python -m instructor
    watch --once` collects, grades, records and releases feedback, then stops."""
    import datetime
    import secrets

    config = root / "nbgrader_config.py"
    marker = "# tests/grading/test_databases.py: the service's exchange\n"
    if marker not in config.read_text():
        with open(config, "a") as f:  # one OS user plays every student here
            f.write(marker + "c.ExchangeCollect.check_owner = False\n")
    if not (root / "exchange" / "initialization-course" / "outbound" / ASSIGNMENT).is_dir():
        (root / "exchange").mkdir(exist_ok=True)
        check(run_nbgrader("release_assignment", ASSIGNMENT, "--force", cwd=root))
    inbound = root / "exchange" / "initialization-course" / "inbound"
    for student in students:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        record = inbound / f"{student}+{ASSIGNMENT}+{stamp}"
        shutil.copytree(root / "submitted" / student / ASSIGNMENT, record)
        (record / "timestamp.txt").write_text(stamp)
        (record / "submission_secret.txt").write_text(secrets.token_hex(16))
    return subprocess.Popen(
        [sys.executable, "-m", "instructor", "watch", "--once", "--workers", "1"],
        cwd=root, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


# Grading writers: (course root, students) -> a process that grades those students in the
# course's gradebook and exits (returning 0 when all went well).
GRADING_WRITERS = {"grade on submit": service_writer}


def writers_at_once(root, url, tmp_path):
    """The Formgrader, written to as fast as it answers on STUDENTS' grades and comments, and
    meanwhile every grading writer grading them again; returns (the Formgrader writer's
    record, {grading writer: (returncode, output, seconds)}, the Formgrader server's log)."""
    from instructor import lab

    _, _, ids = grades(url)
    targets = [[key[0], row] for key, row in sorted(ids.items())]
    stop, out, log = tmp_path / "stop", tmp_path / "formgrader.json", tmp_path / "formgrader.log"
    server = lab.start_instructor(root, env=course_env(), log_path=log)
    formgrader = subprocess.Popen(
        [sys.executable, "-c", FORMGRADER_WRITER, server.base_url, server.token,
         json.dumps(targets), stop, out],
        cwd=root, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # started together: a grading writer's first write comes seconds after its start,
        # when the Formgrader writer is writing (the test checks it wrote during the grading)
        began = time.time()
        running = {name: start(root, STUDENTS) for name, start in GRADING_WRITERS.items()}
        results = {}
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=600)
            results[name] = (process.returncode, stdout + stderr, time.time() - began)
    finally:
        stop.touch()
        try:
            _, writer_err = formgrader.communicate(timeout=120)
        finally:
            server.stop()
    assert formgrader.returncode == 0, writer_err
    record = json.loads(out.read_text())
    record["began"] = began
    return record, results, log.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_formgrader_and_grading_write_at_once(database, request, tmp_path):
    if database == "sqlite":
        root = request.getfixturevalue("sqlite_course")
        url = course_db_url(root)
        assert sqlite_path(url) is not None and "timeout=" in url, url
    else:
        root, url, _ = request.getfixturevalue("postgresql_course")
    expected = auto_scores(url)  # as graded before
    with Gradebook(url, "initialization-course") as gb:  # scores the grading must write again
        for student in STUDENTS:
            for grade in gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, student).grades:
                grade.auto_score = -1.0
        gb.db.commit()

    record, results, formgrader_log = writers_at_once(root, url, tmp_path)

    assert not record["errors"], record["errors"][:3]
    assert LOCKED not in formgrader_log
    for name, (returncode, output, _) in results.items():
        assert returncode == 0, f"{name}:\n{output[-4000:]}"
        assert LOCKED not in output, f"{name}:\n{output[-4000:]}"
    # every student was recorded again while the Formgrader wrote (graded_at: whole seconds)
    writes = [w[3] for w in record["writes"]]
    recorded = recorded_at(root)
    assert all(record["began"] - 1 <= t for t in recorded.values()), recorded
    assert min(writes) < min(recorded.values()) and max(recorded.values()) + 1 < max(writes)
    scores, comments, ids = grades(url)
    last = {(kind, row): value for kind, row, value, _ in record["writes"]}
    for key, row in ids.items():
        kind, student, cell = key
        assert (kind, row) in last, f"the Formgrader never wrote {key}"
        found = scores[student, cell][1] if kind == "grade" else comments[student, cell]
        assert found == last[kind, row], (key, found, last[kind, row])
    assert {key: auto for key, (auto, _) in scores.items()} == expected


# --- a write held longer than pysqlite's default timeout ------------------------------------
# `python -m instructor grade`, whose recording of the first result waits until the lock holder
# holds the gradebook's write lock (the go and held files); the time that recording took goes
# to the timing file.
GRADE_WHILE_LOCKED = r"""
import json, sys, time
from pathlib import Path
from instructor.grading import record

go, held, timing = map(Path, sys.argv[1:4])
save = record.Recorder.save

def save_while_locked(self, submission, result):
    go.touch()
    deadline = time.monotonic() + 60
    while not held.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the lock holder never took the lock")
        time.sleep(0.01)
    began = time.monotonic()
    try:
        return save(self, submission, result)
    finally:
        timing.write_text(json.dumps({"seconds": time.monotonic() - began}))

record.Recorder.save = save_while_locked
from instructor.commands import grade
sys.exit(grade.main(sys.argv[4:]))
"""
# A process that takes the gradebook's write lock (BEGIN IMMEDIATE and a write) when the go
# file appears, says so with the held file, and keeps it for the given seconds.
HOLD_WRITE_LOCK = r"""
import sqlite3, sys, time
from pathlib import Path

path, go, held, seconds = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + 300
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("the grading never came to record")
    time.sleep(0.01)
db = sqlite3.connect(path, isolation_level=None, timeout=60)
db.execute("BEGIN IMMEDIATE")
db.execute("UPDATE course SET id = id")
held.touch()
time.sleep(seconds)
db.execute("COMMIT")
db.close()
"""


def grade_while_locked(root, student, folder):
    """Start the grading of one student and the lock holder; returns both processes."""
    folder.mkdir()
    go, held, timing = folder / "go", folder / "held", folder / "timing.json"
    path = sqlite_path(course_db_url(root))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, path, go, held, str(HOLD_SECONDS)],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    grading = subprocess.Popen(
        [sys.executable, "-c", GRADE_WHILE_LOCKED, go, held, timing,
         "--serial", "--force", student],
        cwd=root, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    return grading, holder, timing


@pytest.mark.slow
def test_grading_waits_for_a_write_held_longer_than_sqlites_default(sqlite_course, tmp_path):
    """The course's db_url waits for a write held 8 s; with a plain `sqlite:///` URL (the
    canary, graded at the same time in another copy) the same grading fails."""
    course = copy_of(sqlite_course, tmp_path / "course", with_gradebook=True)
    url = course_db_url(course)
    plain = copy_of(sqlite_course, tmp_path / "plain", with_gradebook=True)
    point_at(plain, f"sqlite:///{sqlite_path(course_db_url(plain))}")
    assert "?" not in course_db_url(plain)
    student = "demo-correct"
    expected = auto_scores(url, [student])
    with Gradebook(url, "initialization-course") as gb:  # the grading must write them again
        for grade in gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, student).grades:
            grade.auto_score = -1.0
        gb.db.commit()
    assert sqlite3.connect(sqlite_path(url)).execute("PRAGMA journal_mode").fetchone() == ("wal",)

    runs = {
        name: grade_while_locked(root, student, tmp_path / f"{name}-run")
        for name, root in (("course", course), ("plain", plain))
    }
    outputs = {}
    for name, (grading, holder, timing) in runs.items():
        stdout, stderr = grading.communicate(timeout=300)
        _, holder_err = holder.communicate(timeout=60)
        assert holder.returncode == 0, holder_err
        seconds = json.loads(timing.read_text())["seconds"] if timing.exists() else None
        outputs[name] = (grading.returncode, stdout + stderr, seconds)

    returncode, output, seconds = outputs["course"]
    assert returncode == 0, output[-4000:]
    assert LOCKED not in output, output[-4000:]
    # it waited for the held write, past pysqlite's default timeout, and then recorded
    assert seconds > DEFAULT_BUSY_TIMEOUT + 1, seconds
    assert auto_scores(url, [student]) == expected

    returncode, output, seconds = outputs["plain"]
    assert returncode != 0 and LOCKED in output, (
        "canary: with a plain sqlite:/// URL the held write should have made the grading fail "
        f"with {LOCKED!r} (so the test above can fail):\n{output[-4000:]}"
    )
    assert seconds < HOLD_SECONDS, seconds


# --- the gradebook kept safe: a backup and a restore while the service runs -----------------
def exchange_for_the_service(root):
    """The course's own exchange with the assignment released, for a service that one OS
    user's submissions in every student's name reach (nbgrader's owner check off)."""
    config = root / "nbgrader_config.py"
    marker = "# tests/grading/test_databases.py: the service's exchange\n"
    if marker not in config.read_text():
        with open(config, "a") as f:
            f.write(marker + "c.ExchangeCollect.check_owner = False\n")
    if not (root / "exchange" / "initialization-course" / "outbound" / ASSIGNMENT).is_dir():
        (root / "exchange").mkdir(exist_ok=True)
        check(run_nbgrader("release_assignment", ASSIGNMENT, "--force", cwd=root))


def submit_as(root, student, answers):
    """`student`'s submission in the exchange's inbound folder, as `nbgrader submit` leaves
    it, with the answers of a demo student (their submitted notebook)."""
    import datetime
    import secrets

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    inbound = root / "exchange" / "initialization-course" / "inbound"
    record = inbound / f"{student}+{ASSIGNMENT}+{stamp}"
    shutil.copytree(root / "demo" / "submitted" / answers / ASSIGNMENT, record)
    (record / "timestamp.txt").write_text(stamp)
    (record / "submission_secret.txt").write_text(secrets.token_hex(16))


def fed_back(root, student):
    journal = root / "reports" / ASSIGNMENT / "submissions.jsonl"
    if not journal.exists():
        return False
    steps = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return any(s["student"] == student and s["step"] == "fed back" for s in steps)


def students_in(url):
    with Gradebook(url, "initialization-course") as gb:
        return {s.id for s in gb.students}


def wait_until(condition, what, service, log, timeout=600):
    deadline = time.monotonic() + timeout
    while not condition():
        assert service.poll() is None, f"the service stopped; its log:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"no {what} in {timeout} s; the log:\n{log.read_text()}"
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_backup_and_restore_while_the_service_runs(database, request, tmp_path):
    """With the grade-on-submit service running (`python -m instructor watch`, never stopped):
    `python -m instructor gradebook backup`; a submission graded after it; `gradebook restore`
    takes the gradebook back to the backup (that grading gone, the others as they were);
    the service grades the next submission into the restored gradebook, `watch --status`
    says it runs and what it graded last, and it stops cleanly on SIGTERM. Then `instructor
    grade` grades again the submission whose grades the restore took back."""
    import signal

    if database == "sqlite":
        root = copy_of(request.getfixturevalue("sqlite_course"), tmp_path / "course", True)
        url = course_db_url(root)
    else:
        base, _, server = request.getfixturevalue("postgresql_course")
        url = server()
        root = point_at(copy_of(base, tmp_path / "course", False), url)
        shutil.rmtree(root / "submitted")  # this new database graded none of them
        reference = Path("reports", ASSIGNMENT, "reference.json")
        (root / reference).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(base / reference, root / reference)
        check(run_nbgrader("generate_assignment", ASSIGNMENT, "--force", cwd=root))
    exchange_for_the_service(root)
    before = students_in(url)
    log = root / "reports" / "watch.log"
    service = subprocess.Popen(
        [sys.executable, "-m", "instructor", "watch", "--workers", "1"],
        cwd=root, env=course_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: log.exists() and "watching" in log.read_text(), "start", service, log)
        backup = tmp_path / "backups" / "gradebook.backup"
        backed = check(
            run_in(root, sys.executable, "-m", "instructor", "gradebook", "backup", backup)
        )
        assert backup.is_file() and oct(backup.stat().st_mode & 0o777) == "0o600", backed

        submit_as(root, "graded-after-backup", "demo-correct")
        wait_until(lambda: fed_back(root, "graded-after-backup"), "grading", service, log)
        assert students_in(url) == before | {"graded-after-backup"}
        kept_scores = auto_scores(url, before) if before else {}

        restored = check(
            run_in(root, sys.executable, "-m", "instructor", "gradebook", "restore", backup)
        )
        assert "Restored" in restored and "as it was is kept in" in restored, restored
        assert students_in(url) == before  # the grading after the backup is gone
        assert (auto_scores(url, before) if before else {}) == kept_scores

        submit_as(root, "graded-after-restore", "demo-transposed")
        wait_until(lambda: fed_back(root, "graded-after-restore"), "grading", service, log)
        assert students_in(url) == before | {"graded-after-restore"}
        assert totals(url, ["graded-after-restore"]) == {"graded-after-restore": 6.0}
        status = run_in(root, sys.executable, "-m", "instructor", "watch", "--status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "grade on submit: running" in status.stdout, status.stdout
        assert "last graded: graded-after-restore (initialization) 6/30" in status.stdout
        assert service.poll() is None
    finally:
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)  # as the hub stops its service
        try:
            service.wait(120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.pid, signal.SIGKILL)  # whatever it left behind
    text = log.read_text()
    assert service.returncode == 0 and text.rstrip().endswith("stopped"), text[-3000:]
    assert LOCKED not in text and "Traceback" not in text and "failed" not in text, text[-3000:]
    # what the restore took back is graded again by `instructor grade` (the others unchanged)
    check(instructor_grade(root, "--serial"))
    assert {"graded-after-restore", "graded-after-backup"} <= students_in(url)
    assert totals(url, ["graded-after-backup"]) == {"graded-after-backup": 30.0}
