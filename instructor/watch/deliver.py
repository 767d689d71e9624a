"""A student's feedback, made and released at once, with nbgrader's own code.

`feedback` runs what the Formgrader's "Generate feedback" and "Release feedback" buttons run
(nbgrader's NbGraderAPI) for one student: the course's feedback preprocessors
(nbgrader_config.py: GenerateFeedback.preprocessors, which withhold the hidden tests) make the
pages, and the exchange's feedback folder receives them under nbgrader's hash of the
submission's secret, so that `nbgrader fetch_feedback` and the Assignments tab of JupyterLab
deliver them to that student only.

`rejection` releases, instead, a page that says why a submission could not be graded, in the
same place, so the student learns it the same way.
"""

import copy
import html
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from ..errors import CourseError


class FeedbackError(CourseError):
    """nbgrader could not make or release the feedback; the message says what it reported."""


def _api(config: Config, show_verdicts: bool) -> NbGraderAPI:
    config = copy.deepcopy(config)
    config.WithholdHiddenTests.show_verdicts = show_verdicts
    config.NbGraderAPI.log_level = "ERROR"
    return NbGraderAPI(config=config)


def _check(result: Mapping[str, Any], what: str) -> None:
    if not result.get("success"):
        message = (result.get("error") or result.get("log") or "no reason given").strip()
        raise FeedbackError(f"{what} failed: {message.splitlines()[-1] if message else ''}")


def feedback(config: Config, assignment: str, student: str, show_verdicts: bool = True) -> None:
    """Generate and release one student's feedback (nbgrader's generate_feedback and
    release_feedback for that student). show_verdicts=False withholds the test cells' scores and
    outputs (the policy before the due date, when the instructor chose so)."""
    api = _api(config, show_verdicts)
    _check(api.generate_feedback(assignment, student, force=True), "generate_feedback")
    _check(api.release_feedback(assignment, student), "release_feedback")


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{notebook}</title></head>
<body style="font-family: sans-serif; max-width: 48em; margin: 2em auto">
<h1>{notebook}: your submission could not be graded</h1>
<p>{reason}</p>
<p>Nothing of it was graded. Fix this and submit again; your latest submission is the one that
counts.</p>
</body></html>
"""


def rejection(
    config: Config,
    assignment: str,
    student: str,
    notebooks: Iterable[str],
    submitted: str | Path,
    reason: str,
) -> None:
    """Release a page per notebook saying why the submission was rejected. `submitted` is the
    collected copy (it holds nbgrader's timestamp.txt and submission_secret.txt, which the
    exchange needs to give the page to this student only)."""
    coursedir = CourseDirectory(config=config)
    folder = Path(coursedir.format_path(coursedir.feedback_directory, student, assignment))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        source = Path(submitted) / name
        if not source.is_file():
            raise FeedbackError(f"the submission has no {name}, so no page can reach the student")
        shutil.copyfile(source, folder / name)
    for notebook in notebooks:
        page = PAGE.format(notebook=html.escape(notebook), reason=html.escape(reason))
        (folder / f"{notebook}.html").write_text(page, encoding="utf-8")
    _check(_api(config, True).release_feedback(assignment, student), "release_feedback")
