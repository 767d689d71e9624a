"""`make hub`: the course's JupyterHub on this machine, for a trial (run as root).

It sets up what hub/jupyterhub_config.py expects, as an administrator would, then starts the
hub on 127.0.0.1 and prints its address:

- the Unix groups initialization-instructors and initialization-students, an instructor
  (trial-teacher) and three students (trial-student1..3), each with a private home (0700);
- one password for every trial account, new at each start, printed, and locked again when the
  hub stops: it is good for this trial only;
- the course: a copy of this checkout in <dir>/course, owned by trial-teacher and closed to
  everyone else (mode 0700), released by that instructor (`python -m instructor release`,
  then `nbgrader release_assignment`), so that students can fetch at once;
- the exchange in <dir>/exchange, made by `python -m instructor exchange init`;
- on this kind of machine the interpreter lives under /root (mode 0700): the two groups get a
  POSIX ACL entry to pass through the folders on the way to it (`setfacl -m g:GROUP:x`), and
  nothing more. In production, the course's environment is installed system-wide instead (the
  administrators' guide, docs/administrators.md, "On a shared server").

Ctrl+C (or SIGTERM) stops the hub with its servers, the proxy and the grading service.
`python -m hub.trial --remove` (`make hub-clean`) removes the trial accounts, the groups, the
ACL entries and <dir>.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # this checkout, the course's repository
HUB = ROOT / "hub"
CONFIG = HUB / "jupyterhub_config.py"
PROXY_BIN = HUB / "node_modules" / ".bin"
ENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DIR = Path("/srv/initialization-hub")
INSTRUCTORS, STUDENTS = "initialization-instructors", "initialization-students"
TEACHER = "trial-teacher"
TRIAL_STUDENTS = ("trial-student1", "trial-student2", "trial-student3")
ASSIGNMENT = "initialization"
# What a copy of the course leaves behind: environments and caches anywhere, and the
# checkout's own generated state at its top (gradebook, submissions, grades, exchange...).
NOT_COPIED = {".git", ".venv", "node_modules", "__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
NOT_COPIED_AT_TOP = {
    "artifacts", "submitted", "autograded", "feedback", "reports", "exchange", "student-work",
    "student-exchange", "downloaded",
}  # fmt: skip


class TrialError(Exception):
    """A problem that stops the trial hub, told in one message."""


# ---------------------------------------------------------------------------------------------
# The hub process (also used by the tests, which start it exactly as `make hub` does)


@dataclass
class Hub:
    """A running JupyterHub, started by `start_hub`; `stop` ends it with everything it
    started (servers, proxy, services)."""

    url: str
    process: subprocess.Popen
    log_path: Path | None = None
    stopped: bool = field(default=False, init=False)

    def log_tail(self, lines=40):
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout=90):
        """SIGTERM: JupyterHub stops the users' servers, the service and the proxy; then
        SIGKILL for whatever is left of its process group."""
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)


def free_port() -> int:
    """A port of HOST that the system says is free."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def open_private(path: Path):
    """path opened for appending, readable by root only: the hub's log names every
    submission's folder in the exchange, which nobody else may learn."""
    log = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab")
    os.fchmod(log.fileno(), 0o600)
    return log


def hub_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The hub's environment: the course's settings (COURSE_HUB_*, NBGRADER_EXCHANGE), the
    course's interpreter and the pinned proxy first on PATH, nothing of this shell's Jupyter
    settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "COURSE_HUB_"))}
    env.pop("NBGRADER_EXCHANGE", None)
    env["PATH"] = os.pathsep.join([str(ENV_BIN), str(PROXY_BIN), env.get("PATH", "/usr/bin:/bin")])
    env.update(settings)
    return env


