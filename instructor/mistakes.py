"""The mistakes the public tests name, read from what they print: one reader for every page.

public_tests.py prints each mistake it recognises on a line of its own,

    " - Mistake: <title>. <explanation> Hint: <hint> (<where>)"

continued on lines that start with three spaces when it is long. The feedback's summary
(feedback_summary.py) and the class report (report/sources.py) both read them with
`named_mistakes`, so that the two never disagree on what a student's mistakes were.
"""

import re
from dataclasses import dataclass

# A mistake the tests printed, with its continuation lines.
ENTRY = re.compile(r"^\s*- Mistake: (.+(?:\n {3}\S.*)*)", re.MULTILINE)
# Where the tests found it, at the end of the hint: "(on the example network)".
WHERE_FOUND = re.compile(r"\s*\((?:on|with) [^()]*\)$")


@dataclass(frozen=True)
class NamedMistake:
    """One mistake as the tests named it.

    title -- its name ("transposed weights"), the key of public_tests.MISTAKES' titles
    message -- everything the tests said after the title, the hint included
    hint -- what to do next, without where the tests found it
    """

    title: str
    message: str
    hint: str


def named_mistakes(text: str) -> list[NamedMistake]:
    """The mistakes named in what a test cell printed, in order."""
    found = []
    for entry in ENTRY.findall(text):
        joined = " ".join(line.strip() for line in entry.splitlines())
        title, _, message = joined.partition(". ")
        if not message and title.endswith("."):
            title = title[:-1]
        hint = WHERE_FOUND.sub("", joined.partition(" Hint: ")[2]).strip()
        found.append(NamedMistake(title, message, hint))
    return found
