"""The student's path through the release notebook, executed for real in a Jupyter kernel.

Each scenario types a typical mistake into the release's answer cells, as a student would, and
runs the notebook's cells that a student runs right after answering: the public tests, the
grade cells (with the release's empty hidden cases), the scale section and the check. Every
mistake must be named in the public test cell, with no traceback and nothing on stderr.
"""

import json
import shutil

import nbformat
import pytest
from answers import CORRECT, HE, RANDOM, ZEROS, fill
from harness import ROOT
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

RELEASE = ROOT / "release" / "initialization"
NOTEBOOK = "Initialization.ipynb"
KINDS = ["zeros", "random", "he"]
# The cells run: what the public tests, the grade cells and the scale section need.
RUN = {"imports", "load-data", *(f"initialize_parameters_{k}" for k in KINDS)}
RUN |= {f"public-test-{k}" for k in KINDS} | {f"test_initialize_parameters_{k}" for k in KINDS}
RUN |= {"scale-plot"}


def typed(right, w=None, b=None, edits=()):
    """A typed answer: the right one with its W or b line replaced, and scaffold edits."""
    w_line, b_line = right.splitlines()
    lines = [w if w is not None else w_line, b if b is not None else b_line]
    return ("\n".join(line for line in lines if line), list(edits))


# (scenario, exercise, the typed answer or None for the untouched stub, the mistake's title)
SCENARIOS = [
    ("stub", "zeros", None, "not implemented"),
    ("biases forgotten", "random", typed(RANDOM, b=""), "biases missing"),
    ("returns a list", "he", typed(HE, edits=[("    return parameters", "    return list(parameters.values())")]), "not a dictionary"),
    ("returns None", "zeros", typed(ZEROS, edits=[("    return parameters", "    return")]), "nothing returned"),
    ("NameError", "random", typed(RANDOM, w="parameters['W' + str(l)] = np.random.randn(n, layers_dims[l - 1]) * 10"), "error raised"),
    ("transposed", "he", typed(HE, w="parameters['W' + str(l)] = np.random.randn(layers_dims[l - 1], layers_dims[l]) * np.sqrt(2 / layers_dims[l - 1])"), "transposed weights"),
    ("fixed index", "zeros", typed(ZEROS, w="parameters['W' + str(l)] = np.zeros((layers_dims[1], layers_dims[1 - 1]))", b="parameters['b' + str(l)] = np.zeros((layers_dims[1], 1))"), "fixed layer index"),
    ("last layer skipped", "he", typed(HE, edits=[("for l in range(1, L + 1):", "for l in range(1, L):")]), "last layer skipped"),
    ("lists", "zeros", typed(ZEROS, w="parameters['W' + str(l)] = np.zeros((layers_dims[l], layers_dims[l - 1])).tolist()"), "not numpy arrays"),
    ("float32", "random", typed(RANDOM, w="parameters['W' + str(l)] = (np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10).astype(np.float32)"), "float32 instead of float64"),
    ("flat biases", "he", typed(HE, b="parameters['b' + str(l)] = np.zeros(layers_dims[l])"), "biases of shape (n,)"),
    ("empty", "random", typed(RANDOM, w="pass", b=""), "empty dictionary"),
    ("lower-case keys", "zeros", typed(ZEROS, w="parameters['w' + str(l)] = np.zeros((layers_dims[l], layers_dims[l - 1]))"), "wrong keys"),
    ("extra layer", "random", typed(RANDOM, edits=[("for l in range(1, L):", "for l in range(1, L + 1):"), ("layers_dims[l], layers_dims[l - 1]) * 10", "layers_dims[min(l, L - 1)], layers_dims[min(l, L - 1) - 1]) * 10"), ("np.zeros((layers_dims[l], 1))", "np.zeros((layers_dims[min(l, L - 1)], 1))")]), "extra layer"),
]  # fmt: skip


def notebooks():
    """The scenarios packed three to a notebook, one per exercise: [{exercise: scenario}]."""
    queues = {k: [s for s in SCENARIOS if s[1] == k] for k in KINDS}
    packed = []
    while any(queues.values()):
        packed.append({k: queues[k].pop(0) for k in KINDS if queues[k]})
    return packed


