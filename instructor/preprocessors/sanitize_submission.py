"""A submission is data on every page that shows it: the Formgrader's, the feedback's.

nbconvert writes a notebook into an HTML page as it is: the `text/html` a cell displayed, the
HTML of a Markdown cell, a JavaScript output as a `<script>`. nbgrader's Formgrader renders a
student's graded notebook so, in the instructor's Jupyter page (nbconvert's `sanitize_html` is
off by default, and nbgrader's "formgrade" template renders Markdown cells without it anyway);
an `onerror` handler there runs as the instructor, with their cookies. SanitizeSubmission is
the preprocessor that makes the notebook inert before the page is written. The course's
configuration (nbgrader_config.py) runs it in every HTML page nbconvert makes of a notebook:
the Formgrader's submission page, and last of the feedback's preprocessors (the Formgrader's
"Generate feedback" button, `nbgrader generate_feedback`, the grading service).

What it does, cell by cell, with nh3 (the Python binding of the ammonia sanitizer) and one list
of what may stay (`TAGS`, `ATTRIBUTES`, `safe_url`):

- **Markdown cells** are rendered to HTML here, as nbconvert renders them (attachments
  included, as embedded images), then sanitized; the cell keeps that HTML as one HTML block,
  which the template's Markdown renderer passes through unchanged. Sanitizing the rendered
  HTML, not the Markdown, also catches what Markdown itself makes: `[x](javascript:...)`, the
  MathML that MathToMathML writes from a formula (latex2mathml copies `\\text{...}` as it is).
- **Outputs** keep text, PNG, JPEG, GIF and SVG images (the templates embed SVG as an image,
  where it runs nothing) and LaTeX (written as text); `text/html` is sanitized, `text/markdown`
  rendered and sanitized into `text/html`; anything else (`application/javascript`, widgets,
  PDF...) is dropped, and an output left empty says what was not shown. Output metadata keeps
  an image's numeric width and height and its alt text only (no `filenames`, no `isolated`).
- **Metadata** of the cells and the notebook: every string is HTML-escaped, as the templates
  write some of it into the page unescaped (nbgrader's grade id, the feedback's titles);
  nbgrader's comment on a cell (Markdown) is rendered and sanitized like a Markdown cell. A
  cell's `alt`, the text nbconvert gives the images of its outputs (the course's notebook
  describes each of its plots so), is the one string left as it is: the template escapes it in
  the attribute, and escaping it here too would show its `'` as `&#x27;`. An `alt` that is not
  a string is dropped. The notebook's widget state is dropped.
- Raw cells are sanitized as HTML.

What stays for grading: the student's plots, tables (pandas' included), formatted text, code,
math, links to the web. What goes: scripts, event handlers, `javascript:` and `data:` links,
styles sheets, frames, forms, SVG and other embedded documents, element ids (a student's
element could pose as a grade's input), images fetched from elsewhere.

It also writes the page's Content-Security-Policy into the resources
(`resources["content_security_policy"]`, instructor/page_policy.py): the static pages'
(no script at all) unless the Formgrader handed a nonce for its own scripts
(`resources["csp_nonce"]`). The templates put it in a meta element: the second wall.
"""

import html
import re
from collections.abc import Mapping
from typing import Any

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from ..page_policy import content_security_policy

Resources = dict[str, Any]

TEXT_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "tt", "u", "ul", "var", "wbr",
}  # fmt: skip
# MathML's presentation elements (what latex2mathml writes), without the ones that embed other
# markup (annotation-xml) or act (maction).
MATH_TAGS = {
    "math", "menclose", "merror", "mfenced", "mfrac", "mi", "mmultiscripts", "mn", "mo",
    "mover", "mpadded", "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt",
    "mstyle", "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder",
    "munderover", "none", "semantics",
}  # fmt: skip
TAGS = TEXT_TAGS | MATH_TAGS
MATH_ATTRIBUTES = {
    "accent", "accentunder", "close", "columnalign", "columnlines", "columnspacing", "depth",
    "display", "displaystyle", "fence", "form", "frame", "height", "largeop", "linethickness",
    "lspace", "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize",
    "movablelimits", "notation", "open", "rowalign", "rowlines", "rowspacing", "rspace",
    "scriptlevel", "separator", "separators", "stretchy", "symmetric", "voffset", "width",
}  # fmt: skip
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "title", "lang", "dir", "align", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "size", "face"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "details": {"open"},
    "table": {"border"},
    "time": {"datetime"},
    **{tag: set(MATH_ATTRIBUTES) for tag in MATH_TAGS},
}
# Elements removed with everything inside them (the rest of what is not allowed loses its
# tags and keeps its text).
REMOVED_WITH_CONTENT = {
    "script", "style", "svg", "template", "iframe", "object", "embed", "noscript", "textarea",
    "select", "title", "head", "frameset", "noembed", "noframes", "xmp", "plaintext",
}  # fmt: skip

