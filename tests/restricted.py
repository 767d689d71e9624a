"""Run a command where the system refuses what the grader's isolation needs, for real.

    python tests/restricted.py [--no-user-namespaces] [--no-landlock] -- COMMAND [ARG ...]

--no-user-namespaces (needs root): the command runs in a nested user namespace whose
    user.max_user_namespaces is 0, as every uid of the machine (the map is the identity). An
    ordinary user there cannot create a user namespace (unshare fails with ENOSPC), as on
    Ubuntu 24.04 with its AppArmor default or in a container under Docker's or Kubernetes'
    default seccomp profile.
--no-landlock: a seccomp filter makes Landlock's three system calls fail with ENOSYS, as on a
    kernel older than 5.13 or one built without Landlock.

COMMAND is typically `unix_users.User.command(...)`, which becomes an ordinary user in there.
"""

import argparse
import ctypes
import errno
import os
import sys

CLONE_NEWUSER = 0x10000000
LANDLOCK_CALLS = ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self")


def _nest():
    """Continue in a nested user namespace (identity map) with max_user_namespaces = 0."""
    libc = ctypes.CDLL(None, use_errno=True)
    ready_r, ready_w = os.pipe()
    mapped_r, mapped_w = os.pipe()
    pid = os.fork()
    if pid:  # the parent writes the child's maps, then waits and passes its exit status on
        os.close(ready_w)
        os.close(mapped_r)
        if os.read(ready_r, 1) != b"x":
            os._exit(70)
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write("0 0 4294967295\n")
        os.write(mapped_w, b"x")
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) % 256)
    os.close(ready_r)
    os.close(mapped_w)
    if libc.unshare(CLONE_NEWUSER) != 0:
        sys.exit(f"restricted.py: unshare: {os.strerror(ctypes.get_errno())} (run it as root)")
    os.write(ready_w, b"x")
    os.read(mapped_r, 1)
    os.setgid(0)
    os.setuid(0)  # root of the new user namespace, with its capabilities there
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0\n")


def _no_landlock():
    import pyseccomp as sc

    flt = sc.SyscallFilter(sc.ALLOW)
    for name in LANDLOCK_CALLS:
        flt.add_rule(sc.ERRNO(errno.ENOSYS), name)
    flt.load()  # sets no_new_privs (needed without CAP_SYS_ADMIN)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-user-namespaces", action="store_true")
    parser.add_argument("--no-landlock", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.no_user_namespaces:
        _nest()
    if args.no_landlock:
        _no_landlock()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
