"""The class report's page: the Jinja2 template instructor/templates/report.html.j2
(autoescaped; its CSS in report.css beside it) rendered from a ClassReport, with the static
pages' Content-Security-Policy (instructor/page_policy.py) in its head."""

import datetime
import re
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

import jinja2
from markupsafe import Markup, escape

from ..page_policy import content_security_policy
from .model import ClassReport, class_report

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "report.html.j2"
P = ParamSpec("P")


def _points(value: float | None) -> str:
    """A score as the page prints it: 7, 2.5, or - when there is none."""
    return "-" if value is None else f"{value:g}"


def _with_code(text: str) -> Markup:
    """Escaped text, with `code` between backquotes set as code."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _when(value: datetime.datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report's template: autoescaped, strict about names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(points=_points, with_code=_with_code, when=_when)
    # A static page: no script runs on it, whatever a student's id or text slipped in.
    env.globals["content_security_policy"] = content_security_policy()
    return env


def render_report(report: ClassReport) -> str:
    """The page of a report model, one HTML string with everything embedded."""
    return environment().get_template(TEMPLATE).render(report=report)


def _rendered(model: Callable[P, ClassReport]) -> Callable[P, str]:
    """A function taking the arguments of the model's builder and returning the page."""

    def page(*args: P.args, **kwargs: P.kwargs) -> str:
        return render_report(model(*args, **kwargs))

    return page


# The whole report page, as one HTML string with everything embedded, from the arguments of
# class_report (the model), then the template.
render = _rendered(class_report)
