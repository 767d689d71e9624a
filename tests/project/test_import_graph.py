"""The import graph of the instructor package: no circle, no private name borrowed, and a
sandbox that stands alone.

An import circle makes a module's names depend on which module of the circle was imported
first, and hides a layering fault. The graph is read from the source with `ast`, so it sees
every form of import: relative (`from .session import ...`), absolute (`from instructor.grading
import ...`, `import instructor.x`), at the top of a module, inside a function (an import
moved into a function is still a dependency, and still a circle) and under `if TYPE_CHECKING:`
(an import for the annotations alone still ties the two modules' designs together).

A name that starts with an underscore is its module's own: no other module imports it, or
reaches it as an attribute of the module (`launcher._PATHS`), so that a module's private
parts can change without another breaking. And an import sits at the top of its module, where a
reader sees what the module depends on, unless a comment says why it cannot.
"""

import ast
import textwrap
from pathlib import Path

from conftest import ROOT

PACKAGE = "instructor"


def _modules(root, package):
    """{dotted module name: path} of every module of the package under root."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(root, package=PACKAGE):
    """{module: set of the package's modules it imports}, from every import statement."""
    modules = _modules(root, package)
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        targets.add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    base = here[: len(here) - (node.level - 1)]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                for alias in node.names:
                    submodule = f"{origin}.{alias.name}"
                    if submodule in modules:
                        targets.add(submodule)  # `from package import module`
                    elif origin in modules:
                        targets.add(origin)
        graph[name] = targets - {name}
    return graph


def circles(graph):
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_package_has_no_import_circle():
    """Does no module of instructor/ reach itself again through the modules it imports, with
    every form of import counted (relative, absolute, inside a function)?"""
    assert circles(import_graph(ROOT)) == []


def test_the_circle_check_sees_every_form_of_import(tmp_path):
    """The canary: does the check find a circle made with absolute imports, one made with
    relative imports, one closed by an import inside a function and one closed by an import
    for the annotations alone (under TYPE_CHECKING); and pass the same package without them?"""

    def package(files):
        folder = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        for relative, text in files.items():
            path = folder / PACKAGE / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return folder

    absolute = package({
        "__init__.py": "",
        "grading/__init__.py": "",
        "grading/session.py": "from instructor.grading.reference import run\n",
        "grading/reference.py": "from instructor.grading import session\n",
    })  # fmt: skip
    relative = package({
        "__init__.py": "",
        "grading/__init__.py": "",
        "grading/session.py": "from .reference import run\n",
        "grading/reference.py": "from ..grading.session import Session\n",
    })  # fmt: skip
    in_function = package({
        "__init__.py": "",
        "sandbox/__init__.py": "",
        "sandbox/launch.py": "def f():\n    from .launcher import FLAG\n",
        "sandbox/launcher.py": "import instructor.sandbox.zygote\n",
        "sandbox/zygote.py": "from . import launch\n",
    })  # fmt: skip
    for_types = package({
        "__init__.py": "",
        "grading/__init__.py": "",
        "grading/session.py": "from instructor.grading.reference import run\n",
        "grading/reference.py": "import json\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .session import Session\n",
    })  # fmt: skip
    clean = package({
        "__init__.py": "",
        "grading/__init__.py": "",
        "grading/session.py": "from instructor.grading.reference import run\n",
        "grading/reference.py": "import json\nfrom .messages import Task\n",
        "grading/messages.py": "from dataclasses import dataclass\n",
    })  # fmt: skip
    pair = [f"{PACKAGE}.grading.reference", f"{PACKAGE}.grading.session"]
    assert circles(import_graph(absolute)) == [pair]
    assert circles(import_graph(relative)) == [pair]
    assert circles(import_graph(for_types)) == [pair]
    assert circles(import_graph(in_function)) == [
        [f"{PACKAGE}.sandbox.{m}" for m in ("launch", "launcher", "zygote")]
    ]
    assert circles(import_graph(clean)) == []


def borrowed_private_names(root, package=PACKAGE):
    """[(module, where from, name)] of every private name (a leading underscore, not a dunder)
    a module takes from another module of the package: imported by name, or read as an
    attribute of a module it imported."""
    modules = _modules(root, package)
    found = []
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}  # local name -> module of the package
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        aliases[alias.asname or alias.name] = alias.name
            elif isinstance(node, ast.ImportFrom):
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = here[: len(here) - (node.level - 1)] if node.level else []
                origin = ".".join(base + ([node.module] if node.module else [])) if node.level \
                    else node.module or ""  # fmt: skip
                for alias in node.names:
                    submodule = f"{origin}.{alias.name}"
                    if submodule in modules:
                        aliases[alias.asname or alias.name] = submodule
                    elif origin in modules and _private(alias.name) and origin != name:
                        found.append((name, origin, alias.name))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and aliases[node.value.id] != name
                and _private(node.attr)
            ):
                found.append((name, aliases[node.value.id], node.attr))
    return sorted(set(found))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_borrows_a_private_name_of_another():
    """Does every module use only the public names of the package's other modules?"""
    assert borrowed_private_names(ROOT) == []


