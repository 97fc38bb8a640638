"""Notices: the payout fixtures (synthetic people in the demo communes, verified accounts, a locked period)."""

from tests.payout.conftest import locked_period, make_person, verified_account  # noqa: F401