IMAGE_DATA = re.compile(r"^data:image/(?:png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")
WEB_LINK = re.compile(r"^(?:https?:|mailto:)", re.IGNORECASE)
SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.-]*:")
# Style declarations that stay: colours, alignment, weight, borders, sizes; no url(), no
# expression(), no escapes, nothing that positions the element over the page.
STYLE_PROPERTIES = {
    "background-color", "border", "border-bottom", "border-collapse", "border-left",
    "border-right", "border-top", "color", "font-style", "font-weight", "height", "max-width",
    "min-width", "padding", "padding-bottom", "padding-left", "padding-right", "padding-top",
    "text-align", "text-decoration", "vertical-align", "white-space", "width",
}  # fmt: skip
STYLE_VALUE = re.compile(r"^[#\w\s.,%-]*$")

# The output types kept as they are: the templates write them as text or as an image.
KEPT_OUTPUTS = {"text/plain", "text/latex", "image/png", "image/jpeg", "image/gif", "image/svg+xml"}
NOT_SHOWN = "[An output of type {} is not shown: it could run code in this page.]"


def safe_url(url: str, image: bool) -> bool:
    """Whether a link (image=False) or an image's source may stay: web and mail links; images
    embedded as data; a path within the submission's own folder (no scheme, no leading slash,
    no `..`), or a fragment."""
    if image and IMAGE_DATA.match(url):
        return True
    if SCHEME.match(url):
        return not image and bool(WEB_LINK.match(url.strip()))
    path = url.strip().replace("\\", "/")
    return not path.startswith("/") and ".." not in path.split("/")


def _safe_style(value: str) -> str | None:
    """The declarations of a style attribute that stay (see STYLE_PROPERTIES), or None."""
    kept = []
    for declaration in value.split(";"):
        name, _, setting = declaration.partition(":")
        name, setting = name.strip().lower(), setting.strip()
        if name in STYLE_PROPERTIES and setting and STYLE_VALUE.match(setting):
            kept.append(f"{name}: {setting}")
    return "; ".join(kept) or None


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return _safe_style(value)
    if (element, attribute) in {("a", "href"), ("img", "src")}:
        return value if safe_url(value, image=element == "img") else None
    return value


