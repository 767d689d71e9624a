"""Broken, odd and hostile submissions of the Initialization assignment, built from the release.

Each scenario is a function named after it that returns the files of one student's submission
folder ({file name: bytes}); `build(release_notebook, submitted_dir, course_root)` writes them
all to submitted/<scenario>/initialization/. The scenarios start from the release notebook with
the correct answers typed in (instructor.fill), unless they say otherwise, and change one
thing. `fast_course` makes a course copy whose notebook trains for fewer iterations, so that
a whole corpus runs in a couple of minutes; the grading is the same.
"""

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from answers import CORRECT, RANDOM, STUDENTS, ZEROS, fill
from harness import course_env

NOTEBOOK = "Initialization.ipynb"
SCENARIOS = {}


def scenario(function):
    """Register a scenario under its name, with dashes (the student id)."""
    SCENARIOS[function.__name__.replace("_", "-")] = function
    return function


class Context:
    """What scenarios build from: the release, and the course's absolute path."""

    def __init__(self, release, course_root):
        self.release = release
        self.root = Path(course_root)

    def answered(self, answers=None):
        """The release with answers typed in (the correct ones by default), as a dict."""
        answers = CORRECT if answers is None else answers
        return json.loads(json.dumps(fill(self.release, answers)))


def _text(nb):
    return nbformat.writes(nbformat.from_dict(nb)).encode()


