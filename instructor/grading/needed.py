"""The cells a grade needs: which cells of a submission grading runs, and which it may skip.

A grade comes from the test cells; they call the functions of the answer cells; and the clean
re-check scores each answer apart, from the answer cell alone. The trainings, the plots and
the other cells an instructor marks in the source notebook (`"grading": {"skip": "the
trainings"}` in a read-only cell's metadata, next to the exercises' declarations) feed no
test. Grading skips them, unless the course sets c.CourseGrading.run_whole_notebook.

The promise: the score, the flags and the notes are those of a run of the whole notebook.
Three things keep it.

1. The instructor's cells. `check_marks` refuses (at `release` and before any grading) a
   read-only cell that runs but reads a variable a skipped cell sets; `release` also grades
   the source both ways and compares (grading/reference.py).
2. The student's cells still run, and are read before each grading (`plan`). A submission
   runs whole when one of them
   - reads a variable a skipped cell sets, or changes in place (`parameters`, `trained`), at
     any place in the cell, function bodies included: its value would be missing;
   - reaches the notebook's variables other than by name: `globals()`, `vars()`,
     `get_ipython()` (IPython's magics and `!` commands become that), `In`/`Out` and the
     numbered outputs, a function's `__globals__`, frames, `sys.modules`, `import __main__`,
     `inspect`, `gc`, `ctypes`, a `getattr` with a computed name;
   - defines a function that keeps state between calls (a `global` or `nonlocal` statement,
     a variable of the student's module level read inside it, an object outside it changed,
     a default argument that is not a constant): the skipped cells call the graded
     functions (a training calls the function under test), so such a function would see more
     calls in a whole run than in a run of the needed cells.
   The instructor's summary says which cell, and why (`Plan.whole_because`, the ledger's
   `ran`). It is not a note: the notes are a whole run's, which the tests compare line by
   line on every scenario (a test justifies the fallback: without it, a cell that reads a
   training's result scores otherwise; tests/grading/test_grading_corpus.py).
3. What escapes these rules cannot lift a declared exercise: such a difference comes from code
   whose outcome depends on being called by a skipped cell (a loop without end only for the
   training's layer sizes, say), and the clean re-check caps every declared exercise at what
   its answer earns alone, on either path.

Global state a skipped cell changes through a module (numpy's random generator, matplotlib's
figures) is not followed: a graded function that draws without seeding first has no
reproducible answer on either path, and each cell's figures are closed when the cell ends.

What the feedback shows of a skipped cell: nothing. nbgrader drops every output of a
submission before grading it (the student's own outputs are not the grader's, and could be
anything); a skipped cell is not run, so it has neither output nor execution count, and the
graded notebook's metadata names it (`record`), for the feedback's one line (`feedback_line`).
The student's notebook keeps their own outputs.
"""

import ast
import builtins
import functools
import re
import symtable
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from nbformat import NotebookNode
from nbgrader import utils as nbgrader_utils

from .messages import Skippable
from .scan import python_source, unpacked

# Where a graded notebook says which cells the grader did not run (its notebook metadata).
METADATA_KEY = "grading"

# Names that reach the notebook's namespace or history other than by name.
DYNAMIC_NAMES = frozenset(
    {"globals", "vars", "locals", "dir", "eval", "exec", "get_ipython", "__import__", "In",
     "Out", "_ih", "_oh", "_dh", "_", "__", "___", "_i", "_ii", "_iii", "breakpoint"}
)  # fmt: skip
NUMBERED_HISTORY = re.compile(r"_i?\d+$")
DYNAMIC_ATTRIBUTES = frozenset(
    {"__globals__", "__closure__", "__code__", "f_globals", "f_locals", "f_back", "tb_frame",
     "gi_frame", "cr_frame", "ag_frame", "_getframe", "modules", "user_ns", "user_global_ns"}
)  # fmt: skip
DYNAMIC_MODULES = ("__main__", "inspect", "gc", "ctypes", "importlib", "IPython")
HARMLESS_MODULES = ("IPython.display",)
ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
BUILTINS = frozenset(dir(builtins))  # `str.maketrans(...)` changes nothing of the notebook


