"""Every number the notebook's narrative quotes has a claim that checks it
(tests/narrative_numbers.py), and the claims on the code hold.

The claims on runs are checked against the trainings under every processor code path of this
machine, in tests/course/test_processor_variants.py; here, what needs no run.
"""

import narrative_numbers
import pytest


def test_every_number_of_the_narrative_is_claimed():
    """Does every number of the narrative that a run or the code could contradict lie inside
    the quotation of a claim (so that it is checked)?"""
    assert narrative_numbers.unclaimed(narrative_numbers.narrative()) == []


def test_every_claim_is_quoted_and_the_code_bears_out_its_numbers():
    """Is every claim's quotation in the narrative, and does the code bear out the numbers of
    the claims on the code (grading shares, layer sizes, predict's threshold, the scale
    section)?"""
    cells = narrative_numbers.narrative()
    for claim in narrative_numbers.CLAIMS:
        assert narrative_numbers.quoted(claim, cells[claim.cell]), (claim.cell, claim.says)
    assert narrative_numbers.problems(cells) == []


# Sentences that quote numbers only one processor prints, planted back into the narrative
PROCESSOR_BOUND = [
    ("zeros-why", "That is the cost printed at every iteration but one: iteration 10000 prints "
     "0.6931471805599455, two steps further in the last digit."),
    ("zeros-why", "In floating point the bias drifts to about $1.7 \\times 10^{-16}$."),
    ("random-inf", "The cost after iteration 1000 is 0.6247924745506072."),
]  # fmt: skip


@pytest.mark.parametrize(("cell", "sentence"), PROCESSOR_BOUND)
def test_canary_a_number_no_claim_checks_is_reported(cell, sentence):
    """Is a sentence planted into the narrative with numbers no claim checks reported, each of
    its numbers named?"""
    cells = narrative_numbers.narrative()
    cells[cell] += "\n\n" + sentence
    found = narrative_numbers.unclaimed(cells)
    numbers = [n.group() for n in narrative_numbers.NUMBER.finditer(sentence)]
    assert numbers and [line.split(" ")[1] for line in found] == numbers, found
    assert all(line.startswith(f"{cell}: ") for line in found)


def test_canary_a_number_changed_in_a_claim_on_the_code_is_reported():
    """Is a grading share changed in the text reported by the check against public_tests.py?"""
    cells = narrative_numbers.narrative()
    cells["submission-advice"] = cells["submission-advice"].replace("- 30 % for", "- 40 % for")
    wrong = narrative_numbers.problems(cells)
    assert [line for line in wrong if line.startswith("submission-advice: the grading shares")]
