"""The course in JupyterLab, as people use it: a student's server or an instructor's
(`python -m instructor lab`, instructor/commands/lab.py, says what each mode opens).

`start` starts JupyterLab on 127.0.0.1 only, behind a token (a random one unless one is given),
with the extensions and plugins of its mode (SERVER_EXTENSIONS, LAB_PLUGINS: what the hub's
servers get too); it opens no browser and tries no network of its own (no news, no update
check). A student's server opens the assignment's notebook, copied from the release into a
work folder whose files are kept, never overwritten (`prepare_student_work`); an exchange
student's is set to the course's exchange; an instructor's opens the course root, its exchange
checked first.

It runs on Linux, macOS and Windows: JupyterLab is stopped through its own shutdown request
(which ends its kernels and terminals), and only where that fails by signals, to its process
group on Linux and macOS, to the process itself on Windows.
"""

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_core.paths import jupyter_path

from .course import load_config, notebook_of, release_folder, scripts_first
from .errors import CourseError

HOST = "127.0.0.1"
DEFAULT_PORT = 8888
STUDENT_WORK = "student-work"

# nbgrader's server extensions (and the course's), and whether each mode loads them.
SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.formgrader": {"student": False, "exchange": False, "instructor": True},
    "nbgrader.server_extensions.assignment_list": {"student": False, "exchange": True, "instructor": True},
    "nbgrader.server_extensions.course_list": {"student": False, "exchange": False, "instructor": True},
    "nbgrader.server_extensions.validate_assignment": {"student": True, "exchange": True, "instructor": True},
    # The course's: the Formgrader's pages with a Content-Security-Policy, and its page of the
    # submissions made in another student's name (instructor/formgrader.py).
    "instructor.formgrader": {"student": False, "exchange": False, "instructor": True},
}  # fmt: skip
# JupyterLab plugins (nbgrader's, and one of JupyterLab's), and whether each mode loads them.
LAB_EXTENSION = "@jupyter/nbgrader"
LAB_PLUGINS = {
    f"{LAB_EXTENSION}:formgrader": {"student": False, "exchange": False, "instructor": True},
    f"{LAB_EXTENSION}:create-assignment": {"student": False, "exchange": False, "instructor": True},
    f"{LAB_EXTENSION}:assignment-list": {"student": False, "exchange": True, "instructor": True},
    f"{LAB_EXTENSION}:course-list": {"student": False, "exchange": False, "instructor": True},
    f"{LAB_EXTENSION}:menu": {"student": False, "exchange": True, "instructor": True},
    f"{LAB_EXTENSION}:validate-assignment": {"student": True, "exchange": True, "instructor": True},
    # JupyterLab's news and update announcements: its question about news would cover the
    # notebook, and answering yes would fetch from the internet.
    "@jupyterlab/apputils-extension:announcements": {"student": False, "exchange": False, "instructor": False},
}  # fmt: skip
# The nbgrader settings of a student who works through the exchange (mode "exchange"): the
# course's exchange folder and course id, nothing else of the instructor's configuration.
EXCHANGE_STUDENT_CONFIG = """c = get_config()  # noqa: F821
c.Exchange.root = {exchange!r}
c.CourseDirectory.course_id = {course_id!r}
"""
STUDENT_EXCHANGE_WORK = "student-exchange"
# Kept out of a student's copy of the release.
NOT_COPIED = {".ipynb_checkpoints", "__pycache__"}


class LabError(CourseError):
    """A problem that stops JupyterLab from starting, told to the user in one message."""


