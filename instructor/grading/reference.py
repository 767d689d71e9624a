"""The reference run: the source notebook, solutions included, graded like a submission.

It answers three questions before any student is graded:

- Do the source's own solutions earn full marks? `python -m instructor release` refuses to
  write a release whose solutions do not, and so does grading.
- Are the cells the source marks as ones a grading may skip (needed.py) really unneeded? When
  there are marks, the source is graded both ways, on the cells its grade needs and whole, and
  every graded cell must score the same, with the same errors, flags and notes; otherwise
  `release` (and grading) refuses, naming the test cell that needs a marked cell.
- How long does an honest notebook take on this machine? The default time limits are a few
  times each cell's reference time, with a floor: an endless loop then costs about a minute
  instead of 15, while a slow but honest notebook still passes.

    limit of a cell        max(CELL_FLOOR, CELL_FACTOR x its reference time)
    limit of the notebook  max(NOTEBOOK_FLOOR, NOTEBOOK_FACTOR x the reference run's total)
    limit of a re-check    max(VERIFY_FLOOR, VERIFY_FACTOR x the reference re-check per exercise)

The notebook's limit counts the cells that run: those the grade needs, and for a submission
that must run whole (needed.py says when) the whole run's total. A cell grading skips keeps
the limit of its time in the whole run, for such a submission.

Limits the instructor sets (c.GradingLimits.<option>, or the commands' options made from it:
settings.py) replace the derived ones. The run is kept in reports/<assignment>/reference.json, for this assignment
(as graded: cells, helpers, exercises, marks) and this machine, so it runs once per change.
"""

import copy
import json
import platform
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from ..errors import CourseError
from .bundle import build, source_notebooks, with_limits
from .hide import hidden_paths
from .messages import Bundle, Result, Task
from .sandbox import Limits
from .settings import (
    CELL_FACTOR,
    CELL_FLOOR,
    NOTEBOOK_FACTOR,
    NOTEBOOK_FLOOR,
    TIME_LIMITS,
    VERIFY_FACTOR,
    VERIFY_FLOOR,
)
from .worker import grade_submission


class ReferenceRunError(CourseError):
    """The source's own solutions do not earn full marks, or could not be run."""


Reference = dict[str, Any]  # reference.json: the reference run's times, as plain data


def _machine() -> dict[str, str]:
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "machine": platform.node(), "processor": platform.machine()}  # fmt: skip


def _grade_source(
    coursedir: CourseDirectory, assignment: str, limits: Limits, bundle: Bundle
) -> Result:
    """The source notebooks graded as a submission, with this bundle; the Result."""
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
        raise ReferenceRunError(
            f"the source notebook could not be graded ({result.reason})"
            + (f"\n{result.trace}" if result.trace else "")
        )
    return result


def _full_marks(result: Result, how: str = "") -> None:
    """Raise ReferenceRunError when the source's own solutions fall short, or are flagged."""
    short = [
        f"{name} {s.final:g} / {s.max:g}" for name, s in result.scores.items() if s.final < s.max
    ]
    if short or result.flags:
        raise ReferenceRunError(
            f"the source notebook's own solutions do not earn full marks{how} ("
            + "; ".join(short + list(result.flags) + list(result.notes))
            + ")"
        )


def run(
    coursedir: CourseDirectory,
    config: Config,
    assignment: str,
    limits: Limits,
    bundle: Bundle | None = None,
) -> Reference:
    """Grade the source notebook as a submission; return the reference as plain data.

    When the source marks cells a grading may skip (and the course does not run whole
    notebooks), it is graded both ways, on the cells its grade needs and whole, and every
    graded cell must score the same with the same errors, flags and notes; the reference keeps
    both runs' times (the limits of a whole run serve a submission that must run whole)."""
    bundle = bundle or build(coursedir, config, limits, assignment)
    result = _grade_source(coursedir, assignment, limits, bundle)
    whole = None
    if bundle.skippable:
        whole_bundle = build(coursedir, _whole_config(config), limits, assignment)
        whole = _grade_source(coursedir, assignment, limits, whole_bundle)
        _full_marks(whole)
        if not result.skipped:
            raise ReferenceRunError(
                "the source notebook's own answers make its grading run the whole notebook "
                f"({result.ran}): a student who writes the same would never be graded on the "
                "cells the grade needs; change that answer, or remove the marks"
            )
        problems = compare(whole, result)
        if problems:
            raise ReferenceRunError(
                "cells marked as ones grading may skip are needed by the grade: "
                + "; ".join(problems)
                + '. Remove the mark of the cells they need ("grading": {"skip": ...} in '
                "the source notebook's metadata)"
            )
    _full_marks(result, " on the cells the grade needs" if whole else "")
    reference = _timings(result, bundle)
    if whole is not None:
        reference["skipped"] = list(result.skipped)
        reference["whole_notebook"] = {
            key: value for key, value in _timings(whole, whole_bundle).items() if key != "machine"
        }
    return reference


def _whole_config(config: Config) -> Config:
    """A copy of config that runs whole notebooks (a deep copy: the sections of a traitlets
    Config's shallow copy are the original's)."""
    whole = copy.deepcopy(config)
    whole.CourseGrading.run_whole_notebook = True
    return whole


def _timings(result: Result, bundle: Bundle) -> Reference:
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


