"""The points of an exercise live in one place: its grade cell's nbgrader metadata.

A test cell of the course ends with `grade_exercise(...)`, which returns the FRACTION of the
exercise's points the answer earned (0 to 1; full marks show as no result at all, which
nbgrader, and its Validate button, read as every point): the test code cannot know the points, which the
instructor sets in the cell's metadata (the Create Assignment panel edits them there). After
the notebook has run, this preprocessor turns that fraction into points, fraction x the cell's
`points`, in the form nbgrader reads as partial credit: the cell's result as a number.
"""

from collections.abc import Mapping
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution


def fraction_of(output: Mapping[str, Any]) -> float | None:
    """The fraction an execute_result holds, or None when it holds no number."""
    text = output.get("data", {}).get("text/plain")
    if isinstance(text, list):
        text = "".join(text)
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def points_output(points: float, maximum: float, execution_count: int | None) -> NotebookNode:
    """The result of a grade cell as nbgrader scores it, shown as points to a reader."""
    output: NotebookNode = nbformat.v4.new_output(
        "execute_result",
        data={
            "text/plain": repr(float(points)),
            "text/markdown": f"**Points for this exercise: {points:g} / {maximum:g}**",
        },
        execution_count=execution_count,
    )
    return output


def _failed(output: Mapping[str, Any]) -> bool:
    return output.get("output_type") == "error" or (
        output.get("output_type") == "stream" and output.get("name") == "stderr"
    )


def to_points(cell: NotebookNode) -> float | None:
    """Rewrite a grade cell's fractional result as points; return the points, or None when
    nbgrader's own rule decides (an error or stderr: zero; a result that is no number)."""
    if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
        return None
    maximum = float(cell.metadata["nbgrader"]["points"])
    outputs = cell.get("outputs", [])
    for index, output in enumerate(outputs):
        if _failed(output):
            return None
        if output.get("output_type") != "execute_result":
            continue
        fraction = fraction_of(output)
        if fraction is None:
            return None  # nbgrader decides (full points and a warning): the re-check corrects
        points = round(min(max(fraction, 0.0), 1.0) * maximum, 2)
        cell.outputs[index] = points_output(points, maximum, output.get("execution_count"))
        return points
    # No result: full marks, which grade_exercise shows as nothing and nbgrader reads as the
    # whole of the points; the graded notebook says so in points.
    cell.setdefault("outputs", []).append(
        points_output(maximum, maximum, cell.get("execution_count"))
    )
    return maximum


class ExercisePoints(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Turns each grade cell's result, the fraction earned, into points from its metadata."""

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        for cell in nb.cells:
            to_points(cell)
        return nb, resources
