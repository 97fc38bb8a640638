"""Who receives a period's money: the lock refuses two active lines paid to one account (BIN + number) for two
people, and two active lines of one person beyond what the category rules let stack.

Two people may share an account when one is the registered proxy of the other (the proxy CCCD on the latest
visit), or when a reviewer decided their duplicate pair ``different_people`` or ``allowed``. Held lines pay
nothing and never count. The duplicate finder (``app/services/registry/duplicates.py``) uses the same proxy rule.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services.payout.rules import stackable_categories
from app.services.visits.latest import latest_visit_sql

#: Decisions after which two people may be paid side by side.
RELEASED = ("different_people", "allowed")
LISTED = 10


def proxies_cte() -> str:
    """A CTE ``proxies(beneficiary_id, proxy_cccd)``: the proxy with a CCCD on each person's latest visit."""
    return (
        f"proxies AS (SELECT lv.beneficiary_id, lv.proxy_cccd FROM "
        f"({latest_visit_sql('v2.beneficiary_id, v2.proxy_cccd')}) lv WHERE lv.proxy_cccd IS NOT NULL)"
    )


def not_proxy_pair(a: str, b: str) -> str:
    """SQL predicate over beneficiary aliases ``a`` and ``b`` (needs :func:`proxies_cte`): neither is the other's
    registered proxy."""
    return (
        f"NOT EXISTS (SELECT 1 FROM proxies x WHERE (x.beneficiary_id = {a}.id AND x.proxy_cccd = {b}.cccd) "
        f"OR (x.beneficiary_id = {b}.id AND x.proxy_cccd = {a}.cccd))"
    )


def _paying(alias: str) -> str:
    return f"{alias}.result_status NOT IN ('carried', 'cancelled') AND {alias}.channel <> 'held'"


def shared_accounts(session: Session, period_id: int) -> list[tuple[str, str, str, str]]:
    """(bank, account number, name, other name) of the active lines of two people paid to one account."""
    released = ", ".join(f"'{s}'" for s in RELEASED)
    rows = session.execute(
        text(f"""
        WITH {proxies_cte()}
        SELECT COALESCE(l1.bank_name, l1.bank_bin), l1.account_number, l1.full_name, l2.full_name
        FROM payout_line l1
        JOIN payout_line l2 ON l2.period_id = l1.period_id AND l2.bank_bin = l1.bank_bin
             AND l2.account_number = l1.account_number AND l2.beneficiary_id > l1.beneficiary_id
        JOIN beneficiary b1 ON b1.id = l1.beneficiary_id
        JOIN beneficiary b2 ON b2.id = l2.beneficiary_id
        WHERE l1.period_id = :pid AND l1.channel = 'account' AND l2.channel = 'account'
          AND {_paying("l1")} AND {_paying("l2")}
          AND {not_proxy_pair("b1", "b2")}
          AND NOT EXISTS (SELECT 1 FROM duplicate_pair dp WHERE dp.person_a_id = b1.id AND dp.person_b_id = b2.id
                          AND dp.status IN ({released}))
        ORDER BY l1.bank_bin, l1.account_number, l1.full_name"""),
        {"pid": period_id},
    ).all()
    return [tuple(r) for r in rows]


def stacked_people(session: Session, period_id: int) -> list[tuple[str, str, str]]:
    """(name, category, other category) of two active lines of one person for one benefit month that the category
    rules do not let stack (back pay for other months is not stacking)."""
    stack = sorted(stackable_categories(session))
    params = {"pid": period_id, **{f"st_{i}": c for i, c in enumerate(stack)}}
    listed = ", ".join(f":st_{i}" for i in range(len(stack)))
    stackable = (f"({{0}}.category IN ({listed}))" if stack else "(1 = 0)").format
    rows = session.execute(
        text(f"""
        SELECT l1.full_name, l1.category, l2.category
        FROM payout_line l1
        JOIN payout_line l2 ON l2.period_id = l1.period_id AND l2.beneficiary_id = l1.beneficiary_id
             AND l2.benefit_month = l1.benefit_month AND l2.id > l1.id
        WHERE l1.period_id = :pid AND {_paying("l1")} AND {_paying("l2")}
          AND (l1.category = l2.category OR NOT ({stackable("l1")} AND {stackable("l2")}))
        ORDER BY l1.full_name, l1.id"""),
        params,
    ).all()
    return [tuple(r) for r in rows]


def listing(items: list[str]) -> str:
    """The first few items of a refusal, then an ellipsis."""
    shown = "; ".join(items[:LISTED])
    return shown + ("; …" if len(items) > LISTED else "")
