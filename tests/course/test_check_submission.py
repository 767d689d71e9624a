"""Does check_submission.py find, before submission, each mistake that spoils grading?

Every scenario is the release notebook answered correctly (as the demo class's correct student
answers it), with one mistake made in it, written to a temporary folder and checked both with
`check_notebook` and from a terminal.
"""

import ast
import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat
import numpy as np
import pytest
from answers import STUDENTS, fill
from harness import ROOT
from nbclient import NotebookClient

import check_submission

SCRIPT = ROOT / "check_submission.py"
NOTEBOOK = "Initialization.ipynb"
RELEASE_PATH = ROOT / "release" / "initialization" / NOTEBOOK
RELEASE = json.loads(RELEASE_PATH.read_text(encoding="utf-8"))  # as students receive it
RELEASE_NODE = nbformat.read(RELEASE_PATH, as_version=4)  # as nbformat gives it to nbgrader


# Building notebooks ---------------------------------------------------------------------------


def answered(students_answers):
    """The release notebook with these answers typed in, as plain JSON data."""
    return json.loads(json.dumps(fill(RELEASE_NODE, students_answers)))


def write(notebook, folder):
    """Write the notebook as Jupyter saves it (sources as lists of lines); return its path."""
    cells = [
        dict(cell, source=text_of(cell).splitlines(keepends=True)) for cell in notebook["cells"]
    ]
    text = json.dumps(dict(notebook, cells=cells), indent=1, ensure_ascii=False)
    path = Path(folder) / NOTEBOOK
    path.write_text(text + "\n", encoding="utf-8")
    return path


def index_of(notebook, grade_id):
    """The position (from 0) of the cell with this grade id."""
    ids = [cell["metadata"].get("nbgrader", {}).get("grade_id") for cell in notebook["cells"]]
    return ids.index(grade_id)


def text_of(cell):
    """The cell's source as one string (notebook files may store it as a list of lines)."""
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def edit(notebook, grade_id, old, new):
    """Replace old by new in the cell's source; return the cell's number (from 1) and text."""
    cell = notebook["cells"][index_of(notebook, grade_id)]
    text = text_of(cell)
    assert old in text, f"{old!r} is not in the release's cell {grade_id}"
    cell["source"] = text.replace(old, new, 1)
    return index_of(notebook, grade_id) + 1, cell["source"]


def line_of(text, fragment):
    """The number (from 1) of the first line of text containing fragment."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def new_code_cell(source, cell_id="a1b2c3d4"):
    """A code cell without nbgrader metadata, as JupyterLab adds it."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


def run_cli(folder, *args, python=(sys.executable,)):
    """Run the check from a terminal in folder."""
    return subprocess.run([*python, str(SCRIPT), *args], cwd=folder, capture_output=True, text=True)


def unwrapped(report):
    """The report with each wrapped message and fix joined back into one line (continuation
    lines start with four spaces, a fix with "    Fix: ")."""
    return re.sub(r"\n    (?!Fix: )", " ", report)


# One scenario per mistake ---------------------------------------------------------------------


class Expected(NamedTuple):
    """The one problem the check must report: its rule, cell, line and part of its message."""

    rule: str
    cell: int | None
    line: int | None
    says: str


def extra_code_cell(nb):
    """A code cell of one's own, to try the function out."""
    at = index_of(nb, "initialize_parameters_zeros") + 1
    nb["cells"].insert(at, new_code_cell("print(initialize_parameters_zeros([2, 1]))"))
    return Expected("extra-cell", at + 1, None, "not part of the assignment")


def print_in_answer_cell(nb):
    """A print left in a graded function, to see what it returns."""
    number, text = edit(
        nb, "initialize_parameters_he", "    return", "    print(parameters)\n    return"
    )
    return Expected("print", number, line_of(text, "print(parameters)"), "extra print")


def renamed_function(nb):
    """The graded function renamed."""
    number, text = edit(nb, "initialize_parameters_zeros", "def initialize_", "def my_initialize_")
    return Expected("signature", number, line_of(text, "def my_"), "not `my_initialize")


def changed_parameters(nb):
    """A parameter added to the graded function."""
    number, text = edit(nb, "initialize_parameters_he", "(layers_dims):", "(layers_dims, seed=3):")
    return Expected("signature", number, line_of(text, "seed=3"), "changed the parameters")


