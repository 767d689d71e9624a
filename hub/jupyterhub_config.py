"""JupyterHub for the Initialization course: one Unix user per person, nbgrader, grade on submit.

Who gets what:
- Everyone logs in with their own Unix account (PAM) and gets a JupyterLab server of their own,
  started by JupyterHub's LocalProcessSpawner as that account. Only members of the course's two
  Unix groups may log in.
- Instructors (the INSTRUCTORS group) get the course root, the Formgrader and nbgrader's
  instructor tools; they land on the Formgrader.
- Students (the STUDENTS group) get their home folder and nbgrader's Assignments tab (fetch,
  submit, fetch feedback) and Validate button, nothing else of nbgrader's.
- Every server, and the grading service, has NBGRADER_EXCHANGE set to the exchange, a system
  folder made by `python -m instructor exchange init` with permissions that students cannot
  subvert.
- Grade on submit (`python -m instructor watch`) runs as a JupyterHub-managed service, as the
  Unix user who owns the course (GRADER), never as root; the hub restarts it if it stops.

The hub itself runs as root (LocalProcessSpawner switches to each user). It loads nothing from
the course folder, which its instructor can write: this file must stay root's (in production,
copy it to /etc/jupyterhub/). The settings below are read from the environment when set there
(`make hub` and the tests do so), else they have the production defaults written here; the
administrators' guide (docs/administrators.md, "On a shared server") says what to change for
production (PAM or OAuth/LTI login, TLS, PostgreSQL, systemd).
"""

import grp
import json
import os
import pwd
import stat
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)


def setting(name, default):
    return os.environ.get(name) or default


