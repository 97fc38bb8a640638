"""Duplicate detection beyond the CCCD: pairs of people that look like one person or one payee, and their decision.

Four kinds of evidence (``app.models.duplicate.DUPLICATE_KINDS``), each one set-based ``INSERT … SELECT``:

- ``same_account``: one bank account (BIN + number, an open version: pending or verified) on two people, unless
  one is the registered proxy of the other (the proxy CCCD on the latest visit is the other's CCCD);
- ``same_phone``: one phone number on two people of different households. A person's phones are the numbers
  of their e-wallet or Mobile Money accounts and the mobile number recorded for notices
  (``beneficiary_contact``); the same number at the same provider is already ``same_account``. A household is not modelled:
  two people of the same commune with the same (normalised) address are taken as one household;
- ``moved``: the same name key, date of birth and sex in two communes (a move the registry did not learn of);
- ``category_stack``: one identity (same name key + date of birth + sex, or the CCCD the matching found for one
  record is the other's CCCD or the CCCD it found for the other, or the same CMND) on two records whose enrolments are in categories not paid together (the category rules:
  two categories stack only when both are stackable, and a category never stacks with itself).

For ``moved`` and ``category_stack`` two different CCCDs (their own or the one the matching found) mean two
different people. Ended people are left out.

A pair stores ``person_a_id`` < ``person_b_id`` and ``held_id``: the later enrolled person (the higher first
enrolment id); while the pair is ``open`` the payout sync holds that person's lines (``payout.holds``).

Re-runs: a found pair is inserted ``open``; an existing pair is refreshed only while undecided (open or stale),
so a decision is never reopened; an open pair a run no longer finds becomes ``stale`` (no hold, kept as
history) and is reopened if a later run finds it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session, aliased, selectinload

from app.models import AdminUnit, Beneficiary
from app.models.duplicate import (
    DUPLICATE_DECISIONS,
    DUPLICATE_KINDS,
    DUPLICATE_STATUSES,
    DuplicatePair,
    DuplicateRun,
)
from app.services import audit
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, NotFound, Problem
from app.services.payout.payees import not_proxy_pair, proxies_cte
from app.services.payout.rules import stackable_categories
from app.services.scope import OutOfScope, contains, covers, subtree_ids, user_covers

OPEN_ACCOUNT_STATES = ("pending", "verified")
WALLET_CHANNELS = ("e_wallet", "mobile_money")
UNDECIDED = ("open", "stale")
# --- the evidence, one SELECT of (a, b, detail) per kind ------------------------------------------------------

_LIVE = "b1.ended_at IS NULL AND b2.ended_at IS NULL"
# Two different CCCDs (own or matched) are two different people.
_NOT_TWO_CCCDS = (
    "NOT (COALESCE(b1.cccd, b1.match_cccd) IS NOT NULL AND COALESCE(b2.cccd, b2.match_cccd) IS NOT NULL "
    "AND COALESCE(b1.cccd, b1.match_cccd) <> COALESCE(b2.cccd, b2.match_cccd))"
)


_NOT_PROXY_PAIR = not_proxy_pair("b1", "b2")


def _concat(dialect: str, *parts: str) -> str:
    return " || ".join(parts)


def _same_account_sql(dialect: str) -> str:
    states = ", ".join(f"'{s}'" for s in OPEN_ACCOUNT_STATES)
    return f"""
        WITH {proxies_cte()}
        SELECT p1.beneficiary_id AS a, p2.beneficiary_id AS b, min({_concat(dialect, "p1.bank_bin", "' '", "p1.account_number")}) AS detail
        FROM payment_account p1
        JOIN payment_account p2 ON p2.bank_bin = p1.bank_bin AND p2.account_number = p1.account_number
             AND p2.beneficiary_id > p1.beneficiary_id AND p2.state IN ({states})
        JOIN beneficiary b1 ON b1.id = p1.beneficiary_id
        JOIN beneficiary b2 ON b2.id = p2.beneficiary_id
        WHERE p1.state IN ({states}) AND {_LIVE} AND {_NOT_PROXY_PAIR}
        GROUP BY p1.beneficiary_id, p2.beneficiary_id"""


def _phone_sql(dialect: str) -> str:
    states = ", ".join(f"'{s}'" for s in OPEN_ACCOUNT_STATES)
    channels = ", ".join(f"'{c}'" for c in WALLET_CHANNELS)
    # Every phone a person is known by: an e-wallet / Mobile Money number (its provider as the source) and the
    # mobile number recorded for notices (no provider). One number at one provider is already same_account.
    return f"""
        WITH {proxies_cte()}, phones AS (
            SELECT beneficiary_id, account_number AS phone, bank_bin AS source FROM payment_account
            WHERE state IN ({states}) AND channel IN ({channels}) AND length(account_number) = 10
              AND substr(account_number, 1, 2) IN ('03', '05', '07', '08', '09')
            UNION ALL
            SELECT beneficiary_id, phone, '' AS source FROM beneficiary_contact WHERE phone IS NOT NULL AND phone <> ''
        )
        SELECT p1.beneficiary_id AS a, p2.beneficiary_id AS b, min(p1.phone) AS detail
        FROM phones p1
        JOIN phones p2 ON p2.phone = p1.phone AND p2.beneficiary_id > p1.beneficiary_id
             AND NOT (p1.source <> '' AND p1.source = p2.source)
        JOIN beneficiary b1 ON b1.id = p1.beneficiary_id
        JOIN beneficiary b2 ON b2.id = p2.beneficiary_id
        WHERE {_LIVE}
          AND NOT (b1.commune_id = b2.commune_id AND b1.address_key IS NOT NULL AND b1.address_key <> ''
                   AND b1.address_key = b2.address_key)
          AND {_NOT_PROXY_PAIR}
        GROUP BY p1.beneficiary_id, p2.beneficiary_id"""


def _moved_sql(dialect: str) -> str:
    born = "CAST(b1.date_of_birth AS VARCHAR(10))" if dialect == "postgresql" else "b1.date_of_birth"
    return f"""
        SELECT b1.id AS a, b2.id AS b, min({_concat(dialect, "b1.name_key", "'|'", born, "'|'", "b1.sex")}) AS detail
        FROM beneficiary b1
        JOIN beneficiary b2 ON b2.name_key = b1.name_key AND b2.date_of_birth = b1.date_of_birth AND b2.sex = b1.sex
             AND b2.id > b1.id AND b2.commune_id <> b1.commune_id
        WHERE b1.date_of_birth IS NOT NULL AND b1.sex IS NOT NULL AND b1.name_key <> ''
          AND {_LIVE} AND {_NOT_TWO_CCCDS}
        GROUP BY b1.id, b2.id"""


def _stack_sql(dialect: str, stack: list[str]) -> str:
    stackable = (
        "({0}.category IN (" + ", ".join(f":st_{i}" for i in range(len(stack))) + "))" if stack else "(1 = 0)"
    ).format
    # one record's CCCD found by the matching on another (plain column joins: a hash join, never a nested loop)
    low, high = "CASE WHEN b1.id < b2.id THEN b1.id ELSE b2.id END", "CASE WHEN b1.id < b2.id THEN b2.id ELSE b1.id END"
    return f"""
        WITH ident AS (
            SELECT b1.id AS a, b2.id AS b FROM beneficiary b1
            JOIN beneficiary b2 ON b2.name_key = b1.name_key AND b2.date_of_birth = b1.date_of_birth
                 AND b2.sex = b1.sex AND b2.id > b1.id
            WHERE b1.date_of_birth IS NOT NULL AND b1.sex IS NOT NULL AND b1.name_key <> ''
              AND {_LIVE} AND {_NOT_TWO_CCCDS}
            UNION
            SELECT {low}, {high} FROM beneficiary b1
            JOIN beneficiary b2 ON b2.match_cccd = b1.cccd AND b2.id <> b1.id
            WHERE b1.cccd IS NOT NULL AND {_LIVE}
            UNION
            SELECT b1.id, b2.id FROM beneficiary b1
            JOIN beneficiary b2 ON b2.match_cccd = b1.match_cccd AND b2.id > b1.id
            WHERE b1.match_cccd IS NOT NULL AND {_LIVE}
            UNION
            SELECT b1.id, b2.id FROM beneficiary b1
            JOIN beneficiary b2 ON b2.cmnd = b1.cmnd AND b2.id > b1.id
            WHERE b1.cmnd IS NOT NULL AND b1.cmnd <> '' AND {_LIVE} AND {_NOT_TWO_CCCDS}
        )
        SELECT i.a, i.b, min({_concat(dialect, "e1.category", "'+'", "e2.category")}) AS detail
        FROM ident i
        JOIN enrolment e1 ON e1.beneficiary_id = i.a AND e1.ended_at IS NULL
        JOIN enrolment e2 ON e2.beneficiary_id = i.b AND e2.ended_at IS NULL
        WHERE e1.category = e2.category OR NOT ({stackable("e1")} AND {stackable("e2")})
        GROUP BY i.a, i.b"""


def _evidence(dialect: str, stack: list[str]) -> dict[str, str]:
    return {
        "same_account": _same_account_sql(dialect),
        "same_phone": _phone_sql(dialect),
        "moved": _moved_sql(dialect),
        "category_stack": _stack_sql(dialect, stack),
    }


#: The later enrolled of a and b (the higher first enrolment id; a person without enrolment counts as earliest).
_HELD = """CASE WHEN COALESCE((SELECT min(ea.id) FROM enrolment ea WHERE ea.beneficiary_id = f.a), 0)
                   > COALESCE((SELECT min(eb.id) FROM enrolment eb WHERE eb.beneficiary_id = f.b), 0)
              THEN f.a ELSE f.b END"""


def find_duplicates(session: Session, run_id: int | None = None, progress: Callable | None = None) -> dict:
    """Find the pairs of every kind over the whole registry and upsert them; commits. Returns the counts:
    {kind: pairs found, "new": pairs inserted, "stale": open pairs no longer found}."""
    dialect = session.get_bind().dialect.name
    stack = sorted(stackable_categories(session))
    now = utc_now()
    own = None
    if run_id is None:  # a direct call (a test, the benchmark) is a run too: its id tells what it found
        own = DuplicateRun(status="running", created_at=now, started_at=now)
        session.add(own)
        session.flush()
        run_id = own.id
    params: dict[str, Any] = {"run": run_id, "now": now, **{f"st_{i}": c for i, c in enumerate(stack)}}
    true = "true" if dialect == "postgresql" else "1"
    before = session.scalar(select(func.count()).select_from(DuplicatePair)) or 0
    counts: dict[str, int] = {}
    for step, (kind, found_sql) in enumerate(_evidence(dialect, stack).items(), 1):
        # The evidence first (one statement), then the upsert from it: a CTE cannot precede INSERT on SQLite.
        session.execute(
            text(f"""
            INSERT INTO duplicate_pair (kind, person_a_id, person_b_id, held_id, detail, status, found_at, run_id)
            SELECT '{kind}', f.a, f.b, {_HELD}, f.detail, 'open', :now, :run
            FROM ({found_sql}) f WHERE {true}
            ON CONFLICT (kind, person_a_id, person_b_id) DO UPDATE
            SET run_id = excluded.run_id, detail = excluded.detail, held_id = excluded.held_id, status = 'open'
            WHERE duplicate_pair.status IN ('open', 'stale')
            """),
            params,
        )
        counts[kind] = int(
            session.execute(
                text("SELECT count(*) FROM duplicate_pair WHERE kind = :k AND run_id = :run AND status = 'open'"),
                {"k": kind, "run": params["run"]},
            ).scalar()
            or 0
        )
        if progress:
            progress(stage="find", step=step, kind=kind)
    stale = session.execute(
        text("UPDATE duplicate_pair SET status = 'stale' WHERE status = 'open' AND (run_id IS NULL OR run_id <> :run)"),
        params,
    ).rowcount
    after = session.scalar(select(func.count()).select_from(DuplicatePair)) or 0
    counts["new"] = after - before
    counts["stale"] = max(int(stale or 0), 0)
    if own is not None:
        own.status, own.counts_json, own.finished_at = "done", json.dumps(counts), utc_now()
    audit.record(session, action="bulk", entity="duplicate_pair", new=counts, detail="find duplicates")
    session.commit()
    return counts


# --- the job's state row -----------------------------------------------------------------------------------------


def request_run(session: Session, user_id: int | None) -> DuplicateRun:
    """Record a run request (or return the one already waiting or running: there is one finder at a time)."""
    run = session.scalar(
        select(DuplicateRun).where(DuplicateRun.status.in_(("queued", "running"))).order_by(DuplicateRun.id.desc())
    )
    if run is None:
        run = DuplicateRun(user_id=user_id, status="queued", created_at=utc_now())
        session.add(run)
        session.flush()
    return run


def execute_run(session: Session, run_id: int, progress: Callable | None = None) -> DuplicateRun | None:
    """Run a queued or interrupted run (idempotent: a finished run is left as it is)."""
    run = session.get(DuplicateRun, run_id)
    if run is None or run.status == "done":
        return run
    run.status, run.started_at = "running", utc_now()
    session.commit()
    counts = find_duplicates(session, run_id, progress=progress)
    run = session.get(DuplicateRun, run_id)
    run.counts_json = json.dumps(counts)
    run.status, run.finished_at = "done", utc_now()
    session.commit()
    return run


# --- scope: a pair is seen when either person is in scope, decided when both are -----------------------------


def visible_clause(unit: AdminUnit | None):
    """SQL predicate: the pair concerns ``unit`` (either person's commune is in its scope)."""
    ids = subtree_ids(unit)
    return or_(
        DuplicatePair.person_a_id.in_(select(Beneficiary.id).where(Beneficiary.commune_id.in_(ids))),
        DuplicatePair.person_b_id.in_(select(Beneficiary.id).where(Beneficiary.commune_id.in_(ids))),
    )


def _query(unit: AdminUnit | None, *, kind: str | None = None, status: str | None = None):
    q = select(DuplicatePair).where(visible_clause(unit))
    if kind:
        q = q.where(DuplicatePair.kind == kind)
    if status:
        q = q.where(DuplicatePair.status == status)
    return q


def list_pairs(
    session: Session,
    unit: AdminUnit | None,
    *,
    kind: str | None = None,
    status: str | None = "open",
    page: int = 0,
    page_size: int = 50,
) -> dict:
    """A page of the pairs ``unit`` sees (newest first) with both people, and the total."""
    q = _query(unit, kind=kind, status=status)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    pairs = session.scalars(
        q.options(selectinload(DuplicatePair.person_a), selectinload(DuplicatePair.person_b))
        .order_by(DuplicatePair.id.desc())
        .offset(max(page, 0) * page_size)
        .limit(page_size)
    ).all()
    return {
        "pairs": [dict(pair=p, a=p.person_a, b=p.person_b, decidable=can_decide(session, unit, p)) for p in pairs],
        "total": total,
        "page": page,
        "page_size": page_size,
    }


def can_decide(session: Session, unit: AdminUnit | None, pair: DuplicatePair) -> bool:
    """Both people are in ``unit``'s scope (a pair across two districts is decided by the unit above both)."""
    return covers(unit, pair.person_a.commune_id, session) and covers(unit, pair.person_b.commune_id, session)


def load_pair(session: Session, pair_id: int, unit: AdminUnit | None) -> DuplicatePair:
    """The pair ``pair_id`` if ``unit`` sees it; NotFound otherwise (a pair out of scope does not exist)."""
    pair = session.scalar(_query(unit).where(DuplicatePair.id == pair_id)) if isinstance(pair_id, int) else None
    if pair is None:
        raise NotFound("pair", N_("This duplicate pair does not exist or is outside your scope"))
    return pair


def pair_detail(session: Session, pair_id: int, unit: AdminUnit | None) -> dict:
    """One pair with both people side by side and whether ``unit`` may decide it."""
    pair = load_pair(session, pair_id, unit)
    return {"pair": pair, "a": pair.person_a, "b": pair.person_b, "decidable": can_decide(session, unit, pair)}


def decide(session: Session, pair_ids: Iterable[int], status: str, reason: str, user_id: int | None) -> int:
    """Decide every pair of ``pair_ids`` (``same_person``, ``different_people`` or ``allowed``) with a reason, in
    one set-based UPDATE, audited; commits. All or nothing: a pair the user may not decide refuses the lot (out
    of scope: ``OutOfScope``). Returns how many pairs were decided."""
    if status not in DUPLICATE_DECISIONS:
        raise FieldError(Problem("status", "decision_invalid", N_("Choose a decision")))
    reason = (reason or "").strip()
    if not reason:
        raise FieldError(Problem("reason", "reason_missing", N_("Give the reason of the decision")))
    ids = sorted({int(i) for i in pair_ids})
    if not ids:
        raise FieldError(Problem("pairs", "nothing_chosen", N_("Choose at least one pair")))
    a, b = aliased(Beneficiary), aliased(Beneficiary)
    rows = session.execute(
        select(DuplicatePair.id, a.commune_id, b.commune_id)
        .join(a, a.id == DuplicatePair.person_a_id)
        .join(b, b.id == DuplicatePair.person_b_id)
        .where(DuplicatePair.id.in_(ids))
    ).all()
    if len(rows) != len(ids) or any(
        not (user_covers(session, user_id, ca) and user_covers(session, user_id, cb)) for _i, ca, cb in rows
    ):
        raise OutOfScope("pairs", N_("A chosen pair concerns a person outside your scope"))
    now = utc_now()
    changed = session.execute(
        DuplicatePair.__table__.update()
        .where(DuplicatePair.id.in_(ids))
        .values(status=status, reason=reason, decided_by_id=user_id, decided_at=now)
    ).rowcount
    audit.record(
        session,
        action="bulk",
        entity="duplicate_pair",
        new={"status": status, "pairs": ids},
        detail=reason[:300],
    )
    session.commit()
    return int(changed or 0)


def last_run(session: Session) -> DuplicateRun | None:
    """The latest run of the finder (its status, counts or problem, for the screen)."""
    return session.scalar(select(DuplicateRun).order_by(DuplicateRun.id.desc()).limit(1))


def review_page(
    session: Session,
    unit: AdminUnit | None,
    *,
    kind: str | None = None,
    status: str | None = "open",
    page: int = 0,
    page_size: int = 50,
) -> dict:
    """What the review screen shows: a page of the pairs ``unit`` sees, the filters, and the finder's last run."""
    kind = kind if kind in DUPLICATE_KINDS else None
    status = status if status in DUPLICATE_STATUSES else None
    return dict(
        list_pairs(session, unit, kind=kind, status=status, page=page, page_size=page_size),
        kind=kind,
        status=status,
        run=last_run(session),
    )


# --- counts for the home page ------------------------------------------------------------------------------------


def open_pairs(unit: AdminUnit | None):
    """SELECT of the ids of the open pairs ``unit`` sees (the to-do list counts it in its one query)."""
    return select(DuplicatePair.id).where(DuplicatePair.status == "open", visible_clause(unit))


def open_by_unit(session: Session, unit: AdminUnit | None, children) -> tuple[int, dict[int, int]]:
    """Open pairs ``unit`` sees, and per unit of ``children`` those it sees (a pair across two of them counts for
    both). One query; the pairs are few, the split by unit is done here."""
    a, b = aliased(Beneficiary), aliased(Beneficiary)
    rows = session.execute(
        select(DuplicatePair.id, a.commune_id, b.commune_id)
        .join(a, a.id == DuplicatePair.person_a_id)
        .join(b, b.id == DuplicatePair.person_b_id)
        .where(DuplicatePair.status == "open", visible_clause(unit))
    ).all()
    ids = {c for r in rows for c in r[1:]}
    communes = {u.id: u for u in session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids)))} if ids else {}
    per = {
        child.id: sum(
            1 for _i, ca, cb in rows if contains(child, communes.get(ca)) or contains(child, communes.get(cb))
        )
        for child in children
    }
    return len(rows), per
