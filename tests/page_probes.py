"""What a page that shows the corpus of script vectors (tests/corpus/script_vectors.py) did:
the markers the vectors logged, the requests it sent to a Jupyter API, the dialogs it opened,
the Content-Security-Policy violations it reported. Used by the tests of the instructor's pages
(tests/hub/test_browser_hub.py, tests/pages/test_submission_pages.py)."""

import hashlib
import time
from pathlib import Path
from urllib.parse import urlsplit

from corpus import script_vectors as vectors

# A page's own report of what its policy blocked (the sample names the handler or script).
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.log("csp-violation: " + e.violatedDirective + " " + (e.sample || e.blockedURI));
});
"""


class Probe:
    """Everything a page did that a vector would do: watch it from before it loads."""

    def __init__(self, page, api_prefix):
        self.page, self.api_prefix = page, api_prefix
        self.console, self.requests, self.dialogs = [], [], []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", lambda message: self.console.append(message.text))
        page.on("request", self._request)
        page.on("dialog", self._dialog)

    def _request(self, request):
        self.requests.append(f"{request.method} {request.url}")

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def ran(self):
        """The vectors whose marker was logged."""
        return sorted(
            {line.split(vectors.MARKER, 1)[1] for line in self.console if vectors.MARKER in line}
        )

    def api_requests(self):
        """The requests the page sent to the Jupyter API (its own Formgrader API aside)."""
        api = self.api_prefix + "api"
        paths = [(r, urlsplit(r.split(" ", 1)[1]).path) for r in self.requests]
        return [r for r, path in paths if path == api or path.startswith(api + "/")]

    def violations(self):
        return [line for line in self.console if line.startswith("csp-violation:")]

    def click_every_link(self, settle_s=1.0):
        """Click each link the corpus names CLICK (a vector that waits for the instructor)."""
        links = self.page.get_by_text(vectors.CLICK, exact=True)
        for index in range(links.count()):
            links.nth(index).click()
            time.sleep(settle_s)

    def plots(self, scope="body"):
        """(drawn, width) of every PNG image under scope: drawn when the browser decoded it."""
        return self.page.eval_on_selector_all(
            f'{scope} img[src^="data:image/png"]',
            "images => images.map(i => [i.complete && i.naturalWidth > 0, i.naturalWidth])",
        )

    def insert(self, scope="body", settle_s=1.0):
        """Put the second wall's markup into the page as if a sanitizer had let it through:
        an image with an error handler, a script element, a javascript: link (clicked)."""
        self.page.eval_on_selector(
            scope,
            """(element, [html, code]) => {
                element.insertAdjacentHTML("beforeend", html);
                const script = document.createElement("script");
                script.textContent = code;
                element.appendChild(script);
            }""",
            [SECOND_WALL_HTML, vectors.script("second-wall-script")],
        )
        self.page.click("#second-wall-link")
        time.sleep(settle_s)


# The second wall's vectors: what a sanitizer might miss, put into a page by the test itself.
SECOND_WALL = ["second-wall-handler", "second-wall-link", "second-wall-script"]
SECOND_WALL_HTML = (
    f'<img src="x-missing" onerror="{vectors.js("second-wall-handler")}">'
    f'<a id="second-wall-link" href="javascript:{vectors.js("second-wall-link")}">wall</a>'
)


def fingerprint(folder, skip=("gradebook.db",)):
    """{relative path: sha256} of every file under folder: names starting with skip aside, and
    Python's bytecode caches (the instructor's server writes them when it imports the course's
    extension)."""
    seen = {}
    for path in sorted(Path(folder).rglob("*")):
        if "__pycache__" in path.parts or path.name.startswith(skip):
            continue
        if path.is_file() and not path.is_symlink():
            seen[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen
