"""The home page's to-do list: how much work waits for the actor within their scope, per kind of work.

Each item names what lets a user act on it (a capability, or ``write:<permission class>``); the caller says
which of these the actor holds and gets counts only for those. All counts come from one SELECT of scalar
subqueries over the actor's subtree (set-based: never a query per unit)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AccountOpeningTask, AdminUnit, Beneficiary, Complaint, PaymentAccount, PayoutLine, PayoutPeriod
from app.services.formatting import local_today
from app.services.messages import N_
from app.services.payout import complaints
from app.services.payout.accounts import to_verify_by
from app.services.payout.periods import WAITING_FOR
from app.services.payout.prevalidation import failed_accounts, not_checked_accounts
from app.services.payout.tiers import APPROVAL_TIERS, HEAD_CAPABILITY, VERIFY_CAPABILITY, waiting_for_user
from app.services.registry.duplicates import open_pairs
from app.services.scope import lineage_ids, subtree_ids
from app.services.visits.survey import opening_overdue
from app.services.visits.workgroups import not_visited


@dataclass(frozen=True)
class TodoItem:
    key: str
    title: str  # an N_() msgid, translated by the view
    needs: tuple[str, ...]  # any one of these lets the actor do the work
    urgent: bool = False  # past a deadline: the home page shows a non-zero count in red


TODO_ITEMS: tuple[TodoItem, ...] = (
    TodoItem("match_review", N_("Matching results waiting for review"), ("match",)),
    TodoItem(
        "accounts_to_verify", N_("Accounts entered by someone else, waiting for your verification"), ("verify_account",)
    ),
    TodoItem("not_visited", N_("People not visited yet"), ("write:Visit",)),
    TodoItem("opening_overdue", N_("Account-opening tasks overdue"), ("write:OpeningTask",)),
    TodoItem("periods_to_sync", N_("Payout periods to sync"), ("sync_payout",)),
    # One item per approval tier (app/services/payout/tiers.py): the periods whose tier waits for this approver.
    TodoItem("periods_to_verify", N_("Payout periods waiting for your verification"), (VERIFY_CAPABILITY,)),
    TodoItem(
        "periods_to_head_approve",
        N_("Payout periods waiting for your approval as head of the paying unit"),
        (HEAD_CAPABILITY,),
    ),
    TodoItem("periods_to_lock", N_("Approved payout periods to lock"), ("approve_payout",)),
    TodoItem("periods_to_hand_over", N_("Payout periods to hand over"), ("approve_payout",)),
    TodoItem("follow_ups", N_("Failed payments to follow up"), ("approve_payout", "enter_account")),
    TodoItem("duplicates_to_decide", N_("Possible duplicates waiting for a decision"), ("decide_duplicates",)),
    TodoItem(
        "accounts_failed_check",
        N_("Accounts the bank found wrong (holder name, closed or unknown): check them on a visit"),
        ("enter_account", "verify_account"),
    ),
    TodoItem("accounts_not_checked", N_("Verified accounts not checked with the bank yet"), ("enter_account",)),
    TodoItem("complaints_overdue", N_("Complaints past their deadline"), ("write:Complaint",), urgent=True),
)
#: What the counts depend on: the items' needs, and who reads sensitive complaints.
TODO_NEEDS = frozenset(n for item in TODO_ITEMS for n in item.needs) | {complaints.SENSITIVE_CAPABILITY}


def _count(query) -> object:
    return select(func.count()).select_from(query.subquery()).scalar_subquery()


def _queries(unit: AdminUnit, user_id: int | None, today: dt.date, sees_sensitive: bool = False) -> dict:
    scope = subtree_ids(unit)

    def waiting_approval(capability: str):
        scheme_tiers = APPROVAL_TIERS[unit.scheme]
        tier = next(t for t in scheme_tiers if t.capability == capability)
        return waiting_for_user(tier, unit, user_id, scheme_tiers)

    def periods(work: str, ids):
        return select(PayoutPeriod.id).where(PayoutPeriod.status == WAITING_FOR[work], PayoutPeriod.unit_id.in_(ids))

    return {
        "match_review": lambda: select(Beneficiary.id).where(Beneficiary.commune_id.in_(scope), Beneficiary.to_review),
        "accounts_to_verify": lambda: select(PaymentAccount.id).where(
            PaymentAccount.commune_id.in_(scope), to_verify_by(user_id)
        ),
        "not_visited": lambda: select(Beneficiary.id).where(Beneficiary.commune_id.in_(scope), not_visited()),
        "opening_overdue": lambda: select(AccountOpeningTask.id).where(
            AccountOpeningTask.commune_id.in_(scope), opening_overdue(today)
        ),
        # A period is synced in parts by every unit it covers; locked and handed over by the unit in charge.
        "periods_to_sync": lambda: periods("sync", lineage_ids(unit)),
        "periods_to_verify": lambda: waiting_approval(VERIFY_CAPABILITY),
        "periods_to_head_approve": lambda: waiting_approval(HEAD_CAPABILITY),
        "periods_to_lock": lambda: periods("lock", scope),
        "periods_to_hand_over": lambda: periods("hand_over", scope),
        "follow_ups": lambda: select(PayoutLine.id).where(
            PayoutLine.commune_id.in_(scope), PayoutLine.result_status == "failed"
        ),
        # a pair concerns the unit when either person is in its scope (the review screen's rule)
        "duplicates_to_decide": lambda: open_pairs(unit),
        "accounts_failed_check": lambda: failed_accounts(unit),
        "accounts_not_checked": lambda: not_checked_accounts(unit),
        # Sensitive complaints are counted for their readers only (the to-do never reveals one to others).
        "complaints_overdue": lambda: select(Complaint.id).where(
            complaints.visible_clause(unit, sees_sensitive), complaints.overdue(today)
        ),
    }


def todo_counts(
    session: Session,
    unit: AdminUnit | None,
    abilities,
    *,
    user_id: int | None,
    today: dt.date | None = None,
    cache=None,
) -> list[tuple[TodoItem, int]]:
    """The to-do items the actor can act on (``abilities``: the names of ``TODO_NEEDS`` they hold), in list
    order, each with its count within ``unit``'s subtree. ``user_id`` is the actor (four eyes on accounts).
    No unit: nothing. Reads only; one query. ``cache`` (optional, like the dashboard's: its entries must not
    outlive a write of the figures) keeps the counts of this actor, scope and day: at city scale the query
    counts the whole registry."""
    import json

    if unit is None:
        return []
    items = [item for item in TODO_ITEMS if any(n in abilities for n in item.needs)]
    if not items:
        return []
    today = today or local_today()
    sees_sensitive = complaints.SENSITIVE_CAPABILITY in abilities
    key = f"asxh:todo:{unit.scheme}:{unit.id}:{user_id}:{today.isoformat()}:{int(sees_sensitive)}:" + ",".join(
        item.key for item in items
    )
    hit = cache.get(key) if cache is not None else None
    if hit:
        counts = json.loads(hit)
    else:
        queries = _queries(unit, user_id, today, sees_sensitive)
        counts = list(session.execute(select(*(_count(queries[item.key]()).label(item.key) for item in items))).one())
        if cache is not None:
            cache.set(key, json.dumps(counts))
    return list(zip(items, counts, strict=True))
