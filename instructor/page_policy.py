"""What the instructor's browser may run on a page that shows a student's work: the pages'
Content-Security-Policy, and the Jupyter server extension that serves the Formgrader with it.

A submission is written by someone who may want to act as the instructor: a script of theirs
that ran in the instructor's Jupyter page could call the instructor's Jupyter API with their
cookies (write into the course, open a terminal). The course's first wall is
`SanitizeSubmission` (instructor/preprocessors/sanitize_submission.py), which turns what a
submission holds into inert HTML before any page shows it. This module is the second wall:
every such page says, with a Content-Security-Policy, that no script runs on it but the page's
own, so a vector the sanitizer missed still does nothing.

- A static page (a student's feedback, the class report) has no script at all: its policy
  (`content_security_policy()`, no nonce) allows its embedded images and styles only. The
  pages carry it in a `<meta http-equiv="Content-Security-Policy">`, whatever serves them.
- A page of the Formgrader runs nbgrader's scripts. Its policy
  (`content_security_policy(nonce)`) allows the scripts that carry the page's nonce, a random
  value made for each response, and none other: no inline event handler, no `javascript:`
  link, no script element that a submission slipped in.

`load_jupyter_server_extension` is the extension (`--ServerApp.jpserver_extensions=
instructor.page_policy=True`; `python -m instructor lab instructor` and the hub's instructor
servers load it). It serves nbgrader's Formgrader pages through subclasses of nbgrader's own
handlers, registered before them, that add the policy header and the nonce:

- the submission page (nbgrader renders it with nbconvert and the "formgrade" template): the
  nonce is handed to the template in the resources (`csp_nonce`); the course's template
  (instructor/templates/formgrade/) puts it on nbgrader's scripts and repeats the policy in a
  meta element, which SanitizeSubmission writes;
- the other pages (nbgrader's Jinja templates, which hold no student data but the path of the
  request): rendered with autoescaping, so nothing from the URL becomes markup; every script
  element then is the template's own and gets the nonce; their three inline click handlers are
  bound by a script of the page instead (`BIND_CLICKS`), as the policy refuses inline handlers;
- the files of a submission (`/formgrader/submissions/<id>/<file>`, a student's HTML or SVG
  file among them): served sandboxed, as a document of no origin that runs nothing.

The other routes of the server (JupyterLab, its API, nbgrader's JSON API) keep Jupyter's own
policy: the extension touches nothing else.
"""

import re
import secrets
from typing import Any

# --- The policies ---------------------------------------------------------------------------


def content_security_policy(nonce: str | None = None) -> str:
    """The policy of a page that shows a student's work.

    Without a nonce, a static page's: nothing runs and nothing is fetched; its images are
    embedded (data: URLs) and its styles inline. With one, a Formgrader page's: the scripts
    carrying the nonce run, and they, the styles, images, fonts and requests of the page come
    from the Jupyter server itself; no plugin, no frame, no form to elsewhere, no base URL."""
    if not nonce:
        return "; ".join(
            [
                "default-src 'none'",
                "img-src data:",
                "style-src 'unsafe-inline'",
                "form-action 'none'",
            ]
        )
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


# A file of a submission (whatever its type): a document without origin that runs nothing.
FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"

# A page of the Formgrader may be framed by JupyterLab's Formgrader panel (same server) only.
FRAMING = "frame-ancestors 'self'"

# The inline click handlers of nbgrader's pages: the policy refuses inline handlers (Chrome
# reports each one as an error), so the server writes them as data-course-click attributes, and
# this script of the page binds the ones nbgrader's templates have, by their text, to the same
# calls (their functions are the pages' globals, some declared with `let`). Only the server's
# templates wrote them (the page is autoescaped); any other is left unbound.
BIND_CLICKS = """
var courseClicks = {
  "toggleAllNames()": function () { toggleAllNames(); },
  "createStudentModal();": function () { createStudentModal(); },
  "createAssignmentModal();": function () { createAssignmentModal(); }
};
document.querySelectorAll("[data-course-click]").forEach(function (element) {
  var call = courseClicks[element.dataset.courseClick];
  if (call) element.addEventListener("click", call);
});
"""

SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.IGNORECASE)
CLICK_HANDLER = re.compile(r"\sonclick\s*=\s*\"", re.IGNORECASE)


def with_nonce(page: str, nonce: str) -> str:
    """An autoescaped page of the server's own templates with the nonce on each script and the
    click handlers bound by a script of the page."""
    bind = f'<script nonce="{nonce}">{BIND_CLICKS}</script>\n'
    page = SCRIPT_TAG.sub(f'<script nonce="{nonce}"', page)
    page = CLICK_HANDLER.sub(' data-course-click="', page)
    end = page.lower().rfind("</body>")
    return page[:end] + bind + page[end:] if end >= 0 else page + bind


# --- The Jupyter server extension -------------------------------------------------------------


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "instructor.page_policy"}]


class _NonceInResources:
    """nbgrader's exporter of the submission page, handing the response's nonce to the template
    (resources["csp_nonce"])."""

    def __init__(self, exporter: Any, nonce: str) -> None:
        self.exporter, self.nonce = exporter, nonce

    def from_filename(self, filename: str, resources: dict[str, Any] | None = None, **kw: Any):
        resources = {**(resources or {}), "csp_nonce": self.nonce}
        return self.exporter.from_filename(filename, resources=resources, **kw)


class PagePolicy:
    """Mixed into nbgrader's page handlers: the policy header with a nonce of the response, the
    nonce handed to whatever renders the page."""

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


def _policy_handlers(base_url: str) -> list[tuple[Any, ...]]:
    """nbgrader's Formgrader routes, each with a subclass of nbgrader's handler that adds the
    policy (its static files and JSON API aside)."""
    from jupyter_server.utils import url_path_join
    from nbgrader.server_extensions.formgrader import base, handlers

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


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Serve the Formgrader's pages with the policy: the routes go first in the server's
    router, before nbgrader's own (extensions load in the order of their names)."""
    import jinja2
    from nbgrader.server_extensions.formgrader import handlers

    web_app = serverapp.web_app
    web_app.settings["course_formgrader_templates"] = jinja2.Environment(
        loader=jinja2.FileSystemLoader([handlers.template_path]), autoescape=True
    )
    web_app.add_handlers(".*$", _policy_handlers(web_app.settings["base_url"]))
    rules = web_app.default_router.rules
    rules.insert(0, rules.pop(-2))  # tornado puts a new host's routes before its last rule
    serverapp.log.info("The Formgrader's pages are served with the course's page policy.")


load_jupyter_server_extension = _load_jupyter_server_extension