def execute(nb, folder, keep=RUN):
    """Run the kept cells of nb in a real kernel in folder; return {grade id: cell}."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.cells = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] in keep]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}


def stdout(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def assert_clean(cell, grade_id):
    """No error and nothing on stderr."""
    for output in cell.outputs:
        assert output.output_type != "error", (grade_id, output.ename, output.evalue)
        assert not (output.output_type == "stream" and output.name == "stderr"), (
            grade_id,
            output.text,
        )


@pytest.fixture(scope="module")
def release_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student") / "initialization"
    shutil.copytree(RELEASE, folder)
    return folder


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE / NOTEBOOK, as_version=4)


@pytest.mark.parametrize(
    "pack", notebooks(), ids=lambda pack: "+".join(s[0] for s in pack.values())
)
def test_each_mistake_is_named_in_the_public_test_cell_without_a_traceback(
    pack, release, release_copy
):
    """Does each typed mistake get its named message in the public test cell, with no error
    and no stderr anywhere, a grade cell that shows a share in [0, 1], and a scale section
    that runs?"""
    answers = {k: s[2] for k, s in pack.items() if s[2] is not None}
    cells = execute(fill(release, answers), release_copy)
    for grade_id, cell in cells.items():
        assert_clean(cell, grade_id)
    for kind, (scenario, _, _, title) in pack.items():
        printed = stdout(cells[f"public-test-{kind}"])
        assert f"Mistake: {title}." in printed, (scenario, printed)
        assert "All tests passed." not in printed
        (result,) = [
            o
            for o in cells[f"test_initialize_parameters_{kind}"].outputs
            if o.output_type == "execute_result"
        ]
        share = float(result.data["text/plain"])
        assert 0 <= share < 1, scenario
        if title.startswith("float32"):  # right values: only the float64 part (30 %) is lost
            assert share == 0.7
        assert result.data["text/markdown"].startswith("**Score on the checks: ")


def test_untouched_release_runs_every_student_cell_quietly(release, release_copy):
    """Does the untouched release name the stub in every public test, give 0, and let the
    scale section say what is missing instead of failing?"""
    cells = execute(release, release_copy)
    for grade_id, cell in cells.items():
        assert_clean(cell, grade_id)
    for kind in KINDS:
        assert "Mistake: not implemented." in stdout(cells[f"public-test-{kind}"])
    assert "Not shown until the exercise works" in stdout(cells["scale-plot"])


def test_scale_section_shows_vanishing_exploding_and_level_signals(release, release_copy):
    """With the right answers, does the scale section's signal vanish with x0.01, explode with
    x10, stay level with He, and show zeros as exactly 0, with one figure?"""
    cells = execute(fill(release, CORRECT), release_copy)
    cell = cells["scale-plot"]
    assert_clean(cell, "scale-plot")
    assert sum("image/png" in o.get("data", {}) for o in cell.outputs) == 1
    rows = {}
    for line in stdout(cell).splitlines():
        label, _, values = line.partition(" layer 1: ")
        first, _, last = values.partition(" layer 10: ")
        rows[label.split(" (")[0].strip()] = (float(first), float(last))
    assert rows["zeros"] == (0, 0)
    assert rows["×0.01"][1] < 1e-9 * rows["×0.01"][0]
    assert rows["×10"][1] > 1e9 * rows["×10"][0]
    assert 0.5 < rows["He"][1] / rows["He"][0] < 2


def test_an_error_names_the_line_of_the_answer_cell_in_the_test_and_the_grade_cell(
    release, release_copy
):
    """Run in a real kernel, does a typo (np.zeroes) make the public test and the grade cell
    name the answer cell's line, with its number and its code, and np.zeros as the name
    meant, with no line of numpy's and nothing on stderr?"""
    typo = ZEROS.replace("np.zeros((layers_dims[l], layers_dims[l - 1]))", "np.zeroes((layers_dims[l], layers_dims[l - 1]))")  # fmt: skip
    cells = execute(fill(release, {"zeros": typo}), release_copy)
    source = cells["initialize_parameters_zeros"].source.splitlines()
    number = next(n for n, line in enumerate(source, 1) if "np.zeroes" in line)
    for grade_id in ("public-test-zeros", "test_initialize_parameters_zeros"):
        assert_clean(cells[grade_id], grade_id)
        printed = stdout(cells[grade_id])
        joined = printed.replace("\n   ", " ")
        assert "raised AttributeError: module 'numpy' has no attribute 'zeroes'." in joined
        assert f"Did you mean `np.zeros`? Fix line {number} of your answer cell" in joined
        assert f"     line {number}: parameters['W' + str(l)] = np.zeroes(" in printed
        assert "site-packages" not in printed and "Traceback" not in printed


# --- Which code the public test checks: a session in one kernel, step by step ------------------