def global_variable_in_function(nb):
    """A variable set outside the graded function and read inside it."""
    edit(nb, "initialize_parameters_random", "\ndef", "\nscale = 10\n\ndef")
    number, text = edit(nb, "initialize_parameters_random", "* 10", "* scale")
    return Expected("global", number, line_of(text, "* scale"), "`scale` is a global variable")


def global_statement_in_function(nb):
    """A `global` statement in the graded function."""
    number, text = edit(
        nb,
        "initialize_parameters_zeros",
        "    parameters = {}",
        "    global L\n    parameters = {}",
    )
    return Expected("global", number, line_of(text, "global L"), "`global L`")


def edited_test_cell(nb):
    """A locked test cell edited (its cell metadata unlocked first)."""
    number, _ = edit(nb, "test_initialize_parameters_zeros", "hidden_cases)", "hidden_cases) * 2")
    return Expected("locked-edited", number, None, "locked")


def edited_imports_cell(nb):
    """A locked code cell edited: one more import."""
    number, _ = edit(nb, "imports", "import numpy as np", "import numpy as np\nimport pandas")
    return Expected("locked-edited", number, None, "locked")


def copied_test_cell(nb):
    """A locked cell copied in JupyterLab: a new cell id, the same nbgrader metadata."""
    at = index_of(nb, "public-test-zeros")
    copied = copy.deepcopy(nb["cells"][at])
    copied["id"] = "e5f6a7b8"
    nb["cells"].insert(at + 1, copied)
    return Expected("duplicate", at + 2, None, f"a copy of cell {at + 1}")


def copied_cell_with_its_id(nb):
    """A cell copied by hand in the notebook's JSON: same cell id, same grade id, one problem."""
    at = index_of(nb, "load-data")
    nb["cells"].insert(at + 1, copy.deepcopy(nb["cells"][at]))
    return Expected("duplicate", at + 2, None, f"a copy of cell {at + 1}")


def copied_answer_cell(nb):
    """An answer cell copied in JupyterLab, to try a variant in the copy."""
    at = index_of(nb, "initialize_parameters_he")
    copied = copy.deepcopy(nb["cells"][at])
    copied["id"] = "c9d0e1f2"
    nb["cells"].insert(at + 1, copied)
    return Expected("duplicate", at + 2, None, f"a copy of cell {at + 1}")


def duplicate_cell_id(nb):
    """Two cells with one cell id, as a hand-edited or merged notebook can have."""
    at = index_of(nb, "expected-zeros")
    nb["cells"][at]["id"] = nb["cells"][at - 1]["id"]
    return Expected("duplicate", at + 1, None, f"same hidden cell id (`{nb['cells'][at]['id']}`)")


def deleted_test_cell(nb):
    """A test cell deleted."""
    at = index_of(nb, "test_initialize_parameters_he")
    del nb["cells"][at]
    return Expected(
        "missing",
        None,
        None,
        f"the grading cell of exercise 3, which belongs after the expected output of exercise 3 "
        f"(cell {at})",
    )


def answer_cell_turned_markdown(nb):
    """The type changed in JupyterLab's menu, which drops the outputs and execution count."""
    at = index_of(nb, "initialize_parameters_he")
    cell = nb["cells"][at]
    cell["cell_type"] = "markdown"
    del cell["outputs"], cell["execution_count"]
    return Expected("cell-type", at + 1, None, "now a markdown cell")


def unimplemented_stub(nb):
    """An exercise left as the release has it."""
    at = index_of(nb, "initialize_parameters_random")
    nb["cells"][at] = copy.deepcopy(RELEASE["cells"][at])
    line = line_of(text_of(nb["cells"][at]), "raise NotImplementedError()")
    return Expected("stub", at + 1, line, "not done yet")


def syntax_error_in_answer(nb):
    """A parenthesis left open in an answer: the line, its number and Python's message."""
    number, text = edit(nb, "initialize_parameters_he", "layers_dims[l - 1])", "layers_dims[l - 1]")
    line = line_of(text, "np.sqrt")
    return Expected(
        "syntax",
        number,
        line,
        f"Python cannot read this cell, at line {line}: '(' was never closed.",
    )


