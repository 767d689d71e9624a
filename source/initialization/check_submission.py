"""Check the Initialization notebook for what spoils grading, before you submit it.

The simplest way: save the notebook (Ctrl+S), then run its last cell, which does

    from check_submission import check_notebook
    check_notebook("Initialization.ipynb")

Run there, the check also compares the answer cells as they were last run with the saved
file, and tells you to save first when they differ. In a terminal, in the folder of the
notebook (in JupyterLab: File > New > Terminal), it checks the saved file:

    python3 check_submission.py                      # checks Initialization.ipynb
    python3 check_submission.py path/to/notebook.ipynb

(on Windows: `py check_submission.py`). It reports, naming each cell by its exercise or its
first line, and quoting the line at fault:

- code cells that are not part of the assignment,
- `print` calls in the answer cells,
- a graded function whose name or parameters were changed,
- a graded function that reads variables from outside itself (global variables),
- a locked cell whose content was changed,
- a copied cell (two cells with the same grade id, or the same cell id),
- a deleted cell, or a cell whose type was changed (code to markdown, say),
- an exercise not done yet (`raise NotImplementedError()` still in its answer cell),
- an answer cell that Python cannot read, or that stops before its function is defined (an
  annotation whose name is not imported, say), with the line and Python's error,
- (in the notebook) an answer cell whose code, as last run, is not what the file holds,
- an exercise whose saved answer fails its public test (the same test as under the exercise,
  on the notebook's example), with the mistakes it names.

For that last point the check runs each saved answer cell on its own and calls the public
test on it; this needs numpy and public_tests.py next to the notebook, which the notebook's
kernel always has. Without them (a terminal whose Python has no numpy, say) the report says
plainly that the public tests were not run, and never that the notebook is ready. The rest
of the check reads the file only and needs nothing but Python's standard library. It does
not tell whether your answers are right on other networks: the grader checks that. Exit
status: 0 when it finds nothing, 1 when it finds problems, 2 when the check cannot be done
(the file is missing or is not a notebook, say).
"""

import argparse
import ast
import builtins
import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import re
import sys
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_NOTEBOOK = "Initialization.ipynb"

