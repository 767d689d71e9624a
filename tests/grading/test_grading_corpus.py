"""A class of broken, odd and hostile submissions, graded in ONE batch by the real command.

The corpus (tests/corpus/build.py, one submission per scenario, built from the release) goes
into submitted/ of a course copy whose notebook trains for fewer iterations, and
`python -m instructor grade` grades it on a local Dask cluster with real kernels, under tight
limits. Every scenario must end in a defined score with its reason or flag, the honest
submissions must be graded as usual, the batch must finish within its bound, nothing submitted
may change, and no process of the sandboxes may outlive the batch.

The batch runs the cells each grade needs (the default); a second batch, in a course copy set
to run whole notebooks (c.CourseGrading.run_whole_notebook), grades the same corpus, and every
scenario must end the same on both: status, reason, scores, flags and notes. The scenarios the
first batch already runs whole (RUN_WHOLE: their own cells need the skipped ones) take the same
path in both, so the second batch leaves them out.
"""

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import copy_course, shares_of
from corpus import build as corpus
from corpus.checks import printed, says, survivors_once_reaped
from harness import course_env
from nbgrader.api import Gradebook

pytestmark = [pytest.mark.slow, pytest.mark.heavy]

# The batch runs with the default isolation, "auto": Linux namespaces here (CI), else Landlock
# and seccomp; it never degrades to limits, so every scenario holds wherever it runs.
# tests/grading/test_isolation_modes.py runs the isolation-relevant scenarios in every mode, as root
# and as an ordinary user.
LEFT_OUT = set()

LIMITS = [
    "--cell-timeout", "15", "--notebook-timeout", "120", "--memory", "1024", "--max-procs", "64",
    "--max-file-size", "100", "--max-output", "2", "--max-disk", "300", "--verify-timeout", "20",
]  # fmt: skip
# Bounds that catch a batch or a submission that escapes its limits (a hang), not a speed: the
# corpus takes about 2 minutes on two idle cores, and many times that while other processes
# take the cores; its speed is measured by bench/bench_grading.py.
BATCH_BOUND = 3600  # seconds for the whole corpus
SUBMISSION_BOUND = 120 + 3 * 20 + 600  # notebook limit, re-checks, start-up and saving

