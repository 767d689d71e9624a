"""The grading engine's pure parts, one at a time: fast, and each able to fail.

The static scan as a table of snippets; the codec and the replayed re-check scored as nbgrader
would; the ledger of what changed; the exercise declarations; the limits, the launch spec and
the exit status; the fence around nbclient's private methods; the report's mistake titles.
The re-check's child runs for real, in a subprocess (the sandbox's own tests are slow ones).
"""

import json
import signal
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from conftest import ROOT

from instructor.grading.bundle import BundleError, declared
from instructor.grading.intake import ignored
from instructor.grading.ledger import Entry, Ledger
from instructor.grading.messages import Exercise
from instructor.grading.recheck import codec
from instructor.grading.recheck.run import (
    Answers,
    Replay,
    checks_namespace,
    points_of,
    recheck,
    run_test_cell,
)
from instructor.grading.sandbox import ExitStatus, LaunchSpec, Limits
from instructor.grading.scan import Guarded, bound_and_called, suspicious

# --- the static scan ------------------------------------------------------------------------

GUARDED = Guarded.of(["public_tests"], {"grade_exercise", "hidden_cases"})
# (code in a student's cell, what the scan says; [] for code that must pass unflagged)
SCAN = [
    ("def f(x):\n    return x * 2", []),
    ("W = np.zeros((2, 3))\nparameters['W1'] = W", []),
    ("np.allclose = lambda *a, **k: True", ["replaces np.allclose"]),
    ("numpy.testing.assert_allclose = print", ["replaces numpy.testing.assert_allclose"]),
    ("public_tests.grade_exercise = None", ["replaces public_tests.grade_exercise"]),
    ("def grade_exercise(*a):\n    return 1.0", ["redefines grade_exercise"]),
    ("hidden_cases = []", ["redefines hidden_cases"]),
    ("a, (np, b) = 1, (2, 3)", ["redefines np"]),
    ("class Fake:\n    def __eq__(self, other):\n        return True", ["defines __eq__"]),
    ("class A(np.ndarray):\n    pass", ["subclasses np.ndarray"]),
    ("import sys\nsys.modules['numpy'] = None", ["replaces sys.modules['numpy']", "uses sys.modules"]),
    ("import ctypes", ["imports ctypes"]),
    ("try:\n    pass\nexcept AssertionError:\n    pass", ["catches AssertionError"]),
    ("setattr(np, 'allclose', max)", ["changes attributes with setattr"]),
    ("get_ipython().set_custom_exc((Exception,), None)", ["installs a custom exception handler"]),
    ("open('../../gradebook.db', 'w')", ["refers to the course's files ('../../gradebook.db')"]),
    ("!rm -rf ~", ["runs shell commands"]),  # IPython rewrites it to a system call
    ("def broken(:", []),  # a syntax error is the kernel's to report, not a flag
]  # fmt: skip


@pytest.mark.parametrize("code,expected", SCAN, ids=[c.split("\n")[0][:40] for c, _ in SCAN])
def test_scan_names_what_tampers_and_nothing_else(code, expected):
    """Does the static scan name exactly the tampering patterns of each snippet?"""
    assert suspicious(code, GUARDED) == expected


def test_scan_guards_only_the_general_names_without_an_assignment():
    """Without an assignment's names, is a test helper's name an ordinary name (canary: the
    same line is flagged once the assignment guards it)?"""
    assert suspicious("grade_exercise = None") == []
    assert suspicious("grade_exercise = None", GUARDED) == ["redefines grade_exercise"]


def test_bound_and_called_reads_a_test_cells_names():
    """Are a test cell's variables and called checks what the scan guards for it?"""
    source = (
        "hidden = []\n### BEGIN HIDDEN TESTS\nhidden = [1]\n### END HIDDEN TESTS\ncheck(f, hidden)"
    )
    assert bound_and_called(source) == {"hidden", "check"}


