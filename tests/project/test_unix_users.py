"""Does the harness for real Unix users (unix_users.py) give a real, unprivileged account, and
does the guard of the machine's shared state (shared_state.py) see what a run leaves behind?"""

import os
import pwd
import subprocess
import sys

from harness import ROOT
from shared_state import Snapshot, acl_of, closed_folders, reached_paths, run_group
from unix_users import needs_root, unix_group, unix_user


@needs_root
def test_the_account_is_an_ordinary_user_who_runs_the_course_and_is_removed_after(tmp_path):
    secret = tmp_path / "root-only.txt"
    secret.write_text("not yours")
    os.chmod(secret, 0o600)
    with unix_user("tharness") as user:
        name = user.name
        done = user.python(
            "-c", "import os, instructor, nbgrader; print(os.getuid(), os.geteuid())", cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [str(user.uid)] * 2
        # root's private files stay closed to it
        denied = user.run(["cat", str(secret)])
        assert denied.returncode != 0 and "Permission denied" in denied.stderr
        own = user.folder()
        assert own.stat().st_uid == user.uid
    assert not own.exists()
    try:
        pwd.getpwnam(name)
        raise AssertionError(f"{name} still exists")
    except KeyError:
        pass
    # it reached the checkout and the interpreter without an ACL entry of its own
    for folder in {p for path in reached_paths() for p in path.parents}:
        assert f"user:{user.uid}:" not in acl_of(folder), folder


@needs_root
def test_the_run_opens_nothing_when_the_environment_is_open_to_all():
    """Made by `make setup` (venv --copies from an interpreter every account can run) in an
    open checkout, does the run need no grant at all, and so change no shared ACL?"""
    closed = closed_folders(reached_paths())
    print(f"interpreter {sys.executable}; closed on the way: {closed or 'none'}")
    assert (run_group() is None) == (not closed)


@needs_root
def test_the_snapshot_sees_a_leftover_acl_entry_and_account(tmp_path):
    """The canary of the end-of-run check: an ACL entry left on a folder, and a group left in
    /etc/group, are each named as a difference; once removed, the snapshot is equal again."""
    folder = tmp_path / "shared"
    folder.mkdir()
    listed = tmp_path / "srv"
    listed.mkdir()
    before = Snapshot.take(acl_folders=[folder], shared_folder=listed)
    subprocess.run(["setfacl", "-m", "g:1011:x", str(folder)], check=True)
    (listed / "left-behind").mkdir()
    with unix_group("tleft") as group:
        changed = before.differences(Snapshot.take(acl_folders=[folder], shared_folder=listed))
        print("\n".join(changed))
        assert any(
            line.startswith(f"ACL of {folder}") and "group:1011:--x" in line for line in changed
        )
        assert any(line.startswith("/etc/group") and group in line for line in changed)
        assert any(line.startswith(f"{listed}/") and "left-behind" in line for line in changed)
    subprocess.run(["setfacl", "-b", str(folder)], check=True)
    (listed / "left-behind").rmdir()
    assert before.differences(Snapshot.take(acl_folders=[folder], shared_folder=listed)) == []