# scenario: (status, (zeros, random, he) points, pattern that its reason, notes or flags match)
FULL = shares_of(1, 1, 1)  # the points of each exercise, from the source
EXPECTED = {
    "correct": ("graded", FULL, None),
    "xavier": ("graded", shares_of(1, 1, 0.5), None),
    # broken or odd files
    "invalid-json": ("rejected", shares_of(0, 0, 0), r"not valid JSON"),
    "empty-file": ("rejected", shares_of(0, 0, 0), r"notebook file is empty"),
    "not-a-notebook": ("rejected", shares_of(0, 0, 0), r"not a notebook"),
    "no-notebook": ("rejected", shares_of(0, 0, 0), r"no notebook in the submission"),
    "nbformat-v3": ("graded", FULL, r"old nbformat 3"),
    "foreign-metadata": ("graded", FULL, r"no kernel information"),
    "r-kernelspec": ("graded", FULL, r"'R' kernel"),
    "metadata-stripped": ("graded", FULL, r"recognised by their content"),
    "latin-1": ("graded", FULL, r"not UTF-8"),
    "huge-outputs": ("graded", FULL, r"outputs of \d+ MB dropped"),
    # cells copied, deleted, moved, changed, added; the notebook renamed or doubled
    "copied-cells": ("graded", FULL, r"initialize_parameters_he appears 2 times"),
    "deleted-test-cell": ("graded", FULL, r"restored from the release: test_initialize_parameters_he"),
    "deleted-answer-cell": ("graded", shares_of(1, 0, 1), r"answers restored unanswered"),
    "moved-cells": ("graded", FULL, r"moved back to their place"),
    "markdown-answer": ("graded", FULL, r"markdown back to code"),
    "added-cells": ("graded", FULL, r"3 cell\(s\) added"),
    "renamed": ("graded", FULL, r"graded Initialization-Copy1.ipynb"),
    "two-notebooks": ("graded", FULL, r"also submitted, not graded: scratch.ipynb"),
    # runaway code
    "infinite-loop": ("graded", FULL, r"ran past its 15 s time limit and was interrupted"),
    "loop-ignores-interrupt": ("graded", shares_of(1, 1, 0), r"did not stop when interrupted"),
    "memory-bomb": ("graded", FULL, r"raised MemoryError"),
    "fork-bomb": ("graded", None, r"starts processes"),
    "sys-exit": ("graded", FULL, r"raised SystemExit"),
    "os-exit": ("graded", shares_of(1, 0, 0), r"kernel died .*exit code 1"),
    "segfault": ("graded", shares_of(1, 1, 0), r"kernel died .*SIGSEGV"),
    "big-file": ("graded", FULL, r"File too large"),
    "print-forever": ("graded", FULL, r"past the 2 MB output limit"),
    # tampering
    "patched-numpy": ("graded", shares_of(1, 0.5, 1), rf"random: the notebook's run reported {FULL[1]:g} / {FULL[1]:g} but"),
    "redefined-tests": ("graded", shares_of(0, 0, 0), r"redefines grade_exercise"),
    "fake-score": ("graded", shares_of(1, 0.5, 0.5), r"changes how values are displayed; installs a custom exception handler"),
    "always-equal": ("graded", shares_of(0.2, 1, 1), r"subclasses np.ndarray; defines __eq__"),
    "fake-output": ("graded", shares_of(0, 0, 0), None),
    "edited-test-cells": ("graded", shares_of(1, 1, 0.5), r"read-only cells had been edited"),
    "edited-helpers": ("graded", shares_of(1, 1, 0.5), None),
    "reads-hidden-tests": ("graded", shares_of(1, 1, 0.5), r"refers to the course's files"),
    "writes-grader-files": ("graded", FULL, r"refers to the course's files"),
    # the course looked for through /proc (other processes' folders, open files, environment)
    "proc-gradebook": ("graded", FULL, r"refers to the course's files"),
    "proc-source": ("graded", shares_of(1, 1, 0.5), r"refers to the course's files"),
    "proc-copy": ("graded", shares_of(1, 1, 0), r"refers to the course's files"),
    "daemon": ("graded", FULL, r"starts processes"),
    # needing the cells grading skips: the notebook runs whole
    "reads-training": ("graded", shares_of(1, 1, 0.5), r"1 cell\(s\) added by the student"),
}  # fmt: skip
# What the /proc scenarios print when they found nothing (and what they print when they did).
PROC_FOUND_NOTHING = {
    "proc-gradebook": ("NO GRADEBOOK FOUND", "WROTE"),
    "proc-source": ("NO SOURCE FOUND", "LEAKED"),
    "proc-copy": ("NO CLASSMATE FOUND", "COPIED"),
}
# The scenarios whose own cells need the notebook to run whole (needed.py says why, in the
# ledger's `ran`); every other graded one runs the cells its grade needs.
RUN_WHOLE = {
    "reads-training": "reads trained",
    "fake-score": "dynamically (get_ipython()",
    "segfault": "dynamically (import ctypes",
    "patched-numpy": "initialize_parameters_random changes np.allclose",
    "redefined-tests": "a function uses print, a variable set outside it",
    "proc-source": "a function uses LEAKED, a variable set outside it",
    "proc-copy": "reaches the notebook's variables dynamically (exec())",
}


def _hashes(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


def _graded(root, scenarios):
    """The scenarios of the corpus, graded in one batch by `python -m instructor grade` (local
    Dask cluster) in a course copy of its own."""
    release = nbformat.read(root / "release" / "initialization" / corpus.NOTEBOOK, 4)
    assert set(corpus.SCENARIOS) == set(EXPECTED)
    corpus.build(release, root / "submitted", root, sorted(scenarios))
    before = _hashes(root / "submitted")
    env = course_env()
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "instructor", "grade", "--workers", "2", *LIMITS],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=BATCH_BOUND + 120,
    )
    elapsed = time.monotonic() - started
    summary = json.loads((root / "reports" / "initialization" / "grading.json").read_text())
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = {
            student: tuple(
                gb.find_grade(
                    f"test_initialize_parameters_{k}", "Initialization", "initialization", student
                ).score
                for k in ("zeros", "random", "he")
            )  # fmt: skip
            for student in scenarios
        }
    return {
        "root": root,
        "run": run,
        "elapsed": elapsed,
        "before": before,
        "summary": summary["students"],
        "scores": scores,
    }


@pytest.fixture(scope="module")
def graded_corpus(tmp_path_factory):
    """The corpus, graded on the cells each grade needs."""
    folder = tmp_path_factory.mktemp("corpus-cells") / "course"  # as long as the other's name:
    course = corpus.fast_course(folder, copy_course)  # flags quote paths cut to a length
    return _graded(course, set(EXPECTED) - LEFT_OUT)


@pytest.fixture(scope="module")
def graded_corpus_whole(tmp_path_factory):
    """The corpus but RUN_WHOLE, graded by running every cell of each notebook."""
    folder = tmp_path_factory.mktemp("corpus-whole") / "course"
    course = corpus.fast_course(folder, copy_course, whole_notebook=True)
    return _graded(course, set(EXPECTED) - LEFT_OUT - set(RUN_WHOLE))


