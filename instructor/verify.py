"""The clean re-check: each answer, run on its own where the rest of the notebook cannot reach it.

nbgrader runs a submission's test cells in the same kernel as the student's code, so code that
ran earlier can change what the tests see (replace numpy's comparisons, redefine the test
functions, hide errors...). After nbgrader's run, the grader therefore re-checks every exercise:

1. In a fresh sandboxed interpreter (see sandbox.py; `child_main` below), which loaded numpy and
   kept references to the few built-ins it needs BEFORE any student code ran, each exercise runs
   in its own forked process that executes ONLY the answer cell's source, calls the student's
   function on the public and hidden network shapes, and sends back plain data: for each call
   the exception raised, or the returned dictionary with every value that is exactly a numeric
   numpy array as (dtype, shape, raw bytes) and anything else as the name of its type.
2. The grader, in its own clean process, rebuilds those results and scores them with the
   course's public_tests.grade_exercise on the same cases as the test cell (`score`): the same
   checks, the same shares of the points. The expected values never reach the sandbox.

`suspicious` also names code patterns in the student's cells that tamper with the grading.
"""

import ast
import base64
import builtins
import contextlib
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

# --- inside the sandbox -------------------------------------------------------------------------

_REFS = {}  # references taken before any student code runs
MAX_ARRAY_SIZE = 10**6  # elements; a parameter of this assignment has a few dozen
MAX_RESULT_BYTES = 16 << 20


def preload():
    """Load numpy and keep the built-ins the re-check relies on, before student code runs."""
    import numpy
    import numpy.random

    numpy.random.randn(1)  # numpy loads parts of its random module on first use
    _REFS.update(
        numpy=numpy,
        type=type,
        dict=dict,
        str=str,
        list=list,
        int=int,
        len=len,
        ndarray=numpy.ndarray,
        tobytes=numpy.ndarray.tobytes,
        b64=base64.b64encode,
        decode=bytes.decode,
        items=dict.items,
        dumps=json.dumps,
        write=os.write,
        exit=os._exit,
        exc=BaseException,
    )


def _type_name(value):
    r = _REFS
    try:
        name = r["type"](value).__name__
        return name[:60] if r["type"](name) is r["str"] else "object"
    except r["exc"]:
        return "object"


def _encode_value(value):
    """A value of the returned dictionary: exact numeric ndarrays travel as raw bytes."""
    r = _REFS
    if r["type"](value) is not r["ndarray"]:
        return {"kind": "other", "type": _type_name(value)}
    dtype = value.dtype
    if dtype.kind not in "biufc" or dtype.hasobject or value.size > MAX_ARRAY_SIZE:
        return {"kind": "other", "type": "ndarray of " + str(dtype)[:40]}
    data = r["decode"](r["b64"](r["tobytes"](value)), "ascii")
    return {"kind": "array", "dtype": dtype.str, "shape": r["list"](value.shape), "data": data}


def _encode(result):
    r = _REFS
    if result is None:
        return {"kind": "none"}
    if r["type"](result) is not r["dict"]:
        return {"kind": "other", "type": _type_name(result)}
    entries = []
    for key, value in r["items"](result):
        name = key if r["type"](key) is r["str"] else None
        entries.append([name, _encode_value(value)])
    return {"kind": "dict", "entries": entries}


def _error(error):
    r = _REFS
    try:
        message = r["str"](error)[:500]
    except r["exc"]:
        message = ""
    return {"outcome": "raised", "type": _type_name(error), "message": message}


def _run_exercise(exercise, fd):
    """In a forked process: run one answer cell, call its function, send the results to fd."""
    r = _REFS
    namespace = {"__name__": "__main__", "__builtins__": builtins, "np": r["numpy"]}
    try:
        exec(compile(exercise["source"], "<answer cell>", "exec"), namespace)
        function = namespace.get(exercise["function"])
        if function is None:
            answer = {"outcome": "missing"}
        else:
            calls = []
            for dims in exercise["calls"]:
                try:
                    result = function(r["list"](dims))
                    calls.append({"outcome": "returned", "value": _encode(result)})
                except r["exc"] as error:  # noqa: BLE001 -- the student's error is the result
                    calls.append(_error(error))
            answer = {"outcome": "called", "calls": calls}
    except r["exc"] as error:  # noqa: BLE001
        answer = {"outcome": "cell_error", "error": _error(error)}
    data = r["dumps"](answer).encode()
    while data:
        data = data[r["write"](fd, data) :]
    r["exit"](0)