@dataclass(frozen=True)
class CellNames:
    """What one cell's code does with the notebook's variables.

    reads -- module-level names it reads, at its top level or inside its functions
    writes -- names it binds at module level, or whose value it changes in place (an item or
        attribute assigned)
    receivers -- names whose methods its top level calls (`rows.append(...)`, `plt.plot(...)`):
        changed too, unless they name a module
    imports -- names it binds by an import
    assigned -- names it binds at module level by an assignment (not an import, def or class)
    function_reads -- module-level names its functions read
    dynamic -- how it reaches variables other than by name (empty when it does not)
    state -- how a function it defines keeps state between calls (empty when none does)
    """

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    receivers: frozenset[str] = frozenset()
    imports: frozenset[str] = frozenset()
    assigned: frozenset[str] = frozenset()
    function_reads: frozenset[str] = frozenset()
    dynamic: tuple[str, ...] = ()
    state: tuple[str, ...] = ()


@functools.lru_cache(maxsize=512)
def analyse(source: str) -> CellNames:
    """The CellNames of a cell's code (kept for the next grading: the read-only cells are the
    same in every submission). Code that does not compile defines and reads nothing:
    IPython stops it with a SyntaxError before any of it runs, on either path."""
    code = python_source(source)
    try:
        tree = ast.parse(code)
        table = symtable.symtable(code, "<cell>", "exec")
    except (SyntaxError, ValueError, RecursionError):
        return CellNames()
    return _Walker(table).run(tree)


def _scopes(table: symtable.SymbolTable) -> Iterator[symtable.SymbolTable]:
    """Every symbol table under table (functions, classes, comprehensions), table excluded."""
    for child in table.get_children():
        yield child
        yield from _scopes(child)


COMPREHENSIONS: dict[type[ast.expr], str] = {ast.ListComp: "listcomp", ast.SetComp: "setcomp", ast.DictComp: "dictcomp",
                  ast.GeneratorExp: "genexpr"}  # fmt: skip


# The symbol tables of the scopes around a node, outermost first (None: a scope not found).
Tables = list[symtable.SymbolTable | None]