# The cells of the assignment, in order: nbgrader grade id -> (cell type, how the report names
# the cell). Every cell of the notebook you received carries its grade id in its metadata; you
# never need to look at it: the report names a cell by its exercise or by its first line.
NOTEBOOK_CELLS = {
    "intro": ("markdown", "the title, `# Initialization`"),
    "submission-advice": ("markdown", "`## Before you submit`"),
    "packages-title": ("markdown", "`## 1 - Packages`"),
    "imports": ("code", "the imports, `import numpy as np`"),
    "data-title": ("markdown", "`## 2 - The data set`"),
    "load-data": ("code", "`train_X, train_Y, test_X, test_Y = load_dataset()`"),
    "data-goal": ("markdown", "`The classifier must tell the blue points...`"),
    "model-title": ("markdown", "`## 3 - The network`"),
    "model": ("code", "the model cell, `def model(...)`"),
    "zeros-title": ("markdown", "`## 4 - Zero initialization`"),
    "initialize_parameters_zeros": ("code", "exercise 1, `initialize_parameters_zeros`"),
    "public-test-zeros": ("code", "the public test of exercise 1"),
    "expected-zeros": ("markdown", "the expected output of exercise 1"),
    "test_initialize_parameters_zeros": ("code", "the grading cell of exercise 1"),
    "train-zeros-intro": ("markdown", "`Now train the network... starting from zeros.`"),
    "train-zeros": ("code", "the training with zeros, `parameters = model(...)`"),
    "zeros-verdict": ("markdown", "`That went badly...`"),
    "predictions-zeros": ("code", "the predictions with zeros"),
    "boundary-zeros": ("code", "the decision boundary with zeros"),
    "zeros-why": ("markdown", "`Every prediction is 0...`"),
    "random-title": ("markdown", "`## 5 - Large random initialization`"),
    "initialize_parameters_random": ("code", "exercise 2, `initialize_parameters_random`"),
    "public-test-random": ("code", "the public test of exercise 2"),
    "expected-random": ("markdown", "the expected output of exercise 2"),
    "test_initialize_parameters_random": ("code", "the grading cell of exercise 2"),
    "train-random-intro": (
        "markdown",
        "`Train the network... starting from large random weights.`",
    ),
    "train-random": ("code", "the training with large random weights"),
    "random-inf": ("markdown", "`The first cost is inf...`"),
    "predictions-random": ("code", "the predictions with large random weights"),
    "boundary-random": ("code", "the decision boundary with large random weights"),
    "random-observations": ("markdown", "the observations on large random weights"),
    "normal-vs-uniform": ("markdown", "`Optional reading: normal or uniform draws?`"),
    "he-title": ("markdown", "`## 6 - He initialization`"),
    "initialize_parameters_he": ("code", "exercise 3, `initialize_parameters_he`"),
    "public-test-he": ("code", "the public test of exercise 3"),
    "expected-he": ("markdown", "the expected output of exercise 3"),
    "test_initialize_parameters_he": ("code", "the grading cell of exercise 3"),
    "scale-title": ("markdown", "`### Why the scale matters...`"),
    "scale-plot": ("code", "the plot of the signal through a deep network"),
    "scale-observations": ("markdown", "`What the plot shows`"),
    "train-he-intro": ("markdown", "`Train the network... with He initialization.`"),
    "train-he": ("code", "the training with He initialization"),
    "boundary-he": ("code", "the decision boundary with He initialization"),
    "he-observations": ("markdown", "the observations on He initialization"),
    "conclusions-title": ("markdown", "`## 7 - Conclusions`"),
    "conclusions": ("code", "the conclusions table"),
    "recap": ("markdown", "`Congratulations!...`"),
    "check-title": ("markdown", "`## Check your notebook before you submit`"),
    "check-submission": ("code", "this check, `check_notebook(...)`"),
}

# The answer cells (the cells you write in): grade id -> (the function the cell defines, its
# parameters). The grader calls these functions by name, with exactly these parameters.
ANSWER_CELLS = {
    "initialize_parameters_zeros": ("initialize_parameters_zeros", ["layers_dims"]),
    "initialize_parameters_random": ("initialize_parameters_random", ["layers_dims"]),
    "initialize_parameters_he": ("initialize_parameters_he", ["layers_dims"]),
}

# Names a graded function may read without being given them: the modules and functions that
# the notebook's first code cell imports (numpy as np, and so on). They are tools, not data, so
# reading them does not make the result depend on the notebook's state. Python's builtins
# (len, range, str, ...) are allowed too, and so are the functions, classes and modules that
# the answer cell itself defines or imports.
NOTEBOOK_IMPORTS = set(
    """np plt Markdown display sigmoid relu compute_loss forward_propagation
    backward_propagation update_parameters predict load_dataset plot_decision_boundary
    predict_dec""".split()
)

STUB = "raise NotImplementedError"
FRESH_COPY = "start again from a fresh copy of the assignment and copy your answers into it."

