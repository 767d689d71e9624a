"""Does the harness for real Unix users (unix_users.py) give a real, unprivileged account?"""

import os
import pwd
import subprocess

from unix_users import ROOT, needs_root, unix_user


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
    # no ACL entry of the removed account is left on the way to the interpreter
    acl = subprocess.run(["getfacl", "-p", "/root"], capture_output=True, text=True).stdout
    assert name not in acl
