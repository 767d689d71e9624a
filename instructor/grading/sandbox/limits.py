"""The bounds on one submission's code: time, memory, processes, files, output, disk; and how
it is isolated.

`Limits` is the one typed record of them, from the configuration to the sandbox: the course's
setting c.GradingLimits (grading/settings.py, which declares each option with its help and takes
its default from here) builds it, the session decides its isolation and derives its time limits,
a Task carries it to a worker, and a LaunchSpec to the launcher (spec.py), as JSON
(`to_dict`/`from_dict`, its one serialized form), where `checked` is all that is done to it.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any

MODES = ("namespaces", "landlock", "limits")  # how student code is isolated (modes.py chooses)
REQUESTS = ("auto", *MODES)  # what a course may ask for: "auto" lets modes.choose decide


@dataclass(frozen=True)
class Limits:
    """Bounds on one submission's code; every one ends in a defined score and a reason.

    Each field but cell_limits is the option of the same name of c.GradingLimits, whose help
    says what it bounds (grading/settings.py, `python -m instructor grade --help-all`); the
    defaults here are its defaults, and the time limits' defaults are the bounds of the
    reference run itself, which derives the time limits grading uses (grading/reference.py).

    isolation -- what the course asks for ("auto" or a mode) until the session decides it on
        the grading machine (session.isolation_here); from then on one of MODES
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

    def checked(self) -> "Limits":
        """These limits, when they can bound a sandbox as they are: every bound more than 0 and
        the isolation decided (one of MODES); ValueError naming the first that is not."""
        for name, value in asdict(self).items():
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
                raise ValueError(f"the limit {name} = {value!r} must be more than 0")
        if self.isolation not in MODES:
            raise ValueError(
                f"the isolation {self.isolation!r} was not decided before grading (one of "
                f"{', '.join(MODES)}; the session decides it)"
            )
        return self