# What the check says about each kind of problem, and the fix. A kind is "rule" or
# "rule/variant"; the {fields} are filled in by the check that finds the problem.
MESSAGES = {
    "extra-cell": (
        "this code cell is not part of the assignment.",
        "delete it (put any code you need in the answer cells); the grader runs every cell, "
        "so extra code can change your results.",
    ),
    "duplicate/grade-id": (
        "this cell is a copy of cell {original} ({name}): the grader grades only the last "
        "of them and runs the other as an extra cell.",
        "delete one of the two (keep the one with your work in it).",
    ),
    "duplicate/cell-id": (
        "this cell has the same hidden cell id (`{cell_id}`) as cell {original}; every cell "
        "needs its own id.",
        "open the notebook in JupyterLab and save it: Jupyter gives the cell a new id.",
    ),
    "missing": (
        "A cell was deleted: {name}, which belongs {where}.",
        "copy it back from a fresh copy of the assignment (copying a whole cell keeps the "
        "hidden marks the grader finds it by).",
    ),
    "cell-type": (
        "this cell should be a {expected} cell, but it is now a {found} cell.",
        "select the cell and choose {menu} in the cell type menu above the notebook.",
    ),
    "locked-edited": (
        "this cell is locked, but its content was changed; the grader puts the original back, "
        "so your change will not count.",
        "undo the change, or copy the cell back from a fresh copy of the assignment.",
    ),
    "stub": (
        "this exercise is not done yet: `raise NotImplementedError()` is still here.",
        "replace this line with your code.",
    ),
    "syntax": (
        "Python cannot read this cell, at line {at}: {error} So the cell defines nothing, "
        "and its public test was not run.",
        "correct line {at}; running the cell shows Python's error message.",
    ),
    "print": (
        "`print(...)` is an extra print.",
        "delete this line; the graded functions must not print anything.",
    ),
    "signature/no-function": (
        "this cell no longer defines the graded function `{name}`.",
        "put back `{expected}` and its body (a fresh copy of the assignment has them).",
    ),
    "signature/renamed": (
        "the graded function must be called `{name}`, not `{found}`.",
        "change this line back to `{expected}`.",
    ),
    "signature/parameters": (
        "`{found}` changed the parameters; the grader calls `{expected}`.",
        "change this line back to `{expected}`.",
    ),
    "global/read": (
        "`{name}` is a global variable: the function neither defines it nor is given it.",
        "compute it inside the function from its parameters; the grader calls the function on "
        "its own, with other layer sizes.",
    ),
    "global/statement": (
        "`global {names}` makes the function use global variables.",
        "delete this line and keep the variables inside the function.",
    ),
    "unreadable/missing-file": (
        "There is no file {path} in {folder}.",
        "run the check in the notebook's folder, or give the notebook's path.",
    ),
    "unreadable/folder": (
        "{path} is a folder, not a notebook.",
        "give the path of the notebook file, e.g. {path}/Initialization.ipynb.",
    ),
    "unreadable/os-error": ("Cannot read {path}: {error}.", FRESH_COPY),
    "unreadable/not-text": ("{path} is not a text file.", FRESH_COPY),
    "unreadable/json": (
        "{path} is not a valid notebook: its JSON is broken at line {row}, column {column} "
        "({error}).",
        "if JupyterLab can still open it, save it from there; if not, " + FRESH_COPY,
    ),
    "unreadable/not-notebook": ("{path} is JSON, but not a Jupyter notebook.", FRESH_COPY),
    "unsaved": (
        "the code you ran in this cell is not what the saved file holds: the check reads the "
        "saved file, so it did not see your latest changes.",
        "save the notebook (Ctrl+S); if you changed this cell since you last ran it, run it "
        "again; then run this check again.",
    ),
    "public-test": (
        "its public test fails on the notebook's example: {mistakes}.",
        "run the public test under this exercise to read why; correct your answer, run both "
        "cells again, save, and run this check again. (Submitted as it is, it earns partial "
        "credit at most.)",
    ),
    "public-test/error": (
        "this cell, run on its own, stopped at line {at}: {error} So its public test was not run.",
        "correct line {at}, run the cell again to see that it runs, then save.",
    ),
    "public-test/error-elsewhere": (
        "this cell could not run on its own: {error} So its public test was not run.",
        "run the cell to see Python's message and correct it.",
    ),
    "internal": (
        "The check itself failed ({error}); this says nothing about your notebook.",
        "tell the course staff, and go through the notebook's advice by hand.",
    ),
}


