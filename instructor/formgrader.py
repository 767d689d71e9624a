"""The course's page of nbgrader's Formgrader: the submissions refused as made in another
student's name (a Jupyter server extension of instructors' servers).

A student can make a folder in the exchange's inbound in a classmate's name. The course never
collects it (exchange/forgeries.py) and records it with the login that made it; instructors
must see it where they work, in the Formgrader:

- /formgrader/forgeries, a Formgrader page of its own (with nbgrader's look and menu): every
  forgery of the course, for every assignment, with the student it claimed to be, the login
  that made it (the folder's owner), when it was submitted, when it was found and by what
  (grade on submit, or a collect). The names come from students: the page is rendered with
  every value escaped as text.
- A notice at the top of each of nbgrader's own Formgrader pages while there is any forgery:
  how many, and a link to that page. It is added through nbgrader's base template, which a
  template of the course's extends (Jinja's inheritance); nbgrader's pages are otherwise left
  as they are.

jupyter_server loads extensions in alphabetical order, so this one (instructor.formgrader)
is loaded before nbgrader's formgrader and its page is found before nbgrader's catch-all
"not found" page; the notice is added by the start hook, once every extension is loaded and
nbgrader's templates exist. `python -m instructor lab instructor` and the hub's instructors
load it (instructor/lab.py, hub/jupyterhub_config.py).
"""

import copy
import datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

TEMPLATES = Path(__file__).parent / "templates" / "formgrader"
PAGE = "/formgrader/forgeries"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "instructor.formgrader"}]


def reports_folder(formgrader: Any) -> Path:
    """The reports folder of the Formgrader's course (c.CourseGrading.reports_directory, else
    reports/ in the course root)."""
    from .grading.session import reports_base

    config = copy.deepcopy(formgrader.config)
    config.CourseDirectory.root = formgrader.coursedir.root
    return reports_base(config)


def course_forgeries(settings: dict[str, Any]) -> list[dict[str, str]]:
    """The course's forgeries as the page shows them (times in UTC, to the second)."""
    from .exchange import forgeries

    formgrader = settings.get("nbgrader_formgrader")
    if formgrader is None:
        return []
    rows = []
    for f in forgeries.read_all(reports_folder(formgrader)):
        rows.append(
            {
                "assignment": f.assignment,
                "student": f.student,
                "owner": f.owner,
                "submitted": _utc(f.submitted),
                "found": _utc(f.found),
                "by": f.by,
                "folder": f.folder,
            }
        )
    return rows


def _utc(moment: str) -> str:
    try:
        when = datetime.datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def _loader(nbgrader: Any) -> ChoiceLoader:
    """The course's templates first (its base.tpl extends nbgrader's, named nbgrader/base.tpl),
    then nbgrader's."""
    return ChoiceLoader(
        [FileSystemLoader(str(TEMPLATES)), PrefixLoader({"nbgrader": nbgrader}), nbgrader]
    )


def page_environment(settings: dict[str, Any]) -> Environment:
    """The Jinja environment of the course's Formgrader page: every value escaped."""
    from nbgrader.server_extensions.formgrader.handlers import template_path

    env = settings.get("course_formgrader_env")
    if env is None:
        env = Environment(autoescape=True, loader=_loader(FileSystemLoader(template_path)))
        env.globals["course_forgeries"] = lambda: len(course_forgeries(settings))
        settings["course_formgrader_env"] = env
    return env


def add_notice(settings: dict[str, Any]) -> bool:
    """Make nbgrader's Formgrader pages carry the notice of forgeries (its templates looked up
    through the course's base.tpl first); False when nbgrader's Formgrader is not loaded."""
    env = settings.get("nbgrader_jinja2_env")
    if env is None:
        return False
    if not getattr(env, "course_notice", False):
        env.loader = _loader(env.loader)
        env.globals["course_forgeries"] = lambda: len(course_forgeries(settings))
        env.course_notice = True
    return True


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.formgrader.base import (
        BaseHandler,
        check_notebook_dir,
        check_xsrf,
    )
    from tornado import web

    class ForgeriesHandler(BaseHandler):  # nbgrader's, which ships no types
        """The Forgeries page (nbgrader's handler: the server's login, its XSRF check)."""

        @web.authenticated
        @check_xsrf
        @check_notebook_dir
        def get(self) -> None:
            if "nbgrader_formgrader" not in self.settings:
                raise web.HTTPError(404)
            add_notice(self.settings)
            env = page_environment(self.settings)
            self.write(
                env.get_template("forgeries.tpl").render(
                    base_url=self.base_url, forgeries=course_forgeries(self.settings)
                )
            )

    webapp = serverapp.web_app
    pattern = url_path_join(webapp.settings["base_url"], PAGE.lstrip("/")) + "/?"
    webapp.add_handlers(".*$", [(pattern, ForgeriesHandler)])
    serverapp.log.info("Loaded the course's Formgrader page, %s", PAGE)


async def _start_jupyter_server_extension(serverapp: Any) -> None:
    if not add_notice(serverapp.web_app.settings):
        serverapp.log.info("nbgrader's Formgrader is not loaded: no notice of forgeries")
