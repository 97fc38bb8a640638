"""The bank's answers about an account, as SQL fragments: the latest answer that counts and "found valid since".

A module of its own, importing nothing of the importers, so that the payout holds (imported early, by the
registry's case rules) and the pre-validation (an importer) read the checks the same way without a cycle.
"""

from __future__ import annotations


def latest_check_sql(account: str) -> str:
    """SQL: the outcome of the latest check with an answer of the account ``account`` (a column), or NULL."""
    return (
        f"(SELECT ac.outcome FROM account_check ac WHERE ac.account_id = {account} AND ac.outcome <> 'unavailable' "
        f"ORDER BY ac.checked_at DESC, ac.id DESC LIMIT 1)"
    )


def valid_since_sql(account: str, since_param: str) -> str:
    """SQL predicate: ``account`` was found valid at or after the bound parameter ``since_param``."""
    return (
        f"EXISTS (SELECT 1 FROM account_check acv WHERE acv.account_id = {account} AND acv.outcome = 'valid' "
        f"AND acv.checked_at >= :{since_param})"
    )
