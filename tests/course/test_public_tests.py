"""The public tests and grade_exercise: verdicts, named mistakes and partial credit.

Each scenario is the two lines a student types into the loop of the answer cell (and,
where the mistake is elsewhere, an edit of the scaffold), run through the same template
as the notebook's answer cells.
"""

import re
from pathlib import Path

import numpy as np
import pytest

import public_tests

TEMPLATE = """
def initialize(layers_dims):
    np.random.seed(3)
    parameters = {}
    L = len(layers_dims)
    for l in range(1, L):
BODY
    return parameters
"""
ZEROS_W = "np.zeros((layers_dims[l], layers_dims[l - 1]))"
RANDOM_W = "np.random.randn(layers_dims[l], layers_dims[l - 1]) * 10"
HE_W = "np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])"
ZERO_B = "np.zeros((layers_dims[l], 1))"
CORRECT_W = {"zeros": ZEROS_W, "random": RANDOM_W, "he": HE_W}
HIDDEN_DIMS = [[5, 4, 3, 2, 1], [4, 6, 1], [2, 10, 5, 1]]


def student(w=None, b=ZERO_B, kind="he", body=None, edit=None):
    """A student's function: the typed lines for W and b (or a whole loop body)."""
    body = (
        body or f"parameters['W' + str(l)] = {w or CORRECT_W[kind]}\nparameters['b' + str(l)] = {b}"
    )
    source = TEMPLATE.replace("BODY", "\n".join("        " + line for line in body.splitlines()))
    if edit:
        source = source.replace(*edit)
    namespace = {"np": np}
    exec(source, namespace)
    return namespace["initialize"]


def reference(kind, dims):
    """Expected parameters, from the specification's formulas (an independent reference)."""
    return student(kind=kind)(dims)


def unwrapped(out):
    """The printed text with each wrapped message joined back into one line (its continuation
    lines start with three spaces; a detail line under it, with five)."""
    return re.sub(r"\n {3}(?=\S)", " ", out)


def named(report):
    return re.findall(r"Mistake: ([^.]+)\.", "\n".join(report.problems))


def grade(function, kind, capsys=None):
    cases = [(dims, reference(kind, dims)) for dims in HIDDEN_DIMS]
    return public_tests.grade_exercise(function, kind, cases)


