"""One grade, whatever the route: `instructor grade`, `nbgrader autograde`, the Formgrader's
Autograde button (nbgrader's NbGraderAPI.autograde), and what the instructor's own state does.

Each route grades the same held-out-style class in a course copy of its own (a quicker
notebook: 500 iterations, so a class takes seconds): an honest student, and four who tamper.
The gradebook's scores, the review marks, the ledger's flags and notes, and the graded test
cells must be identical on every route.
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import copy_course, run_nbgrader, shares_of
from corpus import build as corpus
from nbgrader.api import Gradebook

from instructor import demo, lab

pytestmark = pytest.mark.slow

ASSIGNMENT, NOTEBOOK, NOTEBOOK_ID = "initialization", "Initialization.ipynb", "Initialization"
BIN = str(Path(sys.executable).parent)
# The held-out-style class: who, and why they are in it.
CLASS = {
    "correct": "an honest student",
    "redefined-tests": "redefines a test helper (grade_exercise) to give full marks",
    "patched-numpy": "patches numpy's comparison (np.allclose) to pass a wrong answer",
    "fake-score": "silences the tests' tracebacks and displays every number as a full score",
    "writes-grader-files": "writes to the gradebook file and to classmates' files",
}
GRADE_IDS = [f"test_initialize_parameters_{k}" for k in ("zeros", "random", "he")]


def _env(**extra):
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], **extra)


def _run(root, *command, timeout=900, **kwargs):
    return subprocess.run(
        [*command], cwd=root, env=_env(), capture_output=True, text=True, timeout=timeout, **kwargs
    )


def grade(root, *args, timeout=900):
    """`python -m instructor grade` in a course; the CompletedProcess."""
    return _run(root, sys.executable, "-m", "instructor", "grade", *args, timeout=timeout)


# What the Formgrader's ⚡ Autograde button runs: nbgrader's API, in a process started in the
# course as the Formgrader's server is, one call per student.
BUTTON = textwrap.dedent(
    """
    import json, sys
    from nbgrader.apps import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.auth import Authenticator

    app = NbGrader()
    app.initialize([])
    api = NbGraderAPI(app.coursedir, Authenticator(parent=app), parent=app)
    results = {s: api.autograde("initialization", s) for s in sys.argv[1:]}
    print(json.dumps({s: r["success"] for s, r in results.items()}))
    """
)


def class_course(dest):
    """A quick course copy with the class submitted."""
    root = corpus.fast_course(dest, copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, list(CLASS))
    return root


def outcome(root):
    """Per student: scores and review marks per grade cell, the ledger's status, flags and
    notes, and the graded test cells' outputs, with the course's own path taken out."""
    ledger = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())["students"]
    result = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in CLASS:
            grades = {
                g.name: (g.score, g.needs_manual_grade)
                for g in gb.find_submission_notebook(NOTEBOOK_ID, ASSIGNMENT, student).grades
            }
            path = root / "autograded" / student / ASSIGNMENT / NOTEBOOK
            nb = nbformat.read(path, 4)
            tests = {
                c.metadata.nbgrader["grade_id"]: [
                    (o.get("output_type"), o.get("text") or o.get("data", {}).get("text/plain"))
                    for o in c.outputs
                ]
                for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") in GRADE_IDS
            }
            entry = ledger[student]
            result[student] = json.loads(
                json.dumps(
                    {
                        "grades": grades,
                        "status": entry["status"],
                        "flags": entry["flags"],
                        "notes": entry["notes"],
                        "tests": tests,
                    }
                ).replace(str(root), "<course>")
            )
    return result


@pytest.fixture(scope="module")
def routes(tmp_path_factory):
    """The class graded on each route, each in a course copy of its own: {route: outcome}."""
    graded = {}
    root = class_course(tmp_path_factory.mktemp("instructor-grade") / "course")
    run = grade(root, "--serial")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    graded["instructor grade"] = outcome(root)

    root = class_course(tmp_path_factory.mktemp("nbgrader-autograde") / "course")
    run = _run(root, sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    graded["nbgrader autograde"] = outcome(root)

    root = class_course(tmp_path_factory.mktemp("button") / "course")
    run = _run(root, sys.executable, "-c", BUTTON, *CLASS)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == dict.fromkeys(CLASS, True)
    graded["Autograde button"] = outcome(root)
    return graded


@pytest.mark.parametrize("student", list(CLASS))
@pytest.mark.parametrize("route", ["nbgrader autograde", "Autograde button"])
def test_every_route_gives_the_same_grade_flags_and_notes(routes, route, student):
    """Does this route give the student exactly what `instructor grade` gives: scores, review
    marks, status, flags, notes and graded test cells?"""
    assert routes[route][student] == routes["instructor grade"][student]


@pytest.mark.parametrize(
    "student, scores, flagged",
    [
        ("correct", shares_of(1, 1, 1), False),
        ("redefined-tests", shares_of(0, 0, 0), True),
        ("patched-numpy", shares_of(1, 0.5, 1), True),
        ("fake-score", shares_of(1, 0.5, 0.5), True),
        ("writes-grader-files", shares_of(1, 1, 1), True),
    ],
)
def test_tampering_earns_nothing_on_the_nbgrader_routes(routes, student, scores, flagged):
    """On nbgrader's own command, is tampering scored by the clean re-check and flagged, and
    the honest student left alone? (`instructor grade` gives the same, see above.)"""
    got = routes["nbgrader autograde"][student]
    assert tuple(got["grades"][g][0] for g in GRADE_IDS) == scores
    assert bool(got["flags"]) == flagged, got["flags"]


def test_a_gradebook_writer_cannot_erase_its_classmates_grades(routes):
    """The gradebook is hidden from the notebook on every route: does the honest student graded
    BEFORE the gradebook writer keep full marks?"""
    for route in routes.values():
        assert tuple(route["correct"]["grades"][g][0] for g in GRADE_IDS) == shares_of(1, 1, 1)


# --- what another route changed, is graded again ---------------------------------------------


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """A quick course copy with the correct student and the one who redefines a test helper,
    graded by `instructor grade`."""
    root = corpus.fast_course(tmp_path_factory.mktemp("small-class") / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct", "patched-numpy"])
    run = grade(root, "--serial")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root


def test_grades_changed_by_another_route_are_graded_again(small_class):
    """When something other than the course's grading (an old nbgrader, a script, a hand in the
    database) gives the patched-numpy student full marks and rewrites his graded notebook, does
    the next `instructor grade` notice, grade him again and restore the clean score?"""
    root = small_class
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade_ = gb.find_grade(GRADE_IDS[1], NOTEBOOK_ID, ASSIGNMENT, "patched-numpy")
        assert grade_.score == shares_of(1, 0.5, 1)[1]
        grade_.auto_score = shares_of(1, 1, 1)[1]
        gb.db.commit()
    run = grade(root, "--serial")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Done: 1 submission(s)" in run.stdout and "1 unchanged" in run.stdout
    assert "[1/1] patched-numpy: graded" in run.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        score = gb.find_grade(GRADE_IDS[1], NOTEBOOK_ID, ASSIGNMENT, "patched-numpy").score
        assert score == shares_of(1, 0.5, 1)[1]
    assert (
        "patched-numpy: graded again: its automatic scores or graded notebook had been changed"
        in run.stdout
    )


def test_a_grader_failure_is_failed_with_its_trace_and_retried(small_class):
    """A kernel that cannot start (here: far too little memory for Python) is the grader's
    failure, not the student's: is the submission "failed" with the real error and its
    traceback in grading.json, its grades untouched, and graded on the next run?"""
    root = small_class
    run = grade(root, "--serial", "--force", "--memory", "25", "correct")
    assert run.returncode == 1, run.stdout + run.stderr
    entry = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())["students"][
        "correct"
    ]
    assert entry["status"] == "failed"
    assert "the kernel could not start" in entry["reason"]
    assert "Traceback (most recent call last)" in entry["trace"]
    assert "GraderFailure" in entry["trace"]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = tuple(
            gb.find_grade(g, NOTEBOOK_ID, ASSIGNMENT, "correct").score for g in GRADE_IDS
        )
        assert scores == shares_of(1, 1, 1)
    again = grade(root, "--serial")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"[1/1] correct: graded, {sum(shares_of(1, 1, 1)):g} points" in again.stdout


def test_a_misnamed_assignment_folder_is_reported(small_class):
    """A student who named the folder Initialization/ instead of initialization/: does the
    summary say that it was not graded and how to fix it, instead of nothing?"""
    folder = small_class / "submitted" / "hank" / "Initialization"
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(
        (small_class / "submitted" / "correct" / ASSIGNMENT / NOTEBOOK).read_bytes()
    )
    run = grade(small_class, "--serial")
    assert "hank: the folder hank/Initialization/ is not graded" in run.stdout
    assert "hank/initialization/ (rename it)" in run.stdout


# --- the instructor's own state -----------------------------------------------------------------


def _source(root):
    return root / "source" / ASSIGNMENT / NOTEBOOK


def _edit_test_cell(root, grade_id, edit):
    nb = nbformat.read(_source(root), 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    edit(cell)
    nbformat.write(nb, _source(root))


def test_a_stale_release_stops_grading_and_a_broken_source_is_not_released(tmp_path):
    """The instructor adds a hidden case with a typo (W1's shape transposed) to the zeros tests
    and forgets to release. Does grading refuse with the one-line fix instead of flagging an
    honest student, and does `release` then refuse a source whose own solutions fall short?"""
    root = corpus.fast_course(tmp_path / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct"])
    typo = '    ([3, 2], {"W1": np.zeros((3, 2)), "b1": np.zeros((2, 1))}),\n'

    def add_case(cell):
        cell.source = cell.source.replace("hidden_cases = [\n", "hidden_cases = [\n" + typo, 1)
        assert typo in cell.source

    _edit_test_cell(root, GRADE_IDS[0], add_case)
    run = grade(root, "--serial")
    assert run.returncode == 2
    assert "the source notebook changed since the last release" in run.stdout
    assert GRADE_IDS[0] in run.stdout
    assert "run `python -m instructor release` first" in run.stdout
    assert not (root / "autograded" / "correct").exists()

    released = _run(root, sys.executable, "-m", "instructor", "release")
    assert released.returncode == 1
    assert "own solutions do not earn full marks" in released.stdout
    assert re.search(rf"zeros \d+(\.\d+)? / {shares_of(1, 1, 1)[0]:g}", released.stdout)
    assert "The release was not regenerated; the previous one is unchanged." in released.stdout
    assert nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4) == release


def test_points_changed_in_the_metadata_alone_change_the_grade(tmp_path):
    """The Create Assignment panel sets the zeros exercise to 15 points, in the cell's
    metadata only. Once released, does a correct student get 15 for it, 35 in all?"""
    root = corpus.fast_course(tmp_path / "course", copy_course)
    _edit_test_cell(root, GRADE_IDS[0], lambda cell: cell.metadata.nbgrader.update(points=15))
    stale = grade(root, "--serial")
    assert stale.returncode == 2 and "points changed" in stale.stdout, stale.stdout
    released = _run(root, sys.executable, "-m", "instructor", "release")
    assert released.returncode == 0, released.stdout + released.stderr
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct"])
    run = grade(root, "--serial")
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^correct\s+15\s+10\s+10\s+35$", run.stdout, re.M), run.stdout
    assert re.search(r"^\(out of\)\s+15\s+10\s+10\s+35$", run.stdout, re.M)


# --- limits from the reference run ---------------------------------------------------------------


def test_an_endless_loop_costs_about_a_minute_with_default_limits(small_class):
    """An answer that never returns, called by the public test, the grade cell and the
    training: with the default limits, derived from the source's own run, does it cost a
    worker about a minute instead of 15, while its other exercises are still graded?"""
    root = small_class
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    loop = "while True:\n    pass"
    nb = demo.fill(release, dict(demo.CORRECT, he=loop))
    folder = root / "submitted" / "looper" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NOTEBOOK)
    run = grade(root, "--serial", "looper")
    assert run.returncode == 0, run.stdout + run.stderr
    limits = re.search(r"^Limits: time limits from the reference run .*$", run.stdout, re.M)
    assert limits, run.stdout
    entry = json.loads((root / "reports" / ASSIGNMENT / "grading.json").read_text())["students"][
        "looper"
    ]
    assert tuple(entry["scores"].values()) == shares_of(1, 1, 0)
    assert any("time limit" in note for note in entry["notes"]), entry["notes"]
    assert entry["seconds"] < 90, entry["seconds"]


def test_the_interrupted_command_says_so_without_tracebacks(tmp_path):
    """Ctrl-C in the terminal reaches every process of the command: does it stop with its one
    clean message, and no screens of Dask tracebacks?"""
    import signal
    import time

    root = corpus.fast_course(tmp_path / "course", copy_course)
    release = nbformat.read(root / "release" / ASSIGNMENT / NOTEBOOK, 4)
    corpus.build(release, root / "submitted", root, ["correct", "xavier"])
    command = [sys.executable, "-m", "instructor", "grade", "--workers", "2"]
    process = subprocess.Popen(
        command, cwd=root, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    seen = []
    for line in process.stdout:  # until the cluster grades
        seen.append(line)
        if line.startswith("Grading "):
            break
    time.sleep(8)  # inside the batch: the workers' kernels are running
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    out, err = process.communicate(timeout=120)
    out = "".join(seen) + out
    assert process.returncode == 130, out + err
    assert "Interrupted after" in out
    assert "Traceback" not in out + err, err[-3000:]
    assert "CancelledError" not in out + err and "KeyboardInterrupt" not in out + err


# --- the demo class lives apart ------------------------------------------------------------------


def test_the_demo_class_never_reaches_the_real_class(graded_demo_apart):
    """After the demo class is graded and fed back, does the real class's gradebook, export
    and release_feedback know nothing of it?"""
    root = graded_demo_apart
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert [s.id for s in gb.students] == []
    lab.ensure_exchange(root, env={})  # as `instructor release` and the instructor's lab do
    exported = run_nbgrader("export", "--to=grades.csv", cwd=root)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "demo-" not in (root / "grades.csv").read_text()
    released = run_nbgrader("release_feedback", ASSIGNMENT, cwd=root)
    assert released.returncode == 0, released.stdout + released.stderr
    with Gradebook(f"sqlite:///{root / 'demo' / 'gradebook.db'}") as gb:
        assert sorted(s.id for s in gb.students) == sorted(demo.STUDENTS)
    assert (root / "demo" / "feedback" / "demo-correct" / ASSIGNMENT).is_dir()
    assert not (root / "autograded").exists() or not any((root / "autograded").iterdir())


@pytest.fixture(scope="module")
def graded_demo_apart(tmp_path_factory):
    """A quick course copy whose demo class `python -m instructor grade --demo` graded, and
    whose feedback nbgrader generated in demo/."""
    root = corpus.fast_course(tmp_path_factory.mktemp("demo-apart") / "course", copy_course)
    demo.build(root)
    demo.prepare_gradebook(root)
    run = grade(root, "--demo", "--serial")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    feedback = _run(
        root / "demo", sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT
    )
    assert feedback.returncode == 0, feedback.stdout + feedback.stderr
    return root