@dataclass
class Problem:
    """One thing to fix before submitting, with where it is and how to fix it."""

    rule: str  # the check that found it: "print", "signature", "global", "stub", ...
    cell: int | None  # the cell's number in the notebook, counting every cell from 1
    label: str  # how the report names the cell: its exercise, or its first line
    line: int | None  # the line in the cell, counting from 1
    message: str
    fix: str
    after: int = field(default=0, repr=False)  # for a deleted cell: the cell it came after
    code: str = field(default="", repr=False)  # the text of the line at fault

    def __str__(self):
        if self.cell is None:
            where = ""
        elif not self.code:
            where = f"In {self.label} (cell {self.cell}): "
        else:
            where = f"In {self.label} (cell {self.cell}), the line `{self.code}`: "
        return f"{where}{self.message}\n    Fix: {self.fix}"


def problem(kind, cell=None, line=None, after=0, **fields):
    """The Problem of this kind (a key of MESSAGES), found in cell (a Cell) at line."""
    message, fix = (text.format(**fields) for text in MESSAGES[kind])
    rule = kind.split("/")[0]
    if cell is None:
        return Problem(rule, None, fields.get("name", ""), line, message, fix, after)
    lines = cell.source.splitlines()
    code = _shorten(lines[line - 1].strip(), 60) if line and 0 < line <= len(lines) else ""
    return Problem(rule, cell.number, cell.label, line, message, fix, after, code)


def _shorten(text, width):
    return text if len(text) <= width else text[: width - 3] + "..."


class Problems(list):
    """The problems found: a list, shown only as the printed report when it ends a cell.

    not_run -- why the public tests were not run ("" when they were, or had nothing to run)
    """

    not_run = ""

    def _ipython_display_(self):
        """Show nothing more in the notebook: check_notebook has printed the report already."""


class UnreadableNotebook(Exception):
    """The file is not a notebook this check can read; its problem says why."""

    def __init__(self, kind, **fields):
        self.problem = problem(kind, **fields)
        super().__init__(self.problem.message)


@dataclass
class Cell:
    """A cell of the checked notebook."""

    number: int  # counting every cell from 1, as in the notebook
    cell_type: str
    source: str
    cell_id: str | None
    nbgrader: dict  # the cell's nbgrader metadata; empty for cells nbgrader does not know

    @property
    def grade_id(self):
        """The nbgrader grade id, or None for a cell nbgrader does not know."""
        return self.nbgrader.get("grade_id")

    @property
    def label(self):
        """How the report names the cell: its exercise or role in the assignment, or else the
        cell that starts with its first line."""
        if self.grade_id in NOTEBOOK_CELLS:
            return NOTEBOOK_CELLS[self.grade_id][1]
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        if not first:
            return "an empty cell"
        return f"the cell starting `{_shorten(first, 60)}`"


# Reading the notebook -------------------------------------------------------------------------


def read_notebook(path):
    """The notebook's cells, or UnreadableNotebook saying why they cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnreadableNotebook("unreadable/missing-file", path=path, folder=Path.cwd()) from None
    except IsADirectoryError:
        raise UnreadableNotebook("unreadable/folder", path=path) from None
    except UnicodeDecodeError:
        raise UnreadableNotebook("unreadable/not-text", path=path) from None
    except OSError as error:
        raise UnreadableNotebook("unreadable/os-error", path=path, error=error.strerror) from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableNotebook(
            "unreadable/json", path=path, row=error.lineno, column=error.colno, error=error.msg
        ) from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(_is_cell(raw) for raw in cells):
        raise UnreadableNotebook("unreadable/not-notebook", path=path)
    return [_read_cell(number, raw) for number, raw in enumerate(cells, 1)]


def _is_cell(raw):
    """Whether this piece of the notebook's JSON looks like a cell."""
    return isinstance(raw, dict) and isinstance(raw.get("cell_type"), str)