# --- the codec ------------------------------------------------------------------------------


def roundtrip(value):
    return codec.decode(json.loads(json.dumps(codec.Codec().encode(value))))


def test_codec_carries_arrays_bit_for_bit():
    """Does a float64 array cross the wall with every bit, dtype and shape kept?"""
    array = np.random.default_rng(0).standard_normal((3, 4))
    back = roundtrip({"W1": array, "b1": np.zeros((3, 1), dtype=np.float32)})
    assert back["W1"].tobytes() == array.tobytes() and back["W1"].shape == (3, 4)
    assert back["b1"].dtype == np.float32


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "text", [1, [2.0, None]], (1, "a"), np.float64(0.25), np.int32(7)],
    ids=repr,
)
def test_codec_carries_plain_values(value):
    """Do plain values, nested lists and tuples and numpy scalars come back equal and of the
    same type?"""
    back = roundtrip(value)
    assert back == value and type(back) is type(value)


def test_codec_names_what_it_does_not_carry():
    """Do a dict subclass, an object array and an oversized array travel as their type's name
    only, so that no student code runs while they are encoded?"""

    class Sneaky(dict):
        def items(self):
            raise AssertionError("student code ran")

    encoder = codec.Codec()
    assert encoder.encode(Sneaky(a=1)) == {"kind": "other", "type": "Sneaky"}
    assert encoder.encode(np.array([object()]))["kind"] == "other"
    big = np.zeros(codec.MAX_ARRAY_SIZE + 1, dtype=np.int8)
    assert encoder.encode(big) == {"kind": "other", "type": "ndarray of int8"}


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "array", "dtype": "O", "shape": [1], "data": ""},
        {"kind": "array", "dtype": "<f8", "shape": [2], "data": "AAAA"},
        {"kind": "array", "dtype": "<f8", "shape": [-1], "data": ""},
        {"kind": "dict", "entries": "not a list"},
        {"kind": "json", "value": {"nested": "dict"}},
        "not even a dict",
    ],
    ids=["object dtype", "short data", "negative shape", "bad entries", "json dict", "string"],
)
def test_codec_turns_malformed_answers_into_placeholders(payload):
    """Does an answer the sandbox could have forged decode to a harmless placeholder?"""
    value = codec.decode(payload)
    assert not isinstance(value, np.ndarray | dict | list)


# --- the re-check, scored as nbgrader scores ----------------------------------------------------

CHECKS = '''
import numpy as np

def grade(function, inputs):
    """Share of the inputs doubled right; None when all are (full marks)."""
    right = 0
    for x in inputs:
        try:
            right += bool(np.allclose(function(x), 2 * x))
        except Exception:
            pass
    print(f"{right} of {len(inputs)} right")
    return None if right == len(inputs) else right / len(inputs)
'''
TEST_CELL = "grade(double, [np.arange(3.0), np.ones((2, 2))])"


def exercise(test_source=TEST_CELL, points=4.0):
    return Exercise(
        name="double", notebook="Double", test_cell="test_double", answer_cell="double",
        function="double", checks="checks", points=points, test_source=test_source,
    )  # fmt: skip


def child_ask(request):
    """The re-check's real child, in a plain subprocess (no sandbox): (answers, error)."""
    code = "from instructor.grading.recheck import child; child.preload(); child.main()"
    process = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps({"timeout": 2, "exercises": request}),
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    return json.loads(process.stdout), None


def rechecked(answer_source, test_source=TEST_CELL):
    checks = {"checks": checks_namespace(CHECKS)}
    scores, error = recheck((exercise(test_source),), {"double": answer_source}, checks, child_ask)
    assert error is None
    return scores["double"]


