"""The private folders of one grading task, removed when it ends.

A task writes nothing outside its Workspace: the copy of the assignment's gradebook that
nbgrader's sanitizing reads, the kernelspec and the LaunchSpec files of its sandboxes, their
status files and logs (all under private/, which the sandboxes never see), the files the
notebook's folder holds when it runs (files/), the kernel's sockets (ipc/). Folders left by a
worker killed mid-task are removed by the next task of the machine.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from .sandbox import LaunchSpec, Limits, guard_grader_process
from .sandbox.kernels import KERNEL_NAME, kernel_spec
from .sandbox.spec import KERNEL

WORKSPACE_PREFIX = "igrade-"


class Workspace:
    """Private temporary folders of one task, removed at the end."""

    def __init__(
        self,
        limits: Limits,
        hide: Iterable[str],
        workdir: str | None = None,
        preload: Iterable[str] = (),
    ) -> None:
        guard_grader_process()  # the worker holds the bundle: closed to other processes
        limits.checked()  # decided by the session (ValueError: the submission fails, saying why)
        _remove_stale_workspaces()
        self.workdir = workdir
        self.base = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
        self.private = self.base / "private"  # gradebook copy, kernelspec, status: never visible
        self.files = self.base / "files"  # what the notebook's folder holds when it runs
        self.ipc = self.base / "ipc"  # the kernel's sockets
        self.kernels = self.private / "kernels"
        self.empty = self.base / "empty"
        for folder in (
            self.private,
            self.files,
            self.ipc,
            self.kernels / KERNEL_NAME,
            self.empty,
        ):
            folder.mkdir(parents=True, mode=0o700)
        self.status_file = self.private / "status.json"
        self.limits = limits
        self.font_cache = _font_cache()
        self.use_zygote = limits.zygote
        self.preload = tuple(preload)  # the modules the zygote loads (Bundle.preload)
        self.hide = [*hide, str(self.base.parent), os.getcwd(), *_dask_folders()]

    def spec(
        self,
        name: str,
        program: str,
        files_dir: Path,
        status_file: Path,
        ipc_dir: Path | None = None,
        limits: Limits | None = None,
    ) -> Path:
        """Write the LaunchSpec of a sandboxed process of this task (under limits, resolved,
        or the workspace's); return its path."""
        spec = LaunchSpec(
            program=program, limits=limits.checked() if limits else self.limits,
            files_dir=str(files_dir),
            status_file=str(status_file), hide=tuple(map(str, self.hide)),
            ipc_dir=str(ipc_dir) if ipc_dir else None, mpl_cache=str(self.font_cache),
            log_file=str(self.private / f"{name}.log"), workdir=self.workdir,
        )  # fmt: skip
        return spec.write(self.private / f"{name}.json")

    def write_kernelspec(self, limits: Limits | None = None) -> None:
        spec = self.spec(
            "kernel", KERNEL, self.files, self.status_file, ipc_dir=self.ipc, limits=limits
        )
        kernel_json = self.kernels / KERNEL_NAME / "kernel.json"
        kernel_json.write_text(json.dumps(kernel_spec(spec)))

    def write_files(self, *layers: dict[str, bytes]) -> None:
        """The notebook's folder: the files of each layer by relative path, a later layer over
        an earlier one (the student's files, then the assignment's helpers over them, as
        nbgrader does); a path that would leave the folder is skipped."""
        for relative, data in {k: v for layer in layers for k, v in layer.items()}.items():
            target = (self.files / relative).resolve()
            if self.files.resolve() not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _remove_stale_workspaces() -> None:
    """Folders left by workers that were killed mid-task (their process is gone)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(f"{WORKSPACE_PREFIX}*-*"):
        pid = folder.name[len(WORKSPACE_PREFIX) :].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dask_folders() -> list[str]:
    """The Dask worker's own folder, when this runs on one (hidden from student code)."""
    try:  # imported here: the serial routes (nbgrader autograde) need no Dask at all
        from distributed import get_worker

        return [str(get_worker().local_directory)]
    except (ImportError, ValueError):
        return []


_FONT_CACHE: dict[str, Path] = {}


def _font_cache() -> Path:
    """A folder with matplotlib's font list for the kernels, made once per process: a copy of
    this machine's cached list when there is one, else built (which takes a few seconds)."""
    if "path" not in _FONT_CACHE:
        folder = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-fonts-"))
        atexit.register(shutil.rmtree, folder, True)
        for cache in _matplotlib_caches():
            for found in sorted(Path(cache).glob("fontlist-*.json")):
                shutil.copy(found, folder / found.name)
        if not any(folder.iterdir()):
            subprocess.run(
                [sys.executable, "-c", "import matplotlib.font_manager"],
                env={**os.environ, "MPLCONFIGDIR": str(folder)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        _FONT_CACHE["path"] = folder
    return _FONT_CACHE["path"]


def discard_font_cache() -> None:
    """Remove this process's font list folder, if it made one: a Dask worker is stopped
    without running its exit functions, so its cluster calls this on each worker first."""
    folder = _FONT_CACHE.pop("path", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _matplotlib_caches() -> list[str | Path]:
    """Where matplotlib keeps its font list for this user (without importing it)."""
    home = Path.home()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(home / ".cache")
    return [
        p for p in (os.environ.get("MPLCONFIGDIR"), f"{xdg}/matplotlib", home / ".matplotlib") if p
    ]
