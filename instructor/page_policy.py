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

The course's Formgrader extension (instructor/formgrader.py, which `python -m instructor lab
instructor` and the hub's instructor servers load) serves nbgrader's Formgrader pages through
subclasses of nbgrader's own handlers, registered before them, that add the policy header and
the nonce:

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