def test_the_batch_finishes_within_its_bound(graded_corpus):
    """Does one batch grade every scenario, without stopping at a bad one, within its bound?"""
    run = graded_corpus["run"]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert graded_corpus["elapsed"] < BATCH_BOUND
    assert set(graded_corpus["summary"]) == set(EXPECTED) - LEFT_OUT
    slow = {
        s: e["seconds"]
        for s, e in graded_corpus["summary"].items()
        if (e.get("seconds") or 0) > SUBMISSION_BOUND
    }
    assert not slow, slow  # fmt: skip


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_scenario_ends_in_its_score_and_reason(graded_corpus, scenario):
    """Is each submission graded or rejected with its defined score and a one-line reason?"""
    if scenario in LEFT_OUT:
        pytest.skip("needs Linux namespaces here")
    status, points, pattern = EXPECTED[scenario]
    entry = graded_corpus["summary"][scenario]
    assert entry["status"] == status, entry
    if points is not None:
        assert graded_corpus["scores"][scenario] == points, entry
    else:  # the outcome of a fork bomb depends on timing; it must still be a score
        assert all(isinstance(p, float) for p in graded_corpus["scores"][scenario])
    said = [entry["reason"], *entry["notes"], *entry["flags"]]
    if pattern:
        assert any(re.search(pattern, line) for line in said), said
    assert all("\n" not in line for line in said)


@pytest.mark.parametrize("scenario", ["correct", "xavier", "fake-output", "edited-helpers"])
def test_honest_or_harmless_submissions_are_not_flagged(graded_corpus, scenario):
    """Are submissions that did nothing wrong (or gained nothing) left without review flags?"""
    assert graded_corpus["summary"][scenario]["flags"] == []