# (the answer cell, points out of 4, why)
RECHECKS = [
    ("def double(x):\n    return 2 * x", 4.0, "right on both inputs: no result, full marks"),
    ("def double(x):\n    return x + x if x.ndim == 1 else x", 2.0, "right on one input of two"),
    ("def double(x):\n    raise ValueError('no')", 0.0, "the function raises every time"),
    ("np.allclose = lambda *a, **k: True\ndef double(x):\n    return x", 0.0,
     "a patch of numpy in the answer cell does not reach the grader's checks"),
    ("x = 1", 0.0, "the answer cell does not define the function"),
    ("def double(x):\n    while True:\n        pass", 0.0, "an endless loop is stopped"),
]  # fmt: skip


@pytest.mark.parametrize("source,points,why", RECHECKS, ids=[w for _, _, w in RECHECKS])
def test_recheck_scores_each_answer_on_its_own(source, points, why):
    """Does the re-check give each answer the points the test cell's checks earn it alone?"""
    assert rechecked(source).points == points, why


def test_recheck_asks_again_for_calls_a_failed_assert_hid():
    """Does a test cell that stops at its first failed assert still get every call answered,
    one round each, and score as nbgrader would?"""
    cell = "assert double(1) == 2\nassert double(2) == 4\nassert double(3) == 6"
    right = rechecked("def double(x):\n    return 2 * x", cell)
    wrong = rechecked("def double(x):\n    return 2 * x if x < 3 else 0", cell)
    assert (right.points, wrong.points) == (4.0, 0.0)
    assert "AssertionError" in wrong.messages


def test_recheck_gives_up_on_a_test_that_keeps_asking():
    """Does a test cell that asks for a new call each round end with a reason, not a loop?"""
    cell = "import random\nfor _ in range(100):\n    assert double(random.random()) is not None"
    ask_count = []

    def ask(request):
        ask_count.append(1)
        return child_ask(request)

    checks = {"checks": checks_namespace(CHECKS)}
    scores, error = recheck(
        (exercise(cell),), {"double": "def double(x):\n    return x"}, checks, ask
    )
    assert scores is None and "kept asking" in error and len(ask_count) <= 7


@pytest.mark.parametrize(
    "result,stderr,error,points",
    [(None, "", None, 4.0), (0.25, "", None, 1.0), (1.7, "", None, 4.0), (-1, "", None, 0.0),
     ("text", "", None, 4.0), (None, "warning\n", None, 0.0), (None, "", ValueError(), 0.0)],
    ids=["no result", "a share", "above 1", "below 0", "not a number", "stderr", "error"],
)  # fmt: skip
def test_points_follow_nbgraders_rules(result, stderr, error, points):
    """Is a test cell's run scored as nbgrader and ExercisePoints score it?"""
    assert points_of(result, stderr, error, 4.0) == points


def test_replay_raises_what_the_student_raised():
    """Does a replayed call raise the student's exception type by name, NotImplementedError as
    itself, and record a call nobody answered?"""
    encoder = codec.Codec()
    key = codec.key_of([encoder.encode(1)])
    answers = Answers(calls={key: {"outcome": "raised", "type": "NotImplementedError"}})
    replay = Replay(answers, encoder)
    with pytest.raises(NotImplementedError):
        replay(1)
    with pytest.raises(Exception, match="not checked yet"):
        replay(2)
    assert replay.unknown == [[encoder.encode(2)]]


def test_a_test_cells_last_expression_is_its_result():
    """Is the value of a test cell's last line its result, as in a kernel, and its prints
    kept apart from what it writes to stderr?"""
    result, out, err, error = run_test_cell(
        "import sys\nprint('hi')\nsys.stderr.write('x')\n2 + 3", {}
    )
    assert (result, out, err, error) == (5, "hi\n", "x", None)


# --- declarations -----------------------------------------------------------------------------