def indentation_error_in_answer(nb):
    """The second line of an answer indented further than the first."""
    number, text = edit(
        nb, "initialize_parameters_random", "\n        parameters['b'", "\n          parameters['b'"
    )
    line = line_of(text, "np.zeros((layers_dims[l], 1))")
    return Expected("syntax", number, line, f"at line {line}: unexpected indent.")


MISTAKES = [
    extra_code_cell,
    print_in_answer_cell,
    renamed_function,
    changed_parameters,
    global_variable_in_function,
    global_statement_in_function,
    edited_test_cell,
    edited_imports_cell,
    copied_test_cell,
    copied_cell_with_its_id,
    copied_answer_cell,
    duplicate_cell_id,
    deleted_test_cell,
    answer_cell_turned_markdown,
    unimplemented_stub,
    syntax_error_in_answer,
    indentation_error_in_answer,
]


@pytest.fixture(scope="module")
def answered_notebook():
    """The release notebook answered as the demo class's correct student answers it."""
    return answered(STUDENTS["demo-correct"])


def check_in(folder, monkeypatch, capsys):
    """check_notebook() run in folder: the problems and what it printed."""
    monkeypatch.chdir(folder)
    problems = check_submission.check_notebook()
    return problems, capsys.readouterr()


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda mistake: mistake.__name__)
def test_check_finds_exactly_the_mistake(mistake, answered_notebook, tmp_path, monkeypatch, capsys):
    """Does the check report this mistake, and nothing else, at the right cell and line, the same
    way from the notebook and from a terminal (exit status 1)?"""
    notebook = copy.deepcopy(answered_notebook)
    expected = mistake(notebook)
    write(notebook, tmp_path)

    problems, printed = check_in(tmp_path, monkeypatch, capsys)
    assert [(p.rule, p.cell, p.line) for p in problems] == [expected[:3]]
    assert expected.says in problems[0].message
    assert str(problems[0]) in unwrapped(printed.out) and printed.err == ""

    terminal = run_cli(tmp_path)
    assert terminal.returncode == 1
    assert terminal.stdout == printed.out
    assert terminal.stderr == ""


def test_an_error_when_defining_is_named_with_its_line(answered_notebook, tmp_path):
    """When the saved answer cell raises before its function exists (an annotation from the
    typing module, never imported), does the check name the cell, the line and the error, say
    that the public test was not run, and never call the notebook ready?"""
    notebook = copy.deepcopy(answered_notebook)
    number, text = edit(
        notebook,
        "initialize_parameters_zeros",
        "(layers_dims):",
        "(layers_dims) -> Dict[str, float]:",
    )
    line = line_of(text, "def initialize_parameters_zeros")
    write(notebook, tmp_path)
    terminal = run_cli(tmp_path)
    out = unwrapped(terminal.stdout)
    assert terminal.returncode == 1 and terminal.stderr == ""
    assert (
        f"In exercise 1, `initialize_parameters_zeros` (cell {number}), the line "
        "`def initialize_parameters_zeros(layers_dims) -> Dict[str,...`: this cell, run on "
        f"its own, stopped at line {line}: NameError: name 'Dict' is not defined. So its public "
        f"test was not run.\n    Fix: correct line {line}, run the cell again"
    ) in out
    assert "ready to submit" not in out and "Traceback" not in out


def test_report_names_the_exercise_quotes_the_line_and_says_how_to_fix_it(
    answered_notebook, tmp_path
):
    """Does the printed report name the exercise (not a hidden grade id), quote the line (not a
    line number JupyterLab hides), say how to fix it, and speak of one problem as one?"""
    notebook = copy.deepcopy(answered_notebook)
    expected = print_in_answer_cell(notebook)
    write(notebook, tmp_path)
    out = unwrapped(run_cli(tmp_path, NOTEBOOK).stdout)
    assert (
        f"In exercise 3, `initialize_parameters_he` (cell {expected.cell}), the line "
        "`print(parameters)`: `print(...)` is an extra print.\n    Fix: delete this line;"
    ) in out
    assert out.startswith(f"1 problem found in {NOTEBOOK}")
    assert out.rstrip().endswith("Fix it, save the notebook and run this check again.")
    assert "test_initialize" not in out and "line 2" not in out