class _Walker:
    """One pass over a cell: the module level's reads and writes from its symbol table, and
    what only the syntax tree shows (items and attributes changed, method calls, defaults,
    dynamic access), each name resolved in the symbol table of the scope it appears in."""

    def __init__(self, table: symtable.SymbolTable) -> None:
        self.module = table
        symbols = table.get_symbols()
        self.imports = {s.get_name() for s in symbols if s.is_imported()}
        self.assigned = {
            s.get_name()
            for s in symbols
            if s.is_assigned() and not s.is_imported() and not s.is_namespace()
        }
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.receivers: set[str] = set()
        self.function_reads: set[str] = set()
        self.dynamic: list[str] = []
        self.state: list[str] = []
        self.used: set[int] = set()

    def run(self, tree: ast.AST) -> CellNames:
        for symbol in self.module.get_symbols():
            if symbol.is_referenced():
                self.reads.add(symbol.get_name())
            if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace():
                self.writes.add(symbol.get_name())
        for scope in _scopes(self.module):
            for symbol in scope.get_symbols():
                name = symbol.get_name()
                if symbol.is_global() and symbol.is_referenced():
                    self.reads.add(name)
                    if scope.get_type() == "function":
                        self.function_reads.add(name)
                if symbol.is_declared_global() and symbol.is_assigned():
                    self.writes.add(name)
                if scope.get_type() == "function" and symbol.is_declared_global():
                    self.state.append(f"`global {name}` in {scope.get_name()}")
                elif scope.get_type() == "function" and symbol.is_nonlocal():
                    self.state.append(f"`nonlocal {name}` in {scope.get_name()}")
        self._walk(tree, [self.module])
        return CellNames(
            reads=frozenset(self.reads),
            writes=frozenset(self.writes),
            receivers=frozenset(self.receivers),
            imports=frozenset(self.imports),
            assigned=frozenset(self.assigned),
            function_reads=frozenset(self.function_reads),
            dynamic=tuple(dict.fromkeys(self.dynamic)),
            state=tuple(dict.fromkeys(self.state)),
        )

    # the syntax tree, with the symbol table of each scope (None where it was not found)
    def _child(self, tables: Tables, name: str, lineno: int) -> symtable.SymbolTable | None:
        if tables[-1] is None:
            return None
        for child in tables[-1].get_children():
            if (child.get_name(), child.get_lineno()) == (name, lineno) and id(
                child
            ) not in self.used:
                self.used.add(id(child))
                return child
        return None

    def _walk(self, node: ast.AST, tables: Tables) -> None:
        self._look(node, tables)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            args = getattr(node, "args", None)
            outer = [*getattr(node, "decorator_list", []), *getattr(node, "bases", []),
                     *getattr(node, "keywords", [])]  # fmt: skip
            if args is not None:
                outer += [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
            returns = getattr(node, "returns", None)
            if returns is not None:
                outer.append(returns)
            for part in outer:
                self._walk(part, tables)
            name = "lambda" if isinstance(node, ast.Lambda) else node.name
            inner = tables + [self._child(tables, name, node.lineno)]
            body: list[ast.AST] = [*node.body] if isinstance(node.body, list) else [node.body]
            for part in body:
                self._walk(part, inner)
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            first, *rest = node.generators
            self._walk(first.iter, tables)
            inner = tables + [self._child(tables, COMPREHENSIONS[type(node)], node.lineno)]
            self._walk(first.target, inner)
            for part in [*first.ifs, *rest]:
                self._walk(part, inner)
            for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
                self._walk(part, inner)
            return
        for part in ast.iter_child_nodes(node):
            self._walk(part, tables)

    def _symbol(self, tables: Tables, name: str) -> symtable.Symbol | None:
        table = tables[-1]
        if table is None:
            return None
        try:
            return table.lookup(name)
        except KeyError:
            return None

    @staticmethod
    def _in_function(tables: Tables) -> bool:
        return any(t is None or t.get_type() == "function" for t in tables[1:])

    @staticmethod
    def _scope_name(tables: Tables) -> str:
        return tables[-1].get_name() if tables[-1] is not None else "a function"

    def _look(self, node: ast.AST, tables: Tables) -> None:
        self._look_dynamic(node)
        for target in _changed(node):
            root = _root(target)
            if root is None:
                continue
            if not self._in_function(tables):
                self.writes.add(root)
                continue
            symbol = self._symbol(tables, root)
            local = symbol is not None and symbol.is_local() and not symbol.is_global()
            parameter = symbol is not None and symbol.is_parameter()
            if local and not parameter:
                continue
            if parameter and isinstance(target, ast.Subscript):
                continue  # filling a dictionary passed in: the caller's own object
            self.state.append(f"{self._scope_name(tables)} changes {ast.unparse(target)}")
            if not parameter:
                self.writes.add(root)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            root = _root(node.func.value)
            if root and not self._in_function(tables):
                self.receivers.add(root)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
                if not _constant(default):
                    name = getattr(node, "name", "a lambda")
                    self.state.append(f"{name} has a default argument that can keep state")

    def _look_dynamic(self, node: ast.AST) -> None:
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and (node.id in DYNAMIC_NAMES or NUMBERED_HISTORY.match(node.id))
        ):
            self.dynamic.append(node.id + ("()" if node.id[0].isalpha() else ""))
        elif isinstance(node, ast.Attribute) and node.attr in DYNAMIC_ATTRIBUTES:
            self.dynamic.append("." + node.attr)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                modules.append(node.module or "")
                if node.module == "sys":
                    modules += [f"sys.{a.name}" for a in node.names if a.name in DYNAMIC_ATTRIBUTES]
            for module in modules:
                if module.startswith("sys."):
                    self.dynamic.append(f"import {module}")
                elif module.split(".")[0] in DYNAMIC_MODULES and not module.startswith(
                    HARMLESS_MODULES
                ):
                    self.dynamic.append(f"import {module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ATTRIBUTE_FUNCTIONS and len(node.args) >= 2:
                attribute = node.args[1]
                if not isinstance(attribute, ast.Constant) or attribute.value in DYNAMIC_ATTRIBUTES:
                    self.dynamic.append(f"{node.func.id}() with a computed name")


def _changed(node: ast.AST) -> list[ast.Attribute | ast.Subscript]:
    """The items and attributes an assignment, an augmented assignment, a deletion, a loop or
    a `with` changes."""
    targets: list[ast.expr]
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    elif isinstance(node, ast.comprehension):
        targets = [node.target]
    elif isinstance(node, ast.With | ast.AsyncWith):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    else:
        return []
    return [t for t in unpacked(targets) if isinstance(t, ast.Attribute | ast.Subscript)]


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _constant(node: ast.expr) -> bool:
    """A default argument that cannot keep state: a constant, a name, an attribute, or a
    tuple or negation of those."""
    if isinstance(node, ast.Constant | ast.Name | ast.Attribute):
        return True
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand)
    if isinstance(node, ast.Tuple):
        return all(_constant(e) for e in node.elts)
    return False


