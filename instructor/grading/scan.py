"""The static scan: code patterns in the cells a student wrote that tamper with the grading.

It never decides a score: what it finds becomes a flag, and the exercise's grade is marked for
review in the Formgrader. The clean re-check (recheck/) is what corrects scores.
"""

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

# Modules and names no answer should rebind, whatever the assignment; each assignment adds its
# own (`Guarded.of`): its helper modules, and the names its test cells use.
GUARDED_MODULES = frozenset({"np", "numpy", "builtins", "__builtins__", "sys"})
GUARDED_NAMES = frozenset({"print", "np", "isinstance", "type", "float"})


@dataclass(frozen=True)
class Guarded:
    """What answers must leave alone: module names (no attribute or item of them may be
    assigned) and names (no rebinding, no function of that name)."""

    modules: frozenset[str] = GUARDED_MODULES
    names: frozenset[str] = GUARDED_NAMES

    @classmethod
    def of(cls, helper_modules: Iterable[str] = (), names: Iterable[str] = ()) -> "Guarded":
        """The general guards plus an assignment's helper modules and its tests' names."""
        return cls(GUARDED_MODULES | set(helper_modules), GUARDED_NAMES | set(names))


def bound_and_called(source: str) -> set[str]:
    """Names a test cell binds or calls (its variables and the checks it runs)."""
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        for target in _targets(node):
            if isinstance(target, ast.Name):
                names.add(target.id)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.add(node.func.id)
    return names


MAGIC_METHODS = {"__eq__", "__ne__", "__bool__", "__array_ufunc__", "__array_function__"}
COURSE_FILES = re.compile(r"gradebook|autograded|feedback|submitted|source/|\.ipynb|nbgrader", re.I)
SUSPICIOUS_CALLS = {
    "setattr": "changes attributes with setattr",
    "set_custom_exc": "installs a custom exception handler",
    "_exit": "ends the process with os._exit",
    "fork": "starts processes",
    "kill": "sends signals to processes",
    "system": "runs shell commands",
    "Popen": "runs other programs",
    "globals": "uses globals()",
    "for_type": "changes how values are displayed",
}


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def unpacked(targets: list[ast.expr]) -> list[ast.expr]:
    """Assignment targets with tuples, lists and starred targets unpacked: `a, (b[0], *c.d)`
    gives a, b[0] and c.d."""
    pending, flat = list(targets), []
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Tuple | ast.List):
            pending.extend(target.elts)
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
        else:
            flat.append(target)
    return flat


def _targets(node: ast.AST) -> list[ast.expr]:
    """What an assignment or deletion binds: names, attributes, items (tuples unpacked)."""
    if isinstance(node, ast.Assign | ast.Delete):
        return unpacked(list(node.targets))
    if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.NamedExpr):
        return unpacked([node.target])
    return []


def python_source(source: str) -> str:
    """The cell as plain Python, IPython's magics and shell escapes rewritten, as IPython
    itself runs it (the cell as written when IPython would not run it either)."""
    try:
        return str(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001 -- IPython would not run it either; read it as written
        return source


def suspicious(source: str, guarded: Guarded | None = None) -> list[str]:
    """What in a cell's code tampers with the grading, as short phrases (empty when nothing).

    guarded -- the Guarded names of the assignment (the general ones when None)
    """
    guarded = guarded or Guarded()
    try:
        tree = ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []

    def note(text: str) -> None:
        if text not in found:
            found.append(text)

    paths: list[str] = []
    for node in ast.walk(tree):
        for target in _targets(node):
            if (
                isinstance(target, ast.Attribute | ast.Subscript)
                and _root_name(target) in guarded.modules
            ):
                note(f"replaces {ast.unparse(target)}")
            elif isinstance(target, ast.Name) and target.id in guarded.names:
                note(f"redefines {target.id}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in guarded.names:
                note(f"redefines {node.name}")
            if node.name in MAGIC_METHODS:
                note(f"defines {node.name}")
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                if "ndarray" in ast.unparse(base) or ast.unparse(base) in ("dict", "float"):
                    note(f"subclasses {ast.unparse(base)}")
        if isinstance(node, ast.Attribute) and node.attr in ("modules", "excepthook"):
            if _root_name(node) == "sys":
                note(f"uses sys.{node.attr}")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            for name in ("ctypes", "builtins", "subprocess", "gc", "inspect"):
                if name in names:
                    note(f"imports {name}")
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            if "AssertionError" in ast.unparse(node.type):
                note("catches AssertionError")
        if isinstance(node, ast.Raise) and node.exc is not None:
            if "AssertionError" in ast.unparse(node.exc):
                note("raises AssertionError")
        if isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else None
            called = called or (node.func.id if isinstance(node.func, ast.Name) else None)
            if called in SUSPICIOUS_CALLS:
                note(SUSPICIOUS_CALLS[called])
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if COURSE_FILES.search(node.value):
                paths.append(node.value)
    if paths:
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        note(f"refers to the course's files ({paths[0][:60]!r}{more})")
    return found