def sanitize_html(text: str) -> str:
    """HTML with only what a page may show of a student's (see the module's docstring)."""
    return nh3.clean(
        text,
        tags=TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes={"http", "https", "mailto", "data"},
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


class _Renderer(IPythonRenderer):
    """nbconvert's Markdown renderer, with a cell's attachments as embedded images of the
    image types only (the renderer would take any type a notebook names, and stop the whole
    page on a missing one)."""

    def image(self, text: str, url: str, title: str | None = None) -> str:
        if url.startswith("attachment:"):
            url = _attachment(self.attachments.get(url[len("attachment:") :]))
        return str(super().image(text, url, title))


def _attachment(bundle: Any) -> str:
    if isinstance(bundle, Mapping):
        for mime in ("image/png", "image/jpeg", "image/gif", "image/svg+xml"):
            data = bundle.get(mime)
            if isinstance(data, str) and IMAGE_DATA.match(f"data:{mime};base64,{data}"):
                return f"data:{mime};base64,{data}"
    return ""


def markdown_block(source: str, attachments: Mapping[str, Any] | None = None) -> str:
    """Markdown as sanitized HTML, in one line: an HTML block that a Markdown renderer (the
    template's markdown2html) passes through as it is. Line breaks become character references,
    so a blank line inside a code block cannot end the block."""
    renderer = _Renderer(
        escape=False, attachments=dict(attachments or {}), exclude_anchor_links=True
    )
    rendered = str(MarkdownWithMath(renderer=renderer).render(source))
    safe = sanitize_html(rendered).strip().replace("\r", "").replace("\n", "&#10;")
    return f'<div class="submitted-markdown">{safe}</div>' if safe else ""


def _inert(value: Any) -> Any:
    """Every string in a metadata value, HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, Mapping):
        return {key: _inert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_inert(item) for item in value]
    return value


def _metadata(metadata: Mapping[str, Any]) -> NotebookNode:
    """A cell's metadata, inert; nbgrader's comment (Markdown) rendered and sanitized; its
    image description (`alt`) as given, which the template escapes."""
    inert = _inert({key: value for key, value in metadata.items() if key != "alt"})
    if isinstance(metadata.get("alt"), str):
        inert["alt"] = metadata["alt"]
    comment = (metadata.get("nbgrader") or {}).get("comment")
    if isinstance(comment, str) and isinstance(inert.get("nbgrader"), dict):
        inert["nbgrader"]["comment"] = markdown_block(comment)
    node: NotebookNode = from_dict(inert)
    return node


def _output_metadata(metadata: Any, kept: set[str]) -> dict[str, Any]:
    """Per image type: its numeric width and height, its alt text (escaped)."""
    result: dict[str, Any] = {}
    for mime in kept:
        given = metadata.get(mime) if isinstance(metadata, Mapping) else None
        if not isinstance(given, Mapping):
            continue
        entry = {
            key: given[key]
            for key in ("width", "height")
            if isinstance(given.get(key), int | float) and not isinstance(given.get(key), bool)
        }
        if isinstance(given.get("alt"), str):
            entry["alt"] = given["alt"]
        if entry:
            result[mime] = entry
    return result


def sanitize_output(output: NotebookNode, note: str = NOT_SHOWN) -> NotebookNode:
    """One output as a page may show it (see the module's docstring); note: what it says when
    nothing of it can be shown ({} is its types)."""
    if output.get("output_type") not in ("display_data", "execute_result"):
        return output  # stream and error outputs are text, which the templates escape
    data: dict[str, Any] = {}
    dropped = []
    for mime, value in output.get("data", {}).items():
        text = (
            value if isinstance(value, str) else "".join(value) if isinstance(value, list) else ""
        )
        if mime in KEPT_OUTPUTS:
            data[mime] = value
        elif mime == "text/html":
            data[mime] = sanitize_html(text)
        elif mime != "text/markdown":
            dropped.append(mime)
    markdown = output.get("data", {}).get("text/markdown")
    if markdown is not None and "text/html" not in data:
        text = markdown if isinstance(markdown, str) else "".join(markdown)
        data["text/html"] = markdown_block(text)
    if not data and dropped:
        data["text/plain"] = note.format(", ".join(sorted(dropped)))
    fields: dict[str, Any] = {
        "output_type": output["output_type"],
        "data": data,
        "metadata": _output_metadata(output.get("metadata", {}), set(data)),
    }
    if output["output_type"] == "execute_result":
        fields["execution_count"] = output.get("execution_count")
    node: NotebookNode = from_dict(fields)
    return node


class SanitizeSubmission(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """Make a notebook inert before an HTML page of it is written (see the module docstring)."""

    note = Unicode(
        NOT_SHOWN,
        help="What an output shows when nothing of it can be shown ({} is its types).",
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        for cell in nb.cells:
            self.preprocess_cell(cell, resources, 0)
        metadata = {key: value for key, value in nb.metadata.items() if key != "widgets"}
        nb.metadata = from_dict(_inert(metadata))
        resources["content_security_policy"] = content_security_policy(resources.get("csp_nonce"))
        return nb, resources

    def preprocess_cell(
        self, cell: NotebookNode, resources: Resources, index: int
    ) -> tuple[NotebookNode, Resources]:
        if cell.cell_type == "markdown":
            cell.source = markdown_block(cell.source, cell.get("attachments"))
        elif cell.cell_type == "raw":
            cell.source = sanitize_html(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = [
                sanitize_output(output, self.note) for output in cell.get("outputs", [])
            ]
        cell.pop("attachments", None)
        cell.metadata = _metadata(cell.metadata)
        return cell, resources
