"""`make hub`: the course's JupyterHub on this machine, for a trial (run as root).

It sets up what hub/jupyterhub_config.py expects, as an administrator would, then starts the
hub on 127.0.0.1 and prints its address:

- the Unix groups initialization-instructors and initialization-students (made unless they
  exist), an instructor (trial-teacher) and three students (trial-student1..3), each with a
  private home (0700);
- one password for every trial account, new at each start, printed, and locked again when the
  hub stops: it is good for this trial only;
- the course: a copy of this checkout in <dir>/course, owned by trial-teacher and closed to
  everyone else (mode 0700), released by that instructor (`nbgrader generate_assignment`, then
  `nbgrader release_assignment`), so that students can fetch at once; the grading service
  runs the source notebook once when it starts (its reference run: grading's time limits);
- the exchange in <dir>/exchange, made by `python -m instructor exchange init`;
- the Python that every account runs: this checkout's environment when every account can
  already run it (its interpreter, standard library and packages, and every folder on the way
  to them, open to all), else an environment of the trial's own in <dir>/venv, made with
  `python -m venv --copies` from an interpreter every account can run (Debian's python3) and
  the course's requirements. No folder of root's is opened to anyone: no ACL, no mode changed.

<dir> is /srv/initialization-hub unless --dir names another. It is checked before anything is
made or deleted: `/`, the system's folders, a home, this checkout and a folder holding any of
them are refused, and so is an existing folder that no trial made (it has no marker file, .
initialization-hub-trial). Everything the trial makes is written first to its record,
/var/lib/initialization-hub-trial/trial.json (groups and accounts by name and number, the
folders it made), which `--remove` reads wherever the trial was made.

Ctrl+C (or SIGTERM, to the process group when a script started `make hub`) stops the hub with
its servers, the proxy and the grading service. `python -m hub.trial --remove` (`make
hub-clean`) removes what the record names, says what it could not remove, and removes the
record once nothing is left.
"""

from __future__ import annotations

import argparse
import grp
import hashlib
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
from dataclasses import asdict, dataclass, field
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
# The trial's record, in a folder of its own: found by `--remove` wherever the trial was made.
RECORD_DIR = Path("/var/lib/initialization-hub-trial")
RECORD = RECORD_DIR / "trial.json"
MARKER = ".initialization-hub-trial"  # in the trial's folder: made by a trial
# Folders a trial is never made in, nor under (nor in a folder holding one of them).
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                "/proc", "/run", "/sbin", "/sys", "/usr", "/var/lib", "/var/log", "/var/cache",
                "/var/spool", "/var/mail", "/var/run", "/var/lock", "/root")  # fmt: skip
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