@dataclass
class Lab:
    """A running JupyterLab server, started by `start`; `stop` ends it and its kernels."""

    mode: str
    root_dir: Path
    port: int
    token: str
    process: subprocess.Popen
    config_dir: Path
    log_path: Path | None = None
    notebook: str | None = None  # what a student's JupyterLab opens first
    stopped: bool = field(default=False, init=False)

    @property
    def base_url(self):
        return f"http://{HOST}:{self.port}"

    def url(self, path="lab", query=""):
        """The address of a page of this server, with the token that opens it."""
        query = f"{query}&" if query else ""
        return f"{self.base_url}/{path.lstrip('/')}?{query}token={self.token}"

    def start_url(self):
        """Where a user starts: the notebook for a student, JupyterLab for an instructor."""
        return self.url(f"lab/tree/{self.notebook}" if self.notebook else "lab")

    def formgrader_url(self):
        """JupyterLab with nbgrader's Formgrader open (instructors)."""
        return self.url("lab", "formgrader=true")

    def get(self, path, timeout=5):
        """GET a path of the server with the token; return (HTTP status, body text)."""
        request = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}",
            headers={"Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, ""

    def log_tail(self, lines=30):
        """The end of the server's log, when it is written to a file."""
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout=15):
        """Stop the server and everything it started (kernels, terminals): first with
        JupyterLab's own shutdown request, on any system; then with signals, to its process
        group where there are process groups (what is left of it), else to the server if it
        is still running."""
        if self.stopped:
            return
        self.stopped = True
        try:
            if self.process.poll() is None and self.post("api/shutdown") == 200:
                self.process.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for ending, wait in ((_terminate, timeout), (_kill, 5)):
            # A process group may outlive its leader (what a terminal started): it is ended too.
            if self.process.poll() is not None and not posix_groups():
                break
            try:
                ending(self.process)
                self.process.wait(wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def post(self, path, timeout=10):
        """POST to a path of the server with the token; return the HTTP status."""
        request = urllib.request.Request(
            f"{self.base_url}/{path.lstrip('/')}",
            data=b"",
            method="POST",
            headers={"Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def posix_groups():
    """Whether this system has process groups (os.killpg): Linux and macOS, not Windows, where
    a process is ended by itself (Popen.terminate and Popen.kill are the same there)."""
    return hasattr(os, "killpg")


def _terminate(process):
    if posix_groups():
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()


def _kill(process):
    if posix_groups():
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()


def student_work_dir(root, assignment):
    """The default folder a student works in: student-work/<assignment>/ in the course."""
    return Path(root) / STUDENT_WORK / assignment


def prepare_student_work(work, root, assignment):
    """Copy the release into work, keeping every file the student already has there.

    Returns (copied, kept): the relative paths copied from the release, and those left as
    the student had them.
    """
    release = release_folder(root, assignment)
    notebook = release / notebook_of(root, assignment)
    if not notebook.is_file():
        raise LabError(
            f"There is no release to copy: {notebook} is missing (`python -m instructor release` "
            "makes it)."
        )
    work = Path(work)
    copied, kept = [], []
    for source in sorted(release.rglob("*")):
        relative = source.relative_to(release)
        if source.is_dir() or NOT_COPIED & set(relative.parts):
            continue
        target = work / relative
        if target.exists():
            kept.append(str(relative))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied.append(str(relative))
    return copied, kept


def port_is_free(port):
    """Whether a server can listen on HOST:port (as Jupyter does, reusing the address of
    connections that are closing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # On Windows SO_REUSEADDR would let the probe share a port already in use.
        exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
        probe.setsockopt(socket.SOL_SOCKET, exclusive or socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(preferred=DEFAULT_PORT):
    """The preferred port when it is free, else one the system picks."""
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# What nbgrader's exchange, and the course's check of its folders, need of the system: Unix
# users and groups. Windows has neither module.
EXCHANGE_NEEDS = ("grp", "pwd")


def exchange_unavailable(mode: str) -> str | None:
    """Why the course's exchange cannot run on this system (Windows), in one sentence that says
    what to do instead; None where it can. Checked before anything imports the exchange's
    modules, which would stop with a bare ModuleNotFoundError."""
    missing = [name for name in EXCHANGE_NEEDS if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    if mode == "exchange":
        return (
            "nbgrader's exchange does not run on Windows (it needs Unix users and groups), so "
            "work on your course's server, or start `python -m instructor lab student` without "
            "--exchange and hand in the notebook as a file."
        )
    return (
        "The course's exchange does not run on Windows (it needs Unix users and groups), so "
        "start the instructor's JupyterLab on the course's Linux or macOS server."
    )


def check_lab_extension():
    """Fail with a clear message when nbgrader's JupyterLab extension is not installed."""
    for folder in jupyter_path("labextensions"):
        if (Path(folder) / LAB_EXTENSION / "package.json").is_file():
            return
    raise LabError(
        f"nbgrader's JupyterLab extension ({LAB_EXTENSION}) is not installed in this "
        "environment; install the course's requirements: pip install -r requirements.txt"
    )


def write_page_config(config_dir, mode):
    """Write the JupyterLab page config that loads exactly the LAB_PLUGINS of mode.

    It lives in a configuration folder of its own, searched first, so the plugins are set
    for this server only, whatever `jupyter labextension enable/disable` did before.
    """
    disabled = {plugin: not modes[mode] for plugin, modes in LAB_PLUGINS.items()}
    path = Path(config_dir) / "labconfig" / "page_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"disabledExtensions": disabled}, indent=2))


def terminal_shell(env, windows=os.name == "nt"):
    """The command of the lab's terminals: the user's shell, started as a plain interactive
    shell. (Jupyter's default adds `-l` when it runs without a terminal, and a login shell
    resets PATH from /etc/profile, so `python` would no longer be this interpreter, the one
    with the course's packages, or would not be found at all.) None on Windows, where
    Jupyter's own default (PowerShell) keeps the environment."""
    if windows:
        return None
    return [env.get("SHELL") or shutil.which("sh", path=env.get("PATH")) or "/bin/sh"]


def server_arguments(mode, root_dir, port, token, env):
    """The `jupyter lab` options: loopback only, a token, no browser, no network checks;
    env is the server's environment."""
    extensions = [
        f"--ServerApp.jpserver_extensions={name}={modes[mode]}"
        for name, modes in SERVER_EXTENSIONS.items()
    ]
    shell = terminal_shell(env)
    terminals = [f"--ServerApp.terminado_settings=shell_command={json.dumps(shell)}"]
    return [
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        *extensions,
        *(terminals if shell else []),
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # no extension searches on PyPI
        "--ServerApp.log_level=WARN",
        "--LabApp.log_level=WARN",
        *(["--ServerApp.allow_root=True"] if is_root() else []),  # containers, CI
    ]


def is_root():
    """Whether this process runs as root (never on Windows, which has no such user id)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_environment(config_dir, env=None):
    """The server's environment: this interpreter's scripts first on PATH (nbgrader runs
    `alembic`), and the page config folder searched before the usual ones."""
    base = scripts_first(dict(os.environ if env is None else env))
    search = [str(config_dir)] + [p for p in [base.get("JUPYTER_CONFIG_PATH")] if p]
    base["JUPYTER_CONFIG_PATH"] = os.pathsep.join(search)
    return base


def ensure_exchange(root_dir: str | Path, env: Mapping[str, str] | None = None) -> Path | None:
    """The course's exchange folder, checked: return its path, or raise LabError when students
    could subvert it (the message gives the command that fixes it: `python -m instructor
    exchange init`, instructor/exchange/layout.py). The course's own exchange (no
    NBGRADER_EXCHANGE) is created when missing, as that command creates it; the Formgrader would
    greet the instructor with an error otherwise. A shared server's exchange, set by
    NBGRADER_EXCHANGE, is the administrator's to create."""
    reason = exchange_unavailable("instructor")
    if reason:
        raise LabError(reason)
    # imported here, once the platform has been found to have them: the exchange's modules
    # read Unix accounts and groups (pwd, grp), which Windows has not
    from .exchange.layout import ExchangeError
    from .exchange.make import require_safe

    environment = os.environ if env is None else env
    saved = os.environ.get("NBGRADER_EXCHANGE")
    try:
        if environment.get("NBGRADER_EXCHANGE"):
            os.environ["NBGRADER_EXCHANGE"] = environment["NBGRADER_EXCHANGE"]
        else:
            os.environ.pop("NBGRADER_EXCHANGE", None)
        config = load_config(Path(root_dir))
    finally:
        if saved is None:
            os.environ.pop("NBGRADER_EXCHANGE", None)
        else:
            os.environ["NBGRADER_EXCHANGE"] = saved
    if "root" not in config.get("Exchange", {}):
        return None
    try:
        layout = require_safe(
            config,
            course=Path(root_dir),
            create=not environment.get("NBGRADER_EXCHANGE"),
            say=lambda line: None,
        )
    except ExchangeError as error:
        raise LabError(str(error)) from None
    return layout.root


def start(
    mode,
    root_dir,
    port=None,
    token=None,
    env=None,
    log_path=None,
    timeout=90,
    course=None,
    notebook=None,
):
    """Start JupyterLab for mode ("student", "exchange" or "instructor") in root_dir; wait
    until it answers and return the Lab. env replaces os.environ for the server; log_path
    receives its log (else it goes to this terminal); course is the course folder whose
    exchange an "exchange" student uses; notebook, what a student's JupyterLab opens first."""
    if mode not in ("student", "exchange", "instructor"):
        raise LabError(f"Unknown mode {mode!r}: use student, exchange or instructor.")
    if mode in ("exchange", "instructor"):
        check_lab_extension()
    if mode == "instructor":
        ensure_exchange(root_dir, env)
    if port is None:
        port = free_port()
    elif not port_is_free(port):
        raise LabError(f"Port {port} is in use on {HOST}; choose another with --port.")
    token = token or secrets.token_hex(24)
    config_dir = Path(tempfile.mkdtemp(prefix="lab-config-"))
    write_page_config(config_dir, mode)
    if mode == "exchange":
        write_exchange_student_config(config_dir, env, course)
    environment = server_environment(config_dir, env)
    arguments = server_arguments(mode, root_dir, port, token, environment)
    command = [sys.executable, "-m", "jupyterlab", *arguments]
    log = open(log_path, "ab") if log_path else None  # the server keeps its own handle
    try:
        process = subprocess.Popen(
            command,
            cwd=root_dir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            # its own process group, stopped as a whole (Windows: its own console group)
            start_new_session=posix_groups(),
            creationflags=0
            if posix_groups()
            else getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0),
        )
    finally:
        if log:
            log.close()
    lab = Lab(
        mode, Path(root_dir), port, token, process, config_dir, log_path and Path(log_path),
        notebook=notebook,
    )  # fmt: skip
    try:
        wait_until_ready(lab, timeout)
    except BaseException:
        lab.stop()
        raise
    return lab


def wait_until_ready(lab, timeout):
    """Wait until the server answers /api/status (and, for instructors, the Formgrader)."""
    deadline = time.monotonic() + timeout
    paths = ["api/status"] + (["formgrader"] if lab.mode == "instructor" else [])
    while paths:
        if lab.process.poll() is not None:
            raise LabError(
                f"JupyterLab stopped at start-up (exit code {lab.process.returncode}).\n"
                + lab.log_tail()
            )
        try:
            status, _ = lab.get(paths[0])
        except OSError:
            status = None
        if status == 200:
            paths.pop(0)
            continue
        if status is not None and paths[0] == "formgrader":
            raise LabError(f"nbgrader's Formgrader did not load (HTTP {status}).\n{lab.log_tail()}")
        if time.monotonic() > deadline:
            raise LabError(f"JupyterLab did not answer within {timeout} s.\n{lab.log_tail()}")
        time.sleep(0.25)


def start_student(root, assignment, work=None, **options):
    """Copy the assignment's release into the student's work folder and start JupyterLab there.

    Returns (lab, copied, kept), see prepare_student_work."""
    work = Path(work) if work else student_work_dir(root, assignment)
    copied, kept = prepare_student_work(work, root, assignment)
    notebook = notebook_of(root, assignment)
    return start("student", work, notebook=notebook, **options), copied, kept


def write_exchange_student_config(config_dir, env, root):
    """The student's nbgrader settings, in the server's own configuration folder (searched
    first): the course's exchange (created when missing) and course id."""
    # imported here: a student's own environment may have no nbgrader (only its exchange
    # needs it, and then it is installed)
    from nbgrader.coursedir import CourseDirectory

    exchange = ensure_exchange(root, env)
    course_id = CourseDirectory(config=load_config(Path(root))).course_id
    (Path(config_dir) / "nbgrader_config.py").write_text(
        EXCHANGE_STUDENT_CONFIG.format(exchange=str(exchange), course_id=course_id)
    )


def start_exchange_student(root, work=None, **options):
    """Start JupyterLab for a student who fetches and submits through the course's exchange,
    in their own folder (student-exchange/ of the course by default)."""
    reason = exchange_unavailable("exchange")
    if reason:
        raise LabError(reason)
    work = Path(work) if work else Path(root) / STUDENT_EXCHANGE_WORK
    work.mkdir(parents=True, exist_ok=True)
    return start("exchange", work, course=Path(root), **options)


def start_instructor(root, **options):
    """Start JupyterLab at the course root, where nbgrader finds nbgrader_config.py."""
    return start("instructor", Path(root), **options)
