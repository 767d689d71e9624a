"""Which isolation does the grader choose where the system refuses namespaces or Landlock?

The situations are made for real (tests/restricted.py), with the grader run by an ordinary
Unix account (tests/unix_users.py):

- as it is here: user namespaces allowed, so `auto` chooses namespaces;
- in a nested user namespace whose user.max_user_namespaces is 0, where creating a user
  namespace fails as on Ubuntu 24.04 or in a Docker container: `auto` chooses Landlock;
- there, with a seccomp filter that makes Landlock's system calls fail with ENOSYS as on an old
  kernel: `instructor grade`, `nbgrader autograde` and `instructor watch` refuse to run student
  code, say why, and give the platform's fix; nothing is graded.

Each test prints the isolation line the grader printed, with its reason.
"""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from conftest import copy_course, tree_hashes
from corpus import build as corpus
from corpus.checks import printed, says
from unix_users import needs_root, unix_user

pytestmark = [pytest.mark.slow, pytest.mark.heavy, needs_root]

RESTRICTED = Path(__file__).resolve().parents[1] / "restricted.py"
NO_NAMESPACES = ("--no-user-namespaces",)
NEITHER = ("--no-user-namespaces", "--no-landlock")
REFUSAL = (
    "student code cannot be isolated on this machine, so it is not run: Linux namespaces are "
    "refused (a user namespace refused: unshare: No space left on device) and this kernel has "
    "no Landlock (Linux 5.13 or later has it). Fix"
)
UNIT = "deploy/systemd/instructor-grade.service"


@pytest.fixture(scope="module")
def account():
    """An ordinary account with a quick course of its own: two submissions, released."""
    with unix_user("tchoice") as user:
        root = corpus.fast_course(user.folder("course") / "course", copy_course)
        release = nbformat.read(root / "release" / "initialization" / corpus.NOTEBOOK, 4)
        corpus.build(release, root / "submitted", root, ["correct", "proc-gradebook"])
        user.give(root)
        yield user, root


def run_as(user, root, argv, restrictions=(), timeout=900):
    """argv run by the account, in the course, with these restrictions (restricted.py)."""
    command = [sys.executable, str(RESTRICTED), *restrictions, "--", *user.command(argv)]
    return subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
    )


def grade(user, root, *args, restrictions=()):
    command = [sys.executable, "-m", "instructor", "grade", "--serial", "--force", *args]
    return run_as(user, root, command, restrictions)


def isolation_line(output):
    found = re.search(r"^Isolation: .*$", output, re.M)
    return found[0] if found else None


def test_an_ordinary_user_gets_namespaces_here(account):
    """Here unprivileged user namespaces are allowed: does `auto` choose them?"""
    user, root = account
    run = grade(user, root, "correct")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(isolation_line(run.stdout))
    assert isolation_line(run.stdout) == "Isolation: namespaces (Linux namespaces are available)."


def test_without_user_namespaces_auto_chooses_landlock(account):
    """Where user namespaces are refused, does `auto` confine the code with Landlock, say why,
    and grade exactly as with namespaces, the notebook that hunts through /proc included?"""
    from conftest import shares_of

    user, root = account
    run = grade(user, root, "correct", "proc-gradebook", restrictions=NO_NAMESPACES)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    line = isolation_line(run.stdout)
    print(line)
    assert line.startswith(
        "Isolation: landlock (Linux namespaces are refused here (a user namespace refused: "
        "unshare: No space left on device); Landlock ABI "
    )
    ledger = json.loads((root / "reports" / "initialization" / "grading.json").read_text())
    for student in ("correct", "proc-gradebook"):
        entry = ledger["students"][student]
        assert entry["isolation"] == "landlock" and entry["status"] == "graded"
        assert tuple(entry["scores"].values()) == shares_of(1, 1, 1)
    assert says(printed(root, "proc-gradebook"), "NO GRADEBOOK FOUND")


def _untouched(root):
    """The ledger, the graded notebooks and the gradebook, to compare before and after."""
    ledger = root / "reports" / "initialization" / "grading.json"
    return {
        "ledger": ledger.read_bytes() if ledger.exists() else None,
        "autograded": tree_hashes(root / "autograded") if (root / "autograded").exists() else {},
        "scores": _scores(root),
    }


def _scores(root):
    """The automatic scores the gradebook holds (nbgrader may add empty rows for a student it
    then fails to grade; no score may appear or change)."""
    with sqlite3.connect(root / "gradebook.db") as db:
        return sorted(
            db.execute("SELECT cell_id, notebook_id, auto_score FROM grade "
                       "WHERE auto_score IS NOT NULL").fetchall()
        )  # fmt: skip