def test_an_added_cell_is_named_by_its_first_line(answered_notebook, tmp_path):
    """Is a cell of the student's own named by its first line?"""
    notebook = copy.deepcopy(answered_notebook)
    extra_code_cell(notebook)
    write(notebook, tmp_path)
    out = unwrapped(run_cli(tmp_path).stdout)
    assert "In the cell starting `print(initialize_parameters_zeros([2, 1]))`" in out


def test_answered_notebook_passes(answered_notebook, tmp_path, monkeypatch, capsys):
    """Does a correctly answered notebook pass, with a success line and exit status 0?"""
    write(answered_notebook, tmp_path)
    problems, printed = check_in(tmp_path, monkeypatch, capsys)
    assert problems == []
    assert unwrapped(printed.out) == (
        f"No problems found in {NOTEBOOK}, and the public tests pass on its saved answers: it "
        "is ready to submit. (The grader also checks your functions on other network shapes.)\n"
    )
    terminal = run_cli(tmp_path)
    assert (terminal.returncode, terminal.stdout, terminal.stderr) == (0, printed.out, "")


@pytest.mark.parametrize("student", sorted(set(STUDENTS) - {"demo-untouched"}))
def test_wrong_answers_are_named_by_their_public_tests(student, tmp_path, monkeypatch, capsys):
    """Is every demo student's saved answer that fails its public test reported at its answer
    cell, with the mistakes that test names, and nothing else; and does the report never say
    "ready to submit" then?"""
    import public_tests

    answers = answered(STUDENTS[student])
    write(answers, tmp_path)
    problems, printed = check_in(tmp_path, monkeypatch, capsys)
    expected = []
    for grade_id, (name, _) in check_submission.ANSWER_CELLS.items():
        namespace = {"np": np}
        exec(text_of(answers["cells"][index_of(answers, grade_id)]), namespace)
        titles = public_tests.public_problems(namespace[name], name)
        if titles:
            says = "; ".join(f"Mistake: {title}" for title in titles)
            expected.append(("public-test", index_of(answers, grade_id) + 1, says))
    assert [(p.rule, p.cell, p.message.split(": ", 1)[1][:-1]) for p in problems] == expected
    assert bool(expected) == (student != "demo-correct")
    assert ("ready to submit" in printed.out) == (not expected)


def test_public_test_failure_is_named_in_the_notebook_and_the_terminal(
    tmp_path, monkeypatch, capsys
):
    """Does a saved answer that fails its public test (x0.01 for x10) make the check name the
    exercise and the mistake, and exit 1 in a terminal?"""
    write(answered(STUDENTS["demo-small-random"]), tmp_path)
    problems, printed = check_in(tmp_path, monkeypatch, capsys)
    out = unwrapped(printed.out)
    assert out.startswith(f"1 problem found in {NOTEBOOK} (as last saved):")
    assert (
        "In exercise 2, `initialize_parameters_random` (cell 22): its public test fails on the "
        "notebook's example: Mistake: wrong scale for large random.\n    Fix: run the public "
        "test under this exercise to read why;"
    ) in out
    assert "ready to submit" not in out
    terminal = run_cli(tmp_path)
    assert (terminal.returncode, terminal.stdout) == (1, printed.out)


def test_without_numpy_the_check_says_it_did_not_run_the_tests(answered_notebook, tmp_path):
    """In a terminal whose Python has no numpy (here: without its site-packages), does the
    file check still run, and the report say plainly that the public tests were not run,
    and never that the notebook is ready?"""
    write(answered_notebook, tmp_path)
    terminal = run_cli(tmp_path, python=(sys.executable, "-S"))
    out = unwrapped(terminal.stdout)
    assert terminal.returncode == 0 and terminal.stderr == ""
    assert out.startswith(f"No problems found in the file {NOTEBOOK} (as last saved).")
    assert (
        "The public tests were not run here (ModuleNotFoundError: No module named 'numpy'), "
        "so this check cannot say whether your answers pass them"
    ) in out
    assert "ready" not in out


def test_every_line_of_the_report_fits_the_notebook(tmp_path, monkeypatch, capsys):
    """Is every line of a long report (the untouched release: three stubs) at most 79
    characters, broken only between words?"""
    write(RELEASE, tmp_path)
    _, printed = check_in(tmp_path, monkeypatch, capsys)
    assert max(len(line) for line in printed.out.splitlines()) <= check_submission.WIDTH
    assert "replace this line with your code." in unwrapped(printed.out)


