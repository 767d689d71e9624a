"""`make hub` and `make hub-clean`, run as an administrator runs them: the machine as it was.

The trial's life, twice, each time as the administrators' guide has it (docs/administrators.md,
"make hub: a trial on this machine"): `make hub` started from a script in a process group of
its own (setsid), stopped by SIGINT to that group once it prints its address, then `make
hub-clean`:

- in the default folder (/srv/initialization-hub), cleaned with `make hub-clean HUB_DIR=...`
  after a clean-up with a wrong HUB_DIR was refused;
- in another folder (HUB_DIR=... under a new folder of /tmp), cleaned with plain `make
  hub-clean`, which finds the trial through its record (the clean-up that left the groups'
  ACL entries on /root and the folder behind when it read the default folder's record).

Before and after, the machine's shared state is compared (tests/shared_state.py's Snapshot):
the ACLs of /root, of every folder on the way to the course's interpreter and of the folders
around the trial's, /etc/passwd, /etc/group, /etc/shadow, /etc/gshadow, what lies in /srv, the
homes and the trial's record. They must be equal, line for line, once the lines of the
accounts and groups that other tests make at the same time (tests/unix_users.py's random
names, which no trial name can match) are set aside. A canary shows that a leftover ACL entry
is caught.

The trial uses fixed names (its accounts, its groups, /srv/initialization-hub, its record): the
tests of this file hold a lock on the file itself, so that two runs on one machine never run
them at once (pytest's --dist loadfile runs them one after the other within a run).
"""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from harness import ROOT
from shared_state import ACCOUNT_FILES, Snapshot, listing, reached_paths
from unix_users import needs_root, unix_user

from hub import trial

pytestmark = needs_root

START_WAIT_S = 600  # `make hub` releases the assignment (the source notebook runs once)
STOP_WAIT_S = 120
# The login and group names that tests/unix_users.py makes (prefix + 6 hex digits), and the
# run's group of tests/shared_state.py: other tests make and remove them while these run.
OTHER_TESTS = re.compile(r"^[a-z]+[0-9a-f]{6}:")


