"""Progress toward the article's targets for a unit's scope, with a breakdown by the units below it.

Every figure is a GROUP BY over one table (beneficiary, enrolment, visit), aggregated
per commune and then rolled up in Python by unit path — no query per unit. "With a verified account" counts
beneficiaries by their commune through ``accounts.has_verified_account`` (the one "has an account" rule).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, Beneficiary, Enrolment, Visit
from app.models.beneficiary import CASE_TYPE_CODES
from app.services import payout
from app.services.formatting import format_date, local_today
from app.services.labels import label, labels
from app.services.messages import N_
from app.services.payout import verification
from app.services.payout.accounts import has_verified_account
from app.services.payout.prevalidation import prevalidation_by_commune
from app.services.payout.tiers import waiting_counts
from app.services.reference import units_below
from app.services.registry import duplicates
from app.services.scope import child_containing, subtree_ids
from app.services.visits import campaigns
from app.services.visits import questionnaire as qn
from app.services.visits.latest import latest_visit_ids

TO_CLEAN = ("mismatch", "needs_review", "not_found", "possible_duplicate")
HELD_STATUSES = ("deceased", "moved")
CASE_TYPE_IDS = CASE_TYPE_CODES


def _empty() -> dict:
    return {
        "beneficiaries": 0,
        "matched": 0,
        "to_clean": 0,
        "pending": 0,
        "held": 0,
        "visited": 0,
        "verified_account": 0,
        "cases": {t: 0 for t in CASE_TYPE_IDS},
        "unclassified": 0,
        "want_account": 0,
        "paid_to_account": 0,
        "prevalidated": 0,
        "prevalidation_failed": 0,
        "prevalidation_pending": 0,
        "checked": 0,  # post-payment verification: payments checked with the person
        "confirmed": 0,  # ... and confirmed received in full
        "categories": defaultdict(int),
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _latest_visits(scope):
    """The latest visit of each person of the scope: the one their case type comes from."""
    people = select(Beneficiary.id).where(Beneficiary.commune_id.in_(scope))
    return Visit.id.in_(latest_visit_ids(Visit.beneficiary_id.in_(people)))


def per_commune(session: Session, unit: AdminUnit) -> dict[int, dict]:
    """commune id → figures, for every commune in ``unit``'s scope that has beneficiaries."""
    scope = subtree_ids(unit)
    rows: dict[int, dict] = defaultdict(_empty)
    for cid, status, case_type, n in session.execute(
        select(Beneficiary.commune_id, Beneficiary.match_status, Beneficiary.case_type, func.count())
        .where(Beneficiary.commune_id.in_(scope))
        .group_by(Beneficiary.commune_id, Beneficiary.match_status, Beneficiary.case_type)
    ):
        r = rows[cid]
        r["beneficiaries"] += n
        if status == "matched":
            r["matched"] += n
        elif status in TO_CLEAN:
            r["to_clean"] += n
        elif status in HELD_STATUSES:
            r["held"] += n
        else:
            r["pending"] += n
        if case_type in CASE_TYPE_IDS:
            r["cases"][case_type] += n
        else:
            r["unclassified"] += n
    for cid, category, n in session.execute(
        select(Enrolment.commune_id, Enrolment.category, func.count())
        .where(Enrolment.commune_id.in_(scope))
        .group_by(Enrolment.commune_id, Enrolment.category)
    ):
        rows[cid]["categories"][category] += n
    for cid, n in session.execute(
        select(Visit.commune_id, func.count(func.distinct(Visit.beneficiary_id)))
        .where(Visit.commune_id.in_(scope))
        .group_by(Visit.commune_id)
    ):
        rows[cid]["visited"] = n
    for cid, n in session.execute(
        select(Beneficiary.commune_id, func.count())
        .where(Beneficiary.commune_id.in_(scope), has_verified_account(Beneficiary.id))
        .group_by(Beneficiary.commune_id)
    ):
        rows[cid]["verified_account"] = n
    for cid, figures in prevalidation_by_commune(session, unit).items():
        rows[cid]["prevalidated"] = figures["prevalidated"]
        rows[cid]["prevalidation_failed"] = figures["failed"]
        rows[cid]["prevalidation_pending"] = figures["pending"]
    headline, _period = payout.headline_by_commune(session, unit)
    for cid, h in headline.items():
        rows[cid]["want_account"] = h["want_account"]
        rows[cid]["paid_to_account"] = h["paid_to_account"]
    for cid, v in verification.confirmed_by_commune(session, unit).items():
        rows[cid]["checked"], rows[cid]["confirmed"] = v["checked"], v["confirmed"]
    return rows


