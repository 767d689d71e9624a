"""What the parts of the grading engine send one another: frozen dataclasses, no string keys.

    Exercise  one graded exercise, as the source notebook declares it
    Skippable one cell the source notebook marks as one a grading may skip (needed.py)
    Bundle    what every worker needs to grade any submission of an assignment (bundle.py)
    Task      one submission to grade (session.py -> worker.py)
    Result    what grading one submission gave (worker.py -> record.py)
    Score     one exercise's points in a Result

A Bundle and its Tasks travel to Dask workers by pickle; the package is uploaded with them.
"""

from dataclasses import dataclass, field
from typing import Any

from .sandbox import Limits
from .scan import Guarded


@dataclass(frozen=True)
class Exercise:
    """One graded exercise, declared in its test cell's metadata (see bundle.declared).

    name -- short name, used in summaries and reports ("sigmoid")
    notebook -- the id (file name without .ipynb) of the notebook it is in
    test_cell -- nbgrader grade id of its test cell, whose points are the exercise's
    answer_cell -- nbgrader grade id of the cell where the student writes the function
    function -- name of the graded function
    checks -- helper module (file name without .py) whose namespace the test cell runs in
    points -- the test cell's nbgrader points
    test_source -- the test cell's code in the SOURCE notebook, hidden tests included
    """

    name: str
    notebook: str
    test_cell: str
    answer_cell: str
    function: str
    checks: str
    points: float
    test_source: str


@dataclass(frozen=True)
class Skippable:
    """A read-only code cell the source notebook marks as one a grading may skip, in its
    metadata: `"grading": {"skip": "the trainings"}` (needed.py).

    notebook -- the id of the notebook it is in; grade_id -- its nbgrader grade id ("" for a
        cell without one, which bundle.py refuses)
    what -- how the feedback names it and the cells like it ("the trainings")
    source -- its code in the SOURCE notebook: a submission's cell is skipped only when it
        still holds this code
    writes -- the variables it sets or changes: a student's cell that reads one of them makes
        its notebook run whole
    """

    notebook: str
    grade_id: str
    what: str
    source: str
    writes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bundle:
    """Everything a worker needs to grade any submission of one assignment.

    notebooks -- the ids of the assignment's notebooks (file names without .ipynb), in order
    gradebook -- SQLite bytes of a gradebook holding only the assignment's notebooks and cells
        (no student, no grade), for nbgrader's sanitizing preprocessors
    helpers -- the source assignment's other files, by relative path: they overwrite any file
        of the same name a student submitted, as nbgrader does
    config -- the nbgrader configuration sections the worker's preprocessors read
    guarded -- names and modules answers must not rebind (scan.Guarded)
    assignment_key -- the assignment as graded (cells, helpers, exercises, marks, grader
        version)
    fingerprint -- the assignment as graded and the limits
    skippable -- the cells a grading may skip, as the SOURCE notebooks mark them (empty when
        the course runs whole notebooks: c.CourseGrading.run_whole_notebook)
    preload -- the modules the kernels of the assignment import anyway, which the kernel
        zygote loads once (the course's file of the assignment, course_data.py)
    """

    assignment: str
    notebooks: tuple[str, ...]
    gradebook: bytes
    helpers: dict[str, bytes]
    exercises: tuple[Exercise, ...]
    config: dict[str, dict[str, Any]]
    guarded: Guarded
    assignment_key: str
    fingerprint: str
    skippable: tuple[Skippable, ...] = ()
    preload: tuple[str, ...] = ()

    def exercise(self, name: str) -> Exercise:
        return next(e for e in self.exercises if e.name == name)

    def skippable_in(self, notebook_id: str) -> tuple[Skippable, ...]:
        """The marks of one notebook."""
        return tuple(mark for mark in self.skippable if mark.notebook == notebook_id)


@dataclass(frozen=True)
class Task:
    """One submission to grade, with everything the worker needs besides the Bundle.

    notebooks -- {notebook id: the normalised notebook (normalise.py), as JSON text}: the
        notebooks of the assignment the student submitted
    files -- the submission's other regular files, by relative path
    hide -- folders the submission's code must not see
    workdir -- where the notebook runs in an isolated sandbox (the path nbgrader would use)
    whole_limits -- the limits of a run of the whole notebook, for a notebook that cannot be
        graded on the cells its grade needs alone (None: limits)
    """

    student: str
    notebooks: dict[str, str]
    limits: Limits
    files: dict[str, bytes] = field(default_factory=dict)
    hide: tuple[str, ...] = ()
    workdir: str | None = None
    whole_limits: Limits | None = None


@dataclass(frozen=True)
class Score:
    """One exercise of a graded submission: points from the notebook's own run, from the clean
    re-check (None when it could not run), the points kept, and the most possible."""

    in_kernel: float
    clean: float | None
    final: float
    max: float


@dataclass(frozen=True)
class Result:
    """What grading one submission gave.

    status -- "graded", "rejected" (reason says why) or "failed" (the grader's fault: reason
        and trace say what happened; the submission is graded again on the next run)
    notebooks -- {notebook id: the graded notebook, as JSON text} (graded only)
    scores -- {exercise name: Score}
    notes -- one line per repair, incident or error, for the summary
    flags -- one line per reason to review the submission by hand
    review -- grade ids of the test cells to mark for manual grading
    isolation -- the sandbox's isolation: "namespaces" or "limits"
    cell_seconds -- seconds each code cell ran, by grade id (or position)
    recheck_seconds -- seconds the clean re-check took
    skipped -- the grade ids of the marked cells the grader did not run
    ran -- one line: what ran, when the assignment marks cells a grading may skip ("the cells
        the grade needs ...", or "the whole notebook: " and why); "" otherwise
    worker -- where it was graded; seconds -- how long it took
    """

    student: str
    status: str
    reason: str = ""
    notebooks: dict[str, str] = field(default_factory=dict)
    scores: dict[str, Score] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    review: tuple[tuple[str, str], ...] = ()
    isolation: str | None = None
    cell_seconds: dict[str, float] = field(default_factory=dict)
    recheck_seconds: float = 0.0
    skipped: tuple[str, ...] = ()
    ran: str = ""
    worker: str | None = None
    seconds: float | None = None
    trace: str = ""