@pytest.fixture
def one_trial_at_a_time():
    """An exclusive lock on this file: one trial of this machine's at a time."""
    with open(__file__) as me:
        fcntl.flock(me, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(me, fcntl.LOCK_UN)


# --- the machine's state ---------------------------------------------------------------------


def acl_folders(*trial_dirs):
    """/root, every folder on the way to what other accounts run (the checkout, the
    interpreter, its library), and the folders around the trial's folders."""
    folders = {Path("/root"), *(p for path in reached_paths() for p in path.parents)}
    for directory in trial_dirs:
        folders.update(Path(directory).parents)
    return sorted(folders)


def machine(trial_dir, around=None):
    """The snapshot compared: ACLs, account files, /srv, the homes, the trial's record, and
    what lies in the folder around the trial's (its parent unless named)."""
    state = Snapshot.take(acl_folders=acl_folders(trial_dir), shared_folder=Path("/srv"))
    state.parts["/home/"] = "\n".join(sorted(os.listdir("/home")))
    state.parts["the trial's record"] = f"{trial.RECORD_DIR} exists: {trial.RECORD_DIR.exists()}"
    around = Path(around or Path(trial_dir).parent)
    state.parts[f"{around}/"] = listing(around)
    return state


def left_behind(before, after):
    """The lines added or removed between two snapshots, other tests' accounts set aside."""
    found = []
    for name in sorted(set(before.parts) | set(after.parts)):
        old = set(before.parts.get(name, "").splitlines())
        new = set(after.parts.get(name, "").splitlines())
        for sign, lines in (("+", new - old), ("-", old - new)):
            for line in sorted(lines):
                account = name in ACCOUNT_FILES or name == "/home/"
                if account and OTHER_TESTS.match(line if name != "/home/" else line + ":"):
                    continue
                found.append(f"{name}: {sign} {line}")
    return found


def test_the_comparison_catches_a_leftover_acl_entry(tmp_path):
    """The canary: an ACL entry left on a folder by number (as the trial's groups left
    `group:1011:--x` on /root), and a folder left beside the trial's, are named; once they
    are gone, nothing is."""
    directory = tmp_path / "around" / "trial"
    directory.parent.mkdir()
    before = machine(directory)
    subprocess.run(["setfacl", "-m", "g:1011:x", str(directory.parent)], check=True)
    (directory.parent / "left-behind").mkdir()
    found = left_behind(before, machine(directory))
    print("\n".join(found))
    assert any(
        line.startswith(f"ACL of {directory.parent}:") and "group:1011:--x" in line
        for line in found
    ), found
    assert any("left-behind" in line for line in found), found
    subprocess.run(["setfacl", "-b", str(directory.parent)], check=True)
    (directory.parent / "left-behind").rmdir()
    assert left_behind(before, machine(directory)) == []


# --- the trial, as an administrator's script runs it -------------------------------------------


def make(*arguments, timeout=300):
    return subprocess.run(
        ["make", "--no-print-directory", *arguments], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


class Started:
    """`make hub` started by a script: setsid, its output read by a thread of its own, line by
    line."""

    def __init__(self, *variables):
        self.began = time.monotonic()
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "hub", *variables],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # what `setsid make hub` gives a script
            # Ctrl+C as a terminal delivers it: a test run started in the background by a
            # shell without job control inherits SIGINT ignored, and make would keep ignoring it
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.output = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.output.append(line)

    def text(self):
        return "".join(self.output)

    def wait_for(self, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.text():
                return
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"`make hub` never said {text!r}:\n{self.text()}")

    def interrupt(self):
        """SIGINT to the whole process group (make passes no signal on); make's exit code
        (make itself ends by the signal, once the trial has stopped)."""
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        self.reader.join(30)
        return self.process.returncode

    def stop(self):
        """After a failure: SIGINT to the group, and SIGKILL to what is left a minute later
        (`make hub-clean` stops a hub the trial left)."""
        for signum, wait in ((signal.SIGINT, 60), (signal.SIGKILL, 30)):
            try:
                os.killpg(self.process.pid, signum)
                self.process.wait(wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


def live_trial(variables, clean, wrong_clean):
    """One life: `make hub` with the variables, checked while it runs, stopped by SIGINT to
    its process group, then `make hub-clean` with the wrong_clean variables (refused: nothing
    removed) and with the clean ones. The record seen while it ran, and what each step
    printed."""
    port = trial.free_port()
    hub = Started(f"HUB_PORT={port}", *variables)
    try:
        hub.wait_for("The course's JupyterHub is running", START_WAIT_S)
        started = time.monotonic() - hub.began
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/api", timeout=30) as answer:
            assert answer.status == 200
        record = json.loads(trial.RECORD.read_text())
        assert record["running"]["pid"] != hub.process.pid  # the trial, under make
        # a second trial is refused while this one runs, and so is a clean-up
        second = make("hub", f"HUB_PORT={trial.free_port()}", *variables)
        assert "A trial hub is running already" in second.stdout, second.stdout
        refused = make("hub-clean")
        assert refused.returncode != 0 and "Nothing was removed" in refused.stdout
    except BaseException:
        hub.stop()
        make("hub-clean")
        raise
    assert hub.interrupt() == -signal.SIGINT, hub.text()
    assert "The hub has stopped; the trial accounts are locked." in hub.text()
    wrong = make("hub-clean", *wrong_clean)
    assert wrong.returncode != 0 and "Nothing was removed" in wrong.stdout, wrong.stdout
    assert Path(record["folder"], trial.MARKER).is_file() and trial.RECORD.is_file()
    cleaned = make("hub-clean", *clean)
    print(f"make hub: running after {started:.0f} s\n{hub.text()}\n{cleaned.stdout}")
    return record, hub, cleaned


def removed_everything(record, cleaned):
    """The clean-up said it removed each account, group and folder the record named, and
    the record itself."""
    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    said = cleaned.stdout
    for name, uid in record["accounts"].items():
        assert f"Removed the account {name} (uid {uid})" in said, said
    for name, gid in record["groups"].items():
        assert f"Removed the group {name} (gid {gid})" in said, said
    assert f"Removed {record['folder']}, the trial's folder." in said, said
    assert f"Removed the trial's record, {trial.RECORD_DIR}." in said, said
    assert not Path(record["folder"]).exists() and not trial.RECORD_DIR.exists()


@pytest.mark.slow
def test_a_trial_in_the_default_folder_leaves_the_machine_as_it_was(one_trial_at_a_time):
    """`make hub`, stopped by SIGINT to its process group; a clean-up that names another
    folder is refused and removes nothing; `make hub-clean HUB_DIR=/srv/initialization-hub`
    then removes everything, and the machine is as it was."""
    directory = trial.DEFAULT_DIR
    assert not directory.exists() and not trial.RECORD.exists(), "a trial is left on this machine"
    before = machine(directory)
    record, hub, cleaned = live_trial(
        [], [f"HUB_DIR={directory}"], [f"HUB_DIR={directory.parent / 'another-hub'}"]
    )
    assert record["folder"] == str(directory)
    assert record["groups"] and set(record["accounts"]) == {trial.TEACHER, *trial.TRIAL_STUDENTS}
    assert "The course's environment, which every account can run" in hub.text()
    removed_everything(record, cleaned)
    assert left_behind(before, machine(directory)) == []


@pytest.mark.slow
def test_a_trial_in_another_folder_is_found_and_removed_by_plain_hub_clean(one_trial_at_a_time):
    """`make hub HUB_DIR=...` in a folder made for it (its parents too), stopped by SIGINT to
    its process group; `make hub-clean HUB_DIR=/srv` (the wrong folder, a system one) is
    refused; plain `make hub-clean` finds the trial through its record and removes what it
    made, the folders made on the way included, and the machine is as it was."""
    base = Path(tempfile.mkdtemp(prefix="hub-trial-"))
    base.chmod(0o755)
    directory = base / "made" / "trial"
    try:
        before = machine(directory, around=base)
        record, hub, cleaned = live_trial([f"HUB_DIR={directory}"], [], ["HUB_DIR=/srv"])
        assert record["folder"] == str(directory)
        assert record["made_folders"] == [str(base / "made"), str(directory)]
        removed_everything(record, cleaned)
        assert f"Removed {base / 'made'}, which the trial had made on the way." in cleaned.stdout
        assert left_behind(before, machine(directory, around=base)) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- the folder, checked before anything is made or deleted -------------------------------------


def test_folders_a_trial_refuses():
    """`/`, system folders, a home, this checkout and what holds them, a folder inside the
    checkout (which the trial copies) and an existing folder no trial made are refused, each
    with its reason; a new folder, or one a trial made, is taken."""
    existing = Path(tempfile.mkdtemp(prefix="hub-trial-"))
    made = Path(tempfile.mkdtemp(prefix="hub-trial-"))
    (made / trial.MARKER).write_text("made by a trial\n")
    try:
        with unix_user("trhome") as someone:
            cases = {
                Path("/"): "at the top of the system",
                Path("/srv"): "at the top of the system",
                Path("/tmp"): "at the top of the system",
                Path("/usr/local/hub"): "a system folder",
                Path("/etc/hub"): "a system folder",
                Path("/var/lib/hub"): "a system folder",
                Path("/root/hub"): "a system folder",
                someone.home: "is or holds",
                ROOT: "is or holds",
                ROOT / "trial": "inside this checkout",
                existing: "no trial made it",
                existing / "new": None,
                made: None,
                Path("/srv/initialization-hub-test-never-made"): None,
            }
            found = {path: trial.folder_problem(path) for path in cases}
        for path, reason in cases.items():
            if reason is None:
                assert found[path] is None, (path, found[path])
            else:
                assert found[path] and reason in found[path], (path, found[path])
    finally:
        shutil.rmtree(existing)
        shutil.rmtree(made)


def trial_command(*arguments):
    """`python -m hub.trial`, what `make hub` and `make hub-clean` run (without make's
    prerequisites: the fast tier installs no proxy)."""
    return subprocess.run(
        [sys.executable, "-m", "hub.trial", *arguments], cwd=ROOT, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_the_trial_refuses_a_system_folder_and_a_clean_up_of_a_wrong_one(one_trial_at_a_time):
    """`HUB_DIR=/tmp` changes nothing and says why; with no trial recorded, a clean-up with
    `HUB_DIR=/srv` deletes nothing."""
    assert not trial.RECORD.exists(), "a trial is left on this machine"
    before = Snapshot.take(acl_folders=[Path("/tmp")], shared_folder=Path("/srv"))
    started = trial_command("--port", str(trial.free_port()), "--dir", "/tmp")
    assert started.returncode != 0
    assert "Not started: /tmp is / or a folder at the top of the system's tree" in started.stdout
    cleaned = trial_command("--remove", "--dir", "/srv")
    assert cleaned.returncode != 0 and "No trial is recorded" in cleaned.stdout
    assert Path("/srv").is_dir() and not trial.RECORD_DIR.exists()
    after = Snapshot.take(acl_folders=[Path("/tmp")], shared_folder=Path("/srv"))
    assert after.parts["ACL of /tmp"] == before.parts["ACL of /tmp"]
    assert after.parts["/srv/"] == before.parts["/srv/"]


# --- the interpreter every account runs ----------------------------------------------------------


def test_an_environment_under_a_closed_folder_is_not_taken_for_everyone(tmp_path):
    """An environment made with venv --copies in a folder closed to others (mode 0700, as
    pyenv's under /root) is named closed, with the folder; Debian's interpreter, and so an
    environment made from it in an open folder, is open to all."""
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--without-pip", str(closed / "venv")],
        check=True,
    )
    problems = trial.interpreter_problems(closed / "venv" / "bin" / "python")
    assert any(f"{closed} (mode 700) is closed to others" in p for p in problems), problems
    assert trial.interpreter_problems(Path("/usr/bin/python3")) == []
    assert trial.base_interpreter() is not None
    print(f"this checkout's environment: {trial.interpreter_problems(trial.ENV_BIN / 'python')}")