def hub_environment(settings: Mapping[str, str], env_bin: Path = ENV_BIN) -> dict[str, str]:
    """The hub's environment: the course's settings (COURSE_HUB_*, NBGRADER_EXCHANGE), the
    course's interpreter (env_bin) and the pinned proxy first on PATH, nothing of this shell's
    Jupyter settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "COURSE_HUB_"))}
    for name in ("NBGRADER_EXCHANGE", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    env["PATH"] = os.pathsep.join([str(env_bin), str(PROXY_BIN), env.get("PATH", "/usr/bin:/bin")])
    env.update(settings)
    return env


def start_hub(
    settings: Mapping[str, str],
    port: int,
    state: Path,
    log_path: Path | None = None,
    timeout: float = 120,
    env_bin: Path = ENV_BIN,
) -> Hub:
    """Start JupyterHub with hub/jupyterhub_config.py on HOST:port, internal ports chosen
    now; wait until it answers and return the Hub. settings are the configuration's
    environment variables (COURSE_HUB_STATE is set to state); env_bin is the folder of the
    interpreter the hub, every server and the service run (the course's environment)."""
    if not (PROXY_BIN / "configurable-http-proxy").exists():
        raise TrialError(
            "JupyterHub's proxy is not installed: run `make hub-deps` (npm ci in hub/)."
        )
    url = f"http://{HOST}:{port}"
    env = hub_environment(
        {**settings, "COURSE_HUB_STATE": str(state), "COURSE_HUB_URL": url}, env_bin
    )
    command = [
        str(env_bin / "jupyterhub"),
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
# The trial's record: everything it made, written before it is made


@dataclass
class Record:
    """What a trial made, in RECORD. Groups and accounts are named by name and number: a
    group or an account is removed only while its name still has the number the trial gave it,
    and a number whose name is gone is reported, never guessed."""

    folder: str  # the trial's folder (<dir>)
    made_folders: list[str] = field(default_factory=list)  # made by the trial, outermost first
    groups: dict[str, int] = field(default_factory=dict)  # made by the trial: name -> gid
    kept_groups: dict[str, int] = field(default_factory=dict)  # there before: never removed
    accounts: dict[str, int] = field(default_factory=dict)  # made by the trial: name -> uid
    environment: str = ""  # the folder of the interpreter every account runs
    running: dict[str, int] | None = None  # {"pid", "started"} of the trial while it runs
    hub: dict[str, int] | None = None  # {"pid", "started"} of its JupyterHub while it runs

    @classmethod
    def load(cls, path: Path = RECORD) -> Record | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise TrialError(f"The trial's record {path} cannot be read: {error}") from None
        return cls(**data)

    def save(self, path: Path = RECORD) -> None:
        """Write the record (root's only), replacing the previous one whole."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        temporary = path.with_suffix(".tmp")
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(json.dumps(asdict(self), indent=1) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)

    def is_running(self) -> bool:
        """Whether the trial runs now: the process recorded, started when recorded."""
        return alive(self.running)


def alive(process: dict[str, int] | None) -> bool:
    """Whether a recorded process ({"pid", "started"}) runs: that pid, started then."""
    return bool(process) and process_start(process["pid"]) == process["started"]


def process_start(pid: int) -> int | None:
    """When a process started (clock ticks since boot), or None when there is none: a pid
    and its start time name one process, even after the pid is reused."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------
# The trial's folder, checked before anything is made or deleted


def protected_paths() -> list[Path]:
    """Folders a trial's folder may neither be nor hold: this checkout, the trial's record,
    and every account's home."""
    homes = {Path(entry.pw_dir) for entry in pwd.getpwall() if entry.pw_dir not in ("", "/")}
    return [ROOT, RECORD_DIR, *sorted(homes)]


def folder_problem(directory: Path) -> str | None:
    """Why a trial may not be made in (or removed from) directory, or None. The directory is
    absolute and resolved."""
    if directory == Path("/") or len(directory.parts) < 3:
        return f"{directory} is / or a folder at the top of the system's tree"
    for tree in map(Path, SYSTEM_TREES):
        if directory == tree or tree in directory.parents:
            return f"{directory} is in {tree}, a system folder"
    for path in protected_paths():
        if directory == path or directory in path.parents:
            return f"{directory} is or holds {path}"
        if path == ROOT and ROOT in directory.parents:
            return f"{directory} is inside this checkout ({ROOT}), which the trial copies"
    if directory.exists() and not directory.is_dir():
        return f"{directory} is not a folder"
    if directory.is_dir() and not (directory / MARKER).is_file():
        return (
            f"{directory} exists and no trial made it (it has no {MARKER}): the trial "
            "neither takes over nor deletes a folder of someone else's"
        )
    return None


def closed_on_the_way(path: Path) -> list[Path]:
    """The existing folders on the way to path (path included) that other accounts cannot
    pass through."""
    found = []
    for folder in [*reversed(path.parents), path]:
        if folder.exists() and not folder.stat().st_mode & 0o001:
            found.append(folder)
    return found


def make_folder(directory: Path, record: Record) -> None:
    """The trial's folder, and every missing folder on the way, made open to all (0755) and
    recorded before each is made; then its marker."""
    missing = [f for f in [*reversed(directory.parents), directory] if not f.exists()]
    for folder in missing:
        if str(folder) not in record.made_folders:
            record.made_folders.append(str(folder))
            record.save()
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
    (directory / MARKER).write_text(
        f"A folder made by the course's trial hub (make hub); its record: {RECORD}\n"
    )


# ---------------------------------------------------------------------------------------------
# The interpreter every account runs


def open_to_all_problems(files: Sequence[Path], folders: Sequence[Path]) -> list[str]:
    """What keeps other accounts from running an interpreter: each file must be readable by
    all (executables runnable), each folder listable, and every folder on the way to any of
    them passable by all."""
    problems = []
    for path in [*files, *folders]:
        for folder in closed_on_the_way(path.parent):
            problems.append(
                f"{folder} (mode {folder.stat().st_mode & 0o7777:o}) is closed to others"
            )
    for path in files:
        mode = path.stat().st_mode
        if not mode & 0o004 or (os.access(path, os.X_OK) and not mode & 0o001):
            problems.append(f"{path} (mode {mode & 0o7777:o}) cannot be run by others")
    for path in folders:
        if path.stat().st_mode & 0o005 != 0o005:
            problems.append(f"{path} (mode {path.stat().st_mode & 0o7777:o}) is closed to others")
    return sorted(set(problems))


INTERPRETER_PATHS = (
    "import json, os, sys, sysconfig; paths = sysconfig.get_paths(); print(json.dumps(["
    "os.path.realpath(sys.executable), os.path.join(sys.prefix, 'pyvenv.cfg'), "
    "paths['stdlib'], paths['purelib'], paths['scripts']]))"
)


def interpreter_problems(python: Path) -> list[str]:
    """What keeps other accounts from running this interpreter, with its standard library and
    its packages (an environment's own pyvenv.cfg and scripts too); ["... cannot run"] when it
    cannot even run here."""
    try:
        found = subprocess.run(
            [str(python), "-I", "-c", INTERPRETER_PATHS], capture_output=True, text=True,
            timeout=60, check=True,
        )  # fmt: skip
        executable, config, stdlib, purelib, scripts = map(Path, json.loads(found.stdout))
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        return [f"{python} cannot run: {error}"]
    files = [executable, *([config] if config.exists() else [])]
    folders = [p for p in (stdlib, purelib, scripts) if p.exists()]
    return open_to_all_problems(files, folders)


def base_interpreter() -> Path | None:
    """The first of python3 on PATH and Debian's /usr/bin/python3 that every account can run,
    as the Makefile chooses it for `make setup`."""
    for candidate in (shutil.which("python3"), "/usr/bin/python3"):
        if candidate and Path(candidate).exists() and not interpreter_problems(Path(candidate)):
            return Path(candidate)
    return None


REQUIREMENTS = ("requirements.txt", "requirements-omitted.txt")


def requirements_stamp() -> str:
    return hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in REQUIREMENTS)).hexdigest()


