"""One grade, whatever the route: `instructor grade`, `nbgrader autograde` and the Formgrader's
Autograde button (nbgrader's NbGraderAPI.autograde); and the demo class kept apart. (What the
instructor's own state does is in test_instructor_state.py.)

Each route grades the same held-out-style class in a course copy of its own (a quicker
notebook: 500 iterations, so a class takes seconds): an honest student, and four who tamper.
The gradebook's scores, the review marks, the ledger's flags and notes, and the graded test
cells must be identical on every route.
"""

import json
import shutil
import subprocess
import sys
import textwrap

import nbformat
import pytest
from answers import STUDENTS, build_demo
from conftest import copy_course, course_env, instructor_grade, run_in, run_nbgrader, shares_of
from corpus import build as corpus
from harness import ASSIGNMENT, NOTEBOOK, NOTEBOOK_ID
from nbgrader.api import Gradebook

from instructor import demo, lab

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

# The held-out-style class: who, and why they are in it.
CLASS = {
    "correct": "an honest student",
    "redefined-tests": "redefines a test helper (grade_exercise) to give full marks",
    "patched-numpy": "patches numpy's comparison (np.allclose) to pass a wrong answer",
    "fake-score": "silences the tests' tracebacks and displays every number as a full score",
    "writes-grader-files": "writes to the gradebook file and to classmates' files",
}
GRADE_IDS = [f"test_initialize_parameters_{k}" for k in ("zeros", "random", "he")]


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


def _outputs(cell):
    """A cell's outputs as (type, text), consecutive stream texts of the same stream joined:
    how the kernel splits what it prints into messages depends on timing, not on grading."""
    found = []
    for o in cell.outputs:
        text = o.get("text") or o.get("data", {}).get("text/plain")
        if o.get("output_type") == "stream" and found and found[-1][:2] == ("stream", o.name):
            found[-1] = ("stream", o.name, found[-1][2] + text)
        else:
            found.append((o.get("output_type"), o.get("name"), text))
    return found


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
                c.metadata.nbgrader["grade_id"]: _outputs(c)
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
    """The class graded on each route, each in a course copy of its own: {route: outcome}.

    `instructor grade` runs first; its reference run (the source graded once, for the time
    limits) is kept in the other two copies, which nbgrader's routes then grade side by side.
    """
    graded = {}
    root = class_course(tmp_path_factory.mktemp("instructor-grade") / "course")
    run = instructor_grade(root, "--serial")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    graded["instructor grade"] = outcome(root)
    reference = root / "reports" / ASSIGNMENT / "reference.json"

    commands = {
        "nbgrader autograde": [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT],
        "Autograde button": [sys.executable, "-c", BUTTON, *CLASS],
    }
    started = {}
    for route, command in commands.items():
        copy = class_course(tmp_path_factory.mktemp(route.replace(" ", "-")) / "course")
        (copy / "reports" / ASSIGNMENT).mkdir(parents=True, exist_ok=True)  # kept reference
        shutil.copy(reference, copy / "reports" / ASSIGNMENT / "reference.json")
        process = subprocess.Popen(
            command, cwd=copy, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        started[route] = (copy, process)
    for route, (copy, process) in started.items():
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, out[-3000:] + err[-3000:]
        if route == "Autograde button":
            assert json.loads(out.strip().splitlines()[-1]) == dict.fromkeys(CLASS, True)
        graded[route] = outcome(copy)
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
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)
    assert (root / "demo" / "feedback" / "demo-correct" / ASSIGNMENT).is_dir()
    assert not (root / "autograded").exists() or not any((root / "autograded").iterdir())


@pytest.fixture(scope="module")
def graded_demo_apart(tmp_path_factory):
    """A quick course copy whose demo class (two of its students: where they land is the
    point, not their scores) `python -m instructor grade --demo` graded, and whose feedback
    nbgrader generated in demo/."""
    root = corpus.fast_course(tmp_path_factory.mktemp("demo-apart") / "course", copy_course)
    build_demo(root)
    demo.prepare_gradebook(root, ASSIGNMENT)
    run = instructor_grade(root, "--demo", "--serial", "demo-correct", "demo-xavier")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    feedback = run_in(
        root / "demo", sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT
    )
    assert feedback.returncode == 0, feedback.stdout + feedback.stderr
    return root
