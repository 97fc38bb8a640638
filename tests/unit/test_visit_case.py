"""The case type a visit implies on its own (app/services/cases.py ``visit_case``), before holds and accounts.

Case types: 1 has an account and wants account payment, 2 wants account payment (account being opened),
3 declines (cash), 4 vulnerable, 5 not visited or not met.
"""

from __future__ import annotations

import itertools

import pytest

from app.services.cases import visit_case

MAYBE = (True, False, None)


@pytest.mark.parametrize(
    ("met", "vulnerable", "has_account", "wants_account", "expected"),
    [
        # met, not vulnerable: the wish and the account decide
        (True, False, True, True, 1),
        (True, False, False, True, 2),
        (True, False, None, True, 2),  # account not asked: being opened
        (True, False, True, False, 3),  # has an account but wants cash
        (True, False, False, False, 3),
        (True, False, None, None, 3),  # no wish recorded: not an account payment
        (True, False, True, None, 3),
        # vulnerable wins over any account answer
        (True, True, True, True, 4),
        (True, True, False, False, 4),
        (True, True, None, None, 4),
        # not met: nothing else counts
        (False, False, True, True, 5),
        (False, True, True, True, 5),
        (False, False, None, None, 5),
    ],
)
def test_visit_case(met, vulnerable, has_account, wants_account, expected):
    assert visit_case(met=met, vulnerable=vulnerable, has_account=has_account, wants_account=wants_account) == expected


@pytest.mark.parametrize(("vulnerable", "has_account", "wants_account"), itertools.product((True, False), MAYBE, MAYBE))
def test_a_visit_that_did_not_meet_anyone_is_never_classified(vulnerable, has_account, wants_account):
    assert visit_case(met=False, vulnerable=vulnerable, has_account=has_account, wants_account=wants_account) == 5


@pytest.mark.parametrize(("has_account", "wants_account"), itertools.product(MAYBE, MAYBE))
def test_a_vulnerable_person_met_is_case_4_whatever_the_account_answers(has_account, wants_account):
    assert visit_case(met=True, vulnerable=True, has_account=has_account, wants_account=wants_account) == 4


def test_every_visit_implies_one_of_the_visit_cases_and_never_held():
    """Held (6) comes from the beneficiary's hold, never from a visit."""
    seen = {
        visit_case(met=m, vulnerable=v, has_account=h, wants_account=w)
        for m, v, h, w in itertools.product((True, False), (True, False), MAYBE, MAYBE)
    }
    assert seen == {1, 2, 3, 4, 5}