def _collect(pid, fd, timeout):
    """Read a forked exercise's answer; kill it when it takes longer than timeout seconds."""
    chunks, size, deadline = [], 0, time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"outcome": "timeout"}
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_RESULT_BYTES:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"outcome": "too_large"}
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    try:
        return json.loads(b"".join(chunks).decode())
    except ValueError:
        crash = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        return {"outcome": "crashed", "signal": crash, "exit": os.waitstatus_to_exitcode(status)}


# What an answer may not do when the re-check runs without namespaces (limits-only isolation):
# an audit hook refuses these events in the forked process (a deterrent, not a wall).
PATH_EVENTS = ("open", "os.listdir", "os.scandir")  # allowed inside the Python installation
GUARDED_EVENTS = (
    "os.system", "os.exec", "os.posix_spawn", "os.fork",
    "os.forkpty", "subprocess.Popen", "socket.connect", "socket.bind", "ctypes.dlopen",
    "ctypes.dlsym", "ctypes.call_function", "shutil.copyfile", "os.remove", "os.rename",
)  # fmt: skip


def _guard_files():
    """Refuse file access outside the Python installation, and process and network access."""
    from .sandbox import python_folders

    allowed = tuple(p.rstrip("/") + "/" for p in python_folders()) + ("/dev/null",)
    realpath, fsdecode, isinstance_, int_ = os.path.realpath, os.fsdecode, isinstance, int

    def hook(event, args):
        if event in PATH_EVENTS and args and not isinstance_(args[0], int_):
            path = realpath(fsdecode(args[0] if args[0] is not None else "."))
            if not (path + "/").startswith(allowed) and path != "/dev/null":
                raise PermissionError(f"the grader does not let answers open {path}")
        elif event in GUARDED_EVENTS:
            raise PermissionError(f"the grader does not let answers use {event}")

    sys.addaudithook(hook)


def child_main(guard_files=False):
    """The re-check's first process: one forked process per exercise; the answers on stdout.

    guard_files -- install the audit hook of _guard_files in each forked process (when the
        sandbox has no namespaces to hide the file system)
    """
    request = json.loads(sys.stdin.read())
    answers = {}
    for exercise in request["exercises"]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_RDWR)
            for std in (0, 1, 2):
                os.dup2(devnull, std)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 1 << 16)
            if guard_files:
                _guard_files()
            _run_exercise(exercise, write_end)
        os.close(write_end)
        answers[exercise["name"]] = _collect(pid, read_end, request["timeout"])
        os.close(read_end)
    sys.stdout.write(json.dumps(answers))
    sys.stdout.flush()


# --- in the grader ------------------------------------------------------------------------------