@pytest.mark.parametrize(
    "scenario", ["patched-numpy", "redefined-tests", "fake-score", "reads-hidden-tests"]
)
def test_tampering_is_flagged_for_review_in_the_gradebook(graded_corpus, scenario):
    """Does the formgrader list the tampered exercises as needing a manual grade?"""
    with Gradebook(f"sqlite:///{graded_corpus['root'] / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook("Initialization", "initialization", scenario)
        assert any(grade.needs_manual_grade for grade in notebook.grades)


def test_the_submitted_files_are_unchanged(graded_corpus):
    """Is every submitted file byte-for-byte what the student submitted?"""
    assert _hashes(graded_corpus["root"] / "submitted") == graded_corpus["before"]


def test_no_sandboxed_process_outlives_the_batch(graded_corpus):
    """Are the fork bomb's processes, the daemon that left its parent, and every kernel gone
    once the batch is over?"""
    assert survivors_once_reaped(graded_corpus["root"]) == []


@pytest.mark.parametrize("scenario", sorted(PROC_FOUND_NOTHING))
def test_nothing_of_the_course_is_found_through_proc(graded_corpus, scenario):
    """Did the notebooks that look for the course through other processes find nothing: no
    gradebook to rewrite, no source to read, no classmate's answer to copy?"""
    nothing, found = PROC_FOUND_NOTHING[scenario]
    text = printed(graded_corpus["root"], scenario)
    assert says(text, nothing) and not says(text, found)


def _outputs(root, student, grade_id):
    nb = nbformat.read(root / "autograded" / student / "initialization" / corpus.NOTEBOOK, 4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def test_student_code_cannot_see_the_course_files(graded_corpus):
    """Could the notebook see the source with the hidden tests, the gradebook or other students'
    work while it ran? (Its probe cell printed what it could read.)"""
    root = graded_corpus["root"]
    nb = nbformat.read(
        root / "autograded" / "reads-hidden-tests" / "initialization" / corpus.NOTEBOOK, 4
    )
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert printed.count("HIDDEN") == 5 and "READABLE" not in printed


def test_student_code_cannot_write_the_grader_files(graded_corpus):
    """Were the attempts to overwrite the gradebook, another student's submission and graded
    notebook, and the feedback refused, and is the other student's grade intact?"""
    root = graded_corpus["root"]
    nb = nbformat.read(
        root / "autograded" / "writes-grader-files" / "initialization" / corpus.NOTEBOOK, 4
    )
    printed = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert printed.count("REFUSED") == 4 and "WROTE" not in printed
    assert not (root / "feedback").exists()
    assert graded_corpus["scores"]["correct"] == FULL


def test_the_clean_score_replaces_the_tampered_one_in_the_graded_notebook(graded_corpus):
    """Does the autograded notebook (what the formgrader and feedback show) carry the clean
    score and say why?"""
    text = _outputs(graded_corpus["root"], "patched-numpy", "test_initialize_parameters_random")
    earns = f"earns {shares_of(1, 0.5, 1)[1]:g} / {FULL[1]:g}"
    assert "re-checked this answer on its own" in text and earns in text


# --- the cells the grade needs, against a whole run --------------------------------------------


def _outcome(graded, scenario):
    """What grading a scenario gave, the course's folder written <course>."""
    entry = graded["summary"][scenario]
    said = {key: entry[key] for key in ("status", "reason", "notes", "flags")}
    said["scores"] = graded["scores"][scenario]
    text = json.dumps(said).replace(str(graded["root"]), "<course>")
    # a flag quotes a path cut to a length: the copy's own folder name goes too
    return json.loads(text.replace(graded["root"].parent.name, "<copy>"))


@pytest.mark.parametrize("scenario", sorted(set(EXPECTED) - set(RUN_WHOLE)))
def test_each_scenario_grades_as_a_run_of_the_whole_notebook(
    graded_corpus, graded_corpus_whole, scenario
):
    """Does grading on the cells the grade needs give this scenario exactly what a run of the
    whole notebook gives: status, reason, scores, flags and notes?"""
    if scenario in LEFT_OUT:
        pytest.skip("needs Linux namespaces here")
    if scenario == "fork-bomb":  # its outcome depends on timing (see above): a score both ways
        assert _outcome(graded_corpus, scenario)["status"] == "graded"
        assert _outcome(graded_corpus_whole, scenario)["status"] == "graded"
        return
    if scenario == "print-forever":
        # how far the kernel's printing runs ahead of the grader reading it depends on the
        # machine's load: what it leaves queued in the kernel's memory, so its notes
        # (MemoryError or not) and flags may differ. Its status and reason may not, nor its
        # scores, unless that memory ran out in a later cell of one run: the kernel then dies
        # there, or the cell raises MemoryError (as the notes say), and the whole notebook runs
        # more cells in it, its trainings
        cells, whole = _outcome(graded_corpus, scenario), _outcome(graded_corpus_whole, scenario)
        assert [cells[k] for k in ("status", "reason")] == [whole[k] for k in ("status", "reason")]
        ran_out_later = re.compile(
            r"the kernel died while running cell (?!15 )|^(?!cell 15 ).* raised MemoryError$"
        )
        died = [run for run in (cells, whole) if any(ran_out_later.search(n) for n in run["notes"])]
        if not died:
            assert cells["scores"] == whole["scores"], (cells["notes"], whole["notes"])
        return
    assert _outcome(graded_corpus, scenario) == _outcome(graded_corpus_whole, scenario)


def test_each_graded_scenario_says_which_cells_ran(graded_corpus, graded_corpus_whole):
    """Does every graded submission run the cells its grade needs, but those whose own cells
    need the skipped ones (each with its reason), and does the course that runs whole
    notebooks say nothing of it?"""
    ran = {s: e.get("ran") for s, e in graded_corpus["summary"].items() if e["status"] == "graded"}
    whole = {s: why for s, why in ran.items() if why.startswith("the whole notebook: ")}
    assert set(whole) == set(RUN_WHOLE) - LEFT_OUT, whole
    for scenario, fragment in RUN_WHOLE.items():
        assert fragment in whole.get(scenario, fragment), whole[scenario]
    assert all(
        why.startswith("the cells the grade needs (") for s, why in ran.items() if s not in whole
    )
    assert {e.get("ran") for e in graded_corpus_whole["summary"].values()} == {None}


def test_without_its_fallback_a_student_cell_that_reads_a_training_would_score_otherwise(
    graded_corpus, tmp_path, monkeypatch
):
    """The canary of the fallback: with the check of the student's cells switched off, does
    reads-training, graded on the cells the grade needs, lose the He points a whole run gives?
    (The check is what keeps the two paths equal above.)"""
    import shutil

    from instructor.course import load_config
    from instructor.grading import needed
    from instructor.grading.dispatch import SerialRunner
    from instructor.grading.session import Session

    root = tmp_path / "course"
    shutil.copytree(graded_corpus["root"], root, symlinks=True)
    monkeypatch.setattr(needed, "_needs_whole", lambda *args: "")
    config = load_config(root)
    config.GradingLimits.update(cell_timeout=15.0, notebook_timeout=120.0, verify_timeout=20.0)
    session = Session(config, "initialization", force=True, log=print)
    batch = session.batch
    batch.run(
        SerialRunner(), batch.plan(session.folders(["reads-training"])), session.bundle, False
    )
    entry = batch.entries[-1]
    assert entry.ran.startswith("the cells the grade needs"), entry
    assert entry.scores["he"] == 0 != graded_corpus["scores"]["reads-training"][2]