def _read_cell(number, raw):
    """A Cell from the notebook's JSON for it."""
    source = raw.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    metadata = raw.get("metadata")
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if not isinstance(nbgrader, dict) or not isinstance(nbgrader.get("grade_id"), str):
        nbgrader = {}
    cell_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return Cell(number, raw["cell_type"], str(source), cell_id, nbgrader)


# Cells added, copied, deleted or changed ------------------------------------------------------


def extra_cells(cells):
    """Code cells that are not part of the assignment (empty ones do no harm and are let be)."""
    return [
        problem("extra-cell", cell)
        for cell in cells
        if cell.grade_id not in NOTEBOOK_CELLS and cell.cell_type == "code" and cell.source.strip()
    ]


def copied_cells(cells):
    """Cells that repeat the grade id, or else the cell id, of an earlier cell."""
    problems = []
    by_grade_id, by_cell_id = {}, {}
    for cell in cells:
        if cell.grade_id in by_grade_id:
            original = by_grade_id[cell.grade_id].number
            name = NOTEBOOK_CELLS.get(cell.grade_id, ("", "the same assignment cell"))[1]
            problems.append(problem("duplicate/grade-id", cell, original=original, name=name))
        elif cell.cell_id in by_cell_id:
            original = by_cell_id[cell.cell_id].number
            problems.append(
                problem("duplicate/cell-id", cell, original=original, cell_id=cell.cell_id)
            )
        if cell.grade_id:
            by_grade_id.setdefault(cell.grade_id, cell)
        if cell.cell_id is not None:
            by_cell_id.setdefault(cell.cell_id, cell)
    return problems


def missing_cells(cells):
    """Cells of the assignment that are no longer in the notebook."""
    present = {cell.grade_id: cell for cell in cells if cell.grade_id}
    problems = []
    previous = None  # the last assignment cell found so far, to say where a missing one was
    for grade_id in NOTEBOOK_CELLS:
        if grade_id in present:
            previous = present[grade_id]
            continue
        where = f"after {previous.label} (cell {previous.number})" if previous else "first"
        after = previous.number if previous else 0
        name = NOTEBOOK_CELLS[grade_id][1]
        problems.append(problem("missing", after=after, name=name, where=where))
    return problems


def changed_types(cells):
    """Assignment cells whose type was changed, for instance from code to markdown."""
    problems = []
    for cell in cells:
        expected = NOTEBOOK_CELLS.get(cell.grade_id, (None,))[0]
        if expected is not None and cell.cell_type != expected:
            fields = {"expected": expected, "found": cell.cell_type, "menu": expected.title()}
            problems.append(problem("cell-type", cell, **fields))
    return problems


def nbgrader_checksum(cell):
    """The checksum nbgrader records for a cell: md5 of its source, type, flags and grade id."""
    meta = cell.nbgrader
    grade, solution = meta.get("grade", False), meta.get("solution", False)
    # nbgrader's rule: answer cells are never locked, test cells always are.
    locked = False if solution else True if grade else meta.get("locked", False)
    parts = [cell.source, cell.cell_type, str(grade), str(solution), str(locked), cell.grade_id]
    if grade:
        parts.append(str(float(meta["points"])))
    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def is_locked(cell):
    """Whether nbgrader treats the cell as read-only (test cells and locked cells)."""
    meta = cell.nbgrader
    return not meta.get("solution", False) and bool(meta.get("grade") or meta.get("locked"))


def is_edited(cell):
    """Whether the cell no longer matches the checksum recorded in its nbgrader metadata."""
    recorded = cell.nbgrader.get("checksum")
    try:
        return recorded is not None and nbgrader_checksum(cell) != recorded
    except (KeyError, TypeError, ValueError):  # its nbgrader metadata was edited too
        return True


