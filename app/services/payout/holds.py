"""Why the sync holds a line: one ordered list of hold sources, the first that applies gives the reason.

Each source is an SQL expression evaluated inside the sync's ``INSERT … SELECT`` over these aliases:

- ``b``  the beneficiary row;
- ``p``  the chosen enrolment (``enrolment_id``, ``beneficiary_id``, ``commune_id``, ``category``, ``amount``);
- ``pa`` the person's verified payment account (all columns NULL when there is none).

A source yields a hold reason (a key of ``app.models.payout.HOLD_REASON_LABELS``) or NULL. Its parameters
are bound by the sync; a source needing settings reads them from ``HoldContext``. Add a hold here (and its
label in the model), never in the sync's statement: the sync, the summary and the follow-up list read it
from this one list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.services.payout.account_checks import latest_check_sql, valid_since_sql

#: Matching status → hold reason: only a confirmed identity ("matched") is paid.
MATCH_HOLDS = {
    "deceased": "deceased",
    "moved": "moved",
    "mismatch": "mismatch",
    "pending": "not_matched",
    "needs_review": "needs_review",
    "possible_duplicate": "possible_duplicate",
    "not_found": "not_found",
}


#: The settings hold sources may read (the config's ``PAYOUT_*`` keys; ``configure`` at start-up).
SETTINGS: dict[str, Any] = {}


def configure(config: Mapping[str, Any]) -> None:
    """Take the ``PAYOUT_*`` settings from the app's config (called by the app factory)."""
    SETTINGS.update({k: v for k, v in config.items() if k.startswith("PAYOUT_")})


@dataclass
class HoldContext:
    """What a hold source may know about the sync it runs in: the period, its dialect, the settings."""

    period_id: int
    period_date: Any
    dialect: str
    settings: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # bound parameters the sources add (prefix them)


HoldSource = Callable[[HoldContext], str]

#: Holds that a visit resolves (the bank failed the account): such held lines join the follow-up list.
VISIT_HOLDS = ("account_name_mismatch", "account_closed")


def _person_hold(ctx: HoldContext) -> str:
    return "NULLIF(b.hold_reason, '')"


def _match_hold(ctx: HoldContext) -> str:
    return "CASE b.match_status " + " ".join(f"WHEN '{s}' THEN '{r}'" for s, r in MATCH_HOLDS.items()) + " END"


def _duplicate_pair(ctx: HoldContext) -> str:
    # The later enrolled person of a duplicate pair (app/services/registry/duplicates.py): held while the pair
    # waits for a decision, and after it was decided to be the same person (until the duplicate record is ended).
    return (
        "(SELECT CASE max(CASE dp.status WHEN 'same_person' THEN 2 ELSE 1 END) "
        "WHEN 2 THEN 'duplicate_person' WHEN 1 THEN 'duplicate_review' END "
        "FROM duplicate_pair dp WHERE dp.held_id = b.id AND dp.status IN ('open', 'same_person'))"
    )


def _no_cccd(ctx: HoldContext) -> str:
    return "CASE WHEN b.cccd IS NULL OR b.cccd = '' THEN 'no_cccd' END"


def _no_amount(ctx: HoldContext) -> str:
    return "CASE WHEN p.amount IS NULL OR p.amount <= 0 THEN 'no_amount' END"


def _paid_to_account(ctx: HoldContext) -> str:
    """The line would pay the verified account (the sync's channel rule: case 1 with an account)."""
    return "b.case_type = 1 AND pa.id IS NOT NULL"


def _account_failed(ctx: HoldContext) -> str:
    """The bank's latest answer about the account in force: another holder name, or closed / unknown. The money
    would not arrive (or reach someone else): hold it until a visit fixes the account."""
    return (
        f"CASE WHEN {_paid_to_account(ctx)} THEN CASE {latest_check_sql('pa.id')} "
        "WHEN 'name_mismatch' THEN 'account_name_mismatch' WHEN 'closed_or_unknown' THEN 'account_closed' END END"
    )


def _account_not_prevalidated(ctx: HoldContext) -> str:
    """With ``PAYOUT_PREVALIDATION_MAX_AGE_DAYS`` set (N > 0): an account the bank has not found valid within N
    days before the period date is held too. Unset or 0: pre-validation is not required."""
    days = int(ctx.settings.get("PAYOUT_PREVALIDATION_MAX_AGE_DAYS") or 0)
    if days <= 0:
        return "NULL"
    day = ctx.period_date
    if isinstance(day, dt.datetime):
        day = day.date()
    ctx.params["hold_prevalid_since"] = dt.datetime.combine(day - dt.timedelta(days=days), dt.time())
    return (
        f"CASE WHEN {_paid_to_account(ctx)} AND NOT {valid_since_sql('pa.id', 'hold_prevalid_since')} "
        "THEN 'account_not_prevalidated' END"
    )


#: In order of precedence: the person's own hold, identity, duplicate pairs, CCCD, amount, the bank's answer about
#: the account, an account not pre-validated recently (when required).
HOLD_SOURCES: list[HoldSource] = [
    _person_hold,
    _match_hold,
    _duplicate_pair,
    _no_cccd,
    _no_amount,
    _account_failed,
    _account_not_prevalidated,
]


def hold_reason_sql(ctx: HoldContext) -> str:
    """The SQL expression of a line's hold reason (NULL: not held), with its parameters in ``ctx.params``."""
    return "COALESCE(" + ", ".join(source(ctx) for source in HOLD_SOURCES) + ")"
