"""What the grader and the launcher exchange: the launch spec in, the exit status out.

The grader writes a `LaunchSpec` as JSON next to the other private files of a task; the launcher
(launcher.py), a process of its own, reads it back. When the sandboxed code has ended, the
launcher writes a small status file: the isolation it used and how the code ended.
"""

import json
import os
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .limits import Limits

KERNEL = "kernel"  # LaunchSpec.program of an IPython kernel for nbclient


@dataclass(frozen=True)
class LaunchSpec:
    """How to start one sandboxed process.

    program -- KERNEL, or the name of a module with `preload()` (run before the file system is
        hidden) and `main(confined)` (run in the sandbox; confined is True when the code is not
        isolated, so that the module guards itself), e.g. the clean re-check's child
    limits -- the Limits of the code
    files_dir -- folder whose regular files are copied into the sandbox's working folder
    status_file -- where the launcher records the isolation used and how the code ended
    hide -- folders the code must not see (the course, the grader's folders...)
    keep -- folders inside hidden ones that stay visible (read-only), e.g. the Python install
    ipc_dir -- folder of the kernel's IPC sockets, shared with the grader
    mpl_cache -- folder with a prebuilt matplotlib font cache to copy in
    log_file -- where the sandboxed process's own stderr goes (and stdout, for a kernel)
    workdir -- where the code should run when it is isolated (the folder nbgrader would use)
    """

    program: str
    limits: Limits
    files_dir: str
    status_file: str
    hide: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    ipc_dir: str | None = None
    mpl_cache: str | None = None
    log_file: str = os.devnull
    workdir: str | None = None

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the spec as JSON to path; return the path."""
        data = asdict(self)
        data["limits"] = self.limits.to_dict()
        Path(path).write_text(json.dumps(data, indent=1))
        return Path(path)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "LaunchSpec":
        data = json.loads(Path(path).read_text())
        data["limits"] = Limits.from_dict(data["limits"])
        data["hide"], data["keep"] = tuple(data["hide"]), tuple(data["keep"])
        return cls(**data)

    @property
    def is_kernel(self) -> bool:
        return self.program == KERNEL


@dataclass
class ExitStatus:
    """What the launcher recorded about a sandboxed process (see launcher.py).

    isolation -- "namespaces", "landlock" or "limits"; None when nothing was recorded
    exit -- its exit code, None when a signal ended it (or nothing was recorded)
    signal -- the number of the signal that ended it
    setup_error -- why the sandbox could not be set up, when it could not
    """

    isolation: str | None = None
    exit: int | None = None
    signal: int | None = None
    setup_error: str | None = None
    recorded: bool = field(default=False, repr=False)

    @classmethod
    def read(cls, status_file: str | os.PathLike[str]) -> "ExitStatus":
        try:
            data = json.loads(Path(status_file).read_text())
        except (OSError, ValueError):
            return cls()
        known = {k: data.get(k) for k in ("isolation", "exit", "signal", "setup_error")}
        return cls(**known, recorded=True)

    def describe(self) -> str:
        """How the sandboxed code ended, in words."""
        if self.setup_error:
            return f"the sandbox could not be set up ({self.setup_error})"
        sig = self.signal
        if sig:
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            meaning = {
                "SIGSEGV": "a crash (segmentation fault)",
                "SIGKILL": "killed",
                "SIGXCPU": "CPU time limit reached",
                "SIGXFSZ": "file size limit reached",
                "SIGABRT": "aborted",
                "SIGBUS": "a crash (bus error)",
            }.get(str(name), "stopped by a signal")
            return f"{meaning}, {name}"
        if self.exit is None:
            return "it stopped"
        return f"exit code {self.exit}"