# --- the instructor's marks --------------------------------------------------------------------


def marks_of(notebook_id: str, cells: Iterable[NotebookNode]) -> tuple[Skippable, ...]:
    """The Skippable marks of a source notebook's cells (nbformat cells, in order).

    A mark is `"grading": {"skip": WHAT}` in a cell's metadata; WHAT names the cells in the
    feedback's line ("the trainings"). What a skipped cell changes is read from its code: the
    names it binds and the values it changes in place, besides the modules the notebook
    imports (bundle.py checks the rest: read-only code cells, no test depends on them)."""
    imported: set[str] = set()
    for cell in cells:
        if cell.cell_type == "code":
            imported |= analyse(cell.source).imports
    marks: list[Skippable] = []
    for cell in cells:
        mark = cell.metadata.get(METADATA_KEY, {})
        what = mark.get("skip") if isinstance(mark, dict) else None
        if not what:
            continue
        names = analyse(cell.source)
        marks.append(
            Skippable(
                notebook=notebook_id,
                grade_id=_grade_id(cell) or "",
                what=what.strip() if isinstance(what, str) else DEFAULT_WHAT,
                source=cell.source,
                writes=tuple(sorted(names.writes | (names.receivers - imported - BUILTINS))),
            )
        )
    return tuple(marks)


DEFAULT_WHAT = "the cells your grade does not depend on"


def check_marks(cells: Iterable[tuple[str, str]], marks: Sequence[Skippable]) -> list[str]:
    """Problems with an instructor's marks, one line per cell that needs a marked one, naming
    both (empty: none).

    cells -- (grade id, source) of the read-only code cells that every grading runs (the
        test cells among them)
    marks -- the Skippable marks of the same notebook
    """
    problems: list[str] = []
    for grade_id, source in cells:
        reads = analyse(source).reads
        needed = sorted(reads & {name for mark in marks for name in mark.writes})
        if not needed:
            continue
        setters = [mark.grade_id for mark in marks if reads & set(mark.writes)]
        one = len(setters) == 1
        problems.append(
            f"the cell {grade_id} runs in every grading but reads {', '.join(needed)}, which "
            + ("the cell " if one else "the cells ")
            + ", ".join(setters)
            + (
                " (marked as one grading may skip) sets"
                if one
                else " (marked as ones grading may skip) set"
            )
            + f": mark {grade_id} as well, or remove "
            + (f"the mark of {setters[0]}" if one else "those marks")
        )
    return problems


# --- one submission -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Which cells of one notebook a grading runs.

    skip -- positions of the cells not run
    cells -- their grade ids, in order
    what -- how the feedback names them ("the trainings"), in order, without repeats
    whole_because -- why the whole notebook runs although cells are marked ("" otherwise)
    """

    skip: frozenset[int] = frozenset()
    cells: tuple[str, ...] = ()
    what: tuple[str, ...] = ()
    whole_because: str = ""

    def describe(self) -> str:
        """One line for the instructor's summary: what ran ("" when nothing is marked)."""
        if self.skip:
            return f"the cells the grade needs ({len(self.skip)} marked cell(s) not run)"
        if self.whole_because:
            return f"the whole notebook: {self.whole_because}"
        return ""


def _grade_id(cell: NotebookNode) -> str | None:
    grade_id: str | None = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id