def compare(whole: Result, fast: Result) -> list[str]:
    """How a grading on the cells the grade needs (fast) differs from a whole run (whole),
    one line per difference naming the cell; empty when they agree. Compared: every graded
    cell's points and the errors of the cells both ran, then (when those agree) each
    exercise's scores, the flags and the notes."""
    problems = []
    for notebook_id, text in whole.notebooks.items():
        ran_whole = nbformat.reads(text, as_version=4).cells
        ran_fast = nbformat.reads(fast.notebooks.get(notebook_id, text), as_version=4).cells
        for index, (a, b) in enumerate(zip(ran_whole, ran_fast)):
            name = a.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"#{index + 1}"
            if a.cell_type != "code" or not b.get("execution_count"):
                continue  # not run on the cells the grade needs
            if nbgrader_utils.is_grade(a):
                with_them = nbgrader_utils.determine_grade(a)[0]
                without = nbgrader_utils.determine_grade(b)[0]
                if with_them != without:
                    problems.append(
                        f"the test cell {name} scores {without:g} without the marked cells "
                        f"and {with_them:g} with them"
                    )
                    continue
            errors = [_error(b), _error(a)]
            if errors[0] != errors[1]:
                problems.append(
                    f"the cell {name} "
                    + (f"raises {errors[0]} without the marked cells" if errors[0] else "")
                    + (" and " if all(errors) else "")
                    + (f"raises {errors[1]} with them" if errors[1] else "")
                )
    for kind in ("scores", "flags", "notes"):
        if not problems and getattr(whole, kind) != getattr(fast, kind):
            problems.append(
                f"the {kind} differ ({getattr(fast, kind)} without the marked cells, "
                f"{getattr(whole, kind)} with them)"
            )
    return problems


def _error(cell: NotebookNode) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {str(output.get('evalue', ''))[:120]}"
    return ""


def load_or_run(
    coursedir: CourseDirectory,
    config: Config,
    assignment: str,
    reports: str | Path,
    limits: Limits,
    log: Callable[[str], object] = print,
    bundle: Bundle | None = None,
) -> Reference:
    """The reference of this assignment on this machine: from reports/.../reference.json, or
    run now (and kept there). bundle -- the assignment's Bundle, when it is built already."""
    bundle = with_limits(bundle, limits) if bundle else build(coursedir, config, limits, assignment)
    key = bundle.assignment_key
    path = Path(reports) / "reference.json"
    try:
        kept = as_graded(json.loads(path.read_text()), key)
        if kept is not None:
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


def as_graded(kept: Reference, key: str) -> Reference | None:
    """A kept reference for the assignment as graded now (its key), or None: the reference of
    the cells the grade needs, or of the whole notebook when the course runs whole notebooks
    (the whole run of a reference graded both ways serves then)."""
    if kept.get("machine") != _machine():
        return None
    if kept.get("assignment_key") == key:
        return kept
    whole = kept.get("whole_notebook") or {}
    if whole.get("assignment_key") == key:
        return {**whole, "machine": kept["machine"]}
    return None


def limits_from_reference(reference: Reference, base: Limits) -> Limits:
    """base with the time limits derived from the reference run: each cell's from its own time
    (a cell grading skips from the whole run), the notebook's from the cells that ran."""
    seconds = dict(reference["cell_seconds"])
    for grade_id, taken in (reference.get("whole_notebook") or {}).get("cell_seconds", {}).items():
        seconds[grade_id] = max(taken, seconds.get(grade_id, 0))
    cell_limits = tuple(
        (grade_id, round(max(CELL_FLOOR, CELL_FACTOR * taken), 1))
        for grade_id, taken in sorted(seconds.items())
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


def whole_limits_from_reference(reference: Reference, limits: Limits) -> Limits | None:
    """The limits of a run of the whole notebook, for a submission that cannot be graded on
    the cells its grade needs alone: limits, with the notebook's time limit from the whole
    run; None when the reference ran whole (limits serve then)."""
    whole = reference.get("whole_notebook")
    if not whole:
        return None
    return limits.replace(
        notebook_timeout=round(max(NOTEBOOK_FLOOR, NOTEBOOK_FACTOR * whole["total_seconds"]), 1)
    )


def derived_limits(
    coursedir: CourseDirectory,
    config: Config,
    assignment: str,
    reports: str | Path,
    asked: Limits,
    derive: frozenset[str],
    log: Callable[[str], object] = print,
    bundle: Bundle | None = None,
) -> tuple[Limits, str, Limits | None]:
    """(limits, one line saying where the time limits come from, the limits of a whole run or
    None when they are the same).

    asked -- the limits the course asks for (GradingLimits.limits()), its isolation decided
    derive -- the time limits to derive from the reference run (the others are kept as asked;
        with none to derive, no reference run is needed)"""
    if not derive:
        return asked, "time limits as set: " + describe(asked), None
    reference = load_or_run(coursedir, config, assignment, reports, asked, log=log, bundle=bundle)
    kept = {name: getattr(asked, name) for name in TIME_LIMITS if name not in derive}
    derived = limits_from_reference(reference, asked)
    whole = whole_limits_from_reference(reference, derived)
    if "cell_timeout" in kept:
        derived = derived.replace(cell_limits=())
    derived = derived.replace(**kept)
    if whole is not None:
        whole = whole.replace(cell_limits=derived.cell_limits, **kept)
    slowest = max(reference["cell_seconds"].items(), key=lambda item: item[1], default=("-", 0))
    ran = f"the source notebook ran {reference['total_seconds']:g} s here"
    if whole is not None:
        ran = (
            f"the cells the grade needs ran {reference['total_seconds']:g} s here, the whole "
            f"notebook {reference['whole_notebook']['total_seconds']:g} s"
        )
    note = (
        f"time limits from the reference run ({ran}, slowest cell {slowest[0]} {slowest[1]:g} s): "
        + describe(derived)
    )
    if whole is not None and whole.notebook_timeout != derived.notebook_timeout:
        note += f" ({whole.notebook_timeout:g} s for a notebook that must run whole)"
    return derived, note, whole


def describe(limits: Limits) -> str:
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