# --- The course: what an administrator sets ----------------------------------------------------
COURSE_ID = setting("COURSE_HUB_COURSE_ID", "initialization-course")  # the course's course_id
# The course folder (a clone of the course's repository), owned by GRADER, closed to others.
COURSE_ROOT = setting("COURSE_HUB_COURSE_ROOT", "/home/teacher/initialization-course")
# The Unix user who owns the course and as whom the grade-on-submit service runs (never root).
GRADER = setting("COURSE_HUB_GRADER", "teacher")
# The Unix groups of the course's people: who gets the Formgrader, who the Assignments tab.
INSTRUCTORS = setting("COURSE_HUB_INSTRUCTORS", "initialization-instructors")
STUDENTS = setting("COURSE_HUB_STUDENTS", "initialization-students")
# The exchange, made by `python -m instructor exchange init` (as root, once).
EXCHANGE = setting("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# The hub's own state: its database, cookie secret and proxy pid (private), and the Jupyter
# settings it writes for each role (readable by every user).
STATE = Path(setting("COURSE_HUB_STATE", "/srv/jupyterhub"))
# Where the hub listens. Production: https (c.JupyterHub.ssl_cert / ssl_key) or a TLS proxy.
c.JupyterHub.bind_url = setting("COURSE_HUB_URL", "http://127.0.0.1:8000")

# The Python environment with the course's requirements (this hub's own): every user's server
# and the service run its interpreter, so every user must be able to run it (a system-wide
# environment in production, e.g. /opt/initialization-course/venv).
ENV_BIN = Path(sys.executable).parent
PATH = os.pathsep.join([str(ENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"])


class CourseHubError(SystemExit):
    """A setting or a folder that stops the hub from starting, told in one message."""


# --- Checks at start: the hub refuses an unsafe or incomplete setup, with the fix -------------
def _group_members(name):
    try:
        group = grp.getgrnam(name)
    except KeyError:
        raise CourseHubError(
            f"The Unix group {name!r} does not exist: create it (groupadd {name}) and add the "
            "course's people to it (usermod -aG GROUP LOGIN)."
        ) from None
    primary = {u.pw_name for u in pwd.getpwall() if u.pw_gid == group.gr_gid}
    return set(group.gr_mem) | primary


def _check_grader():
    try:
        account = pwd.getpwnam(GRADER)
    except KeyError:
        raise CourseHubError(
            f"The grader {GRADER!r} is not a Unix user (COURSE_HUB_GRADER)."
        ) from None
    if account.pw_uid == 0:
        raise CourseHubError(
            "The grading service must not run as root: set COURSE_HUB_GRADER to the Unix user "
            "who owns the course."
        )
    return account


def _check_course(grader):
    root = Path(COURSE_ROOT)
    if not (root / "nbgrader_config.py").is_file():
        raise CourseHubError(
            f"{root} is not the course (no nbgrader_config.py): set COURSE_HUB_COURSE_ROOT to "
            "the instructor's clone of the course."
        )
    info = root.stat()
    if info.st_uid != grader.pw_uid:
        raise CourseHubError(
            f"{root} belongs to uid {info.st_uid}, not to the grader {GRADER}: "
            f"chown -R {GRADER}: {root}"
        )
    if stat.S_IMODE(info.st_mode) & 0o007:
        raise CourseHubError(
            f"{root} is open to every user (mode {stat.S_IMODE(info.st_mode):o}): students "
            f"could read the solutions and the gradebook. Fix: chmod 700 {root}"
        )


def _check_exchange():
    if not os.path.isdir(EXCHANGE):
        raise CourseHubError(
            f"There is no exchange at {EXCHANGE}: create it once, as root, with the course "
            "tools of a root-owned checkout (never the instructor's, which root must not run):\n"
            f"  python -m instructor exchange init --root {EXCHANGE} --owner {GRADER}\n"
            "The grading service checks its permissions at start and names any fix needed."
        )


grader_account = _check_grader()
_check_course(grader_account)
_check_exchange()
for _group in (INSTRUCTORS, STUDENTS):
    _group_members(_group)


# --- Login: PAM, members of the course's groups only ---------------------------------------------
c.JupyterHub.authenticator_class = "pam"
c.LocalAuthenticator.allowed_groups = {INSTRUCTORS, STUDENTS}
c.Authenticator.admin_users = set()  # nobody administers the hub through the web
c.JupyterHub.cookie_secret_file = str(STATE / "secrets" / "jupyterhub_cookie_secret")
c.JupyterHub.db_url = "sqlite:///" + str(STATE / "secrets" / "jupyterhub.sqlite")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "secrets" / "jupyterhub-proxy.pid")


# --- Each role's Jupyter settings (what `python -m instructor lab` gives the same people) ------
# nbgrader's server extensions and JupyterLab plugins of each role: instructors get every tool
# but the Formgrader's JupyterLab panel, which JupyterHub's protection against framing leaves
# blank (they open the Formgrader as a page of its own, where they land); students get the
# Assignments tab and Validate. JupyterLab's news and update check are off everywhere (its
# question would cover the notebook, and answering yes fetches from the internet).
SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.formgrader": {"instructors": True, "students": False},
    "nbgrader.server_extensions.assignment_list": {"instructors": True, "students": True},
    "nbgrader.server_extensions.course_list": {"instructors": True, "students": False},
    "nbgrader.server_extensions.validate_assignment": {"instructors": True, "students": True},
    # The course's own (instructor/formgrader.py, imported from the course folder): the
    # Formgrader's pages served with a Content-Security-Policy that runs their own scripts only,
    # and its page of the submissions made in another student's name, with who made them and
    # when, and a notice of them on every page of the Formgrader.
    "instructor.formgrader": {"instructors": True, "students": False},
}
LAB_PLUGINS = {
    "@jupyter/nbgrader:formgrader": {"instructors": False, "students": False},
    "@jupyter/nbgrader:create-assignment": {"instructors": True, "students": False},
    "@jupyter/nbgrader:assignment-list": {"instructors": True, "students": True},
    "@jupyter/nbgrader:course-list": {"instructors": True, "students": False},
    "@jupyter/nbgrader:menu": {"instructors": True, "students": True},
    "@jupyter/nbgrader:validate-assignment": {"instructors": True, "students": True},
    "@jupyterlab/apputils-extension:announcements": {"instructors": False, "students": False},
}
LANDING = {"instructors": "/formgrader", "students": "/lab"}
# The nbgrader settings of each role, on top of the course's own nbgrader_config.py, which an
# instructor's server reads in the course root. A student's names the exchange and the course.
NBGRADER_CONFIG = {
    "instructors": (
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {COURSE_ROOT!r}\n"
        f"load_subconfig({str(Path(COURSE_ROOT) / 'nbgrader_config.py')!r})  # noqa: F821\n"
    ),
    "students": (
        "import os\n\n"
        "c = get_config()  # noqa: F821\n"
        'c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]\n'
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
    ),
}


def jupyter_config_dir(role):
    return STATE / "jupyter" / role


def write_role_settings():
    """Write each role's Jupyter configuration folder (put first on the server's
    JUPYTER_CONFIG_PATH): JupyterLab's page config and nbgrader's settings."""
    for role in LANDING:
        folder = jupyter_config_dir(role)
        (folder / "labconfig").mkdir(parents=True, exist_ok=True)
        disabled = {plugin: not roles[role] for plugin, roles in LAB_PLUGINS.items()}
        (folder / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": disabled}, indent=2) + "\n"
        )
        (folder / "nbgrader_config.py").write_text(NBGRADER_CONFIG[role])
    for folder in [STATE / "jupyter", *(p for p in (STATE / "jupyter").rglob("*"))]:
        folder.chmod(0o755 if folder.is_dir() else 0o644)


STATE.mkdir(parents=True, exist_ok=True)
STATE.chmod(0o755)
(STATE / "secrets").mkdir(mode=0o700, exist_ok=True)
(STATE / "secrets").chmod(0o700)
write_role_settings()


# --- The servers: LocalProcessSpawner, one per user, as that user ------------------------------
# (CourseSpawner, below in "The instructor's day", is LocalProcessSpawner started in the
# server's own folder.)
c.Spawner.cmd = [str(ENV_BIN / "jupyterhub-singleuser")]
c.Spawner.environment = {"NBGRADER_EXCHANGE": EXCHANGE, "PATH": PATH}
c.Spawner.start_timeout = 120  # a busy machine
c.Spawner.http_timeout = 120


def role_of(username):
    """ "instructors" or "students", from the user's Unix groups (read at each start)."""
    if username in _group_members(INSTRUCTORS):
        return "instructors"
    if username in _group_members(STUDENTS):
        return "students"
    return None


def private_home_problem(username):
    """Why the user's home is not private (classmates could read their notebooks and
    feedback), with the fix; None when it is private."""
    home = Path(pwd.getpwnam(username).pw_dir)
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        return (
            f"{home} can be read by other users (mode {mode:o}), so classmates could read "
            f"{username}'s notebooks and feedback. The administrator fixes it with "
            f"`chmod 700 {home}` (and HOME_MODE 0700 in /etc/login.defs for new accounts)."
        )
    return None


def can_work_in_course(account):
    """Whether the account owns the course, or shares it through a group (read, write, enter)."""
    info = os.stat(COURSE_ROOT)
    if info.st_uid == account.pw_uid:
        return True
    groups = os.getgrouplist(account.pw_name, account.pw_gid)
    return info.st_gid in groups and stat.S_IMODE(info.st_mode) & 0o070 == 0o070


def prepare_server(spawner):
    """Before a server starts: its role's folder, landing page, extensions and settings."""
    name = spawner.user.name
    role = role_of(name)
    if role is None:
        raise RuntimeError(f"{name} is in neither {INSTRUCTORS} nor {STUDENTS}.")
    problem = private_home_problem(name)
    if problem:
        raise RuntimeError(problem)
    account = pwd.getpwnam(name)
    if role == "instructors" and not can_work_in_course(account):
        raise RuntimeError(
            f"{name} is an instructor, but the course {COURSE_ROOT} belongs to {GRADER} and is "
            "not shared with their group: see docs/administrators.md on several instructors."
        )
    spawner.notebook_dir = COURSE_ROOT if role == "instructors" else account.pw_dir
    spawner.default_url = LANDING[role]
    spawner.environment = {
        **spawner.environment,
        "JUPYTER_CONFIG_PATH": str(jupyter_config_dir(role)),
    }
    shell = account.pw_shell if os.path.isfile(account.pw_shell) else "/bin/sh"
    spawner.args = [
        *(
            f"--ServerApp.jpserver_extensions={extension}={roles[role]}"
            for extension, roles in SERVER_EXTENSIONS.items()
        ),
        # The terminal: the user's shell as a plain interactive shell. A login shell would reset
        # PATH from /etc/profile, and `python` would no longer be the course's interpreter.
        f"--ServerApp.terminado_settings=shell_command={json.dumps([shell])}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]


c.Spawner.pre_spawn_hook = prepare_server


# --- The instructor's day: JupyterLab, its terminals and the course's commands in the course ----
# An instructor's server starts in the course: JupyterLab's file browser, a new terminal and a
# kernel open there, with the course's environment, whose instructor package (installed by
# `make setup`) serves the Formgrader's extension and the commands: `python -m instructor
# scores` (or any of the course's commands) works at once in the terminal.


class CourseSpawner(LocalProcessSpawner):
    """LocalProcessSpawner, whose server process starts in the server's own folder (its
    notebook_dir: the course for an instructor, the home for a student) rather than in the
    home: JupyterLab opens a terminal in the server's working folder."""

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)  # the user's ids, then their home
        folder = self.notebook_dir

        def start_in_folder():
            become_user()
            if folder:
                os.chdir(folder)  # as the user: a folder they may enter

        return start_in_folder


c.JupyterHub.spawner_class = CourseSpawner


# --- Grade on submit, a managed service, as the grader -------------------------------------------
c.JupyterHub.services = [
    {
        "name": "grade-on-submit",
        "display": False,
        "user": GRADER,
        "cwd": COURSE_ROOT,
        "command": [str(ENV_BIN / "python"), "-m", "instructor", "watch", "--course", COURSE_ROOT],
        "environment": {"NBGRADER_EXCHANGE": EXCHANGE, "PATH": PATH},
    }
]
