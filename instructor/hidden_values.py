"""The hidden tests' expected values, and what a page must not show of them.

A feedback page must not give the hidden tests away (preprocessors/withhold_hidden_tests.py,
whose docstring says what it withholds and why). This module holds the reading of those
values: `split_hidden` separates a test cell's hidden regions from its visible code, `Secrets`
gathers the expected values of the hidden tests and the lines of their code, and masks them in
a text, however a number is printed (repr, numpy's 8 decimals, rounded or cut to 5
significant digits or more, with or without its sign), with the inputs of the hidden cases
described without themselves (`HiddenCases` of assignments/<assignment>.toml).
"""

import bisect
import math
import re
from collections.abc import Iterable, Sequence

from .course_data import HiddenCases

# A decimal number as Python and numpy print it, sign included: 17.88628473, -0.0827, 1.5e-03.
# The look-behind keeps digits of a longer number out; letters may precede (ANSI colour codes).
NUMBER = re.compile(
    r"(?<![\d.])[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|(?<![\d.])[-+]?\d+[eE][-+]?\d+"
)

# Terminal colour codes, as in IPython's tracebacks.
ANSI = re.compile(r"\x1b\[[0-9;]*m")

WITHHELD_NUMBER = "[withheld]"
WITHHELD_LINE = "[line withheld: it quotes the hidden tests]"
# The input of a hidden case as the tests print it: a list of integers, `[5, 4, 3, 2, 1]`; a
# run of them after `<argument>=` (HiddenCases.argument); a shape as numpy prints it.
INPUT = re.compile(r"\[\d+(?:, \d+)+\]")
INPUT_RUN = r"with {}=(\[\d+(?:, \d+)*\](?:, \[\d+(?:, \d+)*\])*)"
SHAPE = re.compile(r"\(\d+, ?\d*\)")
COUNTS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def _input_text(sizes: Sequence[int]) -> str:
    return "[" + ", ".join(str(d) for d in sizes) + "]"


def shapes_of(sizes: Sequence[int], templates: Iterable[str]) -> set[str]:
    """The shapes an input gives away, as numpy prints them: each template filled in with each
    pair of consecutive integers of the input ({before}, {after})."""
    forms = list(templates)
    return {
        form.format(before=before, after=after)
        for before, after in zip(sizes, sizes[1:])
        for form in forms
    }


def count_of_others(count: int, others: str) -> str:
    """'on two other network shapes': count hidden inputs named by their number."""
    word = COUNTS[count] if count < len(COUNTS) else str(count)
    return f"on {word} {others}{'s' if count != 1 else ''}"


def significant_digits(token: str) -> int:
    """How many significant digits a printed number has: '-0.00827' has 3, '17.80' has 4."""
    mantissa = re.split("[eE]", token)[0].lstrip("+-").replace(".", "")
    return len(mantissa.lstrip("0"))


