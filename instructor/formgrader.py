"""The course's Jupyter server extension for nbgrader's Formgrader (instructors' servers only).

It serves nbgrader's Formgrader with the course's two additions:

- every page with a Content-Security-Policy (instructor/page_policy.py writes the policies):
  nbgrader's page handlers are subclassed (`PagePolicy`, `FilePolicy`), registered before
  nbgrader's own routes, and each response carries a nonce of its own that only the page's own
  scripts carry; the submission page gets it through nbconvert's resources (the course's
  "formgrade" template puts it on nbgrader's scripts), the other pages are rendered with
  autoescaping, then their scripts get it; a submission's own files are served sandboxed;
- /formgrader/forgeries, a page of its own (with nbgrader's look and menu): every submission
  the course refused as made in another student's name (exchange/forgeries.py), with the
  student it claimed to be, the login that made it (the folder's owner), when it was submitted,
  when it was found and by what (grade on submit, or a collect); and a notice at the top of
  every page of the Formgrader while there is any, through nbgrader's base template, which a
  template of the course's extends (Jinja's inheritance). The names come from students: every
  value is escaped as text.

Both go through one Jinja environment (the course's templates, then nbgrader's, autoescaped).
`python -m instructor lab instructor` and the hub's instructors load it (instructor/lab.py,
hub/jupyterhub_config.py).
"""

import copy
import datetime
import secrets
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.formgrader import base, handlers
from nbgrader.server_extensions.formgrader.base import BaseHandler, check_notebook_dir, check_xsrf
from tornado import web

from .exchange import forgeries
from .grading.session import reports_base
from .page_policy import FILE_POLICY, FRAMING, content_security_policy, with_nonce

TEMPLATES = Path(__file__).parent / "templates" / "formgrader"
PAGE = "/formgrader/forgeries"


def reports_folder(formgrader: Any) -> Path:
    """The reports folder of the Formgrader's course (c.CourseGrading.reports_directory, else
    reports/ in the course root)."""
    config = copy.deepcopy(formgrader.config)
    config.CourseDirectory.root = formgrader.coursedir.root
    return reports_base(config)


def course_forgeries(settings: dict[str, Any]) -> list[dict[str, str]]:
    """The course's forgeries as the page shows them (times in UTC, to the second)."""
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
    """The Jinja environment of the Formgrader's pages: the course's templates, then nbgrader's
    (its base.tpl, extended by the course's, as nbgrader/base.tpl), every value escaped."""
    env = Environment(
        autoescape=True,
        loader=_loader(FileSystemLoader(handlers.template_path)),
    )
    env.globals["course_forgeries"] = lambda: len(course_forgeries(settings))
    return env


class _NonceInResources:
    """nbgrader's exporter of the submission page, handing the response's nonce to the template
    (resources["csp_nonce"])."""

    def __init__(self, exporter: Any, nonce: str) -> None:
        self.exporter, self.nonce = exporter, nonce

    def from_filename(self, filename: str, resources: dict[str, Any] | None = None, **kw: Any):
        resources = {**(resources or {}), "csp_nonce": self.nonce}
        return self.exporter.from_filename(filename, resources=resources, **kw)


class PagePolicy:
    """Mixed into a page handler of the Formgrader's: the policy header with a nonce of the
    response, the nonce handed to whatever renders the page."""

    settings: dict[str, Any]

    @property
    def csp_nonce(self) -> str:
        nonce = getattr(self, "_csp_nonce", None)
        if nonce is None:
            nonce = self._csp_nonce = secrets.token_urlsafe(18)
        return nonce

    @property
    def content_security_policy(self) -> str:
        return f"{content_security_policy(self.csp_nonce)}; {FRAMING}"

    @property
    def exporter(self) -> _NonceInResources:
        return _NonceInResources(self.settings["nbgrader_exporter"], self.csp_nonce)

    def render(self, name: str, **ns: Any) -> str:
        template = self.settings["course_formgrader_templates"].get_template(name)
        return with_nonce(template.render(**ns), self.csp_nonce)


class FilePolicy:
    """Mixed into nbgrader's handler of a submission's files: served sandboxed."""

    @property
    def content_security_policy(self) -> str:
        return f"{FILE_POLICY}; {FRAMING}"


def policed_routes(base_url: str) -> list[tuple[Any, ...]]:
    """nbgrader's Formgrader routes, each with a subclass of nbgrader's handler that adds the
    policy (its static files and JSON API aside)."""
    routes = []
    for pattern, handler, *options in handlers.default_handlers:
        if not issubclass(handler, base.BaseHandler):
            continue  # static files of nbgrader's own
        if handler is handlers.SubmissionFilesHandler:
            mixin: type = FilePolicy
        else:
            mixin = PagePolicy
        policed = type(handler.__name__, (mixin, handler), {"__module__": __name__})
        routes.append((url_path_join(base_url, pattern.lstrip("/")), policed, *options))
    return routes


class ForgeriesHandler(PagePolicy, BaseHandler):  # nbgrader's handler, which ships no types
    """The Forgeries page (nbgrader's handler: the server's login, its XSRF check)."""

    @web.authenticated
    @check_xsrf
    @check_notebook_dir
    def get(self) -> None:
        if "nbgrader_formgrader" not in self.settings:
            raise web.HTTPError(404)
        self.write(
            self.render(
                "forgeries.tpl", base_url=self.base_url, forgeries=course_forgeries(self.settings)
            )
        )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "instructor.formgrader"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Serve the Formgrader's pages with the policy and the course's page of forgeries: the
    routes go first in the server's router, before nbgrader's own (jupyter_server loads the
    extensions in the order of their names, and tornado puts a new host's routes before its
    last rule)."""
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    web_app.settings["course_formgrader_templates"] = page_environment(web_app.settings)
    forgeries_page = url_path_join(base_url, PAGE.lstrip("/")) + "/?"
    web_app.add_handlers(".*$", [(forgeries_page, ForgeriesHandler), *policed_routes(base_url)])
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))
    serverapp.log.info(
        "The Formgrader's pages are served with the course's page policy, and %s", PAGE
    )


load_jupyter_server_extension = _load_jupyter_server_extension
