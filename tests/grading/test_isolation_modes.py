"""The corpus's isolation-relevant scenarios graded in every mode, by root and by an ordinary user.

tests/grading/test_grading_corpus.py grades the whole corpus once with the default isolation (Linux
namespaces on CI, run by root). Here a lean batch of the scenarios that test the isolation
itself -- the red team (reading the hidden tests, writing the grader's files, patching numpy),
the runaway code (fork and memory bombs, a daemon that leaves its parent), and the course
looked for through /proc -- is graded by the real `python -m instructor grade` on a local Dask
cluster in each of the other five situations:

    namespaces  as an ordinary user (auto chooses it here)
    landlock    as root (the sandbox then runs as a private user) and as an ordinary user
    limits      as root and as an ordinary user

Each batch must end with the exact scores of tests/grading/test_grading_corpus.py, nothing found
through /proc, nothing written outside the sandbox, no process left behind, and the submitted
files unchanged. Plain limits cannot keep out what reaches past the sandbox: that is why
`auto` never chooses it and every grade made with it is marked. The scenarios it cannot hold
are left out of its batches, each with the reason (LEFT_OUT_WITH_LIMITS); docs/administrators.md's
security model says the same.
"""

import json
import re
import subprocess
import sys
import time
from contextlib import ExitStack

import nbformat
import pytest
from conftest import copy_course, course_env, tree_hashes
from corpus import build as corpus
from corpus.checks import printed, says, survivors_once_reaped
from nbgrader.api import Gradebook, MissingEntry
from test_grading_corpus import EXPECTED, LIMITS, PROC_FOUND_NOTHING
from unix_users import needs_root, unix_user

pytestmark = [pytest.mark.slow, pytest.mark.heavy, needs_root]

LEAN = [
    "correct",  # honest: graded as usual next to the others
    "reads-hidden-tests", "writes-grader-files", "patched-numpy",  # red team
    "fork-bomb", "memory-bomb", "daemon",  # runaway
    "proc-gradebook", "proc-source", "proc-copy",  # the course through /proc
]  # fmt: skip
LEFT_OUT_WITH_LIMITS = {
    "writes-grader-files": "the code can write whatever the grader's user can",
    "proc-gradebook": "the code can open the gradebook it finds through /proc and rewrite it",
    "proc-source": "the code can read the source notebook it finds through /proc",
    "proc-copy": "the code can read a classmate's notebook it finds through /proc",
}
LEFT_OUT_WITH_LIMITS_AS_ROOT = {"fork-bomb": "the process limit does not bind root"}
# (mode, who grades): namespaces run by root is the full corpus of test_grading_corpus.py.
SITUATIONS = [
    ("namespaces", "user"),
    ("landlock", "root"),
    ("landlock", "user"),
    ("limits", "root"),
    ("limits", "user"),
]


def workers(mode, who):
    """Two workers, but for landlock run by an ordinary account: there the process limit counts
    the whole account, and a fork bomb can make a kernel graded beside it die, so the docs
    (and the command's summary) say to grade one submission at a time, as here."""
    return "1" if (mode, who) == ("landlock", "user") else "2"


def left_out(mode, who):
    if mode != "limits":
        return {}
    return {**LEFT_OUT_WITH_LIMITS, **(LEFT_OUT_WITH_LIMITS_AS_ROOT if who == "root" else {})}


def _scores(root, students):
    """{student: (zeros, random, he) points} from the gradebook (None: no grade recorded)."""
    found = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in students:
            try:
                found[student] = tuple(
                    gb.find_grade(f"test_initialize_parameters_{k}", "Initialization",
                                  "initialization", student).score
                    for k in ("zeros", "random", "he")
                )  # fmt: skip
            except MissingEntry:
                found[student] = None
    return found


def _printed(root, student):
    try:
        return printed(root, student)
    except OSError:
        return ""


@pytest.fixture(scope="module", params=SITUATIONS, ids=lambda s: f"{s[0]}-as-{s[1]}")
def batch(request, tmp_path_factory):
    """The lean corpus graded in one batch, in one mode, by root or by an ordinary user."""
    mode, who = request.param
    scenarios = sorted(set(LEAN) - set(left_out(mode, who)))
    with ExitStack() as stack:
        user = stack.enter_context(unix_user("tgrader")) if who == "user" else None
        base = user.folder("course") if user else tmp_path_factory.mktemp(f"{mode}-{who}")
        root = corpus.fast_course(base / "course", copy_course)
        notebook = nbformat.read(root / "release" / "initialization" / corpus.NOTEBOOK, 4)
        corpus.build(notebook, root / "submitted", root, scenarios)
        before = tree_hashes(root / "submitted")
        command = [sys.executable, "-m", "instructor", "grade", "--workers", workers(mode, who),
                   *(["--isolation", mode] if mode != "namespaces" else []), *LIMITS]  # fmt: skip
        started = time.monotonic()
        if user:
            user.give(root)
            run = user.run(command, cwd=root, timeout=1200)
        else:  # landlock's private users reach the interpreter: tests/shared_state.py
            run = subprocess.run(
                command, cwd=root, env=course_env(), capture_output=True, text=True, timeout=1200
            )
        elapsed = time.monotonic() - started
        ledger = root / "reports" / "initialization" / "grading.json"
        summary = json.loads(ledger.read_text()) if ledger.exists() else {"students": {}}
        yield {
            "mode": mode,
            "who": who,
            "root": root,
            "run": run,
            "elapsed": elapsed,
            "scenarios": scenarios,
            "before": before,
            "summary": summary["students"],
            "scores": _scores(root, scenarios),
            "survivors": survivors_once_reaped(root),
            "printed": {s: _printed(root, s) for s in scenarios},
        }