def test_initialization_declares_its_three_exercises():
    """Does the source notebook declare zeros, random and He, with the grade cells' points?"""
    exercises = declared(ROOT / "source" / "initialization" / "Initialization.ipynb")
    nb = nbformat.read(ROOT / "source" / "initialization" / "Initialization.ipynb", 4)
    points = {
        c.metadata.nbgrader.grade_id: c.metadata.nbgrader.points
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    }
    assert [e.name for e in exercises] == ["zeros", "random", "he"]
    assert {e.test_cell: e.points for e in exercises} == points
    assert all(e.checks == "public_tests" and e.function == e.answer_cell for e in exercises)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda g, n: g.pop("function"), "without function"),
        (lambda g, n: g.update(answer_cell="nowhere"), "answer cell nowhere that does not exist"),
        (lambda g, n: n.pop("points"), "not a graded cell with points"),
    ],
    ids=["no function", "unknown answer cell", "no points"],
)
def test_a_faulty_declaration_is_refused_with_its_reason(tmp_path, change, message):
    """Does a declaration that misses a field, names no cell or sits on a cell without points
    stop the bundle with a sentence saying so?"""
    nb = nbformat.read(ROOT / "source" / "initialization" / "Initialization.ipynb", 4)
    cell = next(c for c in nb.cells if "exercise" in c.metadata.get("grading", {}))
    change(cell.metadata["grading"], cell.metadata["nbgrader"])
    nbformat.write(nb, tmp_path / "N.ipynb")
    with pytest.raises(BundleError, match=message):
        declared(tmp_path / "N.ipynb")


# --- the ledger -------------------------------------------------------------------------------


def entry(student, scores, digest="d1", fingerprint="f1", status="graded"):
    return Entry(student, status, scores=scores, digest=digest, fingerprint=fingerprint,
                 graded_at="2026-01-01T00:00:00+00:00")  # fmt: skip


@pytest.mark.parametrize(
    "before,after,why",
    [
        (None, entry("a", {"x": 1}), ["first grading"]),
        (entry("a", {"x": 1}), entry("a", {"x": 2}, digest="d2"), ["submission changed"]),
        (entry("a", {"x": 1}), entry("a", {"x": 2}, fingerprint="f2"),
         ["assignment or grader changed"]),
        (entry("a", {"x": 1}), entry("a", {"x": 2}),
         ["graded again, submission and assignment unchanged"]),
    ],
    ids=["first", "new submission", "new assignment", "regraded"],
)  # fmt: skip
def test_ledger_says_why_a_grade_changed(before, after, why):
    """Does each change of a student's grade carry its reason?"""
    assert Ledger.change_of(before, after)["why"] == why


def test_ledger_records_nothing_when_nothing_changed():
    """Is an unchanged regrading no change at all (canary: a changed score is one)?"""
    assert Ledger.change_of(entry("a", {"x": 1}), entry("a", {"x": 1}, digest="d2")) is None
    assert Ledger.change_of(entry("a", {"x": 1}), entry("a", {"x": 0})) is not None


def test_ledger_entries_survive_the_json_file():
    """Does an Entry come back from grading.json's JSON exactly as it was written, with the
    optional parts left out when there are none?"""
    full = Entry("ann", "failed", reason="r", notes=("n",), flags=("f",), trace="Traceback")
    assert Entry.from_json(json.loads(json.dumps(full.to_json()))) == full
    assert "trace" not in entry("bob", {"x": 1}).to_json()


def test_ledger_keeps_an_interrupted_runs_results(tmp_path):
    """Are the entries logged by a run that never wrote its summary found by the next run, and
    marked as from an interrupted run in the history?"""
    first = Ledger(tmp_path, "a1")
    first.add(entry("ann", {"x": 1}))  # then the run is killed: no write()
    second = Ledger(tmp_path, "a1")
    assert second.entries["ann"] == entry("ann", {"x": 1})
    second.add(entry("bob", {"x": 2}))
    second.write({"route": "test"})
    [run] = Ledger.read_history(tmp_path)
    assert [g.get("interrupted_run", False) for g in run["graded"]] == [True, False]
    assert not (tmp_path / "grading.log.jsonl").exists()


