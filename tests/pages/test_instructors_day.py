"""What an instructor reads about their class, without a browser: students' names in the
gradebook, the Formgrader's page of forgeries (its rendering, escaped), and `python -m
instructor watch --status`.

The browser test of the same, through the hub's login, is in tests/hub/test_browser_hub.py.
"""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, course_env
from nbgrader.api import Gradebook
from traitlets.config import Config
from unix_users import needs_root, unix_user

from instructor import formgrader, people
from instructor.exchange import forgeries, inbound
from instructor.watch import status


def gradebook(tmp_path):
    return Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "initialization-course")


@pytest.mark.slow  # nbgrader's Gradebook runs alembic: seconds
def test_a_student_without_a_name_gets_the_logins_and_a_rostered_one_keeps_theirs(tmp_path):
    """No roster: the login as the last name (no such account here, or an account without a
    full name); a student the roster named keeps the roster's names."""
    with gradebook(tmp_path) as gb:
        gb.add_student("no-such-login-here")
        gb.add_student("rostered", first_name="Ada", last_name="Lovelace")
        assert people.name_if_unnamed(gb, "no-such-login-here")
        assert not people.name_if_unnamed(gb, "rostered")
        named = gb.find_student("no-such-login-here")
        assert (named.first_name, named.last_name) == ("", "no-such-login-here")
        kept = gb.find_student("rostered")
        assert (kept.first_name, kept.last_name) == ("Ada", "Lovelace")


@pytest.mark.slow
@needs_root
def test_a_login_with_a_full_name_gives_that_name(tmp_path):
    """An account whose full name the system knows (its GECOS field) is named by it."""
    with unix_user("tnamed") as user:
        subprocess.run(["usermod", "-c", "Grace Hopper,,,", user.name], check=True)
        assert people.names_of_login(user.name) == ("Grace", "Hopper")
        with gradebook(tmp_path) as gb:
            gb.add_student(user.name)
            people.name_if_unnamed(gb, user.name)
            student = gb.find_student(user.name)
            assert (student.first_name, student.last_name) == ("Grace", "Hopper")


def forged(reports, student, owner, assignment="initialization"):
    """A forgery recorded as the service records it."""
    stamp = datetime.datetime(2026, 3, 1, 10, 0, 5, tzinfo=datetime.UTC)
    record = inbound.Record(
        f"{student}+{assignment}+2026-03-01 10:00:05.000000 UTC", student, assignment, stamp,
        Path("/nowhere"),
    )  # fmt: skip
    return forgeries.note(reports / assignment, record, owner, "grade on submit")


def test_the_forgeries_page_names_the_maker_and_escapes_what_students_chose(tmp_path):
    """The Formgrader's page lists every forgery of every assignment with its maker and
    times; a name a student chose is text, never markup. nbgrader's pages get the notice."""
    reports = tmp_path / "course" / "reports"
    forged(reports, "alice", "mallory")
    forged(reports, "<img src=x onerror=alert(1)>", "mallory", "second-assignment")
    settings = {
        "nbgrader_formgrader": SimpleNamespace(
            config=Config(), coursedir=SimpleNamespace(root=str(tmp_path / "course"))
        )
    }
    rows = formgrader.course_forgeries(settings)
    assert [(r["assignment"], r["student"], r["owner"]) for r in rows] == [
        ("initialization", "alice", "mallory"),
        ("second-assignment", "<img src=x onerror=alert(1)>", "mallory"),
    ]
    assert rows[0]["submitted"] == "2026-03-01 10:00:05 UTC"
    page = formgrader.page_environment(settings).get_template("forgeries.tpl")
    html = page.render(base_url="/user/t", forgeries=rows)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert html.count('<tr class="forgery">') == 2
    students = formgrader.page_environment(settings).get_template("manage_students.tpl")
    html = students.render(base_url="/user/t")
    assert "2 submissions made in another student's name" in html
    assert 'href="/user/t/formgrader/forgeries"' in html


@pytest.fixture
def watched_course(tmp_path):
    """A course folder of its own (the course's settings, its own exchange and reports) with
    the assignment released to its exchange: what `watch --status` reads."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "source" / "initialization").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        f"exec(open({str(ROOT / 'nbgrader_config.py')!r}).read())\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.Exchange.root = {str(tmp_path / 'exchange')!r}\n"
        "c.ExchangeCollect.check_owner = False\n"
    )
    exchange = tmp_path / "exchange" / "initialization-course"
    (exchange / "outbound" / "initialization").mkdir(parents=True)
    (exchange / "inbound").mkdir()
    return course, exchange


def watch_status(course):
    return subprocess.run(
        [sys.executable, "-m", "instructor", "watch", "--status", "--course", str(course)],
        cwd=ROOT, env=course_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.slow  # three commands run
def test_watch_status_says_what_runs_what_was_graded_and_what_waits(watched_course):
    """Never run; then "running" for a live process recorded in the status file, with the
    last grading of the journal and the submissions of inbound the journal has not finished;
    then "not running" for a process that ended without saying so."""
    course, exchange = watched_course
    never = watch_status(course)
    assert never.returncode == 3 and "not running (it never ran" in never.stdout, never.stdout
    reports = course / "reports"
    journal = reports / "initialization" / "submissions.jsonl"
    journal.parent.mkdir(parents=True)
    step = {
        "at": "2026-03-01T10:00:09.000+00:00", "record": "alice+initialization+x",
        "student": "alice", "assignment": "initialization",
        "submitted": "2026-03-01T10:00:05+00:00", "step": "graded", "score": 25.0,
        "max_score": 30.0,
    }  # fmt: skip
    journal.write_text(json.dumps(step) + "\n")
    for student, stamp in (("bob", "10:01:00"), ("bob", "10:02:00"), ("carol", "10:03:00")):
        folder = exchange / "inbound" / f"{student}+initialization+2026-03-01 {stamp}.000000 UTC"
        folder.mkdir()
        (folder / "timestamp.txt").write_text(f"2026-03-01 {stamp}.000000 UTC")
    helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = status.StatusFile(reports, "on a local Dask cluster of 1 worker process", reports)
        state.state.pid = helper.pid
        state.state.started_ticks = status.process_start(helper.pid)
        state.write()
        running = watch_status(course)
    finally:
        helper.kill()
        helper.wait()
    print(running.stdout)
    assert running.returncode == 0, running.stdout + running.stderr
    lines = running.stdout.splitlines()
    assert lines[0].startswith(f"grade on submit: running (pid {helper.pid}, since ")
    assert "last graded: alice (initialization) 25/30, at 2026-03-01 10:00:09 UTC" in lines[2]
    assert lines[3] == "waiting: 2 submission(s), the latest of each student:"
    assert lines[4] == (
        "  bob (initialization), submitted 2026-03-01 10:02:00 UTC: not seen yet; 1 earlier "
        "one(s) of theirs too"
    )
    assert lines[5] == "  carol (initialization), submitted 2026-03-01 10:03:00 UTC: not seen yet"
    ended = watch_status(course)
    assert ended.returncode == 3 and "ended without stopping" in ended.stdout, ended.stdout
    assert os.path.exists(reports / status.STATUS_FILE)