def answer_cell(release, kind, answer):
    """The release's answer cell of an exercise with an answer typed in (a code cell node)."""
    cells = fill(release, {kind: answer}).cells
    (cell,) = [
        c for c in cells if c.metadata["nbgrader"]["grade_id"] == f"initialize_parameters_{kind}"
    ]
    return cell


def broken(cell, old, new):
    """A copy of the cell with old replaced by new, and the number of the first line changed."""
    assert old in cell.source, old
    source = cell.source.replace(old, new, 1)
    line = next(
        n
        for n, (a, b) in enumerate(zip(source.splitlines(), cell.source.splitlines()), 1)
        if a != b
    )
    return nbformat.v4.new_code_cell(source), line


def flat(text):
    """Text with every run of spaces and line breaks made one space (the tests wrap lines)."""
    return " ".join(text.split())


def test_the_public_test_says_which_code_it_checks(release, release_copy):
    """In one kernel, as a student works: does the public test say, before any verdict and
    without a traceback, that it is not testing when the function is not defined yet, when the
    answer cell's last run could not be read (an open parenthesis, before and after a correct
    run; an indentation error) or raised while defining (an annotation never imported), naming
    the line and the error; and test the function again once the cell runs?"""
    by_id = {c.metadata["nbgrader"]["grade_id"]: c for c in release.cells}
    right = answer_cell(release, "random", RANDOM)
    unclosed, unclosed_line = broken(right, "layers_dims[l - 1]) * 10", "layers_dims[l - 1] * 10")
    indented, indented_line = broken(
        right, "\n        parameters['b'", "\n          parameters['b'"
    )
    annotated, annotated_line = broken(
        right, "(layers_dims):", "(layers_dims) -> Dict[str, float]:"
    )
    name = "`initialize_parameters_random`"
    in_memory = f"The {name} still in memory comes from an earlier run of the cell, not from the code you see, so this test does not check it."
    nothing = f"So {name} is not defined, and there is nothing to test yet."
    # (step, the answer cell run before the test or None, what the test must print, in order)
    steps = [
        ("fresh kernel", None, [f"Not tested: {name} is not defined yet. Run your answer cell for exercise 2 (the cell above), then run this test again."]),
        ("open parenthesis, fresh", unclosed, [f"Not tested: your answer cell for exercise 2 (the cell above) did not run. Python cannot read it, at line {unclosed_line}: '(' was never closed.", f"line {unclosed_line}: parameters['W' + str(l)] = np.random.randn(layers_dims[l], layers_dims[l - 1] * 10", nothing, f"Fix line {unclosed_line}, run the answer cell again, then run this test again."]),
        ("correct", right, ["All tests passed."]),
        ("open parenthesis after a correct run", unclosed, [f"at line {unclosed_line}: '(' was never closed.", in_memory]),
        ("indentation", indented, [f"Python cannot read it, at line {indented_line}: unexpected indent.", f"line {indented_line}: parameters['b' + str(l)] = np.zeros((layers_dims[l], 1))", in_memory]),
        ("name error when defining", annotated, [f"Not tested: the last run of your answer cell for exercise 2 (the cell above) stopped at line {annotated_line}: NameError: name 'Dict' is not defined.", f"line {annotated_line}: def initialize_parameters_random(layers_dims) -> Dict[str, float]:", in_memory, "Did you mean `dict`?"]),
        ("correct again", right, ["All tests passed."]),
    ]  # fmt: skip
    session = nbformat.v4.new_notebook()
    session.cells = [nbformat.v4.new_code_cell(by_id["imports"].source)]
    for _, answer, _ in steps:
        session.cells += [answer] if answer is not None else []
        session.cells.append(nbformat.v4.new_code_cell(by_id["public-test-random"].source))
    NotebookClient(
        session, timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(release_copy)}},
    ).execute()  # fmt: skip

    tests = [c for c in session.cells if c.source == by_id["public-test-random"].source]
    for (step, _, expected), cell in zip(steps, tests, strict=True):
        assert_clean(cell, step)
        printed = flat(stdout(cell))
        at = [printed.find(flat(part)) for part in expected]
        assert -1 not in at and at == sorted(at), (step, stdout(cell))
        if expected != ["All tests passed."]:
            assert printed.startswith("Not tested: "), (step, stdout(cell))
            for verdict in ("W1 =", "All tests passed", "Mistake", "Traceback"):
                assert verdict not in printed, (step, stdout(cell))
        assert max(map(len, stdout(cell).splitlines())) <= 79, (step, stdout(cell))
