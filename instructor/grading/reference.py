"""The reference run: the source notebook, solutions included, graded like a submission.

It answers two questions before any student is graded:

- Do the source's own solutions earn full marks? `python -m instructor release` refuses to
  write a release whose solutions do not, and so does grading.
- How long does an honest notebook take on this machine? The default time limits are a few
  times each cell's reference time, with a floor: an endless loop then costs about a minute
  instead of 15, while a slow but honest notebook still passes.

    limit of a cell        max(CELL_FLOOR, CELL_FACTOR x its reference time)
    limit of the notebook  max(NOTEBOOK_FLOOR, NOTEBOOK_FACTOR x the reference run's total)
    limit of a re-check    max(VERIFY_FLOOR, VERIFY_FACTOR x the reference re-check per exercise)

Limits the instructor sets (c.GradingLimits.<field>, or the grade command's options) replace
the derived ones. The run is kept in reports/<assignment>/reference.json, for this assignment
(as graded: cells, helpers, exercises) and this machine, so it runs once per change.
"""

import json
import platform
import shutil
import tempfile
from pathlib import Path

from .bundle import build, source_notebooks, with_limits
from .messages import Task
from .sandbox import Limits

CELL_FLOOR, CELL_FACTOR = 10.0, 5.0
NOTEBOOK_FLOOR, NOTEBOOK_FACTOR = 60.0, 5.0
VERIFY_FLOOR, VERIFY_FACTOR = 10.0, 5.0
TIME_LIMITS = ("cell_timeout", "notebook_timeout", "verify_timeout")


class ReferenceError(Exception):
    """The source's own solutions do not earn full marks, or could not be run."""


def _machine():
    import numpy

    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "machine": platform.node(), "processor": platform.machine()}  # fmt: skip


def run(coursedir, config, assignment, limits, bundle=None):
    """Grade the source notebook as a submission; return the reference as plain data."""
    from .session import hidden_paths
    from .worker import grade_submission

    bundle = bundle or build(coursedir, config, limits, assignment)
    sources = source_notebooks(coursedir, assignment)
    workdir = Path(tempfile.mkdtemp(prefix="igrade-reference-"))
    try:
        result = grade_submission(
            Task(
                student="reference",
                notebooks={p.stem: p.read_text(encoding="utf-8") for p in sources},
                limits=limits,
                hide=tuple(hidden_paths(coursedir)),
                workdir=str(workdir / assignment),
            ),
            bundle,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if result.status != "graded":
        raise ReferenceError(
            f"the source notebook could not be graded ({result.reason})"
            + (f"\n{result.trace}" if result.trace else "")
        )
    short = [
        f"{name} {s.final:g} / {s.max:g}" for name, s in result.scores.items() if s.final < s.max
    ]
    if short or result.flags:
        raise ReferenceError(
            "the source notebook's own solutions do not earn full marks ("
            + "; ".join(short + list(result.flags) + list(result.notes))
            + ")"
        )
    cells = result.cell_seconds
    return {
        "assignment_key": bundle.assignment_key,
        "machine": _machine(),
        "cell_seconds": cells,
        "total_seconds": round(sum(cells.values()), 3),
        "recheck_seconds_per_exercise": round(
            result.recheck_seconds / max(1, len(bundle.exercises)), 3
        ),
    }


def load_or_run(coursedir, config, assignment, reports, limits, log=print, bundle=None):
    """The reference of this assignment on this machine: from reports/.../reference.json, or
    run now (and kept there). bundle -- the assignment's Bundle, when it is built already."""
    bundle = with_limits(bundle, limits) if bundle else build(coursedir, config, limits, assignment)
    key = bundle.assignment_key
    path = Path(reports) / "reference.json"
    try:
        kept = json.loads(path.read_text())
        if kept.get("assignment_key") == key and kept.get("machine") == _machine():
            return kept
    except (OSError, ValueError):
        pass
    log("Running the source notebook once, to check its solutions and time it ...")
    reference = run(coursedir, config, assignment, limits, bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(reference, indent=1))
    tmp.replace(path)
    return reference


def limits_from_reference(reference, base):
    """base with the time limits derived from the reference run."""
    cell_limits = tuple(
        (grade_id, round(max(CELL_FLOOR, CELL_FACTOR * seconds), 1))
        for grade_id, seconds in sorted(reference["cell_seconds"].items())
        if not grade_id.startswith("#")
    )
    return base.replace(
        cell_timeout=CELL_FLOOR,
        cell_limits=cell_limits,
        notebook_timeout=round(
            max(NOTEBOOK_FLOOR, NOTEBOOK_FACTOR * reference["total_seconds"]), 1
        ),
        verify_timeout=round(
            max(VERIFY_FLOOR, VERIFY_FACTOR * reference["recheck_seconds_per_exercise"]), 1
        ),
    )


def derived_limits(coursedir, config, assignment, reports, explicit, log=print, bundle=None):
    """(limits, one line saying where the time limits come from).

    explicit -- the limits the instructor set, by Limits field; a time limit set there is kept
    as it is, and with all three set no reference run is needed."""
    base = Limits().replace(**explicit)
    if all(name in explicit for name in TIME_LIMITS):
        return base, "time limits as set: " + describe(base)
    reference = load_or_run(coursedir, config, assignment, reports, base, log=log, bundle=bundle)
    derived = limits_from_reference(reference, base)
    kept = {name: explicit[name] for name in TIME_LIMITS if name in explicit}
    if "cell_timeout" in kept:
        derived = derived.replace(cell_limits=())
    derived = derived.replace(**kept)
    slowest = max(reference["cell_seconds"].items(), key=lambda item: item[1], default=("-", 0))
    note = (
        f"time limits from the reference run (the source notebook ran {reference['total_seconds']:g} s"
        f" here, slowest cell {slowest[0]} {slowest[1]:g} s): " + describe(derived)
    )
    return derived, note


def describe(limits):
    seconds = [limits.cell_timeout, *(s for _, s in limits.cell_limits)]
    cells = (
        f"{min(seconds):g} to {max(seconds):g} s per cell"
        if min(seconds) != max(seconds)
        else f"{limits.cell_timeout:g} s per cell"
    )
    return (
        f"{cells}, {limits.notebook_timeout:g} s per notebook, "
        f"{limits.verify_timeout:g} s per re-check"
    )
