"""Which isolation confines student code on this machine, and why; or a refusal with the fix.

Three modes (docs/administrators.md, "Security model", compares them):

- "namespaces": Linux namespaces -- the code sees a private file system and process tree, has no
  network, and runs as a throwaway user. Needs root, or unprivileged user namespaces (refused
  by Ubuntu 24.04's AppArmor default and by Docker's and Kubernetes' default seccomp profiles).
- "landlock": no privilege needed -- Landlock confines the code's files (and on newer kernels
  its TCP sockets and signals), seccomp its system calls (no ptrace, no namespaces, no network),
  a child subreaper ends every process it started. Needs Landlock (Linux 5.13+, enabled in
  most distributions' kernels) and libseccomp.
- "limits": resource limits only. Chosen by name only, never by "auto": the code can read and
  write whatever the grader's user can, and every grade made so says so.

`choose("auto")` takes namespaces, else landlock; when neither is possible it raises
IsolationRefused, whose message says why and gives this platform's fix.
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ...errors import CourseError
from . import landlock, seccomp
from .isolation import PR_SET_NO_NEW_PRIVS, RESOURCE_LIMITS, namespaces_refused, prctl
from .limits import REQUESTS

REPOSITORY = Path(__file__).resolve().parents[3]  # where deploy/ is
LIMITS_ONLY = (
    "ran this notebook with resource limits only (--isolation limits): its code was not "
    "isolated from the grading machine"
)


def shared_process_limit(mode: str, side_by_side: bool) -> str | None:
    """The warning a grading run gives when student code confined by Landlock, with the
    grader an ordinary account, runs beside other submissions' (several workers at once):
    the process limit (RLIMIT_NPROC) counts every process of that account, so one fork bomb
    can take the processes a kernel graded beside it needs. None when that cannot happen:
    another mode (namespaces give each sandbox a user of its own; limits only says so in
    its own warning), root (whom the process limit does not bind), or one submission at a
    time."""
    if mode != "landlock" or os.geteuid() == 0 or not side_by_side:
        return None
    return (
        "SHARED PROCESS LIMIT: with landlock run by an ordinary account, the process limit "
        "counts this whole account, so a fork bomb can make a grading beside it fail; "
        "--workers 1 grades one submission at a time"
    )


class IsolationRefused(CourseError):
    """Student code cannot be confined here as asked; the message says why and how to fix it."""


@dataclass(frozen=True)
class Isolation:
    """The isolation chosen for this machine: its mode, and why, in one line."""

    mode: str
    why: str

    def describe(self) -> str:
        return f"{self.mode} ({self.why})"


_LANDLOCK: dict[str, int | bool] = {}


def landlock_refused() -> str | None:
    """Why the "landlock" isolation cannot be used here, or None when it can (with its ABI in
    landlock_abi()). Tried in a throwaway child: a Landlock domain and the seccomp filter."""
    if _LANDLOCK.get("ok"):
        return None
    try:
        abi = landlock.abi_version()
        seccomp.check()
    except (landlock.Unavailable, seccomp.Unavailable) as error:
        return error.strerror
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover -- a child
        os.close(read_end)
        try:
            ruleset = landlock.Ruleset(abi)
            ruleset.allow("/", landlock.READ)
            prctl(PR_SET_NO_NEW_PRIVS, 1)
            ruleset.restrict_self()
            seccomp.load(signals_scoped=ruleset.scopes_signals)
        except Exception as error:  # noqa: BLE001
            os.write(write_end, f"{type(error).__name__}: {error}".encode()[:4000])
            os._exit(1)
        os._exit(0)
    os.close(write_end)
    why = os.read(read_end, 4096).decode(errors="replace")
    os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    ok = os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0
    if ok:
        _LANDLOCK.update(ok=True, abi=abi)
        return None
    return f"Landlock or the seccomp filter cannot be applied here ({why or 'the probe failed'})"


def landlock_abi() -> int:
    """The kernel's Landlock ABI (after a successful landlock_refused())."""
    return int(_LANDLOCK["abi"])


def _landlock_why(abi: int) -> str:
    missing = []
    if abi < 4:
        missing.append("TCP is refused by seccomp alone (Landlock's TCP rules need ABI 4)")
    if abi < 6:
        missing.append(
            "signals to other processes are refused by seccomp (Landlock's signal scope needs "
            "ABI 6), so the code can signal only its own process group"
        )
    return f"Landlock ABI {abi} and seccomp" + (f"; {'; '.join(missing)}" if missing else "")