def _add(total: dict, r: dict) -> None:
    for k in (
        "beneficiaries",
        "matched",
        "to_clean",
        "pending",
        "held",
        "visited",
        "verified_account",
        "unclassified",
        "want_account",
        "paid_to_account",
        "prevalidated",
        "prevalidation_failed",
        "prevalidation_pending",
        "checked",
        "confirmed",
    ):
        total[k] += r.get(k, 0)  # a cached row from before a figure existed counts 0
    for t in CASE_TYPE_IDS:
        total["cases"][t] += r["cases"][t]
    for c, n in r["categories"].items():
        total["categories"][c] += n


def _finish(r: dict) -> dict:
    r["share_paid_to_account"] = _share(r["paid_to_account"], r["want_account"])
    r["share_verified_account"] = _share(r["verified_account"], r["beneficiaries"])
    r["share_matched"] = _share(r["matched"], r["beneficiaries"])
    r["share_visited"] = _share(r["visited"], r["beneficiaries"])
    r["share_confirmed"] = _share(r["confirmed"], r["checked"])
    r["categories"] = dict(r["categories"])
    return r


def _reasons(session: Session, unit: AdminUnit) -> tuple[list, list]:
    scope = subtree_ids(unit)
    latest = _latest_visits(scope)
    definition = (
        qn.parse_definition(qn.active_questionnaire(session).definition) if qn.active_questionnaire(session) else None
    )
    declines = session.execute(
        select(Visit.decline_reason, func.count())
        .where(latest, Visit.declined.is_(True), Visit.met.is_(True))
        .group_by(Visit.decline_reason)
        .order_by(func.count().desc())
    ).all()
    supports: dict[str, int] = defaultdict(int)
    for support, n in session.execute(
        select(Visit.support, func.count()).where(latest, Visit.vulnerable.is_(True)).group_by(Visit.support)
    ):
        for value in (support or "").split(","):
            if value:
                supports[value] += n

    def label(key, value):
        return qn.option_label(definition, key, value) if definition and value else (value or "")

    return (
        [(label("decline_reason", r), n) for r, n in declines],
        [(label("support", s), n) for s, n in sorted(supports.items(), key=lambda kv: -kv[1])],
    )


def _rollup(session: Session, unit: AdminUnit, children: list) -> dict:
    """The per-commune figures of ``unit``'s scope summed per unit below it (``children``) and in total."""
    communes = per_commune(session, unit)
    # the units of the scope (a few hundred rows; cheaper than binding the communes' ids one by one)
    units = (
        {
            r.id: r
            for r in session.execute(
                select(AdminUnit.id, AdminUnit.scheme, AdminUnit.path).where(AdminUnit.id.in_(subtree_ids(unit)))
            )
        }
        if communes
        else {}
    )
    total = _empty()
    breakdown = []
    rows = {child.id: _empty() for child in children}
    for cid, child in child_containing(children, {cid: units.get(cid) for cid in communes}).items():
        _add(rows[child.id], communes[cid])
    for child in children:
        row = rows[child.id]
        if row["beneficiaries"]:
            breakdown.append(dict(_finish(row), unit_id=child.id, code=child.code, name=child.name))
    for r in communes.values():
        _add(total, r)
    return {"total": _finish(total), "breakdown": breakdown}


def _cached_rollup(session: Session, unit: AdminUnit, children: list, cache) -> dict:
    """``_rollup`` through ``cache`` (anything with get(key) -> str | None and set(key, str)), if given: keyed
    by the scope; the cache itself forgets the figures of an older version of the data."""
    import json

    key = f"asxh:dashboard:rollup:{unit.scheme}:{unit.id}"
    if cache is not None:
        hit = cache.get(key)
        if hit:
            rollup = json.loads(hit)
            for r in (rollup["total"], *rollup["breakdown"]):
                r["cases"] = {int(t): n for t, n in r["cases"].items()}  # JSON keys are text
            return rollup
    rollup = _rollup(session, unit, children)
    if cache is not None:
        cache.set(key, json.dumps(rollup))
    return rollup


