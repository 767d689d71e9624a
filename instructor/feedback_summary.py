"""The summary at the top of a student's feedback page: what a student reads in a minute.

`name_exercises` titles each exercise's test cell ("Exercise 2, initialize_parameters_random")
and marks it and its answer cell in their metadata (metadata.feedback), from which the page's
template (instructor/templates/feedback/) lays the page out; it reads what the tests found
(the mistakes they named: mistakes.py, the error that stopped them). `summary` writes the
markdown of the page's top: the score, each exercise by name with its points, the mistakes
named and what to do next, then one line per notice.
"""

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader import utils

from .mistakes import named_mistakes

IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


@dataclass
class ExerciseResult:
    """What the page says of one exercise at the top: its title, points and mistakes."""

    title: str
    grade_id: str
    score: float | None
    points: float
    mistakes: list[tuple[str, str]] = field(default_factory=list)  # (title, what to do next) pairs
    stopped: str = ""  # the error that stopped the tests, if one did


def name_exercises(nb: NotebookNode) -> list["ExerciseResult"]:
    """Title every test cell "Exercise N, <function>" and read what its tests found.

    The page's template lays the page out from what this leaves in each cell's
    metadata.feedback: a test cell gets {"title", "exercise": N}, the answer cell its test
    names (grading.answer_cell, a solution cell) gets {"exercise": N, "answer": True}; the
    template shows each exercise's answer and test in a section of its own, titled so, near
    the top, and folds the rest of the notebook."""
    answers = {
        str(cell.metadata["nbgrader"].get("grade_id")): cell
        for cell in nb.cells
        if cell.cell_type == "code" and utils.is_solution(cell)
    }
    results: list[ExerciseResult] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grading = cell.metadata.get("grading") or {}
        function = str(grading.get("function", ""))
        name = function if IDENTIFIER.match(function) else str(meta.get("grade_id", ""))
        number = len(results) + 1
        title = f"Exercise {number}, {name}"
        cell.metadata["feedback"] = {"title": title, "exercise": number}
        answer = answers.pop(str(grading.get("answer_cell", "")), None)  # one test each
        if answer is not None:
            answer.metadata["feedback"] = {"exercise": number, "answer": True}
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        result = ExerciseResult(
            title,
            str(meta.get("grade_id", "")),
            meta.get("score"),
            float(meta.get("points", 0) or 0),
            mistakes=[(m.title, m.hint) for m in named_mistakes(text)],
            stopped=f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else "",
        )
        results.append(result)
    return results


def _safe(text: str) -> str:
    """Text for the summary's markdown: HTML escaped outside `code` (inside it, the markdown
    renderer escapes it)."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else html.escape(p, quote=False) for p in parts)


def summary(
    results: Sequence["ExerciseResult"], info: Mapping[str, Any], notices: Sequence[str] = ()
) -> str:
    """The markdown at the top of the page: the score, each exercise by name with its points,
    the mistakes named and what to do next, then one line per notice."""
    lines = ["## Your feedback at a glance", ""]
    if "score" in info and "max_score" in info:
        lines += [f"**Score: {float(info['score']):g} / {float(info['max_score']):g}**", ""]
    for result in results:
        score = "?" if result.score is None else f"{float(result.score):g}"
        head = f"- **{_safe(result.title)}: {score} / {result.points:g} points.**"
        if result.stopped:
            lines.append(
                f"{head} The tests stopped with an error, {_safe(result.stopped)}; the test "
                "cell below says more."
            )
        elif not result.mistakes and result.score is not None and result.score >= result.points:
            lines.append(f"{head} All checks passed.")
        elif not result.mistakes:
            lines.append(f"{head} See the test cell below for what the checks found.")
        else:
            lines.append(head)
            for title, hint in result.mistakes:
                lines.append(f"  - Mistake: {_safe(title)}. What to do: {_safe(hint)}")
    if results:
        lines += ["", "Each exercise's answer and test, below, show the details."]
    if notices:
        lines += [""] + [f"{notice}  " for notice in notices]
    return "\n".join(lines).rstrip()
