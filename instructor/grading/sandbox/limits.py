"""The bounds on one submission's code: time, memory, processes, files, output, disk."""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Bounds on one submission's code; every one ends in a defined score and a reason.

    Each field but cell_limits is the option of the same name of c.GradingLimits, whose help
    says what it bounds (grading/settings.py, `python -m instructor grade --help-all`); the
    defaults here are its defaults, and the time limits' defaults are the bounds of the
    reference run itself, which derives the time limits grading uses (grading/reference.py).

    cell_limits -- (grade id, seconds) of cells with a limit of their own, derived from the
        reference run; other cells may run cell_timeout seconds
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