def run_sandboxed(request, spec_path, timeout, zygote=None):
    """Run the re-check in the sandbox described by spec_path; return (answers, None) or
    (None, why it failed). With a zygote (execute.Zygote), the launcher is forked from it, with
    numpy already loaded, instead of starting a new interpreter."""
    if zygote is not None:
        return _run_forked(request, spec_path, timeout, zygote)
    from .sandbox import launcher_command, launcher_env

    env = {**os.environ, **launcher_env()}
    process = subprocess.Popen(
        launcher_command(spec_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None, f"the re-check did not finish in {timeout:g} s"
    return _answers(out, process.returncode)


def _run_forked(request, spec_path, timeout, zygote):
    """The re-check launched by the zygote; the request and the answers go through files."""
    from pathlib import Path

    folder = Path(spec_path).parent
    question, answer = folder / "verify-request.json", folder / "verify-answers.json"
    question.write_text(json.dumps(request))
    process = zygote.spawn([str(spec_path)], folder, stdin=question, stdout=answer)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return None, f"the re-check did not finish in {timeout:g} s"
    return _answers(answer.read_bytes() if answer.exists() else b"", process.returncode)


def _answers(out, code):
    try:
        return json.loads(out.decode()), None
    except ValueError:
        return None, f"the re-check stopped without an answer (exit code {code})"


class _Raised(Exception):
    """An exception the student's function raised in the sandbox, raised again for the checks."""


def _placeholder(type_name):
    """An object that is not what the checks want, named as what the student returned."""
    return type(type_name if type_name.isidentifier() else "object", (), {})()


def _decode_array(value):
    import numpy as np

    dtype_text, shape = value.get("dtype", ""), value.get("shape")
    if not re.fullmatch(r"[<>|=]?[biufc]\d{1,2}", dtype_text) or not isinstance(shape, list):
        return _placeholder("object")
    if not all(isinstance(n, int) and 0 <= n <= MAX_ARRAY_SIZE for n in shape):
        return _placeholder("object")
    dtype, data = np.dtype(dtype_text), base64.b64decode(value.get("data", ""))
    if int(np.prod(shape)) * dtype.itemsize != len(data):
        return _placeholder("object")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _decode(value):
    kind = value.get("kind")
    if kind == "none":
        return None
    if kind == "array":
        return _decode_array(value)
    if kind == "dict":
        result = {}
        for i, (key, item) in enumerate(value.get("entries", [])):
            result[key if isinstance(key, str) else f"<key {i} is not a string>"] = _decode(item)
        return result
    return _placeholder(str(value.get("type", "object")))


def replay(answer, calls):
    """A function that gives, for each network shape, what the student's function gave."""
    outcome = answer.get("outcome")
    if outcome != "called":
        reason = failure_reason(answer)

        def failing(layers_dims):
            raise _Raised(reason)

        return failing
    results = {tuple(dims): call for dims, call in zip(calls, answer["calls"])}

    def function(layers_dims):
        call = results[tuple(layers_dims)]
        if call.get("outcome") == "raised":
            if call.get("type") == "NotImplementedError":
                raise NotImplementedError(call.get("message", ""))
            raise type(call.get("type", "Error"), (_Raised,), {})(call.get("message", ""))
        return _decode(call.get("value", {}))

    return function


def failure_reason(answer):
    """Why an exercise's answer could not be called at all, in words."""
    outcome = answer.get("outcome")
    if outcome == "missing":
        return "the answer cell does not define the function"
    if outcome == "cell_error":
        error = answer.get("error", {})
        return f"running the answer cell raised {error.get('type')}: {error.get('message')}"
    if outcome == "timeout":
        return "the answer did not finish in time"
    if outcome == "too_large":
        return "the answer returned too much data"
    if outcome == "crashed":
        return "the answer crashed the interpreter"
    return "the answer could not be checked"


def score(exercise, answer, public_tests):
    """(points, printed messages) of the rebuilt answer under the course's own checks: the
    fraction grade_exercise returns times the exercise's points, as ExercisePoints counts it."""
    function = replay(answer, exercise["calls"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fraction = public_tests.grade_exercise(function, exercise["kind"], exercise["hidden_cases"])
    fraction = min(max(float(fraction), 0.0), 1.0)
    return round(fraction * float(exercise["points"]), 2), out.getvalue()


# --- patterns of tampering in the student's code ------------------------------------------------

GUARDED_MODULES = {"np", "numpy", "public_tests", "init_utils", "builtins", "__builtins__", "sys"}
GUARDED_NAMES = {
    "grade_exercise",
    "check_case",
    "print",
    "initialize_parameters_zeros_test",
    "initialize_parameters_random_test",
    "initialize_parameters_he_test",
    "hidden_cases",
    "np",
    "isinstance",
    "type",
    "float",
}
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


def _root_name(node):
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(node):
    """What an assignment or deletion binds: names, attributes, items (tuples unpacked)."""
    if isinstance(node, ast.Assign | ast.Delete):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.NamedExpr):
        targets = [node.target]
    else:
        return []
    flat = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
        else:
            flat.append(target)
    return flat


def _python_source(source):
    """The cell as plain Python (IPython magics and shell escapes rewritten)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 -- fall back to the cell as written
        return source


def suspicious(source):
    """What in a cell's code tampers with the grading, as short phrases (empty when nothing)."""
    try:
        tree = ast.parse(_python_source(source))
    except (SyntaxError, ValueError):
        return []
    found = []

    def note(text):
        if text not in found:
            found.append(text)

    paths = []
    for node in ast.walk(tree):
        for target in _targets(node):
            if (
                isinstance(target, ast.Attribute | ast.Subscript)
                and _root_name(target) in GUARDED_MODULES
            ):
                note(f"replaces {ast.unparse(target)}")
            elif isinstance(target, ast.Name) and target.id in GUARDED_NAMES:
                note(f"redefines {target.id}")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in GUARDED_NAMES:
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
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = name or (node.func.id if isinstance(node.func, ast.Name) else None)
            if name in SUSPICIOUS_CALLS:
                note(SUSPICIOUS_CALLS[name])
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if COURSE_FILES.search(node.value):
                paths.append(node.value)
    if paths:
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        note(f"refers to the course's files ({paths[0][:60]!r}{more})")
    return found