def environment_for_all(directory: Path, record: Record) -> Path:
    """The folder of the interpreter the hub, every server and the service run: this
    checkout's environment when every account can run it, else <dir>/venv, made once (again
    when requirements.txt or requirements-omitted.txt changed) from an interpreter every account can run."""
    problems = interpreter_problems(ENV_BIN / "python")
    if not problems:
        print(f"The course's environment, which every account can run: {ENV_BIN.parent}")
        return ENV_BIN
    venv = directory / "venv"
    stamp = venv / ".requirements"
    if stamp.is_file() and stamp.read_text() == requirements_stamp():
        return venv / "bin"
    base = base_interpreter()
    if base is None:
        raise TrialError(
            "Other accounts cannot run this checkout's environment ("
            + "; ".join(problems)
            + "), and neither python3 nor /usr/bin/python3 is an interpreter every account "
            "can run to make one: install Debian's python3 and python3-venv (apt-get install "
            "python3-venv), or make the checkout's environment from it (rm -rf .venv && make "
            "setup) in a folder open to all."
        )
    print(
        f"Other accounts cannot run this checkout's environment ({'; '.join(problems)}).\n"
        f"Making one that they can, in {venv}, with {base} and requirements.txt "
        "(a minute or two, once)...",
        flush=True,
    )
    began = time.monotonic()
    shutil.rmtree(venv, ignore_errors=True)
    run([base, "-m", "venv", "--copies", venv])
    pip = [
        venv / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    run([*pip, "--upgrade", "pip"])
    run([*pip, "-r", ROOT / "requirements.txt"])
    run([venv / "bin" / "python", "-m", "pip", "uninstall", "--quiet", "--yes", "-r",
         ROOT / "requirements-omitted.txt"])  # fmt: skip
    run([*pip, "--no-deps", ROOT])  # the course's tools (the instructor package), a copy of them
    left = interpreter_problems(venv / "bin" / "python")
    if left:
        raise TrialError(f"The environment made in {venv} is still closed: {'; '.join(left)}")
    stamp.write_text(requirements_stamp())
    print(f"Made {venv} in {time.monotonic() - began:.0f} s.")
    return venv / "bin"


# ---------------------------------------------------------------------------------------------
# Accounts, the course and the exchange


def run(argv: Sequence[str | os.PathLike[str]], **kwargs) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, a TrialError with its output."""
    result = subprocess.run([*map(str, argv)], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise TrialError(
            f"{' '.join(map(str, argv))} failed (exit code {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


def as_user(
    name: str, argv: Sequence[str | os.PathLike[str]], cwd: Path, env_bin: Path = ENV_BIN, **env
):
    """Run argv as a Unix user, with a clean environment and no capability kept."""
    account = pwd.getpwnam(name)
    environment = {
        "HOME": account.pw_dir, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8",
        "PATH": os.pathsep.join([str(env_bin), "/usr/local/bin", "/usr/bin", "/bin"]), **env,
    }  # fmt: skip
    return run(
        ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups",
         "--inh-caps=-all", "--", "env", "-i", *(f"{k}={v}" for k, v in environment.items()),
         *argv],
        cwd=cwd,
    )  # fmt: skip


def ensure_group(name: str, record: Record) -> None:
    """The group, made and recorded unless it exists; one that existed before is kept (and
    recorded as such), never removed by `--remove`."""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        run(["groupadd", name])
        record.groups[name] = grp.getgrnam(name).gr_gid
        record.save()
        return
    if record.groups.get(name) != gid and name not in record.kept_groups:
        record.kept_groups[name] = gid
        record.save()


def ensure_account(name: str, group: str, record: Record) -> None:
    """An account of the trial's in group, with a private home: made and recorded when
    missing, taken again when the record says the trial made it, refused otherwise (the trial
    never sets the password of someone else's account)."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash",
             "--groups", group, "--key", "HOME_MODE=0700", name])  # fmt: skip
        account = pwd.getpwnam(name)
        record.accounts[name] = account.pw_uid
        record.save()
    if record.accounts.get(name) != account.pw_uid:
        raise TrialError(
            f"An account {name} (uid {account.pw_uid}) exists that no trial made: the trial "
            "does not take it over. Remove or rename it, then run make hub again."
        )
    run(["usermod", "--append", "--groups", group, name])
    os.chmod(account.pw_dir, 0o700)