# --- intake, limits, launch spec, exit status -------------------------------------------------


@pytest.mark.parametrize(
    "path,expected",
    [("answer.py", False), (".ipynb_checkpoints/N-checkpoint.ipynb", True),
     ("lib/__pycache__/m.cpython-311.pyc", True), ("data/x.pyc", True),
     ("feedback/N.html", True), ("notes/feedback.txt", False)],
)  # fmt: skip
def test_intake_ignores_nbgraders_patterns(path, expected):
    """Are nbgrader's CourseDirectory.ignore patterns what a submission's files skip?"""
    assert ignored(path) is expected


def test_limits_from_plain_data():
    """Do limits come back from plain data with unknown fields dropped and cell limits as
    pairs, and does replace ignore values that are not given?"""
    limits = Limits.from_dict({"cell_timeout": 12, "cell_limits": [["train", 40]], "old": 1})
    assert limits.cell_limit("train") == 40 and limits.cell_limit("other") == 12
    assert limits.longest_cell() == 40
    assert limits.replace(memory_mb=None, max_procs=8) == Limits(
        cell_timeout=12, cell_limits=(("train", 40),), max_procs=8
    )
    assert Limits.from_dict(limits.to_dict()) == limits


def test_launch_spec_round_trip(tmp_path):
    """Does the launcher read back exactly the spec the grader wrote?"""
    spec = LaunchSpec("kernel", Limits(memory_mb=512), "/f", "/s", hide=("/course",), workdir="/w")
    assert LaunchSpec.read(spec.write(tmp_path / "spec.json")) == spec


@pytest.mark.parametrize(
    "recorded,words",
    [({"signal": int(signal.SIGKILL)}, "killed, SIGKILL"),
     ({"signal": int(signal.SIGXCPU)}, "CPU time limit reached, SIGXCPU"),
     ({"exit": 3}, "exit code 3"), ({"setup_error": "no /proc"}, "could not be set up (no /proc)")],
)  # fmt: skip
def test_exit_status_in_words(tmp_path, recorded, words):
    """Is the way the sandboxed code ended said in words?"""
    (tmp_path / "status.json").write_text(json.dumps(recorded))
    assert words in ExitStatus.read(tmp_path / "status.json").describe()
    assert not ExitStatus.read(tmp_path / "missing.json").recorded


# --- the nbclient fence, the report's titles ----------------------------------------------------


def test_an_unchecked_nbclient_fails_loudly():
    """Does another nbclient version, or a private method gone, stop the grader with what to
    do (and do the installed versions pass)?"""
    from instructor.preprocessors.sandboxed_execute import UncheckedVersion, check_versions

    check_versions()
    with pytest.raises(UncheckedVersion, match="nbclient 0.12.0 is installed"):
        check_versions({"nbclient": "0.12.0", "nbconvert": "7.17.2"})
    with pytest.raises(UncheckedVersion, match="_async_poll_output_msg no longer exist"):
        check_versions(base=type("Bare", (), {"_async_handle_timeout": 1,
                                              "_check_assign_resources": 1}))  # fmt: skip


def test_report_titles_come_from_public_tests():
    """Does every teaching note of the course's file of the assignment name a mistake of
    public_tests.MISTAKES, keyed by the title the tests print, and is a note for an unknown
    mistake refused?"""
    from instructor import course_data

    assignment = "initialization"
    data = course_data.load(ROOT, assignment)
    mistakes = course_data.mistake_titles(ROOT / "source" / assignment, data.mistakes_module)
    assert data.notes and set(data.notes) <= set(mistakes)
    notes = course_data.teaching_notes(ROOT, assignment)
    assert set(notes) == {mistakes[name] for name in data.notes}
    with pytest.raises(ValueError, match="does not list"):
        course_data.notes_by_title({"a mistake nobody makes": "..."}, mistakes)