def start_hub(
    settings: Mapping[str, str],
    port: int,
    state: Path,
    log_path: Path | None = None,
    timeout: float = 120,
) -> Hub:
    """Start JupyterHub with hub/jupyterhub_config.py on HOST:port, internal ports chosen
    now; wait until it answers and return the Hub. settings are the configuration's
    environment variables (COURSE_HUB_STATE is set to state)."""
    if not (PROXY_BIN / "configurable-http-proxy").exists():
        raise TrialError(
            "JupyterHub's proxy is not installed: run `make hub-deps` (npm ci in hub/)."
        )
    url = f"http://{HOST}:{port}"
    env = hub_environment({**settings, "COURSE_HUB_STATE": str(state), "COURSE_HUB_URL": url})
    command = [
        str(ENV_BIN / "jupyterhub"),
        "-f", str(CONFIG),
        f"--JupyterHub.hub_bind_url=http://{HOST}:{free_port()}",
        f"--ConfigurableHTTPProxy.api_url=http://{HOST}:{free_port()}",
    ]  # fmt: skip
    state.mkdir(parents=True, exist_ok=True)
    log = open_private(log_path) if log_path else None
    try:
        process = subprocess.Popen(
            command,
            cwd=state,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
    finally:
        if log:
            log.close()
    hub = Hub(url, process, log_path)
    try:
        wait_until_ready(hub, timeout)
    except BaseException:
        hub.stop()
        raise
    return hub


def wait_until_ready(hub: Hub, timeout: float) -> None:
    """Wait until the hub's API answers through the proxy."""
    deadline = time.monotonic() + timeout
    while True:
        if hub.process.poll() is not None:
            raise TrialError(
                f"JupyterHub stopped at start-up (exit code {hub.process.returncode}).\n"
                + hub.log_tail()
            )
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if time.monotonic() > deadline:
            raise TrialError(f"JupyterHub did not answer within {timeout:g} s.\n{hub.log_tail()}")
        time.sleep(0.5)


# ---------------------------------------------------------------------------------------------
# Accounts, access, the course and the exchange


def run(argv: Sequence[str | os.PathLike[str]], **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, a TrialError with its output."""
    result = subprocess.run([*map(str, argv)], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise TrialError(
            f"{' '.join(map(str, argv))} failed (exit code {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


def as_user(name: str, argv: Sequence[str | os.PathLike[str]], cwd: Path, **env: str):
    """Run argv as a Unix user, with a clean environment and no capability kept."""
    account = pwd.getpwnam(name)
    environment = {
        "HOME": account.pw_dir, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8",
        "PATH": os.pathsep.join([str(ENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]), **env,
    }  # fmt: skip
    return run(
        ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups",
         "--inh-caps=-all", "--", "env", "-i", *(f"{k}={v}" for k, v in environment.items()),
         *argv],
        cwd=cwd,
    )  # fmt: skip


def ensure_account(name: str, group: str) -> None:
    """A Unix account in group, with a private home (made when missing)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash",
             "--groups", group, "--key", "HOME_MODE=0700", name])  # fmt: skip
    run(["usermod", "--append", "--groups", group, name])
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)


def set_password(names: Sequence[str], password: str) -> None:
    run(["chpasswd"], input="".join(f"{name}:{password}\n" for name in names))


def lock(names: Sequence[str]) -> None:
    for name in names:
        subprocess.run(["usermod", "--lock", name], capture_output=True, check=False)


def closed_folders(path: Path) -> list[Path]:
    """The folders on the way to path that other users cannot pass through."""
    return [
        folder for folder in reversed(path.resolve().parents) if not folder.stat().st_mode & 0o001
    ]


def let_groups_through(groups: Sequence[str], targets: Sequence[Path], record: Path) -> None:
    """Give each group an ACL entry to pass through (x, nothing more) every closed folder on
    the way to the targets; record them for `--remove`."""
    granted = set(json.loads(record.read_text())) if record.exists() else set()
    for target in targets:
        for folder in closed_folders(target):
            for group in groups:
                run(["setfacl", "-m", f"g:{group}:x", folder])
            granted.add(str(folder))
    record.write_text(json.dumps(sorted(granted)))


def copy_course(dest: Path) -> None:
    """Copy this checkout's course (its files, none of its generated state) to dest."""

    def ignore(folder, names):
        top = Path(folder) == ROOT
        return [
            n
            for n in names
            if n in NOT_COPIED or (top and (n in NOT_COPIED_AT_TOP or n.startswith("gradebook.db")))
        ]

    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)


def init_exchange(exchange: Path, owner: str) -> str:
    """The course's exchange, made by the course's own command, as root, for its instructor;
    what the command printed. It runs this checkout's command and reads this checkout's
    course id, never code from the instructor's copy of the course."""
    return run(
        [ENV_BIN / "python", "-m", "instructor", "exchange", "init", "--root", exchange,
         "--owner", owner],
        cwd=ROOT,
        env=hub_environment({}),
    ).stdout  # fmt: skip


