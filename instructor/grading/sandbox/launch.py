"""Starting the launcher: the one place that builds its command line and environment.

Kernels (kernels.py), the clean re-check (recheck/run.py) and the zygote (zygote.py) all start
their sandboxed process through these functions, so that there is one launcher and one way to
call it.
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import Protocol


class Started(Protocol):
    """What a caller needs of a started launcher: a Popen, or zygote.ForkedProcess."""

    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...


class Forker(Protocol):
    """A process that forks launchers with their modules already loaded (zygote.Zygote)."""

    def spawn(
        self,
        argv: list[str],
        cwd: str | os.PathLike[str],
        stdin: str | os.PathLike[str] | None = None,
        stdout: str | os.PathLike[str] | None = None,
    ) -> Started: ...


MODULE = __package__  # the launcher runs as `python -m instructor.grading.sandbox`
ZYGOTE_FLAG = "--zygote"  # its only argument: serve as the kernel zygote (zygote.py) instead


def command_prefix() -> list[str]:
    """The launcher's command without arguments, with this interpreter."""
    return [sys.executable, "-m", MODULE]


def command(spec_path: str | os.PathLike[str], *arguments: object) -> list[str]:
    """The command that runs the launcher on a LaunchSpec file."""
    return [*command_prefix(), str(spec_path), *map(str, arguments)]


def zygote_command() -> list[str]:
    return [*command_prefix(), ZYGOTE_FLAG]


def environment() -> dict[str, str]:
    """Environment additions for the launcher: it must be able to import this package, also
    when the package was uploaded to a Dask worker as a zip archive."""
    package_parent = str(Path(__file__).resolve().parents[3])
    if ".zip" in package_parent:
        package_parent = package_parent[: package_parent.index(".zip") + 4]
    path = [package_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(path))}


def start(
    spec_path: str | os.PathLike[str],
    cwd: str | os.PathLike[str],
    stdin: str | os.PathLike[str],
    stdout: str | os.PathLike[str],
    zygote: Forker | None = None,
) -> Started:
    """Start the launcher on a spec with these files as its standard input and output; return
    a Popen-like handle (pid, poll, wait). With a zygote, the launcher is forked from it."""
    if zygote is not None:
        return zygote.spawn([str(spec_path)], cwd, stdin=stdin, stdout=stdout)
    with open(stdin, "rb") as given, open(stdout, "wb") as answer:
        return subprocess.Popen(
            command(spec_path),
            stdin=given,
            stdout=answer,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **environment()},
            cwd=cwd,
            start_new_session=True,
        )
