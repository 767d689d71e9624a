"""The re-check's side in the grader: ask the sandbox, replay its answers into the test cells.

1. Each exercise's test cell (from the SOURCE notebook, hidden tests included) runs here, in a
   clean process, in the namespace of its checks module (the helper file its exercise declares,
   e.g. activation_tests.py), with the student's function replaced by a stand-in that REPLAYS what
   the sandbox answered (`Replay`). The cell runs exactly as nbgrader would run it: its last
   expression is its result.
2. Calls the stand-in has no answer for yet are recorded, and the sandbox (child.py, started
   through the one launcher) is asked for them: it runs only the answer cell, then calls the
   function with those arguments. Then the test cells run again. A test cell whose checks
   catch errors (the course's grade_exercise does) asks for all its calls in the first round;
   one that stops at its first failed assert asks for one more call per round, up to
   MAX_ROUNDS.
3. The cell's result scores as ExercisePoints and nbgrader score it: a number is the share of
   the exercise's points earned, no result is full marks, an error or anything written to
   stderr is zero.

The expected values never reach the sandbox, and the student's code never runs here.
"""

import ast
import contextlib
import io
import json
import os
import signal
import subprocess
import time
import types
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import CourseError
from ..messages import Exercise
from ..sandbox import launch
from ..sandbox.zygote import Zygote
from ..scan import python_source
from .codec import Codec, Encoded, Reply, Request, decode, key_of

# The namespace of a checks module: its public names (checks_namespace).
Namespace = dict[str, Any]
# The sandbox's answer to one request: ({name: reply}, None), or (None, why it failed).
Answer = tuple[dict[str, Reply] | None, str | None]
# How the re-check asks the sandbox: the requests in, its Answer out.
Ask = Callable[[list[Request]], Answer]

# What the re-check gives: ({exercise name: CleanScore}, None), or (None, why it could not run).
Checked = tuple[dict[str, "CleanScore"] | None, str | None]

MAX_ROUNDS = 6  # sandbox runs for one submission's re-check, at most


class UnknownCall(CourseError):
    """A call the sandbox has not answered yet (recorded, and asked in the next round)."""


class Raised(CourseError):
    """An exception the student's function raised in the sandbox, raised again for the checks."""


@dataclass
class Answers:
    """What the sandbox answered for one exercise: each call's outcome, by its key, or why the
    answer could not be called at all (failure)."""

    calls: dict[str, Reply] = field(default_factory=dict)
    failure: str | None = None


@dataclass(frozen=True)
class CleanScore:
    """An exercise's answer scored on its own: points, and what its checks printed."""

    points: float
    messages: str


def failure_reason(answer: Reply) -> str:
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


class Replay:
    """The student's function, as the checks see it: each call gives what the sandbox answered
    for the same arguments; unknown calls are recorded and raise UnknownCall."""

    def __init__(self, answers: Answers, codec: Codec) -> None:
        self.answers, self.codec = answers, codec
        self.unknown: list[list[Encoded]] = []  # encoded arguments of the calls not answered yet

    def __call__(self, *args: object) -> Any:
        if self.answers.failure:
            raise Raised(self.answers.failure)
        encoded = [self.codec.encode(a) for a in args]
        call = self.answers.calls.get(key_of(encoded))
        if call is None:
            if encoded not in self.unknown:
                self.unknown.append(encoded)
            raise UnknownCall("not checked yet")
        if call.get("outcome") == "raised":
            if call.get("type") == "NotImplementedError":
                raise NotImplementedError(call.get("message", ""))
            raise type(str(call.get("type", "Error")), (Raised,), {})(call.get("message", ""))
        return decode(call.get("value", {}))


_CHECKS: dict[int, Namespace] = {}


def checks_namespace(source: str | bytes) -> Namespace:
    """The public names of a checks module (its source given), loaded once in this process."""
    key = hash(source)
    if key not in _CHECKS:
        module = types.ModuleType("checks_for_grading")
        exec(compile(source, "checks", "exec"), module.__dict__)
        _CHECKS[key] = {k: v for k, v in vars(module).items() if not k.startswith("_")}
    return _CHECKS[key]


def run_test_cell(source: str, namespace: Namespace) -> tuple[Any, str, str, Exception | None]:
    """Run a test cell's code as a kernel would; (result, stdout, stderr, error or None)."""
    tree = ast.parse(python_source(source))
    final = tree.body[-1] if tree.body else None
    last = final if isinstance(final, ast.Expr) else None
    if last is not None:  # the cell's result
        tree.body.pop()
    out, err = io.StringIO(), io.StringIO()
    result: Any = None
    error: Exception | None = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(tree, "<test cell>", "exec"), namespace)
            if last is not None:
                result = eval(compile(ast.Expression(last.value), "<test cell>", "eval"), namespace)
        except Exception as caught:  # noqa: BLE001 -- nbgrader's rule: an error scores zero
            error = caught
    return result, out.getvalue(), err.getvalue(), error


def points_of(result: Any, stderr: str, error: Exception | None, maximum: float) -> float:
    """The points of a test cell's run, by nbgrader's rules and the course's ExercisePoints."""
    if error is not None or stderr:
        return 0.0
    if result is None:
        return float(maximum)
    try:
        share = float(repr(result))
    except (TypeError, ValueError):
        return float(maximum)  # nbgrader gives full points to a result that is no number
    return round(min(max(share, 0.0), 1.0) * float(maximum), 2)


