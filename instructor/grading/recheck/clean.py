"""The clean re-check of one notebook's exercises, and the corrections it makes.

`CleanCheck` starts the re-check (run.py) before the notebook runs, so that the two run side by
side, and reads its answers after; an answer the kernel beside it may have disturbed is asked
again alone. `correct` then puts the clean score into each test cell whose notebook run gave
more than the answer earns on its own, and flags the submission for review.
"""

import time
from collections.abc import Sequence

import nbformat
from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils

from ..messages import Bundle, Exercise, Score
from ..sandbox import Limits
from ..sandbox.zygote import zygote
from ..workspace import Workspace
from . import child as recheck_child
from .codec import Request
from .run import (
    Answer,
    Checked,
    CleanScore,
    Rounds,
    SandboxRun,
    checks_namespace,
    drive,
    rounds,
)


def _cells_by_id(nb: NotebookNode) -> dict[str | None, NotebookNode]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


# The re-check's program in the sandbox, started by the launcher by its module name.
CHILD = recheck_child.__name__


# What the re-check's child may answer because something else ran beside it, not because of
# the answer: the notebook's kernel shares the worker's processor, and without root its
# process count. A first answer started beside the notebook's run that says one of these is
# asked again alone (see CleanCheck).
DISTURBED = frozenset({"timeout", "too_large", "crashed"})


def disturbed(answer: Answer) -> bool:
    """Is this answer of the re-check's child one to ask again alone (DISTURBED, or no answer
    at all)?"""
    replies, _ = answer
    return replies is None or any(reply.get("outcome") in DISTURBED for reply in replies.values())


class CleanCheck:
    """The clean re-check of a notebook's exercises (recheck/), started before the notebook
    runs so that the two run side by side.

    `start` runs the test cells with no answers yet and starts the sandbox on the calls they
    ask for; `result`, after the notebook's run, reads the answers and finishes the rounds.
    A first answer that might owe something to the notebook's run beside it (the re-check
    could not run, or an answer timed out, crashed or was too large: DISTURBED) is asked
    again alone, after the notebook's kernel has ended: such a submission is graded exactly
    as if the re-check had waited for the notebook.
    """

    def __init__(
        self,
        nb: NotebookNode,
        bundle: Bundle,
        exercises: Sequence[Exercise],
        workspace: Workspace,
        limits: Limits,
    ) -> None:
        cells = _cells_by_id(nb)
        self.exercises = exercises
        self.sources = {e.answer_cell: cells[e.answer_cell].source for e in exercises
                        if e.answer_cell in cells}  # fmt: skip
        self.checks = {
            name: checks_namespace(bundle.helpers[f"{name}.py"])
            for name in {e.checks for e in exercises}
        }
        self.limits = limits
        status = workspace.private / "recheck-status.json"
        self.spec = workspace.spec("recheck", CHILD, workspace.empty, status)
        self.zygote = (
            zygote(workspace.font_cache, workspace.preload) if workspace.use_zygote else None
        )
        self.steps: Rounds | None = None
        self.first: list[Request] = []
        self.running: SandboxRun | None = None
        self.checked: Checked | None = None if exercises else ({}, None)
        self.seconds = 0.0  # the sandbox's runs and this process's rounds

    def start(self) -> None:
        """The first round, and the sandbox started on its request (when it has one)."""
        if self.checked is not None:
            return
        began = time.monotonic()
        self.steps = rounds(self.exercises, self.sources, self.checks)
        try:
            self.first = next(self.steps)
        except StopIteration as finished:
            self.checked = finished.value
        else:
            self.running = self._run(self.first)
        self.seconds += time.monotonic() - began

    def result(self) -> Checked:
        """({exercise name: CleanScore}, None) or (None, why it could not run)."""
        if self.steps is None:
            self.start()
        if self.checked is None and self.steps is not None and self.running is not None:
            answer = self._answer(self.running)
            if disturbed(answer):
                answer = self._ask(self.first)  # again, alone
            began = time.monotonic()
            self.checked = drive(self.steps, self._ask, answer)
            self.seconds += time.monotonic() - began
        assert self.checked is not None  # every branch above sets it
        return self.checked

    def stop(self) -> None:
        """End a sandbox run not read yet (the notebook's run failed: nobody will read it)."""
        if self.checked is None and self.running is not None:
            self.running.stop()

    def _run(self, request: list[Request]) -> SandboxRun:
        return SandboxRun(
            request, self.spec, timeout=self.limits.verify_timeout * len(request) + 60,
            per_exercise=self.limits.verify_timeout, zygote=self.zygote,
        )  # fmt: skip

    def _answer(self, run: SandboxRun) -> Answer:
        answer = run.result()
        self.seconds += run.seconds
        return answer

    def _ask(self, request: list[Request]) -> Answer:
        return self._answer(self._run(request))


def _in_kernel_points(cell: NotebookNode) -> float:
    points, _ = nbgrader_utils.determine_grade(cell)
    return float(points or 0)


def _ran(cell: NotebookNode) -> bool:
    return not any(o.get("ename") in ("NotRun",) for o in cell.get("outputs", []))


def correct(
    nb: NotebookNode,
    exercises: Sequence[Exercise],
    clean: dict[str, CleanScore] | None,
    flags: list[str],
) -> dict[str, Score]:
    """Put the clean score in each test cell whose notebook run gave more; return the scores."""
    cells = _cells_by_id(nb)
    scores: dict[str, Score] = {}
    for e in exercises:
        cell = cells.get(e.test_cell)
        if cell is None:
            continue
        in_kernel = _in_kernel_points(cell)
        found = clean.get(e.name) if clean else None
        clean_points, messages = (found.points, found.messages) if found else (None, "")
        final = in_kernel
        if not _ran(cell):
            flags.append(
                f"{e.name}: its test did not run (scored 0)"
                + (
                    f"; the answer on its own earns {clean_points:g} / {e.points:g}"
                    if found
                    else ""
                )
            )
        elif found and in_kernel > found.points + 1e-9:
            final = found.points
            first = _first_problem(messages)
            flags.append(
                f"{e.name}: the notebook's run reported {in_kernel:g} / {e.points:g} but the "
                f"answer run on its own earns {clean_points:g}; scored {clean_points:g}"
                + (f" ({first})" if first else "")
            )
            cell.outputs = [
                nbformat.v4.new_output(
                    "stream",
                    name="stdout",
                    text=(
                        f"The grader re-checked this answer on its own, away from the rest of "
                        f"the notebook: it earns {clean_points:g} / {e.points:g} (the "
                        f"notebook's run reported {in_kernel:g}).\n{messages}"
                    ),
                ),
                nbformat.v4.new_output(
                    "execute_result",
                    data={"text/plain": repr(float(found.points))},
                    execution_count=cell.get("execution_count"),
                ),
            ]
        scores[e.name] = Score(in_kernel, clean_points, final, float(e.points))
    return scores


def _first_problem(messages: str) -> str:
    for line in messages.splitlines():
        line = line.strip()
        if line.startswith("- "):
            return line[2:200]
    return ""