def test_the_batch_is_graded_with_the_isolation_it_says(batch):
    """Does the command say which isolation it uses, and why, and does every grade record it?"""
    run, mode = batch["run"], batch["mode"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    said = re.search(r"^Isolation: (\w+) \((.+)\)\.$", run.stdout, re.M)
    assert said and said[1] == mode, run.stdout[:2000]
    print(f"{mode} as {batch['who']}: {said[2]} ({len(batch['scenarios'])} submissions in "
          f"{batch['elapsed']:.0f} s)")  # fmt: skip
    for scenario, why in left_out(mode, batch["who"]).items():
        print(f"  {scenario} left out: {why}")
    assert {e["isolation"] for e in batch["summary"].values()} == {mode}
    assert set(batch["summary"]) == set(batch["scenarios"])


def test_each_scenario_ends_in_its_exact_score(batch):
    """Is every submission graded with the exact score of the full corpus, in this mode too?"""
    wrong = {}
    for scenario in batch["scenarios"]:
        status, points, pattern = EXPECTED[scenario]
        entry = batch["summary"][scenario]
        said = [entry["reason"], *entry["notes"], *entry["flags"]]
        ok = entry["status"] == status and (points is None or batch["scores"][scenario] == points)
        ok = ok and (not pattern or any(re.search(pattern, line) for line in said))
        if not ok:
            wrong[scenario] = (entry["status"], batch["scores"][scenario], points, said)
    assert wrong == {}


def test_nothing_of_the_course_is_found_through_proc(batch):
    """Did the notebooks that look for the course through other processes find nothing?"""
    for scenario, (nothing, found) in PROC_FOUND_NOTHING.items():
        if scenario in batch["scenarios"]:
            text = batch["printed"][scenario]
            assert says(text, nothing) and not says(text, found), (scenario, text[:500])


def test_the_course_files_stay_out_of_reach(batch):
    """Could the notebook read the source, the gradebook, a classmate's work, or write them?
    (With limits only it can: its probe says so, and the scenario that writes is left out.)"""
    reads = batch["printed"]["reads-hidden-tests"]
    if batch["mode"] == "limits":
        assert "READABLE" in reads  # the point of the refusal: nothing keeps it out
        return
    assert reads.count("HIDDEN") == 5 and "READABLE" not in reads
    writes = batch["printed"]["writes-grader-files"]
    assert writes.count("REFUSED") == 4 and "WROTE" not in writes


def test_no_process_outlives_the_batch(batch):
    """Are the daemon that left its parent, the fork bomb's processes and every kernel gone?"""
    assert batch["survivors"] == []


def test_the_submitted_files_are_unchanged(batch):
    assert tree_hashes(batch["root"] / "submitted") == batch["before"]


def test_limits_only_is_said_for_every_submission(batch):
    """Does the summary mark each submission graded with limits only, and only then?"""
    out = batch["run"].stdout
    marked = set(re.findall(r"^  (\S+): the grader ran this notebook with resource limits only",
                            out, re.M))  # fmt: skip
    assert marked == (set(batch["scenarios"]) if batch["mode"] == "limits" else set())
    assert ("NOT ISOLATED" in out) == (batch["mode"] == "limits")
    # one worker for landlock run by an account (workers()): nothing graded side by side
    assert "SHARED PROCESS LIMIT" not in out, out


def test_limits_only_is_marked_in_the_formgrader_and_the_report(batch):
    """Does the Formgrader's comment of each answer, and the class report, mark a submission
    graded with limits only, and only then?"""
    from instructor.grading.sandbox import LIMITS_ONLY

    root, limits = batch["root"], batch["mode"] == "limits"
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        comments = {
            student: [
                c.comment or ""
                for c in gb.find_submission_notebook(
                    "Initialization", "initialization", student
                ).comments
            ]  # fmt: skip
            for student in batch["scenarios"]
        }
    for student, texts in comments.items():
        assert texts and all((LIMITS_ONLY in t) == limits for t in texts), (student, texts)
    report = subprocess.run(
        [sys.executable, "-m", "instructor", "report", "--course", str(root)],
        cwd=root, env=course_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert report.returncode == 0, report.stdout + report.stderr
    page = (root / "reports" / "initialization" / "report.html").read_text()
    assert page.count('class="tag limits-only"') == (len(batch["scenarios"]) if limits else 0)
    assert f"Isolation of the students' code: {batch['mode']}: {len(batch['scenarios'])}" in page
