"""The engine's public interface: a route grades through a Session's public steps alone.

The grade-on-submit service's path, driven here step by step in this process with nothing but
public names: a submission folder in the exchange's inbound folder is collected
(exchange/inbound.py), prepared into a Task (`Session.prepare`), graded on a runner
(dispatch.py), recorded (`Session.record`, a typed Entry), written to the ledger
(`Session.write_ledger`) and turned into the student's feedback page (watch/deliver.py). The
same unchanged submission prepared again is not graded twice; an empty notebook is rejected
and recorded by `prepare` itself. A static canary checks that the routes (grade.py, watch/,
preprocessors/) touch no private attribute of an object they did not define, and none of the
engine's objects behind a Session (its recorder, batch or ledger).
"""

import ast
import datetime
import json
import textwrap

import nbformat
import pytest
from conftest import ROOT, copy_course
from corpus import build as corpus
from harness import ASSIGNMENT, COURSE_ID, NOTEBOOK

from instructor.course import load_config
from instructor.exchange import copier, inbound
from instructor.grading.dispatch import SerialRunner
from instructor.grading.ledger import Entry
from instructor.grading.session import Prepared, Session
from instructor.grading.status import Status
from instructor.watch import deliver


def put_submission(inbound_folder, student, data, secret):
    """A submission folder as nbgrader's submit leaves it in the inbound folder."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    folder = inbound_folder / f"{student}+{ASSIGNMENT}+{stamp}"
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(data)
    (folder / "submission_secret.txt").write_text(secret)
    (folder / "timestamp.txt").write_text(stamp)
    return folder


def collected(config, coursedir_root, inbound_folder, student):
    """scan + collect, as the service's first step does: the student's submitted folder."""
    records, bad = inbound.scan(inbound_folder, {ASSIGNMENT})
    assert bad == []
    (record,) = [r for r in records if r.student == student]
    dest = coursedir_root / "submitted" / student / ASSIGNMENT
    copier.collect(record.path, dest)
    return dest


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = corpus.fast_course(tmp_path_factory.mktemp("interface") / "course", copy_course)
    config = load_config(root)
    config.Exchange.root = str(root / "exchange")
    (root / "exchange").mkdir()
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    context = corpus.Context(release, root)
    return {
        "root": root,
        "config": config,
        "inbound": root / "exchange" / COURSE_ID / "inbound",
        "answers": {name: corpus.SCENARIOS[name](context)[NOTEBOOK] for name in ("correct",)},
    }


@pytest.mark.slow  # a real grading
def test_a_submission_goes_from_the_exchange_to_its_feedback_through_public_steps(course):
    """Is a correct submission in the inbound folder collected, prepared, graded, recorded with
    full marks and fed back, through the Session's public steps alone; and is it, prepared
    again unchanged, taken from the ledger instead of graded twice?"""
    root, config = course["root"], course["config"]
    put_submission(course["inbound"], "alice", course["answers"]["correct"], "alice's secret")
    session = Session(config, ASSIGNMENT, log=lambda line: None)
    dest = collected(config, root, course["inbound"], "alice")

    session.reload_ledger()
    prepared = session.prepare("alice", dest)
    assert isinstance(prepared, Prepared) and prepared.entry is None
    assert prepared.task is not None and prepared.task.student == "alice"
    ((student, result),) = SerialRunner().run([("alice", prepared.task)], session.bundle)
    entry = session.record(student, result)
    session.write_ledger({"route": "the engine's interface test", "students": ["alice"]})

    assert isinstance(entry, Entry) and entry.status == Status.GRADED, entry
    assert entry.flags == () and sum(entry.scores.values()) == session.max_score > 0
    assert session.entries == [entry]
    assert (session.autograded("alice") / NOTEBOOK).is_file()
    ledger = json.loads((session.reports / "grading.json").read_text())
    assert ledger["students"]["alice"]["status"] == "graded"
    assert ledger["last_run"] == {"route": "the engine's interface test", "students": ["alice"]}

    deliver.feedback(config, ASSIGNMENT, "alice", show_verdicts=True)
    pages = list((root / "exchange" / COURSE_ID / "feedback").glob("*.html"))
    assert len(pages) == 1 and f"Score: {session.max_score:g}" in pages[0].read_text().replace(
        f"{session.max_score:.1f}", f"{session.max_score:g}"
    )

    again = Session(config, ASSIGNMENT, log=lambda line: None).prepare("alice", dest)
    assert again.task is None and again.recorded_before and again.entry == entry


@pytest.mark.slow  # a real grading
def test_a_rejected_notebook_is_recorded_by_prepare_and_gets_its_page(course):
    """Does `prepare` record an empty notebook as rejected (zero points, the reason), with no
    Task to run, and does the student get the page that says why?"""
    root, config = course["root"], course["config"]
    put_submission(course["inbound"], "bob", b"", "bob's secret")
    session = Session(config, ASSIGNMENT, log=lambda line: None)
    dest = collected(config, root, course["inbound"], "bob")

    prepared = session.prepare("bob", dest)
    assert prepared.task is None and not prepared.recorded_before
    assert prepared.entry.status == Status.REJECTED and "empty" in prepared.entry.reason
    assert set(prepared.entry.scores.values()) == {0}
    deliver.rejection(config, ASSIGNMENT, "bob", session.notebooks, dest, prepared.entry.reason)
    page = root / "feedback" / "bob" / ASSIGNMENT / f"{session.notebooks[0]}.html"
    assert "could not be graded" in page.read_text()


@pytest.mark.slow  # a real grading
def test_the_warm_up_task_grades_the_release_without_a_student(course, tmp_path):
    """Is the warm-up Task the release notebook, for nobody, in the folder given, under the
    session's limits?"""
    session = Session(course["config"], ASSIGNMENT, log=lambda line: None)
    task = session.warm_up_task(tmp_path / "warm")
    assert task.student == "warm-up" and task.workdir == str(tmp_path / "warm")
    assert task.limits == session.limits and set(task.notebooks) == set(session.notebooks)


