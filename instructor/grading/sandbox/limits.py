"""The bounds on one submission's code: time, memory, processes, files, output, disk."""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Bounds on one submission's code; every one ends in a defined score and a reason.

    cell_timeout -- seconds one cell may run before it is interrupted (and scores zero if it
        is a test cell); nbgrader's Execute.timeout
    notebook_timeout -- seconds the whole notebook may run; when reached, the kernel is stopped
        and the cells not run yet score zero; also the CPU-time limit of each process
    memory_mb -- address space of each process, in MB (a bigger allocation raises MemoryError)
    max_procs -- processes and threads the submission's code may have at once
    max_file_mb -- largest file it may write, in MB
    max_output_mb -- output the notebook may print or display in total, in MB; past it the
        output is dropped (results and errors are kept) and the cell interrupted; a kernel that
        goes on printing is stopped
    max_disk_mb -- size of the private /tmp, and of the working folder, of an isolated sandbox
    verify_timeout -- seconds the clean re-check of one answer may take
    cell_limits -- (grade id, seconds) of cells with a limit of their own, derived from the
        reference run (grading/reference.py); other cells may run cell_timeout seconds
    isolation -- "auto": Linux namespaces when the system allows them, else Landlock and
        seccomp, else grading refuses to run student code and says how to fix the machine
        (modes.py); "namespaces" or "landlock": that one, or the same refusal; "limits":
        resource limits only, never chosen by "auto", and every grade made so says so
    zygote -- start kernels from a process that imported their heavy modules once (each kernel
        is still a fresh process of its own); False: start each kernel as a new interpreter
    """

    cell_timeout: float = 300
    notebook_timeout: float = 900
    memory_mb: int = 2048
    max_procs: int = 256
    max_file_mb: int = 256
    max_output_mb: float = 10
    max_disk_mb: int = 512
    verify_timeout: float = 30
    isolation: str = "auto"
    zygote: bool = True
    cell_limits: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["cell_limits"] = [list(pair) for pair in self.cell_limits]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Limits":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        values["cell_limits"] = tuple(tuple(pair) for pair in values.get("cell_limits", ()))
        return cls(**values)

    def cell_limit(self, grade_id: str | None) -> float:
        """Seconds the cell with this nbgrader id may run (cell_timeout for other cells)."""
        own: dict[str | None, float] = dict(self.cell_limits)
        return own.get(grade_id, self.cell_timeout)

    def longest_cell(self) -> float:
        return max([self.cell_timeout, *(seconds for _, seconds in self.cell_limits)])

    def replace(self, **changes: Any) -> "Limits":
        """A copy with the given limits changed (None values are ignored)."""
        values = {**asdict(self), **{k: v for k, v in changes.items() if v is not None}}
        values["cell_limits"] = tuple(tuple(pair) for pair in values["cell_limits"])
        return Limits(**values)

    def resolved(self) -> "Limits":
        """These limits with the isolation decided for this machine (modes.choose); raises
        modes.IsolationRefused, with the fix, when it cannot be had here."""
        from .modes import choose

        return self.replace(isolation=choose(self.isolation).mode)