def plan(nb: NotebookNode, marks: Sequence[Skippable]) -> Plan:
    """The Plan of a sanitized notebook (nbgrader restored its read-only cells from the
    gradebook). A cell is skipped when it is read-only, carries the grade id of a mark of the
    SOURCE notebook (marks, from the Bundle) and still holds that cell's code: what the
    submission's own metadata says is never read. The cells the student wrote (answers, cells
    added) run, and are read first: the whole notebook runs when one of them needs it."""
    if not marks:
        return Plan()
    by_id = {mark.grade_id: mark for mark in marks}
    skip: set[int] = set()
    cells: list[str] = []
    what: list[str] = []
    for index, cell in enumerate(nb.cells):
        mark = by_id.get(_grade_id(cell) or "")
        if (
            mark is not None
            and cell.cell_type == "code"
            and nbgrader_utils.is_locked(cell)
            and cell.source.strip() == mark.source.strip()
        ):
            skip.add(index)
            cells.append(mark.grade_id)
            what.append(mark.what)
    setters: dict[str, list[str]] = {}
    for mark in marks:
        for name in mark.writes:
            setters.setdefault(name, []).append(mark.grade_id)
    students = [
        (index, cell, analyse(cell.source))
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not nbgrader_utils.is_locked(cell) and index not in skip
    ]
    assigned: set[str] = set().union(*(names.assigned for _, _, names in students))
    for index, cell, names in students:
        why = _needs_whole(names, setters, assigned)
        if why:
            return Plan(whole_because=f"{name_of(cell, index)} {why}")
    return Plan(skip=frozenset(skip), cells=tuple(cells), what=tuple(dict.fromkeys(what)))


def _needs_whole(names: CellNames, setters: dict[str, list[str]], assigned: set[str]) -> str:
    """Why a student's cell needs the whole notebook to run, in a few words, or "".

    setters -- {name: grade ids of the marked cells that set it}
    assigned -- the names the student's cells assign at module level"""
    needed = sorted(names.reads & set(setters))
    if needed:
        cells = sorted({grade_id for name in needed for grade_id in setters[name]})
        return (
            f"reads {', '.join(needed)}, which "
            + ("the cell " if len(cells) == 1 else "the cells ")
            + ", ".join(cells[:3])
            + (f" and {len(cells) - 3} more" if len(cells) > 3 else "")
            + (" sets" if len(cells) == 1 else " set")
            + " (marked as cells grading may skip)"
        )
    if names.dynamic:
        return f"reaches the notebook's variables dynamically ({', '.join(names.dynamic[:3])})"
    shared = sorted(names.function_reads & assigned)
    state = [
        *names.state,
        *(f"a function uses {name}, a variable set outside it" for name in shared),
    ]
    if state:
        return f"defines a function that keeps state between calls ({state[0]})"
    return ""


# --- the graded notebook and its feedback --------------------------------------------------------


def record(nb: NotebookNode, plan_: Plan) -> None:
    """Write into a graded notebook's metadata which cells the grader did not run, for the
    feedback (`feedback_line`); nothing when it ran every cell."""
    if plan_.skip:
        nb.metadata[METADATA_KEY] = {
            "cells_not_run": list(plan_.cells),
            "not_run": list(plan_.what),
        }
    else:
        nb.metadata.pop(METADATA_KEY, None)


def feedback_line(nb: NotebookNode) -> str | None:
    """The one line a feedback page shows when the grader did not run some cells, or None."""
    info = nb.get("metadata", {}).get(METADATA_KEY)
    what = [w for w in (info or {}).get("not_run", []) if isinstance(w, str) and w.strip()]
    if not what:
        return None
    listed = what[0] if len(what) == 1 else ", ".join(what[:-1]) + " and " + what[-1]
    return (
        f"*The grader did not re-run {listed}: your grade does not depend on them, so those "
        "cells show no output here (your own notebook keeps yours).*"
    )


def name_of(cell: NotebookNode, index: int) -> str:
    """How the summary names a cell: its nbgrader id, or its position."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {grade_id}" if grade_id else f"cell {index + 1} (added by the student)"