# (scenario, kind, the student's function, the mistake it must be named as, expected points
# out of 10: the share grade_exercise returns is points / 10)
MISTAKES = [
    ("transposed", "he", student(w="np.random.randn(layers_dims[l - 1], layers_dims[l]) * np.sqrt(2 / layers_dims[l - 1])"), "transposed weights", 2),
    ("transposed-zeros", "zeros", student(w="np.zeros((layers_dims[l - 1], layers_dims[l]))", kind="zeros"), "transposed weights", 2),
    ("digit-one-index", "random", student(w="np.random.randn(layers_dims[1], layers_dims[1 - 1]) * 10", kind="random"), "fixed layer index", 2),
    ("digit-one-index-zeros", "zeros", student(w="np.zeros((layers_dims[1], layers_dims[1 - 1]))", b="np.zeros((layers_dims[1], 1))", kind="zeros"), "fixed layer index", 2),
    ("last-layer-skipped", "he", student(edit=("range(1, L)", "range(1, L - 1)")), "last layer skipped", 0),
    ("extra-layer", "random", student(kind="random", body=f"parameters['W' + str(l)] = {RANDOM_W}\nparameters['b' + str(l)] = {ZERO_B}\nif l == L - 1:\n    parameters['W' + str(L)] = np.zeros((1, 1))\n    parameters['b' + str(L)] = np.zeros((1, 1))"), "extra layer", 8),
    ("uniform-rand", "random", student(w="np.random.rand(layers_dims[l], layers_dims[l - 1]) * 10", kind="random"), "uniform rand instead of randn", 5),
    ("uniform-rand-he", "he", student(w="np.random.rand(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l - 1])"), "uniform rand instead of randn", 5),
    ("scaled-0.01", "random", student(w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01", kind="random"), "wrong scale for large random", 5),
    ("scaled-1", "random", student(w="np.random.randn(layers_dims[l], layers_dims[l - 1])", kind="random"), "wrong scale for large random", 5),
    ("xavier", "he", student(w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(1 / layers_dims[l - 1])"), "Xavier scaling instead of He", 5),
    ("fan-out", "he", student(w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(2 / layers_dims[l])"), "fan-out instead of fan-in", 5),
    ("no-square-root", "he", student(w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * 2 / layers_dims[l - 1]"), "missing square root", 5),
    ("random-biases", "he", student(b="np.random.randn(layers_dims[l], 1)"), "random biases", 5),
    ("random-biases-random", "random", student(b="np.random.randn(layers_dims[l], 1)", kind="random"), "random biases", 5),
    ("flat-biases", "he", student(b="np.zeros(layers_dims[l])"), "biases of shape (n,)", 2),
    ("seed-in-loop", "he", student(body=f"np.random.seed(3)\nparameters['W' + str(l)] = {HE_W}\nparameters['b' + str(l)] = {ZERO_B}"), "seed re-set inside the loop", 5),
    ("seed-changed", "random", student(kind="random", edit=("np.random.seed(3)", "np.random.seed(1)")), "values not from the seed-3 draw", 5),
    ("returns-list", "he", student(edit=("return parameters", "return list(parameters.values())")), "not a dictionary", 0),
    ("returns-tuple", "zeros", student(kind="zeros", edit=("return parameters", "return tuple(parameters.values())")), "not a dictionary", 0),
    ("float32", "he", student(w=f"({HE_W}).astype(np.float32)"), "float32 instead of float64", 7),
    ("float32-zeros", "zeros", student(w="np.zeros((layers_dims[l], layers_dims[l - 1]), dtype=np.float32)", kind="zeros"), "float32 instead of float64", 7),
    ("int-zeros", "zeros", student(w="np.zeros((layers_dims[l], layers_dims[l - 1]), dtype=int)", kind="zeros"), "int64 instead of float64", 7),
    ("float32-transposed", "zeros", student(w="np.zeros((layers_dims[l - 1], layers_dims[l]), dtype=np.float32)", kind="zeros"), "transposed weights", 2),
    ("biases-forgotten", "he", student(body=f"parameters['W' + str(l)] = {HE_W}"), "biases missing", 0),
    ("nonzero-zeros", "zeros", student(w="np.ones((layers_dims[l], layers_dims[l - 1]))", kind="zeros"), "weights not zero", 5),
    ("nested-lists", "zeros", student(w="np.zeros((layers_dims[l], layers_dims[l - 1])).tolist()", kind="zeros"), "not numpy arrays", 2),
    ("stub", "zeros", student(kind="zeros", body="raise NotImplementedError()"), "not implemented", 0),
    ("returns-none", "random", student(kind="random", edit=("return parameters", "pass")), "nothing returned", 0),
]  # fmt: skip


@pytest.mark.parametrize(
    "scenario, kind, function, title, points", MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_mistake_is_named_on_every_network_and_scored(scenario, kind, function, title, points):
    """Is the mistake named, on the public example and on the hidden shapes, and scored as expected?"""
    layers_dims, expected = public_tests.PUBLIC_CASES[kind]
    assert title in named(public_tests.check_case(function, kind, layers_dims, expected))
    for dims in HIDDEN_DIMS:
        report = public_tests.check_case(function, kind, dims, reference(kind, dims), reveal=False)
        assert title in named(report), (dims, report.problems)
    assert grade(function, kind) == points / 10


def test_every_named_mistake_is_in_the_table():
    """Is every mistake the scenarios name listed in MISTAKES (the dtype one by its pattern)?"""
    titles = {m.title for m in public_tests.MISTAKES.values()}
    for _, _, _, title, _ in MISTAKES:
        assert title in titles or title.endswith(" instead of float64"), title


ALTERNATIVES = [
    ("he", "np.random.randn(layers_dims[l], layers_dims[l - 1]) / np.sqrt(layers_dims[l - 1] / 2)"),
    (
        "he",
        "np.sqrt(2) / np.sqrt(layers_dims[l - 1]) * np.random.randn(layers_dims[l], layers_dims[l - 1])",
    ),
    (
        "he",
        "np.random.normal(0, np.sqrt(2 / layers_dims[l - 1]), (layers_dims[l], layers_dims[l - 1]))",
    ),
    ("he", "np.random.randn(layers_dims[l], layers_dims[l - 1]) * (2 / layers_dims[l - 1]) ** 0.5"),
    ("random", "np.random.normal(0, 10, (layers_dims[l], layers_dims[l - 1]))"),
    ("random", "10 * np.random.randn(layers_dims[l], layers_dims[l - 1])"),
    ("random", "np.random.standard_normal((layers_dims[l], layers_dims[l - 1])) * 10.0"),
    ("zeros", "np.zeros([layers_dims[l], layers_dims[l - 1]], dtype=float)"),
    ("zeros", "np.zeros((layers_dims[l], layers_dims[l - 1])) * 0"),
]


@pytest.mark.parametrize("kind, w", ALTERNATIVES)
def test_correct_answer_written_differently_gets_full_marks(kind, w, capsys):
    """Does a correct formula written another way pass every check?"""
    assert grade(student(w=w, kind=kind), kind) == 1
    assert "All checks passed on the notebook's example and 3 other networks." in (
        capsys.readouterr().out
    )


def test_dictionary_built_in_another_order_and_other_loop_gets_full_marks():
    """Do biases before weights in the dict, and a len(layers_dims) - 1 loop, still pass?"""
    source = """
def initialize(layers_dims):
    np.random.seed(3)
    n_layers = len(layers_dims) - 1
    weights = {}
    for l in range(1, n_layers + 1):
        n, n_prev = layers_dims[l], layers_dims[l - 1]
        weights['W%d' % l] = np.random.randn(n, n_prev) * np.sqrt(2.0 / n_prev)
    parameters = {'b%d' % l: np.zeros((layers_dims[l], 1)) for l in range(n_layers, 0, -1)}
    parameters.update(weights)
    return parameters
"""
    namespace = {"np": np}
    exec(source, namespace)
    assert grade(namespace["initialize"], "he") == 1


def test_public_test_prints_all_tests_passed(capsys):
    """Does a correct answer get exactly 'All tests passed.'?"""
    public_tests.initialize_parameters_he_test(student())
    public_tests.initialize_parameters_random_test(student(kind="random"))
    public_tests.initialize_parameters_zeros_test(student(kind="zeros"))
    out = capsys.readouterr().out
    assert out.count("All tests passed.\n") == 3
    assert "Mistake" not in out


def test_public_test_failure_shows_parameter_expected_and_found(capsys):
    """Does a wrong value show which parameter, what was expected and what was found?"""
    public_tests.initialize_parameters_random_test(
        student(w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01", kind="random")
    )
    out = unwrapped(capsys.readouterr().out)
    assert "W1 has the right shape but the wrong values." in out
    assert "expected: [ 17.88628473,   4.36509851,   0.96497468, -18.63492703," in out
    assert "found:    [ 0.01788628,  0.0043651 ,  0.00096497, -0.01863493," in out
    assert (
        "Mistake: wrong scale for large random. The weights are the right draw multiplied by 0.01"
        in out
    )


def test_student_exception_is_reported_with_its_message(capsys):
    """Is a student's error reported with its type and message rather than raised?"""
    public_tests.initialize_parameters_he_test(
        student(w="np.random.randn(layers_dims[l], unknown)")
    )
    out = unwrapped(capsys.readouterr().out)
    assert "raised NameError: name 'unknown' is not defined." in out


def test_hidden_cases_never_print_expected_values(capsys):
    """Do messages about hidden networks leave out the expected values?"""
    dims = [5, 4, 3, 2, 1]
    expected = reference("he", dims)
    xavier = student(
        w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(1 / layers_dims[l - 1])"
    )
    public_tests.grade_exercise(xavier, "he", [(dims, expected)])
    out = capsys.readouterr().out
    for value in expected["W1"].ravel():
        assert f"{value:.6f}"[:-1] not in out
    assert "Mistake: Xavier scaling instead of He" in out


def test_right_shapes_wrong_scale_earns_more_than_wrong_shapes():
    """Does the partial credit reward right shapes over wrong ones?"""
    wrong_scale = grade(
        student(w="np.random.randn(layers_dims[l], layers_dims[l - 1])", kind="random"), "random"
    )
    wrong_shape = grade(
        student(w="np.random.randn(layers_dims[l - 1], layers_dims[l]) * 10", kind="random"),
        "random",
    )
    assert wrong_scale > wrong_shape > 0


def test_hard_coded_public_example_fails_the_hidden_networks():
    """Does an answer that returns the public example's values lose the value marks?"""
    layers_dims, expected = public_tests.PUBLIC_CASES["he"]
    assert grade(lambda dims: {k: v.copy() for k, v in expected.items()}, "he") < 1


def test_grade_exercise_returns_a_share_that_nbgrader_reads_and_students_understand(capsys):
    """Is the result a float in [0, 1] whose plain text nbgrader parses, shown as a per cent?"""
    score = grade(
        student(w="np.random.randn(layers_dims[l], layers_dims[l - 1])", kind="random"), "random"
    )
    assert isinstance(score, float) and float(repr(score)) == 0.5
    assert score._repr_markdown_() == "**Score on the checks: 50 %**"
    out = capsys.readouterr().out
    assert "points" not in out.replace("% of the points", "")
    assert "[x] a dictionary with exactly the keys" in out
    assert "[ ] the right values (50 % of the points)" in out


def test_grade_cell_names_each_mistake_once_with_its_networks(capsys):
    """Does the grade cell print a mistake found on four networks once, with no value dumps?"""
    grade(student(w=f"({HE_W}).astype(np.float32)"), "he")
    out = capsys.readouterr().out
    assert out.count("Mistake: float32 instead of float64") == 1
    assert "(on every network)" in out
    assert "1 mistake:" in out
    assert "expected:" not in out


def test_public_test_counts_mistakes_not_lines(capsys):
    """One mistake seen in two weights is one problem, with its evidence under it."""
    public_tests.initialize_parameters_random_test(
        student(w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * 0.01", kind="random")
    )
    out = capsys.readouterr().out
    assert "1 problem with layers_dims=[3, 2, 1]:" in out
    assert out.count(" - ") == 1


STRUCTURAL = [
    ("stub", student(body="raise NotImplementedError()"), "not implemented", False),
    ("biases forgotten", student(body=f"parameters['W' + str(l)] = {HE_W}"), "biases missing", True),
    ("returns a list", student(edit=("return parameters", "return list(parameters.values())")), "not a dictionary", False),
    ("returns None", student(edit=("return parameters", "pass")), "nothing returned", False),
    ("error", student(w="np.random.randn(layers_dims[l], unknown)"), "error raised", False),
]  # fmt: skip


@pytest.mark.parametrize(
    "scenario, function, title, shows_w1", STRUCTURAL, ids=[s[0] for s in STRUCTURAL]
)
def test_public_test_shows_what_it_can_and_never_raises(
    capsys, scenario, function, title, shows_w1
):
    """Does the public test print the parameters it can and name the mistake, without raising?"""
    public_tests.initialize_parameters_he_test(function)
    out = capsys.readouterr().out
    assert f"Mistake: {title}." in out
    assert out.startswith("W1 = [[") == shows_w1


def test_public_test_prints_the_parameters_like_the_expected_output(capsys):
    """Are the parameters printed as the notebook's expected output shows them?"""
    public_tests.initialize_parameters_zeros_test(student(kind="zeros"))
    assert capsys.readouterr().out == (
        "W1 = [[0. 0. 0.]\n [0. 0. 0.]]\nb1 = [[0.]\n [0.]]\nW2 = [[0. 0.]]\nb2 = [[0.]]\n"
        "All tests passed.\n"
    )


# --- How the messages read: the student's line, their names, whole sentences, the width -----


def answer_file(tmp_path, body):
    """A student's function defined in a file of its own (answer.py), as a cell defines it:
    its lines can be quoted."""
    path = tmp_path / "answer.py"
    path.write_text("import numpy as np\n\n\ndef initialize(layers_dims):\n" + body)
    namespace = {"__name__": "answer"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["initialize"]


def test_an_error_names_the_students_line_and_no_line_of_the_library(tmp_path, capsys):
    """When the student's line makes numpy raise (inside numpy's own Python code), does the
    message quote that line with its number, and no line or file of numpy?"""
    function = answer_file(
        tmp_path,
        "    parameters = {}\n"
        "    for l in range(1, len(layers_dims)):\n"
        "        parameters['W' + str(l)] = np.random.normal(0, 1, size='x')\n"
        "    return parameters\n",
    )
    public_tests.initialize_parameters_he_test(function)
    out = capsys.readouterr().out
    assert "Fix line 7 of answer.py, shown below" in unwrapped(out)
    assert "     line 7: parameters['W' + str(l)] = np.random.normal(0, 1, size='x')" in out
    assert "numpy" not in out.replace("np.random.normal", "")
    assert "Traceback" not in out and "site-packages" not in out


@pytest.mark.parametrize(
    "line, meant",
    [
        ("parameters['W' + str(l)] = np.zeroes((layers_dims[l], layers_dims[l - 1]))", "np.zeros"),
        ("parameters['W' + str(l)] = np.random.randm(layers_dims[l], layers_dims[l - 1])", "np.random.randn"),
        ("parameters['W' + str(l)] = np.zeros((layer_dims[l], layers_dims[l - 1]))", "layers_dims"),
    ],
)  # fmt: skip
def test_a_misspelt_name_gets_the_name_meant(tmp_path, capsys, line, meant):
    """Does a typo (np.zeroes, np.random.randm, layer_dims) get 'Did you mean' with the name
    the student probably meant, written as they would write it?"""
    function = answer_file(
        tmp_path,
        f"    parameters = {{}}\n    for l in range(1, len(layers_dims)):\n        {line}\n"
        "    return parameters\n",
    )
    public_tests.initialize_parameters_zeros_test(function)
    out = unwrapped(capsys.readouterr().out)
    assert f"Hint: Did you mean `{meant}`? Fix line 7 of answer.py" in out
    assert f"     line 7: {line}" in out.replace("\n             ", " ")


def test_every_explanation_and_hint_is_a_whole_sentence():
    """Does every explanation and hint start with a capital (or code) and end with a full
    stop, and do the hints name the parameters as the answer cells write them?"""
    for mistake in public_tests.MISTAKES.values():
        for text in (mistake.explanation, mistake.hint):
            assert re.match(r"[A-Z`]", text) and text.endswith("."), text
    source = Path(public_tests.__file__).read_text()
    assert "W'l'" not in source and "b'l'" not in source
    assert (
        "`parameters['W' + str(l)]` has the shape"
        in public_tests.MISTAKES["transposed weights"].hint
    )


@pytest.mark.parametrize(
    "scenario, kind, function, title, points", MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_every_message_fits_the_width_and_breaks_no_word(
    capsys, scenario, kind, function, title, points
):
    """Is every line the public test and the grade cell print at most WIDTH characters long
    (numpy's own parameter printing aside), broken only between words?"""
    getattr(public_tests, f"initialize_parameters_{kind}_test")(function)
    grade(function, kind)
    out = capsys.readouterr().out
    ours = [line for line in out.splitlines() if not re.match(r"[Wb]\d+ = |\s*\[", line)]
    assert max(map(len, ours)) <= public_tests.WIDTH, [
        l for l in ours if len(l) > public_tests.WIDTH
    ]
    for message in re.findall(r"Mistake: .*", unwrapped(out)):
        for word in message.split():
            assert word in out, (word, out)  # found whole on some line: never cut in two


def test_validate_shows_the_mistakes_in_its_dialog(monkeypatch, capsys):
    """Under nbgrader's Validate (NBGRADER_VALIDATING set), does the grade cell print its report
    to stderr, the text Validate's dialog shows, with the partial credit first; and nothing
    there when grading (the variable unset) or at full marks?"""
    xavier = student(
        w="np.random.randn(layers_dims[l], layers_dims[l - 1]) * np.sqrt(1 / layers_dims[l - 1])"
    )
    monkeypatch.setenv("NBGRADER_VALIDATING", "1")
    assert grade(xavier, "he") == 0.5
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("Score on the checks: 50 % of the points.\n")
    assert "Mistake: Xavier scaling instead of He." in err
    assert grade(student(), "he") == 1
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("NBGRADER_VALIDATING")
    grade(xavier, "he")
    out, err = capsys.readouterr()
    assert err == "" and "Mistake: Xavier scaling instead of He." in out


def test_without_an_argument_the_test_checks_the_notebooks_function_by_name(capsys):
    """Called without an argument, as the notebook's test cells call it, does the public test
    check the function of that name where it is called from, and say plainly (no NameError)
    when there is none yet?"""
    namespace = {"initialize_parameters_he": student(), "public_tests": public_tests}
    exec("public_tests.initialize_parameters_he_test()", namespace)
    assert capsys.readouterr().out.endswith("All tests passed.\n")
    exec("public_tests.initialize_parameters_random_test()", namespace)
    out = capsys.readouterr().out
    assert " ".join(out.split()) == (
        "Not tested: `initialize_parameters_random` is not defined yet. Run your answer cell "
        "for exercise 2 (the cell above), then run this test again."
    )
    assert max(map(len, out.splitlines())) <= public_tests.WIDTH