# --- the canary: routes use the public interface only ----------------------------------------

ROUTES = [
    ROOT / "instructor" / "commands" / "grade.py",
    ROOT / "instructor" / "commands" / "watch.py",
    ROOT / "instructor" / "preprocessors" / "course_grading.py",
    *sorted((ROOT / "instructor" / "watch").glob("*.py")),
]  # the routes that grade: the command, nbgrader's autograde, grade on submit
ENGINE_INSIDES = {"recorder", "batch", "ledger"}  # what a Session holds, behind its steps


def reaches_inside(source):
    """Lines where code touches a private attribute (`x._name`, not a dunder) that the same
    file does not define, or one of the objects a Session keeps behind its public steps."""
    tree = ast.parse(source)
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            defined.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            defined.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or isinstance(node.ctx, ast.Store):
            continue
        private = node.attr.startswith("_") and not node.attr.startswith("__")
        if (private and node.attr not in defined) or node.attr in ENGINE_INSIDES:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("path", ROUTES, ids=lambda p: p.name)
def test_a_route_uses_only_the_public_interface(path):
    """Does this route touch no private attribute of another object, and nothing of the
    engine behind a Session (its recorder, batch or ledger)?"""
    assert reaches_inside(path.read_text()) == []


def test_the_canary_sees_what_the_service_did_before():
    """The canary: does the check catch what the service and grade.py did before the Session
    had public steps, and let the public steps and a file's own private names pass?"""
    before = textwrap.dedent(
        """
        session.recorder.ledger = Ledger(session.reports, record.assignment)
        session.batch.submissions.pop(record.student, None)
        with batch.recorder._gradebook() as gb:
            pass
        """
    )
    assert sorted(reaches_inside(before)) == [
        "2: session.recorder",
        "3: session.batch",
        "4: batch.recorder",
        "4: batch.recorder._gradebook",
    ]
    after = textwrap.dedent(
        """
        class Service:
            def _signature(self):
                return self._signature()
        session.reload_ledger()
        prepared = session.prepare(record.student, dest)
        future = run.__dict__.setdefault("key", {})
        """
    )
    assert reaches_inside(after) == []