def edited_locked_cells(cells):
    """Locked assignment cells whose content was changed (a changed type is reported apart)."""
    return [
        problem("locked-edited", cell)
        for cell in cells
        if NOTEBOOK_CELLS.get(cell.grade_id, (None,))[0] == cell.cell_type
        and is_locked(cell)
        and is_edited(cell)
    ]


# The answer cells ---------------------------------------------------------------------------


def answer_cell_problems(cells):
    """What is wrong inside the answer cells: stubs, prints, signatures, global variables."""
    problems = []
    for cell in cells:
        if cell.grade_id not in ANSWER_CELLS or cell.cell_type != "code":
            continue
        problems += unfinished_stub(cell)
        tree = parse(cell)
        if isinstance(tree, Problem):
            problems.append(tree)
            continue
        problems += extra_prints(cell, tree)
        function, signature_problems = graded_function(cell, tree)
        problems += signature_problems
        if function is not None:
            problems += global_variables(cell, tree, function)
    return problems


def unfinished_stub(cell):
    """The `raise NotImplementedError()` line of an exercise not done yet."""
    lines = enumerate(cell.source.splitlines(), 1)
    return [
        problem("stub", cell, number) for number, line in lines if line.strip().startswith(STUB)
    ]


def parse(cell):
    """The cell's syntax tree, or a Problem when Python cannot read the cell."""
    # IPython commands (%magic, !shell) are not Python: blank them, keeping line numbers.
    lines = cell.source.splitlines()
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escapes: not this check's business
            return ast.parse(code)
    except SyntaxError as error:
        line = error.lineno or 1
        return problem("syntax", cell, line, at=line, error=_sentence(error.msg))


def extra_prints(cell, tree):
    """Every print call in the cell (the answer cells of the assignment have none)."""
    lines = sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "print"
    )
    return [problem("print", cell, line) for line in lines]


def graded_function(cell, tree):
    """The cell's graded function (None if there is none), and any change to its signature."""
    name, parameters = ANSWER_CELLS[cell.grade_id]
    expected = f"def {name}({', '.join(parameters)}):"
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    if not functions:
        return None, [problem("signature/no-function", cell, name=name, expected=expected)]
    function = next((node for node in functions if node.name == name), functions[0])
    found = f"def {function.name}({ast.unparse(function.args)}):"
    if found == expected:
        return function, []
    kind = "signature/renamed" if function.name != name else "signature/parameters"
    found = function.name if function.name != name else found
    return function, [
        problem(kind, cell, function.lineno, name=name, found=found, expected=expected)
    ]


def names_bound_in(function):
    """Names the function gives a value itself: parameters, assignments, loop variables, ..."""
    bound = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
    return bound


def cell_definitions(tree):
    """Functions, classes and modules that the cell itself defines or imports at its top."""
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def global_variables(cell, tree, function):
    """`global` statements in the graded function, and the outside names it reads."""
    statements = [node for node in ast.walk(function) if isinstance(node, ast.Global)]
    declared = {name for node in statements for name in node.names}
    allowed = (names_bound_in(function) - declared) | set(dir(builtins))
    allowed |= NOTEBOOK_IMPORTS | cell_definitions(tree)
    first_use = {}  # name -> the first line that reads it
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id not in allowed and node.id not in declared:
                first_use[node.id] = min(node.lineno, first_use.get(node.id, node.lineno))
    problems = [
        problem("global/statement", cell, node.lineno, names=", ".join(node.names))
        for node in statements
    ]
    reads = sorted(first_use.items(), key=lambda item: (item[1], item[0]))
    problems += [problem("global/read", cell, line, name=name) for name, line in reads]
    return problems


# Unsaved changes ------------------------------------------------------------------------------


def executed_sources():
    """The cells run so far in this Jupyter kernel, oldest first, as typed; [] outside one."""
    ipython = sys.modules.get("IPython")  # only there when the check runs inside IPython
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return []
    return [str(source) for source in shell.history_manager.input_hist_raw[1:]]