def test_the_private_name_check_sees_an_import_and_an_attribute(tmp_path):
    """The canary: a private name imported from another module, and one read as an
    attribute of an imported module, are each found; public names and a module's own are not."""
    folder = tmp_path / "case"
    files = {
        "__init__.py": "",
        "sandbox/__init__.py": "",
        "sandbox/isolation.py": "def _prctl(): pass\ndef prctl(): pass\n_PATHS = set()\n",
        "sandbox/launcher.py": "from .isolation import _prctl, prctl\nfrom . import isolation\n"
        "isolation._PATHS.add(1)\nisolation.prctl()\n",
        "sandbox/zygote.py": "_own = 1\nprint(_own)\n",
    }  # fmt: skip
    for relative, text in files.items():
        path = folder / PACKAGE / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    launcher, isolation = f"{PACKAGE}.sandbox.launcher", f"{PACKAGE}.sandbox.isolation"
    assert borrowed_private_names(folder) == [
        (launcher, isolation, "_PATHS"),
        (launcher, isolation, "_prctl"),
    ]


def test_the_sandbox_imports_nothing_of_the_engine():
    """Does the sandbox import nothing of the rest of the engine (the launcher starts the
    re-check's child by its module name), apart from the exception base, which imports
    nothing itself?"""
    graph = import_graph(ROOT)
    allowed = {f"{PACKAGE}.errors"}
    assert graph[f"{PACKAGE}.errors"] == set()
    for module, targets in graph.items():
        if module.startswith(f"{PACKAGE}.grading.sandbox"):
            outside = {
                t for t in targets if not t.startswith(f"{PACKAGE}.grading.sandbox")
            } - allowed
            assert not outside, f"{module} imports {sorted(outside)}"


def test_the_graph_is_read_from_the_files():
    """A check of the reader itself: does it find session.py's import of record.py, written as
    a relative import, and skip modules outside the package?"""
    graph = import_graph(ROOT)
    assert f"{PACKAGE}.grading.record" in graph[f"{PACKAGE}.grading.session"]
    assert all(t.startswith(PACKAGE) for targets in graph.values() for t in targets)
    assert Path(ROOT / PACKAGE / "errors.py").is_file()


def unexplained_local_imports(root, package=PACKAGE):
    """["path:line: import ..."] of every import inside a function of the package that no
    comment explains: a comment on its line, on the import lines just above it (one reason for
    a group), on the comment lines above those, or on the `try:` that guards it. An import
    belongs at the top of its module, where a reader sees what the module depends on."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for function in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and not _explained(lines, node):
                    where = path.relative_to(root).as_posix()
                    found.append(f"{where}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return sorted(set(found))


def _explained(lines, node):
    above = node.lineno - 1
    while above >= 0:
        line = lines[above].strip()
        if "#" in line:
            return True
        if not line.startswith(("import ", "from ")) and above != node.lineno - 1:
            return line.startswith("try:") and "#" in line
        above -= 1
    return False


def test_every_import_inside_a_function_says_why_it_is_there():
    """Is every import of the package at the top of its module, or explained where it is
    (startup time, a platform without the module, a process that must not load it yet)?"""
    assert unexplained_local_imports(ROOT) == []


def test_the_local_import_check_sees_an_unexplained_import(tmp_path):
    """The canary: an import inside a function without a comment is reported; with a comment
    on its line, above its group, or on its `try:`, it is not."""
    folder = tmp_path / "case"
    (folder / PACKAGE).mkdir(parents=True)
    (folder / PACKAGE / "__init__.py").write_text("")
    (folder / PACKAGE / "m.py").write_text(
        textwrap.dedent(
            """\
            def bare():
                import json
                return json


            def explained():
                # imported here: only this function needs it
                import csv
                import json
                return csv, json


            def guarded():
                try:  # imported here: the library may be missing
                    import sqlite3
                except ImportError:
                    return None
                return sqlite3
            """
        )
    )
    assert unexplained_local_imports(folder) == [f"{PACKAGE}/m.py:2: import json"]