def dashboard(session: Session, unit: AdminUnit, *, today: dt.date | None = None, cache=None) -> dict:
    """Everything the home page shows for ``unit``: totals, one row per unit below it, reasons, deadlines.

    ``cache`` (optional) keeps the totals and the rows of the units below for a short while: at city scale they
    are the expensive part, and a dashboard a minute old is fine."""
    children = units_below(session, unit)
    rollup = _cached_rollup(session, unit, children, cache)
    breakdown = rollup["breakdown"]
    # Open duplicate pairs: never cached (a decision must show at once); one query.
    open_pairs, pairs_by_unit = duplicates.open_by_unit(session, unit, children)
    for row in breakdown:
        row["duplicates"] = pairs_by_unit.get(row["unit_id"], 0)
    declines, supports = _reasons(session, unit)
    board = None
    visible = campaigns.visible_campaigns(session, unit)
    if visible:
        campaign = visible[0]
        board = dict(campaigns.board(session, campaign, unit, today=today), campaign=campaign)
    return {
        "unit": unit,
        # payout periods waiting for each approval tier (app/services/payout/tiers.py)
        "approvals_waiting": waiting_counts(session, unit),
        "total": rollup["total"],
        "breakdown": breakdown,
        "declines": declines,
        "supports": supports,
        "board": board,
        "duplicates": open_pairs,
    }


def bar_chart_svg(items: list[tuple[str, int]], *, width: int = 460, bar: int = 22, color: str = "#337ab7") -> str:
    """A horizontal bar chart as inline SVG (rendered on the server: the users' networks are closed)."""
    from html import escape

    peak = max([n for _, n in items] + [1])
    height = bar * len(items) + 4
    label_w = 230
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" class="asxh-chart">']
    for i, (text, n) in enumerate(items):
        y = i * bar + 2
        w = int((width - label_w - 60) * n / peak)
        label = str(text) if len(str(text)) <= 34 else str(text)[:33] + "…"
        out.append(
            f'<text x="0" y="{y + bar * 0.7:.0f}" font-size="12"><title>{escape(str(text))}</title>'
            f"{escape(label)}</text>"
        )
        out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{bar - 6}" fill="{color}"></rect>')
        out.append(f'<text x="{label_w + w + 4}" y="{y + bar * 0.7:.0f}" font-size="12">{n:,}</text>'.replace(",", "."))
    out.append("</svg>")
    return "".join(out)


def charts(data: dict, translate: Callable[[str], str]) -> dict:
    """The home page's charts of ``dashboard(...)``: beneficiaries per case type and per category (inline SVG)."""
    total = data["total"]
    return {
        "cases": bar_chart_svg([(text, total["cases"][t]) for t, text in labels("case_type", translate).items()]),
        "categories": bar_chart_svg(
            [(label("category", c, translate), n) for c, n in sorted(total["categories"].items())], color="#5cb85c"
        ),
    }


def write_xlsx(data: dict, out: BinaryIO, translate: Callable[[str], str], *, today: dt.date | None = None) -> None:
    """``dashboard(...)`` as .xlsx (app/services/spreadsheets.py): one row per unit below, then the total."""
    from openpyxl.styles import Font

    from app.services.spreadsheets import append_row, new_workbook

    t = translate
    wb = new_workbook(write_only=False)
    ws = wb.active
    ws.title = t(N_("Progress"))
    append_row(
        ws,
        [
            t(N_("Progress of %(unit)s on %(date)s"))
            % {"unit": data["unit"].name, "date": format_date(today or local_today())}
        ],
        font=Font(bold=True, size=13),
    )
    head = (
        [
            t(N_("Unit")),
            t(N_("Beneficiaries")),
            t(N_("Matched")),
            t(N_("To clean")),
            t(N_("Held")),
            t(N_("Visited")),
            t(N_("With a verified account")),
        ]
        + [t(N_("Case %(n)s")) % {"n": n} for n in CASE_TYPE_IDS]
        + [t(N_("Have an account and want it")), t(N_("Paid to the account")), t(N_("Share paid to the account (%)"))]
        + [t(N_("Valid at the bank")), t(N_("Failed at the bank")), t(N_("Not checked with the bank"))]
    )
    append_row(ws, head, font=Font(bold=True))

    def line(name, r):
        share = r["share_paid_to_account"]
        return (
            [name, r["beneficiaries"], r["matched"], r["to_clean"], r["held"], r["visited"], r["verified_account"]]
            + [r["cases"][n] for n in CASE_TYPE_IDS]
            + [r["want_account"], r["paid_to_account"], None if share is None else round(100 * share, 1)]
            + [r.get("prevalidated", 0), r.get("prevalidation_failed", 0), r.get("prevalidation_pending", 0)]
        )

    for r in data["breakdown"]:
        append_row(ws, line(r["name"], r))
    append_row(ws, line(t(N_("Total")), data["total"]), font=Font(bold=True))
    ws.column_dimensions["A"].width = 28
    wb.save(out)