def score_round(
    exercises: Sequence[Exercise],
    checks: dict[str, Namespace],
    answers: dict[str, Answers],
    codec: Codec,
) -> tuple[dict[str, CleanScore], dict[str, list[list[Encoded]]]]:
    """Run every test cell with its replay; ({name: CleanScore}, {name: unknown calls})."""
    scores: dict[str, CleanScore] = {}
    unknown: dict[str, list[list[Encoded]]] = {}
    for exercise in exercises:
        replay = Replay(answers[exercise.name], codec)
        namespace = {**checks[exercise.checks], "__builtins__": __builtins__}
        namespace[exercise.function] = replay
        result, out, err, error = run_test_cell(exercise.test_source, namespace)
        if replay.unknown:
            unknown[exercise.name] = replay.unknown
        messages = out + (f"{type(error).__name__}: {error}\n" if error is not None else "")
        scores[exercise.name] = CleanScore(points_of(result, err, error, exercise.points), messages)
    return scores, unknown


# One submission's re-check as a sequence of requests to the sandbox: `rounds` yields each
# request and is sent the sandbox's (answers, error); it returns what `recheck` returns.
Rounds = Generator[list[Request], Answer, Checked]


def rounds(
    exercises: Sequence[Exercise], sources: dict[str, str], checks: dict[str, Namespace]
) -> Rounds:
    """The rounds of `recheck`, for a caller that asks the sandbox itself (and may start the
    first request early: worker.CleanCheck)."""
    codec = Codec()
    answers = {e.name: Answers() for e in exercises}
    for _ in range(MAX_ROUNDS + 1):
        scores, unknown = score_round(exercises, checks, answers, codec)
        if not unknown:
            return scores, None
        request: list[Request] = [
            {"name": e.name, "function": e.function,
             "source": sources.get(e.answer_cell, ""), "calls": unknown[e.name]}
            for e in exercises if e.name in unknown
        ]  # fmt: skip
        replies, error = yield request
        if error or replies is None:
            return None, error
        for item in request:
            reply = replies.get(item["name"]) or {"outcome": "unchecked"}
            if reply.get("outcome") != "called":
                answers[item["name"]].failure = failure_reason(reply)
                continue
            for args, call in zip(item["calls"], reply.get("calls", [])):
                answers[item["name"]].calls[key_of(args)] = call
    return None, f"the test cells kept asking for new calls after {MAX_ROUNDS} rounds"


def recheck(
    exercises: Sequence[Exercise],
    sources: dict[str, str],
    checks: dict[str, Namespace],
    ask: Ask,
) -> Checked:
    """Score every exercise's answer on its own; ({name: CleanScore}, None) or (None, why not).

    exercises -- the bundle's Exercise declarations (test cell source, function, points...)
    sources -- {answer cell grade id: the submitted answer cell's source}
    checks -- {checks module name: its namespace} (checks_namespace)
    ask -- a function taking the sandbox request's exercises, returning (answers, error)
    """
    return drive(rounds(exercises, sources, checks), ask)


def drive(steps: Rounds, ask: Ask, answer: Answer | None = None) -> Checked:
    """Run the rounds to their end, asking with ask; answer -- the reply to the request the
    rounds last yielded, when the caller asked it itself (None: the rounds have not started)."""
    try:
        request = next(steps) if answer is None else steps.send(answer)
        while True:
            request = steps.send(ask(request))
    except StopIteration as done:
        result: Checked = done.value
        return result


# --- launching the child ------------------------------------------------------------------------


class SandboxRun:
    """One request to the re-check's child in the sandbox, started now and read later: the
    worker starts the first one before the notebook runs, and reads it after."""

    def __init__(
        self,
        exercises: list[Request],
        spec_path: str | os.PathLike[str],
        timeout: float,
        per_exercise: float,
        zygote: Zygote | None = None,
    ) -> None:
        folder = Path(spec_path).parent
        self.question, self.answer = (
            folder / "recheck-request.json",
            folder / "recheck-answers.json",
        )
        self.question.write_text(json.dumps({"timeout": per_exercise, "exercises": exercises}))
        self.answer.unlink(missing_ok=True)
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.began = time.time()
        self.seconds = 0.0  # from its start to its answer, once read
        self.process = launch.start(
            spec_path, folder, stdin=self.question, stdout=self.answer, zygote=zygote
        )

    def stop(self) -> None:
        """End the run and everything it started, if it still runs (its answer unread)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def result(self) -> Answer:
        """(answers, None) or (None, why it failed), once the child has ended (killed when
        it outlives its time)."""
        try:
            self.process.wait(timeout=max(self.deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            self.stop()
            self.seconds = time.time() - self.began
            return None, f"the re-check did not finish in {self.timeout:g} s"
        out = self.answer.read_bytes() if self.answer.exists() else b""
        # it may have ended while the notebook ran: its answer's time says when
        ended = self.answer.stat().st_mtime if out else time.time()
        self.seconds = max(ended - self.began, 0.0)
        try:
            replies: dict[str, Reply] = json.loads(out.decode())
            return replies, None
        except ValueError:
            return None, (
                f"the re-check stopped without an answer (exit code {self.process.returncode})"
            )
