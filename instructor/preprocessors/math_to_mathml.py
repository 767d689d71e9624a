"""The math of the feedback page as MathML, written when the page is made.

nbgrader's feedback page leaves `$...$` in the text for MathJax, loaded from a CDN: offline
the math stays raw, and in JupyterLab's HTML viewer no script runs until the student clicks
"Trust HTML". MathToMathML, a generate_feedback preprocessor (nbgrader_config.py), turns
every `$...$` and `$$...$$` of the markdown cells into MathML with latex2mathml (pure
Python, pinned in requirements.txt). Browsers draw MathML themselves, so the page needs no
script and no network.

It changes markdown cells only, after WithholdHiddenTests has done its work on the code
cells and their outputs: nothing it writes comes from a test. Code (`...` and fenced
blocks) is left as it is, and so is a formula latex2mathml cannot read.
"""

import re
from typing import Any

from latex2mathml.converter import convert
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

# Code, which keeps its dollars: fenced blocks and inline spans.
CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.DOTALL)
# $$display$$, then $inline$ (not a price: no space just inside the dollars, no digit after;
# it may run over a line break of the paragraph, never over a blank line).
DISPLAY = re.compile(r"\$\$(.+?)\$\$", re.DOTALL)
INLINE = re.compile(r"(?<![\\$])\$(?=\S)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<=\S)\$(?!\d)")


def to_mathml(latex: str, display: bool) -> str | None:
    """The MathML of a formula; None when latex2mathml cannot read it."""
    try:
        return str(convert(latex.strip(), display="block" if display else "inline"))
    except Exception:  # an unknown command: the formula stays as the instructor wrote it
        return None


def replace_math(markdown: str) -> str:
    """The markdown with its formulas as MathML, its code untouched."""
    pieces = CODE.split(markdown)
    for i in range(0, len(pieces), 2):  # the even pieces are text, the odd ones code
        text = DISPLAY.sub(lambda m: to_mathml(m.group(1), True) or m.group(0), pieces[i])
        pieces[i] = INLINE.sub(lambda m: to_mathml(m.group(1), False) or m.group(0), text)
    return "".join(pieces)


class MathToMathML(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader is untyped
    """generate_feedback preprocessor: the formulas of markdown cells as MathML."""

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = replace_math(cell.source)
        return nb, resources