def test_untouched_release_reports_only_the_stubs(tmp_path, monkeypatch, capsys):
    """Is the untouched release reported for its three unimplemented stubs, and nothing else?"""
    write(RELEASE, tmp_path)
    problems, _ = check_in(tmp_path, monkeypatch, capsys)
    stubs = []
    for grade_id in check_submission.ANSWER_CELLS:
        at = index_of(RELEASE, grade_id)
        stubs.append(
            ("stub", at + 1, line_of(text_of(RELEASE["cells"][at]), "NotImplementedError"))
        )
    assert [(p.rule, p.cell, p.line) for p in problems] == stubs
    assert run_cli(tmp_path).returncode == 1


def test_harmless_additions_are_let_be(answered_notebook, tmp_path, monkeypatch, capsys):
    """Are an empty code cell (JupyterLab adds one after the last cell), a markdown note, and
    helpers the answer cell defines or imports itself let be?"""
    notebook = copy.deepcopy(answered_notebook)
    notebook["cells"].append(new_code_cell(""))
    notebook["cells"].insert(
        3, {"cell_type": "markdown", "id": "n1", "metadata": {}, "source": "x"}
    )
    edit(
        notebook,
        "initialize_parameters_he",
        "\ndef",
        "\nimport math\n\n\ndef scale(n):\n    return math.sqrt(2 / n)\n\n\ndef",
    )
    edit(
        notebook,
        "initialize_parameters_he",
        "np.sqrt(2 / layers_dims[l - 1])",
        "scale(layers_dims[l - 1])",
    )
    write(notebook, tmp_path)
    problems, _ = check_in(tmp_path, monkeypatch, capsys)
    assert problems == []