def last_digit_unit(token: str) -> float:
    """The value of one unit of the last printed digit: 1e-8 for '0.82741481', 1e-5 for '1.5e-4'."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_in(text: str, min_digits: int) -> list[tuple[str, int, int]]:
    """The numbers printed in text with at least min_digits significant digits, as
    (token, start, end) triples."""
    return [
        (m.group(), m.start(), m.end())
        for m in NUMBER.finditer(text)
        if significant_digits(m.group()) >= min_digits
    ]


def split_hidden(
    source: str, begin: str, end: str, note: str | None = None
) -> tuple[str, list[str]]:
    """Split a cell's source into (visible source, hidden lines).

    Every region from a line containing `begin` to the next line containing `end` is hidden,
    delimiters included; a region left open runs to the end of the cell. With note, each region
    is replaced by that comment, indented like the region.
    """
    visible, hidden = [], []
    inside = False
    for line in source.split("\n"):
        if not inside and begin in line:
            inside = True
            hidden.append(line)
            if note is not None:
                indent = line[: len(line) - len(line.lstrip())]
                visible.append(indent + note)
        elif inside:
            hidden.append(line)
            inside = end not in line
        else:
            visible.append(line)
    return "\n".join(visible), hidden


class Secrets:
    """What the feedback must not show: the hidden tests' lines and expected numbers.

    hidden_lines -- the lines of the hidden-test regions
    public_texts -- everything the students are given anyway; a hidden line or number that
        appears there is not a secret
    min_digits -- numbers with fewer significant digits are too coarse to give anything away
    cases -- how the assignment's hidden cases are recognised and named (the course's file of
        the assignment); None: the hidden inputs are not described, the numbers and lines
        are masked all the same
    """

    def __init__(
        self,
        hidden_lines: Sequence[str],
        public_texts: Iterable[str],
        min_digits: int = 5,
        cases: HiddenCases | None = None,
    ) -> None:
        self.min_digits = min_digits
        self.cases = cases
        public = "\n".join(public_texts)
        self.lines = sorted(
            {
                line.strip()
                for line in hidden_lines
                if any(ch.isalnum() for ch in line) and line.strip() not in public
            }
        )
        hidden_values = {
            abs(float(token))
            for line in hidden_lines
            for token, _, _ in numbers_in(line, min_digits)
        }
        # A hidden value that the public texts print, even with fewer digits, is no secret.
        public_tokens = [token for token, _, _ in numbers_in(public, min_digits)]
        self.values = sorted(
            value
            for value in hidden_values
            if math.isfinite(value) and not any(_matches(token, value) for token in public_tokens)
        )
        # The hidden cases' inputs that the public texts do not show, and the shapes that only
        # they have.
        self.inputs: set[str] = set()
        self.shapes: set[str] = set()
        if cases is None:
            return
        public_inputs = set(INPUT.findall(public))
        case = re.compile(cases.case)
        inputs = {
            tuple(int(d) for d in m.group(1).split(","))
            for line in hidden_lines
            for m in case.finditer(line)
        }
        self.inputs = {_input_text(d) for d in inputs} - public_inputs
        public_shapes = set().union(
            *(
                shapes_of([int(d) for d in text[1:-1].split(",")], cases.shapes)
                for text in public_inputs
            )
        )
        self.shapes = (
            set().union(
                *(shapes_of(d, cases.shapes) for d in inputs if _input_text(d) in self.inputs)
            )
            - public_shapes
        )

    def is_secret_number(self, token: str) -> bool:
        """Is this printed number one of the hidden values, at the precision it is printed?"""
        if significant_digits(token) < self.min_digits:
            return False
        value, unit = abs(float(token)), last_digit_unit(token)
        i = bisect.bisect_left(self.values, value - unit * (1 + 1e-9))
        return i < len(self.values) and _matches(token, self.values[i])

    def quotes_hidden_line(self, line: str) -> bool:
        """Does the line hold a hidden line (colour codes of a traceback aside)?"""
        plain = ANSI.sub("", line)
        return any(secret in plain for secret in self.lines)

    def describe_cases(self, line: str) -> str:
        """The line with the hidden inputs named by count, not by their values."""
        cases = self.cases
        if cases is None or not self.inputs:
            return line

        def run(match: re.Match[str]) -> str:
            lists = INPUT.findall(match.group(1)) or [match.group(1)]
            shown = [d for d in lists if d not in self.inputs]
            hidden = len(lists) - len(shown)
            if not hidden:
                return match.group(0)
            text = count_of_others(hidden, cases.others)
            return f"with {cases.argument}={', '.join(shown)} and {text}" if shown else text

        line = re.sub(INPUT_RUN.format(re.escape(cases.argument)), run, line)
        line = INPUT.sub(lambda m: cases.another if m.group(0) in self.inputs else m.group(0), line)
        return SHAPE.sub(
            lambda m: cases.another_shape if m.group(0) in self.shapes else m.group(0), line
        )

    def mask(self, text: str, numbers: bool = True) -> str:
        """The text with secret lines withheld and, with numbers, secret numbers masked and
        the hidden cases described without their inputs."""
        out = []
        for line in text.split("\n"):
            if self.quotes_hidden_line(line):
                out.append(WITHHELD_LINE)
                continue
            if not numbers:
                out.append(line)
                continue
            line = self.describe_cases(line)
            pieces, last = [], 0
            for token, start, stop in numbers_in(line, self.min_digits):
                if self.is_secret_number(token):
                    pieces += [line[last:start], WITHHELD_NUMBER]
                    last = stop
            out.append("".join(pieces) + line[last:])
        return "\n".join(out)


def _matches(token: str, value: float) -> bool:
    """Does the printed number stand for value (or -value), rounded or cut to its digits?"""
    printed = abs(float(token))
    return math.isfinite(printed) and abs(printed - value) <= last_digit_unit(token) * (1 + 1e-9)