def prepare_course(course: Path, exchange: Path) -> None:
    """The course copy, owned by the teacher and closed to others, its exchange, and the
    assignment released by the teacher (a course kept from an earlier trial is left as it is)."""
    if not course.exists():
        copy_course(course)
        run(["chown", "-R", f"{TEACHER}:{TEACHER}", course])
        course.chmod(0o700)
    print(init_exchange(exchange, TEACHER), end="")
    if not (course / "gradebook.db").exists():
        print("Releasing the assignment as the instructor (it runs the source notebook once)...")
        as_user(
            TEACHER,
            [ENV_BIN / "python", "-m", "instructor", "release"],
            cwd=course,
            NBGRADER_EXCHANGE=str(exchange),
        )
    if not (exchange / "initialization-course" / "outbound" / ASSIGNMENT).exists():
        as_user(
            TEACHER,
            [ENV_BIN / "nbgrader", "release_assignment", ASSIGNMENT],
            cwd=course,
            NBGRADER_EXCHANGE=str(exchange),
        )


def settings_for(directory: Path) -> dict[str, str]:
    """The configuration's settings for the trial in directory."""
    return {
        "COURSE_HUB_COURSE_ROOT": str(directory / "course"),
        "COURSE_HUB_GRADER": TEACHER,
        "COURSE_HUB_INSTRUCTORS": INSTRUCTORS,
        "COURSE_HUB_STUDENTS": STUDENTS,
        "NBGRADER_EXCHANGE": str(directory / "exchange"),
    }


def remove(directory: Path) -> None:
    """Remove the trial accounts, groups, ACL entries and directory."""
    record = directory / "acl.json"
    if record.exists():
        for folder in json.loads(record.read_text()):
            for group in (INSTRUCTORS, STUDENTS):
                subprocess.run(["setfacl", "-x", f"g:{group}", folder], capture_output=True)
    for name in (TEACHER, *TRIAL_STUDENTS):
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True)
    for group in (INSTRUCTORS, STUDENTS):
        subprocess.run(["groupdel", group], capture_output=True)
    shutil.rmtree(directory, ignore_errors=True)
    print(f"Removed the trial accounts, the groups {INSTRUCTORS} and {STUDENTS}, and {directory}.")


def serve(directory: Path, port: int) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    for group in (INSTRUCTORS, STUDENTS):
        run(["groupadd", "-f", group])
    ensure_account(TEACHER, INSTRUCTORS)
    for name in TRIAL_STUDENTS:
        ensure_account(name, STUDENTS)
    let_groups_through(
        (INSTRUCTORS, STUDENTS),
        [Path(sys.executable).resolve(), ENV_BIN / "python", ROOT / "hub"],
        directory / "acl.json",
    )
    prepare_course(directory / "course", directory / "exchange")
    accounts = (TEACHER, *TRIAL_STUDENTS)
    password = secrets.token_urlsafe(9)
    set_password(accounts, password)
    log = directory / "state" / "jupyterhub.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"Starting JupyterHub (its log: {log})...", flush=True)
    try:
        hub = start_hub(settings_for(directory), port, directory / "state", log_path=log)
    except BaseException:
        lock(accounts)
        raise
    print(
        f"\nThe course's JupyterHub is running: {hub.url}/\n"
        f"  instructor: {TEACHER} (lands on the Formgrader; the grading service runs as this user)\n"
        f"  students:   {' '.join(TRIAL_STUDENTS)} (Nbgrader > Assignment List)\n"
        f"  password of every trial account, until the hub stops: {password}\n"
        f"  course: {directory / 'course'}   exchange: {directory / 'exchange'}\n"
        f"  the hub's log, with the grading service's lines: tail -f '{log}'\n"
        "Ctrl+C stops the hub, its servers and the service, and locks the trial accounts;\n"
        "`make hub-clean` removes them.",
        flush=True,
    )
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    try:
        return hub.process.wait()
    except KeyboardInterrupt:
        print("\nStopping JupyterHub...", flush=True)
        return 0
    finally:
        hub.stop()
        lock(accounts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hub.trial",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    parser.add_argument(
        "--port", type=int, help=f"port on {HOST} (default: {DEFAULT_PORT} if free)"
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the trial's folder")
    parser.add_argument(
        "--remove", action="store_true", help="remove the trial's accounts and folder"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print(
            "The trial hub must be started as root: it creates Unix users, and JupyterHub "
            "starts each user's server as that user. Run: sudo make hub"
        )
        return 1
    if args.remove:
        remove(args.dir)
        return 0
    port = args.port or (DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port())
    if not port_is_free(port):
        print(f"Port {port} is in use on {HOST}; choose another with HUB_PORT=N.")
        return 1
    try:
        return serve(args.dir.resolve(), port)
    except TrialError as error:
        print(error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