UNREADABLE = {
    "broken_json": ('{"cells": [', "is not a valid notebook: its JSON is broken at line 1"),
    "json_but_not_a_notebook": ("[1, 2, 3]", "is JSON, but not a Jupyter notebook"),
    "missing_file": (None, "There is no file"),
    "folder": ("folder", "is a folder, not a notebook"),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_unreadable_notebook_exits_2_with_a_message(case, tmp_path, monkeypatch, capsys):
    """Does a file that is not a readable notebook get a clear message and exit status 2,
    without a traceback, and does check_notebook return that message instead of raising?"""
    content, message = UNREADABLE[case]
    if content == "folder":
        (tmp_path / NOTEBOOK).mkdir()
    elif content is not None:
        (tmp_path / NOTEBOOK).write_text(content, encoding="utf-8")

    terminal = run_cli(tmp_path)
    assert terminal.returncode == 2
    assert message in terminal.stdout and "Fix: " in terminal.stdout
    assert "Traceback" not in terminal.stdout + terminal.stderr

    problems, printed = check_in(tmp_path, monkeypatch, capsys)
    assert [p.rule for p in problems] == ["unreadable"]
    assert printed.out == terminal.stdout


# The checker's knowledge of the notebook ------------------------------------------------------


def release_answer_functions():
    """Answer cell grade id -> (function, parameter names), read from the release."""
    functions = {}
    for cell in RELEASE["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            tree = ast.parse(text_of(cell))
            defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
            functions[meta["grade_id"]] = (defs[0].name, [arg.arg for arg in defs[0].args.args])
    return functions


def test_expected_cells_match_the_release():
    """Does the checker's list of cells (grade id and type, in order) match the release notebook?
    If not, paste the printed NOTEBOOK_CELLS into check_submission.py."""
    cells = {}
    for cell in RELEASE["cells"]:
        assert "nbgrader" in cell["metadata"], "every release cell is an nbgrader cell"
        cells[cell["metadata"]["nbgrader"]["grade_id"]] = cell["cell_type"]
    known = {gid: kind for gid, (kind, _) in check_submission.NOTEBOOK_CELLS.items()}
    assert list(known.items()) == list(cells.items())


def test_answer_cells_match_the_release():
    """Does the checker know every answer cell of the release, with its function's name and
    parameters?"""
    assert check_submission.ANSWER_CELLS == release_answer_functions()


def test_allowed_imports_are_what_the_notebook_imports():
    """Are the names graded functions may read freely exactly those the imports cell binds?"""
    text = text_of(RELEASE["cells"][index_of(RELEASE, "imports")])
    code = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
    bound = {
        alias.asname or alias.name
        for node in ast.parse(code).body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if alias.name != "*"
    }
    assert check_submission.NOTEBOOK_IMPORTS == {name.split(".")[0] for name in bound}


def test_checksums_are_those_nbgrader_recorded():
    """Does the checker compute, for every cell of the release, the checksum that nbgrader
    recorded in it when it generated the release, and another one once the cell is edited?"""
    for number, raw in enumerate(RELEASE["cells"], 1):
        cell = check_submission._read_cell(number, raw)
        assert check_submission.nbgrader_checksum(cell) == cell.nbgrader["checksum"], cell.label
        cell.source += " "
        assert check_submission.nbgrader_checksum(cell) != cell.nbgrader["checksum"], cell.label


def imported_modules(tree):
    """The top-level names of the modules a syntax tree imports."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module.split(".")[0]


def test_uses_only_the_standard_library():
    """Does check_submission.py import only standard library modules (students have no nbgrader)?"""
    modules = set(imported_modules(ast.parse(SCRIPT.read_text(encoding="utf-8"))))
    assert modules and modules <= sys.stdlib_module_names


# In a real kernel -----------------------------------------------------------------------------


@pytest.mark.slow
def test_check_in_a_kernel_prints_to_stdout_only(answered_notebook, tmp_path):
    """Run in notebook cells by a real kernel, does check_notebook print its report on stdout,
    with nothing on stderr, no error and no Out[] value, even for code Python warns about and
    for a missing file?"""
    notebook = copy.deepcopy(answered_notebook)
    edit(
        notebook,
        "initialize_parameters_he",
        "    return",
        '    note = "\\d"\n    print(note)\n    return',
    )
    write(notebook, tmp_path)
    shutil.copy(SCRIPT, tmp_path)
    runner = nbformat.v4.new_notebook()
    # Python 3.12 and later show a SyntaxWarning for "\d"; on any version, show every warning.
    show_warnings = "import warnings\nwarnings.simplefilter('always')\n"
    runner.cells = [
        nbformat.v4.new_code_cell(
            show_warnings
            + f'from check_submission import check_notebook\ncheck_notebook("{NOTEBOOK}")'
        ),
        nbformat.v4.new_code_cell('check_notebook("missing.ipynb")'),
    ]
    NotebookClient(
        runner, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [
        [(out.output_type, out.get("name")) for out in cell.outputs] for cell in runner.cells
    ]
    assert outputs == [[("stream", "stdout")], [("stream", "stdout")]]
    report, missing = (cell.outputs[0].text for cell in runner.cells)
    assert report.startswith("1 problem found") and "extra print" in report
    assert missing.startswith("There is no file missing.ipynb")


@pytest.mark.slow
def test_check_in_a_kernel_asks_to_save_when_the_run_code_is_not_saved(answered_notebook, tmp_path):
    """When an answer cell was changed and run but not saved, does the check in the notebook say
    so (instead of passing the saved file), and pass once the file holds what was run?"""
    write(answered_notebook, tmp_path)  # the saved file: the right answers, no print
    for helper in RELEASE_PATH.parent.glob("*.py"):
        shutil.copy(helper, tmp_path)
    running = copy.deepcopy(answered_notebook)
    number, _ = edit(
        running, "initialize_parameters_random", "    return", "    print(parameters)\n    return"
    )
    keep = {"imports", "initialize_parameters_random", "check-submission"}
    runner = nbformat.from_dict(running)
    runner.cells = [c for c in runner.cells if c.metadata["nbgrader"]["grade_id"] in keep]
    client = NotebookClient(
        runner, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    report = "".join(o.text for o in runner.cells[-1].outputs if o.output_type == "stream")
    assert report.startswith(f"1 problem found in {NOTEBOOK}"), report
    assert f"In exercise 2, `initialize_parameters_random` (cell {number}):" in report
    assert "not what the saved file holds" in report and "Ctrl+S" in report

    write(running, tmp_path)  # saved now: the check reports the print it can see in the file
    client.execute()
    report = "".join(o.text for o in runner.cells[-1].outputs if o.output_type == "stream")
    assert "not what the saved file holds" not in report
    assert "`print(...)` is an extra print." in report