def test_neither_instructor_grade_refuses_with_the_fix(account):
    """Without namespaces and Landlock, does `instructor grade` refuse to run student code,
    say why with the platform's fix, and grade nothing?"""
    user, root = account
    before = _untouched(root)
    run = grade(user, root, restrictions=NEITHER)
    print(run.stdout.strip().splitlines()[-1][:300])
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"Cannot grade initialization: {REFUSAL}" in run.stdout
    assert UNIT in run.stdout and "Traceback" not in run.stdout + run.stderr
    assert _untouched(root) == before


def test_neither_nbgrader_autograde_refuses_with_the_fix(account):
    """Does `nbgrader autograde` (the Formgrader's button runs the same) refuse each student,
    saying why with the fix, and leave the gradebook and autograded/ as they were?"""
    user, root = account
    shutil.rmtree(root / "autograded")  # (nbgrader skips a student graded before)
    before = _untouched(root)
    argv = [sys.executable, "-m", "nbgrader", "autograde", "initialization"]
    run = run_as(user, root, argv, NEITHER)
    said = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"cannot grade correct: {REFUSAL}" in said, said[-3000:]
    assert UNIT in said
    assert _untouched(root) == before


def test_neither_instructor_watch_refuses_with_the_fix(account):
    """Does the grade-on-submit service say at start that it cannot grade, why and the fix,
    and grade nothing that arrives?"""
    user, root = account
    made = run_as(user, root, [sys.executable, "-m", "instructor", "exchange", "init"])
    assert made.returncode == 0, (
        made.stdout + made.stderr
    )  # the exchange is safe: only isolation is missing
    released = run_as(
        user, root, [sys.executable, "-m", "nbgrader", "release_assignment", "initialization"]
    )
    assert released.returncode == 0, released.stdout + released.stderr
    before = _untouched(root)
    argv = [sys.executable, "-m", "instructor", "watch", "--workers", "1"]
    command = [sys.executable, str(RESTRICTED), *NEITHER, "--", *user.command(argv)]
    service = subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = service.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("watching "):
                break
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        try:
            service.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(service.pid, signal.SIGKILL)
            service.communicate()
    refusal = [line for line in lines if line.startswith("initialization: cannot grade yet:")]
    assert refusal, "\n".join(lines[-30:])
    print(refusal[0][:300])
    assert REFUSAL in refusal[0] and UNIT in refusal[0]
    assert not any("ready" in line for line in lines)
    assert _untouched(root) == before


def test_landlock_started_by_root_names_the_folder_its_sandboxes_cannot_pass(tmp_path):
    """Started by root with Python under a folder closed to other accounts, does `landlock`
    say which folder stops its private users and the one command that lets them through, and
    does that command, run as printed, let the same class be graded?

    The interpreter is this environment's, linked whole (hard links, no copy) into a folder
    of this test's own, mode 0700, as pyenv's lies under /root: the command the message gives
    changes that folder's ACL only, never a folder another test uses."""
    from instructor.grading.sandbox.isolation import SANDBOX_GID

    environment = Path(sys.prefix)
    if any(not folder.stat().st_mode & 0o001 for folder in environment.resolve().parents):
        pytest.skip("this environment is not open to all: make it with `make setup`")
    closed = Path(tempfile.mkdtemp(prefix="closed-python-"))  # root's, mode 0700
    try:
        subprocess.run(["cp", "-al", str(environment), str(closed / "env")], check=True)
        python = closed / "env" / "bin" / Path(sys.executable).name
        root = corpus.fast_course(tmp_path / "course", copy_course)
        release = nbformat.read(root / "release" / "initialization" / corpus.NOTEBOOK, 4)
        corpus.build(release, root / "submitted", root, ["correct"])
        argv = [python, "-m", "instructor", "grade", "--serial", "--isolation", "landlock"]
        refused = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=600)
        fix = f"setfacl -m g:{SANDBOX_GID}:x {closed}"
        said = refused.stdout + refused.stderr
        print(next((line for line in said.splitlines() if fix in line), said[-2000:]))
        assert f"cannot reach {closed / 'env'}" in said and f"(closed: {closed})" in said, said
        assert f"`{fix}`" in said, said[-3000:]
        subprocess.run(fix.split(), check=True)
        graded = subprocess.run(
            [*argv, "--force"], cwd=root, capture_output=True, text=True, timeout=600
        )
        assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
        ledger = json.loads((root / "reports" / "initialization" / "grading.json").read_text())
        assert ledger["students"]["correct"]["status"] == "graded", ledger["students"]
    finally:
        shutil.rmtree(closed, ignore_errors=True)