def set_password(names: Sequence[str], password: str) -> None:
    run(["chpasswd"], input="".join(f"{name}:{password}\n" for name in names))


def lock(names: Sequence[str]) -> None:
    for name in names:
        subprocess.run(["usermod", "--lock", name], capture_output=True, check=False)


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


def prepare_course(course: Path, exchange: Path, env_bin: Path = ENV_BIN) -> None:
    """The course copy, owned by the teacher and closed to others, its exchange, and the
    assignment released by the teacher (a course kept from an earlier trial is left as it is)."""
    if not course.exists():
        copy_course(course)
        run(["chown", "-R", f"{TEACHER}:{TEACHER}", course])
        course.chmod(0o700)
    print(init_exchange(exchange, TEACHER), end="")
    if not (course / "gradebook.db").exists():
        # The copy's release is this checkout's, which `python -m instructor release --check`
        # keeps current: the instructor records the assignment in the gradebook as the
        # Formgrader's Generate button does. The source's reference run, which grading takes
        # its time limits from, is made by the grading service when it starts.
        print("Generating the assignment as the instructor (nbgrader generate_assignment)...")
        as_user(
            TEACHER,
            [env_bin / "nbgrader", "generate_assignment", ASSIGNMENT, "--force"],
            cwd=course,
            env_bin=env_bin,
            NBGRADER_EXCHANGE=str(exchange),
        )
    if not (exchange / "initialization-course" / "outbound" / ASSIGNMENT).exists():
        as_user(
            TEACHER,
            [env_bin / "nbgrader", "release_assignment", ASSIGNMENT],
            cwd=course,
            env_bin=env_bin,
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


# ---------------------------------------------------------------------------------------------
# Starting the trial


def begin(directory: Path) -> Record:
    """The record of the trial in directory: the one recorded, or a new one once the folder
    passed the checks. Refuses while a trial runs, or while one made elsewhere is recorded."""
    record = Record.load()
    if record is not None and record.is_running():
        raise TrialError(
            f"A trial hub is running already (pid {record.running['pid']}, in "
            f"{record.folder}): stop it first (Ctrl+C where it runs, or kill -INT -- -PGID)."
        )
    if record is not None and Path(record.folder) != directory:
        raise TrialError(
            f"The trial made in {record.folder} is still recorded ({RECORD}): remove it with "
            f"`make hub-clean`, or start it again with HUB_DIR={record.folder}."
        )
    if record is not None and (directory / MARKER).is_file():
        return record
    problem = folder_problem(directory)
    if problem:
        raise TrialError(f"Not started: {problem}. Choose another folder with HUB_DIR=PATH.")
    closed = [f for f in closed_on_the_way(directory.parent) if f.exists()]
    if closed:
        raise TrialError(
            f"Not started: {', '.join(map(str, closed))} is closed to other accounts, so "
            f"students could not reach the exchange in {directory}. Choose a folder that every "
            "account can reach with HUB_DIR=PATH (the trial opens no folder of root's)."
        )
    record = record or Record(folder=str(directory))
    record.save()
    make_folder(directory, record)
    return record


def serve(directory: Path, port: int) -> int:
    os.umask(0o022)  # what the trial makes for every account must be readable by them
    # Ctrl+C, SIGTERM and SIGHUP end it through the `finally` blocks (the hub stopped, the
    # accounts locked, the record kept up to date), also while it is being set up, and even
    # when it was started with SIGINT ignored (a script's background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    record = begin(directory)
    for group in (INSTRUCTORS, STUDENTS):
        ensure_group(group, record)
    ensure_account(TEACHER, INSTRUCTORS, record)
    for name in TRIAL_STUDENTS:
        ensure_account(name, STUDENTS, record)
    env_bin = environment_for_all(directory, record)
    record.environment = str(env_bin)
    record.save()
    prepare_course(directory / "course", directory / "exchange", env_bin)
    accounts = (TEACHER, *TRIAL_STUDENTS)
    password = secrets.token_urlsafe(9)
    set_password(accounts, password)
    log = directory / "state" / "jupyterhub.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    record.running = {"pid": os.getpid(), "started": process_start(os.getpid()) or 0}
    record.save()
    print(f"Starting JupyterHub (its log: {log})...", flush=True)
    try:
        hub = start_hub(settings_for(directory), port, directory / "state", log, env_bin=env_bin)
    except BaseException:
        lock(accounts)
        record.running = None
        record.save()
        raise
    record.hub = {"pid": hub.process.pid, "started": process_start(hub.process.pid) or 0}
    record.save()
    course = directory / "course"
    print(
        f"\nThe course's JupyterHub is running: {hub.url}/\n"
        f"  instructor: {TEACHER} (lands on the Formgrader; the grading service runs as this user)\n"
        f"  students:   {' '.join(TRIAL_STUDENTS)} (Nbgrader > Assignment List)\n"
        f"  password of every trial account, until the hub stops: {password}\n"
        f"  course: {course}   exchange: {directory / 'exchange'}\n"
        f"  the grading service's log, the instructor's: {course / 'reports' / 'watch.log'}\n"
        f"  the hub's log, root's: tail -f '{log}'\n"
        "Ctrl+C stops the hub, its servers and the service, and locks the trial accounts\n"
        "(from a script: kill -INT -- -PGID, to the process group); `make hub-clean` removes\n"
        "everything the trial made.",
        flush=True,
    )
    try:
        return hub.process.wait()
    except KeyboardInterrupt:
        print("\nStopping JupyterHub...", flush=True)
        return 0
    finally:
        hub.stop()
        lock(accounts)
        record.running = record.hub = None
        record.save()
        print("The hub has stopped; the trial accounts are locked.", flush=True)


# ---------------------------------------------------------------------------------------------
# Removing the trial


class Attached:
    """A process this one did not start, with the few methods of Popen that Hub.stop uses."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> int | None:
        return None if process_start(self.pid) is not None else 0

    def send_signal(self, signum: int) -> None:
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout or 0)
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.2)
        return 0


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def end_processes(uid: int, timeout: float = 10) -> None:
    """SIGKILL every process of uid, and wait until they are gone."""
    deadline = time.monotonic() + timeout
    while processes_of(uid) and time.monotonic() < deadline:
        subprocess.run(["pkill", "-KILL", "-U", str(uid)], capture_output=True, check=False)
        time.sleep(0.1)


def remove_account(name: str, uid: int) -> tuple[bool, str]:
    """(removed or gone, what to say)."""
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        return True, f"The account {name} (uid {uid}) was already gone."
    if account.pw_uid != uid:
        return True, (
            f"Kept the account {name}: its uid is {account.pw_uid}, not the trial's {uid}, "
            "so the trial did not make it."
        )
    end_processes(uid)
    done = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
    try:
        pwd.getpwnam(name)
    except KeyError:
        return True, f"Removed the account {name} (uid {uid}) and its home {account.pw_dir}."
    why = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
    return False, f"Could not remove the account {name} (uid {uid}): {why}"


def remove_group(name: str, gid: int) -> tuple[bool, str]:
    try:
        group = grp.getgrnam(name)
    except KeyError:
        return True, f"The group {name} (gid {gid}) was already gone."
    if group.gr_gid != gid:
        return True, (
            f"Kept the group {name}: its gid is {group.gr_gid}, not the trial's {gid}, so the "
            "trial did not make it."
        )
    done = subprocess.run(["groupdel", name], capture_output=True, text=True)
    try:
        grp.getgrnam(name)
    except KeyError:
        return True, f"Removed the group {name} (gid {gid})."
    why = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
    return False, f"Could not remove the group {name} (gid {gid}): {why}"


def remove_folders(record: Record) -> tuple[list[str], list[str]]:
    """Remove the trial's folder (it must carry the marker) and the folders the trial made
    on the way to it (only when empty). (what is left, lines to say)."""
    directory, lines, left = Path(record.folder), [], []
    made = [Path(f) for f in record.made_folders]
    if directory.exists():
        problem = None if (directory / MARKER).is_file() else f"it has no {MARKER}"
        problem = problem or (folder_problem(directory) if directory.is_dir() else "not a folder")
        if problem:
            lines.append(f"Kept {directory}: {problem}.")
        else:
            shutil.rmtree(directory, ignore_errors=True)
            if directory.exists():
                lines.append(f"Could not remove all of {directory}.")
                left.append(str(directory))
            else:
                lines.append(f"Removed {directory}, the trial's folder.")
    else:
        lines.append(f"The trial's folder {directory} was already gone.")
    for folder in reversed(made):
        if folder == directory or not folder.exists():
            continue
        try:
            folder.rmdir()
            lines.append(f"Removed {folder}, which the trial had made on the way.")
        except OSError:
            lines.append(f"Kept {folder}, which the trial had made: it holds files of others now.")
    return left, lines


def remove(directory: Path | None) -> int:
    """Remove what the record names; 0 when nothing of the trial is left, else 1."""
    record = Record.load()
    if record is None:
        if directory is not None and (directory / MARKER).is_file():
            print(
                f"{directory} was made by a trial, but no trial is recorded ({RECORD}); nothing "
                "was removed. Look at it, then remove it by hand."
            )
            return 1
        print(f"No trial is recorded ({RECORD}): nothing to remove.")
        return 0 if directory is None else 1
    if directory is not None and directory != Path(record.folder):
        print(
            f"{directory} is not the trial's folder: the trial recorded was made in "
            f"{record.folder}. Nothing was removed (`make hub-clean` alone removes it)."
        )
        return 1
    if record.is_running():
        print(
            f"The trial's hub is running (pid {record.running['pid']}): stop it first (Ctrl+C "
            "where it runs, or kill -INT -- -PGID). Nothing was removed."
        )
        return 1
    lines = []
    if alive(record.hub):  # the trial was killed, and its hub (a session of its own) lives on
        pid = record.hub["pid"]
        try:
            Hub(url="", process=Attached(pid)).stop(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        if alive(record.hub):
            print(f"Could not stop the trial's JupyterHub (pid {pid}); nothing was removed.")
            return 1
        lines.append(
            f"Stopped the trial's JupyterHub (pid {pid}), left running when the trial ended."
        )
    record.hub = None
    for name, uid in list(record.accounts.items()):
        done, line = remove_account(name, uid)
        lines.append(line)
        if done:
            del record.accounts[name]
    for name, gid in list(record.groups.items()):
        done, line = remove_group(name, gid)
        lines.append(line)
        if done:
            del record.groups[name]
    for name, gid in record.kept_groups.items():
        lines.append(f"Kept the group {name} (gid {gid}): it existed before the trial.")
    left, said = remove_folders(record)
    lines += said
    record.made_folders = [f for f in record.made_folders if Path(f).exists() and f in left]
    print("\n".join(lines))
    if record.accounts or record.groups or left:
        record.save()
        print(f"Some of the trial is left (above); its record stays in {RECORD}.")
        return 1
    RECORD.unlink(missing_ok=True)
    RECORD.with_suffix(".tmp").unlink(missing_ok=True)
    try:
        RECORD_DIR.rmdir()
        print(f"Removed the trial's record, {RECORD_DIR}.")
    except OSError as error:
        print(f"Removed the trial's record, {RECORD}; kept {RECORD_DIR}: {error.strerror}.")
    return 0


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
    parser.add_argument(
        "--dir", type=Path, help=f"the trial's folder (default: {DEFAULT_DIR}; with --remove: "
        "the recorded trial's)"
    )  # fmt: skip
    parser.add_argument(
        "--remove", action="store_true", help="remove everything the recorded trial made"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print(
            "The trial hub must be started as root: it creates Unix users, and JupyterHub "
            "starts each user's server as that user. Run: sudo make hub"
        )
        return 1
    directory = Path(os.path.abspath(args.dir)) if args.dir else None
    if directory is not None and directory.exists():
        directory = directory.resolve()
    try:
        if args.remove:
            return remove(directory)
        port = args.port or (DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port())
        if not port_is_free(port):
            print(f"Port {port} is in use on {HOST}; choose another with HUB_PORT=N.")
            return 1
        return serve(directory or DEFAULT_DIR, port)
    except TrialError as error:
        print(error)
        return 1
    except KeyboardInterrupt:
        print("\nStopped. `make hub-clean` removes what the trial made so far.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