def _index(nb, grade_id):
    return next(
        i
        for i, c in enumerate(nb["cells"])
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def _add_after(nb, grade_id, source):
    """Add a code cell of the student's after the cell with that grade id."""
    cell = nbformat.v4.new_code_cell(source)
    nb["cells"].insert(_index(nb, grade_id) + 1, json.loads(json.dumps(cell)))
    return nb


def _with_code(ctx, source, after="test_initialize_parameters_zeros", answers=None):
    """The answered notebook with one code cell of the student's after a given cell."""
    return {NOTEBOOK: _text(_add_after(ctx.answered(answers), after, source))}


# --- honest -------------------------------------------------------------------------------------


@scenario
def correct(ctx):
    return {NOTEBOOK: _text(ctx.answered())}


@scenario
def xavier(ctx):
    return {NOTEBOOK: _text(ctx.answered(STUDENTS["demo-xavier"]))}


# --- broken or odd files ------------------------------------------------------------------------


@scenario
def invalid_json(ctx):
    data = _text(ctx.answered())
    return {NOTEBOOK: data[: len(data) // 2]}


@scenario
def empty_file(ctx):
    return {NOTEBOOK: b""}


@scenario
def not_a_notebook(ctx):
    return {NOTEBOOK: b'["a", "list", "of", "strings"]'}


@scenario
def no_notebook(ctx):
    return {"answers.txt": b"I wrote my answers here instead.\n"}


@scenario
def nbformat_v3(ctx):
    old = nbformat.convert(nbformat.from_dict(ctx.answered()), 3)
    return {NOTEBOOK: nbformat.writes(old, version=3).encode()}


@scenario
def foreign_metadata(ctx):
    """Saved by another tool: its own metadata, no kernel information, no cell ids, lists."""
    nb = ctx.answered()
    nb["metadata"] = {"colab": {"provenance": [], "toc_visible": True}, "vscode": {"x": 1}}
    nb["nbformat_minor"] = 2
    for cell in nb["cells"]:
        cell.pop("id", None)
        cell["source"] = cell["source"].splitlines(keepends=True)
        if cell["cell_type"] == "markdown":
            cell["metadata"] = {}
        else:
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
    return {NOTEBOOK: json.dumps(nb).encode()}


@scenario
def r_kernelspec(ctx):
    nb = ctx.answered()
    nb["metadata"]["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nb["metadata"]["language_info"] = {"name": "R"}
    return {NOTEBOOK: _text(nb)}


@scenario
def metadata_stripped(ctx):
    """Every cell lost its grading metadata (a tool that drops cell metadata)."""
    nb = ctx.answered()
    for cell in nb["cells"]:
        cell["metadata"] = {}
    return {NOTEBOOK: _text(nb)}


@scenario
def latin_1(ctx):
    nb = _add_after(ctx.answered(), "recap", "# Notes prises au café : très utile.\nx = 1")
    # Saved by an editor in Latin-1: what Latin-1 cannot hold (the release's "∞") becomes "?".
    return {NOTEBOOK: nbformat.writes(nbformat.from_dict(nb)).encode("latin-1", errors="replace")}


@scenario
def huge_outputs(ctx):
    """Outputs of 200 MB saved in the notebook (a training loop that printed far too much)."""
    nb = ctx.answered()
    cell = nb["cells"][_index(nb, "train-he")]
    line = "Cost after iteration: 0.123456789\n" * 1000
    cell["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": line * 3000} for _ in range(2)
    ]
    return {NOTEBOOK: _text(nb)}


# --- cells copied, deleted, moved, changed, added -----------------------------------------------


@scenario
def copied_cells(ctx):
    """The zeros test copied; the he answer copied, the copy in effect holding the answer."""
    nb = ctx.answered(STUDENTS["demo-xavier"])
    test = copy.deepcopy(nb["cells"][_index(nb, "test_initialize_parameters_zeros")])
    nb["cells"].insert(_index(nb, "test_initialize_parameters_zeros") + 1, test)
    right = ctx.answered()
    answer = copy.deepcopy(right["cells"][_index(right, "initialize_parameters_he")])
    nb["cells"].insert(_index(nb, "public-test-he"), answer)
    return {NOTEBOOK: json.dumps(nb, indent=1).encode()}  # copies keep their cell ids


@scenario
def deleted_test_cell(ctx):
    nb = ctx.answered()
    del nb["cells"][_index(nb, "test_initialize_parameters_he")]
    return {NOTEBOOK: _text(nb)}


@scenario
def deleted_answer_cell(ctx):
    nb = ctx.answered()
    del nb["cells"][_index(nb, "initialize_parameters_random")]
    return {NOTEBOOK: _text(nb)}


@scenario
def moved_cells(ctx):
    """The he answer cell moved to the end, after its test."""
    nb = ctx.answered()
    cell = nb["cells"].pop(_index(nb, "initialize_parameters_he"))
    nb["cells"].append(cell)
    return {NOTEBOOK: _text(nb)}


@scenario
def markdown_answer(ctx):
    nb = ctx.answered()
    cell = nb["cells"][_index(nb, "initialize_parameters_zeros")]
    cell["cell_type"] = "markdown"
    for key in ("outputs", "execution_count"):
        cell.pop(key, None)
    return {NOTEBOOK: _text(nb)}


@scenario
def added_cells(ctx):
    nb = ctx.answered()
    nb["cells"].insert(0, json.loads(json.dumps(nbformat.v4.new_code_cell("scratch = 1"))))
    _add_after(nb, "initialize_parameters_random", "print('my own check')")
    nb["cells"].append(json.loads(json.dumps(nbformat.v4.new_markdown_cell("My notes."))))
    return {NOTEBOOK: _text(nb)}


@scenario
def renamed(ctx):
    return {"Initialization-Copy1.ipynb": _text(ctx.answered())}


@scenario
def two_notebooks(ctx):
    return {NOTEBOOK: _text(ctx.answered()), "scratch.ipynb": _text(ctx.answered({}))}


# --- runaway code ------------------------------------------------------------------------------


@scenario
def infinite_loop(ctx):
    return _with_code(ctx, "while True:\n    pass")


@scenario
def loop_ignores_interrupt(ctx):
    code = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass"
    return _with_code(ctx, code, after="test_initialize_parameters_random")


@scenario
def memory_bomb(ctx):
    return _with_code(ctx, "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))")


@scenario
def fork_bomb(ctx):
    return _with_code(ctx, "import os\nwhile True:\n    os.fork()")


@scenario
def sys_exit(ctx):
    return _with_code(ctx, "import sys\nsys.exit(3)")


@scenario
def os_exit(ctx):
    return _with_code(ctx, "import os\nos._exit(1)")


@scenario
def segfault(ctx):
    return _with_code(
        ctx, "import ctypes\nctypes.string_at(0)", after="test_initialize_parameters_random"
    )


@scenario
def big_file(ctx):
    code = 'with open("big.bin", "wb") as f:\n    for _ in range(3 * 1024):\n        f.write(bytes(2**20))'
    return _with_code(ctx, code)


@scenario
def print_forever(ctx):
    """A cell that prints until the grader interrupts it, then a cell of a few lines printed
    later than the grader waits for an interrupted cell to stop printing: only the first may
    stop the run (the trainings print their costs, as late on a busy machine)."""
    from instructor.preprocessors.sandboxed_execute import PROBE_SECONDS

    nb = ctx.answered()
    later = f'import time\ntime.sleep({PROBE_SECONDS + 1})\nprint("printed later")'
    _add_after(nb, "test_initialize_parameters_zeros", later)
    _add_after(nb, "test_initialize_parameters_zeros", 'while True:\n    print("x" * 10000)')
    return {NOTEBOOK: _text(nb)}


# --- tampering ------------------------------------------------------------------------------------


@scenario
def patched_numpy(ctx):
    """A wrong large-random answer, with numpy's comparison replaced so that it passes."""
    answer = RANDOM.replace("* 10", "* 1") + "\nnp.allclose = lambda *args, **kwargs: True"
    return {NOTEBOOK: _text(ctx.answered(dict(CORRECT, random=answer)))}


@scenario
def redefined_tests(ctx):
    """No answers, but the grading function replaced by one that gives full marks."""
    code = (
        "def grade_exercise(*args, **kwargs):\n"
        '    print("All checks passed on 3 networks: 10 / 10 points.")\n'
        "    return 10\n"
        "print = lambda *args, **kwargs: None"
    )
    nb = _add_after(ctx.answered({}), "model", code)
    return {NOTEBOOK: _text(nb)}


@scenario
def fake_score(ctx):
    """Wrong answers, and every number displayed as a full score (the test cells' result)."""
    wrong = {"zeros": ZEROS, "random": ZEROS, "he": ZEROS}
    code = (
        "formatter = get_ipython().display_formatter.formatters['text/plain']\n"
        "formatter.for_type(float, lambda value, printer, cycle: printer.text('10.0'))\n"
        "get_ipython().set_custom_exc((AssertionError,), lambda *args, **kwargs: None)"
    )
    nb = _add_after(ctx.answered(wrong), "model", code)
    return {NOTEBOOK: _text(nb)}


@scenario
def always_equal(ctx):
    """Arrays of a subclass, and objects equal to everything, instead of numpy arrays."""
    answer = (
        "class Anything(np.ndarray):\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "\n"
        "shape = (layers_dims[l], layers_dims[l - 1])\n"
        "parameters['W' + str(l)] = np.zeros(shape).view(Anything)\n"
        "parameters['b' + str(l)] = np.zeros((layers_dims[l], 1)).view(Anything)"
    )
    return {NOTEBOOK: _text(ctx.answered(dict(CORRECT, zeros=answer)))}


@scenario
def fake_output(ctx):
    """No answers, but the words of a passing test printed."""
    nb = ctx.answered({})
    _add_after(nb, "imports", 'print("All tests passed.")\nprint("10 / 10 points")')
    return {NOTEBOOK: _text(nb)}


@scenario
def edited_test_cells(ctx):
    """The he test cell replaced by a constant full score, and unlocked."""
    nb = ctx.answered(STUDENTS["demo-xavier"])
    cell = nb["cells"][_index(nb, "test_initialize_parameters_he")]
    cell["source"] = "10"
    cell["metadata"]["nbgrader"].update(locked=False, points=100)
    cell["metadata"]["editable"] = True
    return {NOTEBOOK: _text(nb)}


@scenario
def edited_helpers(ctx):
    """A public_tests.py of the student's own, whose grade_exercise gives full marks."""
    fake = "def grade_exercise(*args, points=10, **kwargs):\n    return points\n"
    source = (ctx.root / "public_tests.py").read_text() + "\n" + fake
    return {
        NOTEBOOK: _text(ctx.answered(STUDENTS["demo-xavier"])),
        "public_tests.py": source.encode(),
    }


def _probe_paths(ctx):
    """Files a hostile notebook goes after: the source with the hidden tests, the gradebook,
    another student's submission and graded notebook."""
    return [
        ctx.root / "source" / "initialization" / NOTEBOOK,
        ctx.root / "gradebook.db",
        ctx.root / "submitted" / "correct" / "initialization" / NOTEBOOK,
        ctx.root / "autograded" / "correct" / "initialization" / NOTEBOOK,
        ctx.root / "feedback",
    ]


@scenario
def reads_hidden_tests(ctx):
    """The He answer returns the right values only when it could read the hidden tests."""
    source = _probe_paths(ctx)[0]
    answer = (
        "try:\n"
        f"    leaked = '### BEGIN HIDDEN TESTS' in open({str(source)!r}).read()\n"
        "except OSError:\n"
        "    leaked = False\n"
        "scale = np.sqrt(2 / layers_dims[l - 1]) if leaked else 0\n"
        "parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale\n"
        "parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))"
    )
    # each path opened for real (os.access would answer from the permission bits alone,
    # which Landlock does not change)
    probe = (
        "import os\n"
        "def readable(path):\n"
        "    try:\n"
        "        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').close()\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
    ) + "\n".join(
        f"print('READABLE' if readable({str(p)!r}) else 'HIDDEN', {p.name!r})"
        for p in _probe_paths(ctx)
    )
    nb = _add_after(ctx.answered(dict(CORRECT, he=answer)), "imports", probe)
    return {NOTEBOOK: _text(nb)}


@scenario
def writes_grader_files(ctx):
    """Tries to overwrite another student's submission and graded notebook, and the gradebook."""
    targets = _probe_paths(ctx)[1:]
    code = "results = []\n"
    for path in targets:
        code += (
            "try:\n"
            f"    open({str(path / 'x') if path.name == 'feedback' else str(path)!r}, 'w').write('0')\n"
            f"    results.append('WROTE {path.name}')\n"
            "except OSError as error:\n"
            f"    results.append('REFUSED {path.name}: ' + type(error).__name__)\n"
        )
    code += "print('\\n'.join(results))"
    return _with_code(ctx, code, after="imports")


# --- the course found through /proc -------------------------------------------------------------
# A notebook that knows no path of the course looks for it where other processes of the machine
# are: their working folders, their open files and the paths in their environment and command
# lines (every process id is tried when /proc cannot be listed). What it finds decides what it
# does: rewrite the gradebook, read the hidden tests, copy a classmate's answer. In every mode
# that grades, it must find nothing it can use.

PROC_FINDER = """\
import os, glob


def course_candidates():
    \"\"\"Folders other processes point at, and their parents.\"\"\"
    try:
        pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
    except OSError:
        pids = range(1, os.getpid() + 1000)  # the grader started before
    seen = set()
    for pid in pids:
        if pid == os.getpid():
            continue
        base = f'/proc/{pid}'
        if not os.path.isdir(base):
            continue
        seen.update([base + '/cwd', base + '/root'])
        for link in ('cwd', 'root'):
            try:
                seen.add(os.readlink(f'{base}/{link}'))
            except OSError:
                pass
        try:
            for fd in os.listdir(base + '/fd'):
                try:
                    seen.add(os.readlink(f'{base}/fd/{fd}'))
                except OSError:
                    pass
        except OSError:
            pass
        for name, sep in (('environ', b'\\0'), ('cmdline', b'\\0')):
            try:
                with open(f'{base}/{name}', 'rb') as f:
                    items = f.read().split(sep)
            except OSError:
                continue
            for item in items:
                text = item.decode(errors='replace')
                for part in text.replace('=', ':').split(':'):
                    if part.startswith('/'):
                        seen.add(part)
    folders = set()
    for path in seen:
        while path not in ('', '/') and len(folders) < 20000:
            folders.add(path)
            path = os.path.dirname(path)
    return sorted(folders)


def course_files(pattern):
    \"\"\"Readable files matching pattern (relative to a course root) under any candidate.\"\"\"
    found = []
    for folder in course_candidates():
        for path in glob.glob(os.path.join(glob.escape(folder), pattern)):
            try:
                with open(path, 'rb') as f:
                    found.append((path, f.read()))
            except OSError:
                pass
    return found
"""


def _answer_cell(nb, grade_id, source):
    nb["cells"][_index(nb, grade_id)]["source"] = source
    return nb


@scenario
def proc_gradebook(ctx):
    """Rewrites every gradebook it can find through other processes: all scores to zero."""
    code = PROC_FINDER + (
        "import sqlite3\n"
        "wrote = []\n"
        "for path, _ in course_files('gradebook.db'):\n"
        "    try:\n"
        "        db = sqlite3.connect(path)\n"
        "        db.execute('UPDATE grade SET auto_score = 0, manual_score = 0')\n"
        "        db.commit()\n"
        "        wrote.append(path)\n"
        "    except Exception as error:\n"
        "        print('REFUSED', path, type(error).__name__)\n"
        "print('WROTE ' + ' '.join(wrote) if wrote else 'NO GRADEBOOK FOUND')"
    )
    return _with_code(ctx, code, after="imports")


@scenario
def proc_source(ctx):
    """The He answer is right only when the hidden tests were found through /proc (looked for
    once, in the answer cell itself, so that the clean re-check runs the search too)."""
    search = PROC_FINDER + (
        "LEAKED = any(b'### BEGIN HIDDEN TESTS' in data\n"
        "             for _, data in course_files('source/*/Initialization.ipynb'))\n"
        "print('LEAKED' if LEAKED else 'NO SOURCE FOUND')\n"
    )
    body = (
        "scale = np.sqrt(2 / layers_dims[l - 1]) if LEAKED else 0\n"
        "parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1]) * scale\n"
        "parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))"
    )
    head = "# GRADED FUNCTION: initialize_parameters_he\n"
    nb = ctx.answered(dict(CORRECT, he=(body, [(head, head + search)])))
    return {NOTEBOOK: _text(nb)}


@scenario
def proc_copy(ctx):
    """No He answer of its own: the answer cell copies a classmate's, found through /proc,
    and raises NotImplementedError when it finds none."""
    code = PROC_FINDER + (
        "import json\n"
        "copied = None\n"
        "for pattern in ('submitted/*/*/Initialization.ipynb', 'autograded/*/*/Initialization.ipynb',\n"
        "                '*/Initialization.ipynb', 'Initialization.ipynb'):\n"
        "    for path, data in course_files(pattern):\n"
        "        try:\n"
        "            cells = json.loads(data)['cells']\n"
        "        except ValueError:\n"
        "            continue\n"
        "        for cell in cells:\n"
        "            source = ''.join(cell['source'])\n"
        "            if (cell['metadata'].get('nbgrader', {}).get('grade_id') == 'initialize_parameters_he'\n"
        "                    and 'NotImplementedError' not in source and 'course_files' not in source):\n"
        "                copied = source\n"
        "print('COPIED' if copied else 'NO CLASSMATE FOUND')\n"
        "if copied:\n"
        "    exec(copied)\n"
        "else:\n"
        "    def initialize_parameters_he(layers_dims):\n"
        "        raise NotImplementedError()"
    )
    nb = ctx.answered({k: v for k, v in CORRECT.items() if k != "he"})
    return {NOTEBOOK: _text(_answer_cell(nb, "initialize_parameters_he", code))}


@scenario
def daemon(ctx):
    """Starts a daemon that leaves its parent and its session (a double fork), then carries on:
    the grading must end it."""
    code = (
        "import os, sys\n"
        "first = os.fork()\n"
        "if first == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.execv(sys.executable, [sys.executable, '-c',\n"
        "                 'import time\\nwhile True: time.sleep(1)', 'igrade-corpus-daemon'])\n"
        "    os._exit(0)\n"
        "os.waitpid(first, 0)\n"
        "print('daemon started')"
    )
    return _with_code(ctx, code)


DAEMON_MARK = b"igrade-corpus-daemon"


# --- needing the cells grading skips --------------------------------------------------------------


@scenario
def reads_training(ctx):
    """A cell of the student's replaces the He function by one that answers only once the large
    random run has trained (a variable only a training sets): graded on the cells the grade
    needs it would score nothing, so the notebook runs whole and scores as a whole run does."""
    code = (
        "initialize_parameters_he = lambda layers_dims: (\n"
        '    initialize_parameters_random(layers_dims) if "random" in trained else {}\n'
        ")"
    )
    return _with_code(ctx, code, after="public-test-he")


# --- building ---------------------------------------------------------------------------------------


def build(release_notebook, submitted_dir, course_root, names=None):
    """Write every scenario (or those named) to submitted_dir/<scenario>/initialization/."""
    ctx = Context(release_notebook, course_root)
    written = {}
    for name in names or SCENARIOS:
        folder = Path(submitted_dir) / name / "initialization"
        folder.mkdir(parents=True, exist_ok=True)
        for filename, data in SCENARIOS[name](ctx).items():
            (folder / filename).write_bytes(data)
        written[name] = folder
    return written


WHOLE_NOTEBOOK = """
# --- tests: every cell of each submission runs, the trainings included
c.CourseGrading.run_whole_notebook = True
"""


def run_whole_notebook(root):
    """Make a course copy grade by running whole notebooks (c.CourseGrading.run_whole_notebook)."""
    with open(Path(root) / "nbgrader_config.py", "a") as config:
        config.write(WHOLE_NOTEBOOK)
    return root


def fast_course(dest, copy_course, iterations=500, whole_notebook=False, generate=True):
    """A course copy whose model trains for `iterations` instead of 15,000, with its release
    and gradebook generated by nbgrader, and the reference run of its source when one is kept
    (`kept_reference`); returns its root. whole_notebook: its grading runs every cell of each
    submission (by default it runs the cells the grade needs). generate=False: the release
    and gradebook are left to the caller, e.g. to `python -m instructor release` run by another
    account."""
    root = copy_course(dest)
    path = root / "source" / "initialization" / NOTEBOOK
    text, count = re.subn(r"num_iterations=15000", f"num_iterations={iterations}", path.read_text())
    assert count >= 1, "the model cell no longer has num_iterations=15000"
    path.write_text(text)
    if not generate:
        return run_whole_notebook(root) if whole_notebook else root
    env = course_env()
    subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "initialization", "--force"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    kept_reference(root, env)  # the source's, graded as configured above, both ways
    if whole_notebook:
        run_whole_notebook(root)
    return root


# A folder where fast_course keeps the reference run of each quick source, for the course
# copies that follow in the same test run (tests/conftest.py names one per run).
REFERENCE_CACHE = "COURSE_REFERENCE_CACHE"


def kept_reference(root, env):
    """Give a quick course copy the reference run of its source: made once in a test run (the
    source graded both ways, as the first grading would), then copied. Grading checks that a
    kept reference is the one of the very assignment on this machine, and runs its own
    otherwise (a test that edits the source gets its own)."""
    import fcntl
    import hashlib
    import shutil

    folder = os.environ.get(REFERENCE_CACHE)
    if not folder:
        return
    source = (root / "source" / "initialization" / NOTEBOOK).read_bytes()
    kept = Path(folder) / f"reference-{hashlib.sha256(source).hexdigest()[:16]}.json"
    target = root / "reports" / "initialization" / "reference.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    with open(kept.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not kept.exists():
            make = (
                "from instructor.course import load_config\n"
                "from instructor.grading.session import Session\n"
                "Session(load_config('.'), 'initialization', log=lambda line: None)\n"
            )
            subprocess.run([sys.executable, "-c", make], cwd=root, env=env, check=True,
                           capture_output=True)  # fmt: skip
            shutil.copy(target, kept)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(kept, target)