def choose(requested: str = "auto") -> Isolation:
    """The Isolation for `requested` ("auto", "namespaces", "landlock" or "limits") on this
    machine; raises IsolationRefused, with the platform's fix, when it cannot be had."""
    if requested not in REQUESTS:
        raise IsolationRefused(f"unknown isolation {requested!r} (one of {', '.join(REQUESTS)})")
    if not RESOURCE_LIMITS:
        raise IsolationRefused(
            "student code is not run on this system: it has no resource limits (Python's "
            "`resource` module), which every isolation needs. Grade on Linux: the course's "
            "JupyterHub, or a Linux machine or container with the course's environment."
        )
    if requested == "limits":
        return Isolation("limits", "asked for by name: resource limits only, no isolation")
    no_namespaces = namespaces_refused() if requested != "landlock" else None
    if requested == "namespaces":
        if no_namespaces:
            raise IsolationRefused(
                f"--isolation namespaces was asked for, but Linux namespaces are refused here "
                f"({no_namespaces}). {platform_fix(no_namespaces, None)}"
            )
        return Isolation("namespaces", "asked for by name; Linux namespaces are available")
    if requested == "auto" and not no_namespaces:
        return Isolation("namespaces", "Linux namespaces are available")
    no_landlock = landlock_refused()
    if not no_landlock:
        abi = landlock_abi()
        if requested == "landlock":
            return Isolation("landlock", f"asked for by name; {_landlock_why(abi)}")
        return Isolation(
            "landlock", f"Linux namespaces are refused here ({no_namespaces}); {_landlock_why(abi)}"
        )
    if requested == "landlock":
        raise IsolationRefused(
            f"--isolation landlock was asked for, but {no_landlock}. "
            + platform_fix(no_namespaces, no_landlock)
        )
    raise IsolationRefused(
        "student code cannot be isolated on this machine, so it is not run: Linux namespaces "
        f"are refused ({no_namespaces}) and {no_landlock[0].lower() + no_landlock[1:]}. "
        + platform_fix(no_namespaces, no_landlock)
    )


# --- the platform's fix ----------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def platform() -> str:
    """Which fix applies here: "ubuntu-apparmor", "container" or "linux"."""
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return "ubuntu-apparmor"
    if (
        os.path.exists("/.dockerenv")
        or os.path.exists("/run/.containerenv")
        or "KUBERNETES_SERVICE_HOST" in os.environ
        or any(k in _read("/proc/1/cgroup") for k in ("docker", "kubepods", "containerd", "libpod"))
    ):
        return "container"
    return "linux"


def _deploy(*parts: str) -> Path:
    return REPOSITORY.joinpath("deploy", *parts)


def platform_fix(no_namespaces: str | None, no_landlock: str | None) -> str:
    """The fix for this machine, as sentences: what to do so that student code can be
    isolated (each with the repository's file that does it)."""
    interpreter = os.path.realpath(sys.executable)
    unit = _deploy("systemd", "instructor-grade.service")
    as_root = (
        f"or run the grading service as root with the systemd unit {unit} (each submission then "
        "runs as a throwaway user in namespaces of its own)"
    )
    kind = platform()
    if kind == "ubuntu-apparmor":
        profile = _deploy("apparmor", "instructor-grader")
        return (
            "Fix (Ubuntu): AppArmor refuses user namespaces to unconfined programs "
            "(kernel.apparmor_restrict_unprivileged_userns=1); load the profile shipped with the "
            f"course, which allows them to this interpreter only: `sed 's|@PYTHON@|{interpreter}|' "
            f"{profile} | sudo apparmor_parser -r` (see the file to make it permanent); "
            + as_root
            + "."
        )
    if kind == "container":
        return (
            "Fix (container): let the container create namespaces, as root in it with "
            "`docker run --cap-add SYS_ADMIN` (Kubernetes: securityContext.capabilities.add "
            "[SYS_ADMIN]), or with a seccomp profile that allows unshare and clone with "
            "CLONE_NEWUSER; or run the Dask workers in containers of their own that hold no "
            "gradebook and no other student's work (`--scheduler ADDRESS`), where "
            "`--isolation limits` is then chosen knowingly; " + as_root + "."
        )
    sysctl = _read("/proc/sys/user/max_user_namespaces")
    userns = (
        "allow unprivileged user namespaces (`sudo sysctl user.max_user_namespaces=15000`"
        + (", `sudo sysctl kernel.unprivileged_userns_clone=1`" if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0" else "")
        + ")"
        if sysctl == "0" or _read("/proc/sys/kernel/unprivileged_userns_clone") == "0"
        else "allow this user to create user namespaces"
    )  # fmt: skip
    landlock = (
        "or boot a kernel with Landlock enabled (Linux 5.13 or later, landlock in lsm=)"
        if no_landlock and "Landlock" in no_landlock
        else "or install libseccomp (Debian and Ubuntu: libseccomp2)"
        if no_landlock
        else ""
    )
    return f"Fix: {userns}; " + (f"{landlock}; " if landlock else "") + as_root + "."