def _normalised(source):
    """The source without trailing spaces and blank lines at its ends, for comparing."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def unsaved_cells(cells, executed):
    """Answer cells whose code, as last run in the kernel, differs from the saved file.

    executed -- the sources of the cells run, oldest first (executed_sources())
    """
    problems = []
    for cell in cells:
        if cell.grade_id not in ANSWER_CELLS or cell.cell_type != "code":
            continue
        name = ANSWER_CELLS[cell.grade_id][0]
        defines = re.compile(rf"^def\s+{name}\s*\(", re.MULTILINE)
        runs = [source for source in executed if defines.search(source)]
        if runs and _normalised(runs[-1]) != _normalised(cell.source):
            problems.append(problem("unsaved", cell))
    return problems


# The report -----------------------------------------------------------------------------------


def find_problems(cells, executed=(), tested=()):
    """Every problem in the notebook's cells, in the order of the notebook.

    executed -- the sources of the cells run in the kernel, when the check runs in one
    tested -- the problems the public tests found (public_test_problems)
    """
    problems = (
        unsaved_cells(cells, executed)
        + extra_cells(cells)
        + copied_cells(cells)
        + changed_types(cells)
        + edited_locked_cells(cells)
        + answer_cell_problems(cells)
        + list(tested)
        + missing_cells(cells)
    )

    def position(found):
        cell = found.cell if found.cell is not None else found.after + 0.5
        return (cell, found.line or 0)

    return sorted(problems, key=position)


# The public tests ------------------------------------------------------------------------------


def public_test_problems(cells, folder):
    """Run the public test of each answered exercise on its answer as saved; return (the
    problems found, why the tests could not run or "").

    This part needs numpy and the notebook's public_tests.py (in the notebook's kernel both
    are always there); everything else in this file needs only the standard library. Each
    answer cell runs on its own, with `np` only, as the grader calls the function. An answer
    cell that is not done yet, or that the file check already reports as unreadable or
    without its function, is left to that report.
    """
    answers = [
        cell
        for cell in cells
        if cell.grade_id in ANSWER_CELLS
        and cell.cell_type == "code"
        and STUB not in cell.source
        and not isinstance(parse(cell), Problem)
    ]
    if not answers:
        return [], ""
    try:
        numpy = importlib.import_module("numpy")
        tests = _public_tests_module(folder)
    except Exception as error:  # numpy or public_tests.py missing: said, not hidden
        return [], f"{type(error).__name__}: {error}"
    problems = []
    for cell in answers:
        name = ANSWER_CELLS[cell.grade_id][0]
        namespace = {"np": numpy, "__name__": "answer"}
        code = "\n".join(
            "" if line.lstrip().startswith(("%", "!")) else line
            for line in cell.source.splitlines()
        )
        quiet = io.StringIO()
        try:
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(compile(code, f"<answer cell {cell.number}>", "exec"), namespace)
                    function = namespace.get(name)
                    found = tests.public_problems(function, name) if callable(function) else []
        except Exception as error:  # the cell itself fails when it runs
            problems.append(_failed_run(cell, error))
            continue
        if found:
            titles = "; ".join(f"Mistake: {title}" for title in found)
            problems.append(problem("public-test", cell, mistakes=titles))
    return problems, ""


def _failed_run(cell, error):
    """The problem of an answer cell that raised when it ran on its own: the line of the cell
    where it stopped (the last line of the cell that the error went through) and the error."""
    message = _sentence(f"{type(error).__name__}: {error}")
    line, step = None, error.__traceback__
    while step is not None:
        if step.tb_frame.f_code.co_filename == f"<answer cell {cell.number}>":
            line = step.tb_lineno
        step = step.tb_next
    if line is None:
        return problem("public-test/error-elsewhere", cell, error=message)
    return problem("public-test/error", cell, line, at=line, error=message)


def _sentence(text):
    """Python's message as a sentence of the report: ending with a full stop unless it ends
    with a mark of its own, as in "line 4: '(' was never closed."."""
    text = str(text).strip()
    return text if text.endswith((".", "?", "!")) else text + "."


def _public_tests_module(folder):
    """The public_tests module next to the notebook (the one its kernel imported, if any)."""
    if "public_tests" in sys.modules:
        return sys.modules["public_tests"]
    path = Path(folder) / "public_tests.py"
    if not path.is_file():
        return importlib.import_module("public_tests")
    spec = importlib.util.spec_from_file_location("public_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The report -----------------------------------------------------------------------------------


WIDTH = 79  # every line of the report fits a notebook's output area unbroken


def _wrap(text, first="", rest="    "):
    """Text as lines of at most WIDTH characters, broken between words only: never inside
    a word, nor inside `code` unless the code is longer than a line."""
    protected = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", "\0"), text)
    lines = textwrap.wrap(
        protected,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(line.replace("\0", " ") for line in lines)


def _shown(found):
    """A problem as printed: its message, then its fix, each wrapped."""
    message, _, fix = str(found).partition("\n    Fix: ")
    return _wrap(message) + ("\n" + _wrap(fix, "    Fix: ", "    ") if fix else "")


def report(path, problems, not_run=""):
    """The text printed for the student; not_run says why the public tests did not run."""
    if problems and problems[0].rule in ("unreadable", "internal"):
        return _shown(problems[0])
    if not problems and not not_run:
        return _wrap(
            f"No problems found in {path}, and the public tests pass on its saved answers: "
            "it is ready to submit. (The grader also checks your functions on other network "
            "shapes.)"
        )
    lines = []
    if problems:
        one = len(problems) == 1
        count = f"{len(problems)} problem" + ("" if one else "s")
        lines += [f"{count} found in {path} (as last saved):", ""]
        lines += [_shown(found) for found in problems]
    else:
        lines += [_wrap(f"No problems found in the file {path} (as last saved).")]
    if not_run:
        lines += [
            "",
            _wrap(
                f"The public tests were not run here ({not_run}), so this check cannot say "
                "whether your answers pass them: run the public test under each exercise in "
                "the notebook before you submit."
            ),
        ]
    if problems:
        fix = f"Fix {'it' if len(problems) == 1 else 'them'}, save the notebook and run this "
        lines += ["", _wrap(fix + "check again.")]
    return "\n".join(lines)


def check_notebook(path=DEFAULT_NOTEBOOK):
    """Check the saved notebook at path, print the report and return the problems found.

    Run in a notebook, it also compares the answer cells as last run with the saved file.
    Never raises and never writes to stderr, so it can run in a notebook cell that the grader
    also runs.
    """
    not_run = ""
    try:
        cells = read_notebook(path)
        tested, not_run = public_test_problems(cells, Path(path).parent)
        problems = Problems(find_problems(cells, executed_sources(), tested))
    except UnreadableNotebook as error:
        problems = Problems([error.problem])
    except Exception as error:  # a bug of this check must not look like a problem of yours
        problems = Problems([problem("internal", error=f"{type(error).__name__}: {error}")])
    problems.not_run = not_run
    print(report(path, problems, not_run))
    return problems


def main(argv=None):
    """The command line: exit 0 when clean, 1 with problems, 2 when the check cannot be done."""
    parser = argparse.ArgumentParser(
        description="Check the Initialization notebook for what spoils grading."
    )
    parser.add_argument(
        "notebook", nargs="?", default=DEFAULT_NOTEBOOK, help="default: %(default)s"
    )
    notebook = parser.parse_args(argv).notebook
    # A terminal's encoding may lack characters of the notebook's code (Windows writes a
    # redirected report in its own code page, cp1252 say): those are written as \u2192 escapes
    # rather than stopping the check with an error.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    problems = check_notebook(notebook)
    if any(found.rule in ("unreadable", "internal") for found in problems):
        return 2
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
