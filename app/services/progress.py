"""Progress over time: for a unit's scope, day by day, the shares of beneficiaries visited, with a verified
account and paid to an account, against the deadlines of the campaign's steps.

Every figure comes from timestamps already stored, set-based (one GROUP BY per measure, per commune and day,
rolled up in Python to the units below like the dashboard):
- visited on day d: the person's first visit date is on or before d;
- with a verified account on day d: an account verified on or before d, neither ended nor replaced by a later
  verified account on or before d (the database keeps at most one account in force per person, so accounts
  in force are people);
- paid to an account on day d: a line paid to an account (bank result "paid") of a period dated on or
  before d, first such period per person.
Shares are of the scope's beneficiaries today (the dashboard's denominator).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from app.models import AdminUnit, Beneficiary, PaymentAccount, PayoutLine, PayoutPeriod, Visit
from app.services.formatting import format_date, local_today
from app.services.messages import N_
from app.services.reference import units_below
from app.services.scope import child_containing, subtree_ids
from app.services.visits import campaigns

MEASURES = ("visited", "verified_account", "paid_to_account")
MEASURE_LABELS = {
    "visited": N_("Visited"),
    "verified_account": N_("With a verified account"),
    "paid_to_account": N_("Paid to the account"),
}
#: The campaign step each measure is the work of (its deadline is drawn with the measure's color).
MEASURE_STEPS = {"visited": 3, "verified_account": 5, "paid_to_account": 5}
COLORS = {"visited": "#337ab7", "verified_account": "#5cb85c", "paid_to_account": "#f0ad4e"}


def _day(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def daily_events(session: Session, unit: AdminUnit) -> dict[str, dict[int, dict[dt.date, int]]]:
    """measure → commune id → day → change of the count on that day (+ people reaching it, − leaving it)."""
    scope = subtree_ids(unit)
    out: dict[str, dict[int, dict[dt.date, int]]] = {m: defaultdict(lambda: defaultdict(int)) for m in MEASURES}
    first_visit = (
        select(Visit.beneficiary_id, func.min(Visit.visit_date).label("day"))
        .join(Beneficiary, Beneficiary.id == Visit.beneficiary_id)
        .where(Beneficiary.commune_id.in_(scope))
        .group_by(Visit.beneficiary_id)
        .subquery()
    )
    for cid, day, n in session.execute(
        select(Beneficiary.commune_id, first_visit.c.day, func.count())
        .join(first_visit, first_visit.c.beneficiary_id == Beneficiary.id)
        .group_by(Beneficiary.commune_id, first_visit.c.day)
    ):
        out["visited"][cid][_day(day)] += n
    verified_day = func.date(PaymentAccount.verified_at)
    for cid, day, n in session.execute(
        select(Beneficiary.commune_id, verified_day, func.count())
        .join(Beneficiary, Beneficiary.id == PaymentAccount.beneficiary_id)
        .where(Beneficiary.commune_id.in_(scope), PaymentAccount.verified_at.is_not(None))
        .group_by(Beneficiary.commune_id, verified_day)
    ):
        out["verified_account"][cid][_day(day)] += n
    # An account stops counting when it is ended, or when a later account of the person is verified (it is
    # then superseded without an end time: the successor's verification is its end).
    later = aliased(PaymentAccount)
    successor = (
        select(func.min(later.verified_at))
        .where(later.beneficiary_id == PaymentAccount.beneficiary_id, later.verified_at > PaymentAccount.verified_at)
        .correlate(PaymentAccount)
        .scalar_subquery()
    )
    ends = (
        select(
            Beneficiary.commune_id.label("cid"),
            func.date(func.coalesce(PaymentAccount.ended_at, successor)).label("day"),
        )
        .join(Beneficiary, Beneficiary.id == PaymentAccount.beneficiary_id)
        .where(
            Beneficiary.commune_id.in_(scope),
            PaymentAccount.verified_at.is_not(None),
            PaymentAccount.state.in_(("ended", "superseded")),
        )
        .subquery()
    )
    for cid, day, n in session.execute(
        select(ends.c.cid, ends.c.day, func.count()).where(ends.c.day.is_not(None)).group_by(ends.c.cid, ends.c.day)
    ):
        out["verified_account"][cid][_day(day)] -= n
    first_paid = (
        select(PayoutLine.beneficiary_id, func.min(PayoutPeriod.period_date).label("day"))
        .join(PayoutPeriod, PayoutPeriod.id == PayoutLine.period_id)
        .where(PayoutLine.channel == "account", PayoutLine.result_status == "paid", PayoutLine.commune_id.in_(scope))
        .group_by(PayoutLine.beneficiary_id)
        .subquery()
    )
    for cid, day, n in session.execute(
        select(Beneficiary.commune_id, first_paid.c.day, func.count())
        .join(first_paid, first_paid.c.beneficiary_id == Beneficiary.id)
        .where(Beneficiary.commune_id.in_(scope))
        .group_by(Beneficiary.commune_id, first_paid.c.day)
    ):
        out["paid_to_account"][cid][_day(day)] += n
    return out


def _cached_people(session: Session, unit: AdminUnit, cache) -> dict[int, int]:
    """commune id → beneficiaries today (the shares' denominator), through ``cache`` like the daily changes."""
    import json

    key = f"asxh:progress-people:{unit.scheme}:{unit.id}"
    if cache is not None:
        hit = cache.get(key)
        if hit:
            return {int(cid): n for cid, n in json.loads(hit).items()}
    people = {
        cid: n
        for cid, n in session.execute(
            select(Beneficiary.commune_id, func.count())
            .where(Beneficiary.commune_id.in_(subtree_ids(unit)))
            .group_by(Beneficiary.commune_id)
        )
    }
    if cache is not None:
        cache.set(key, json.dumps(people))
    return people


def _cached_events(session: Session, unit: AdminUnit, cache) -> dict[str, dict[int, dict[dt.date, int]]]:
    """daily_events through ``cache`` (anything with get(key) -> str | None and set(key, str)), if given."""
    import json

    key = f"asxh:progress:{unit.scheme}:{unit.id}"
    if cache is not None:
        hit = cache.get(key)
        if hit:
            return {
                m: {int(cid): {dt.date.fromisoformat(d): n for d, n in days.items()} for cid, days in per.items()}
                for m, per in json.loads(hit).items()
            }
    events = daily_events(session, unit)
    if cache is not None:
        cache.set(
            key,
            json.dumps(
                {
                    m: {cid: {d.isoformat(): n for d, n in days.items() if d is not None} for cid, days in per.items()}
                    for m, per in events.items()
                }
            ),
        )
    return events


def _series(events: dict[dt.date, int], days: list[dt.date]) -> list[int]:
    """The running total of ``events`` on each of ``days`` (events before the first day count on it)."""
    ordered = sorted(events.items())
    total, i, out = 0, 0, []
    for day in days:
        while i < len(ordered) and ordered[i][0] <= day:
            total += ordered[i][1]
            i += 1
        out.append(total)
    return out


def progress_over_time(
    session: Session,
    unit: AdminUnit,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    today: dt.date | None = None,
    cache=None,
) -> dict:
    """The daily counts and shares for ``unit``'s scope and for each unit directly below it.

    ``start`` defaults to the first day anything happened (or 30 days before ``end``), ``end`` to the later of
    today and the last deadline of the campaign shown (days after today carry no figure). Returns
    {"days", "today", "deadlines": [(step_no, title, date)], "campaign", "total": {...}, "units": [{...}]},
    each figure set being {"beneficiaries", "counts": {measure: [n per day]}, "shares": {measure: [share]}}.
    ``cache`` (optional, like the dashboard's) keeps the daily changes per commune for a short while."""
    today = today or local_today()
    people = _cached_people(session, unit, cache)
    events = _cached_events(session, unit, cache)
    visible = campaigns.visible_campaigns(session, unit)
    campaign = visible[0] if visible else None
    deadlines = (
        [(s.step_no, s.title, s.deadline) for s in sorted(campaign.steps, key=lambda s: s.step_no)]
        if campaign is not None
        else []
    )
    if end is None:
        end = max([today] + [d for _, _, d in deadlines])
    if start is None:
        firsts = [day for m in MEASURES for per_day in events[m].values() for day in per_day if day is not None]
        start = min(firsts + [end - dt.timedelta(days=30)])
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    shown = [d for d in days if d <= today]

    def figures(commune_ids) -> dict:
        whole = sum(people.get(c, 0) for c in commune_ids)
        counts = {}
        for m in MEASURES:
            merged: dict[dt.date, int] = defaultdict(int)
            for c in commune_ids:
                for day, n in events[m].get(c, {}).items():
                    merged[day] += n
            counts[m] = _series(merged, shown)
        shares = {m: [round(n / whole, 4) if whole else None for n in counts[m]] for m in MEASURES}
        return {"beneficiaries": whole, "counts": counts, "shares": shares}

    communes = set(people)
    for m in MEASURES:
        communes |= set(events[m])
    # the units of the scope (a few hundred rows; cheaper than binding the communes' ids one by one)
    paths = (
        {
            r.id: r
            for r in session.execute(
                select(AdminUnit.id, AdminUnit.scheme, AdminUnit.path).where(AdminUnit.id.in_(subtree_ids(unit)))
            )
        }
        if communes
        else {}
    )
    children = units_below(session, unit)
    by_child: dict[int, list[int]] = {child.id: [] for child in children}
    for c, child in child_containing(children, {c: paths.get(c) for c in communes}).items():
        by_child[child.id].append(c)
    below = []
    for child in children:
        mine = by_child[child.id]
        if mine and sum(people.get(c, 0) for c in mine):
            below.append(dict(figures(mine), unit_id=child.id, code=child.code, name=child.name))
    return {
        "days": days,
        "today": today,
        "campaign": campaign,
        "deadlines": deadlines,
        "total": figures(communes),
        "units": below,
    }


def line_chart_svg(
    days: list[dt.date],
    series: dict[str, list[float | None]],
    labels: dict[str, str],
    deadlines: list[tuple[int, str, dt.date]],
    *,
    title: str = "",
    width: int = 640,
    height: int = 240,
    step_label: Callable[[int], str] = str,
) -> str:
    """Shares (0..1) per day as an inline SVG line chart, with a dashed vertical line per step deadline
    (rendered on the server, like ``dashboard.bar_chart_svg``: the users' networks are closed)."""
    from html import escape

    left, right, top, bottom = 40, 10, 22, 40
    w, h = width - left - right, height - top - bottom
    span = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return left + w * i / span

    def y(share: float) -> float:
        return top + h * (1 - share)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 18 * len(series)}" '
        f'role="img" class="asxh-chart asxh-progress">'
    ]
    if title:
        out.append(f'<text x="{left}" y="14" font-size="13" font-weight="bold">{escape(title)}</text>')
    for pct in (0, 25, 50, 75, 100):
        yy = y(pct / 100)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{left + w}" y2="{yy:.1f}" stroke="#ddd"></line>')
        out.append(f'<text x="{left - 4}" y="{yy + 4:.1f}" font-size="10" text-anchor="end">{pct}%</text>')
    if days:
        for i in sorted({0, len(days) - 1, *range(0, len(days), max(len(days) // 6, 1))}):
            if i < len(days):
                out.append(
                    f'<text x="{x(i):.1f}" y="{top + h + 14}" font-size="10" text-anchor="middle">'
                    f"{format_date(days[i])[:5]}</text>"
                )
        index = {d: i for i, d in enumerate(days)}
        for step_no, step_title, day in deadlines:
            if day in index:
                xx = x(index[day])
                out.append(
                    f'<line x1="{xx:.1f}" y1="{top}" x2="{xx:.1f}" y2="{top + h}" stroke="#c9302c" '
                    f'stroke-dasharray="4,3" data-step="{step_no}"><title>{escape(step_title)} '
                    f"{format_date(day)}</title></line>"
                )
                out.append(
                    f'<text x="{xx + 2:.1f}" y="{top + 10}" font-size="10" fill="#c9302c">'
                    f"{escape(step_label(step_no))}</text>"
                )
    for k, (key, values) in enumerate(series.items()):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None)
        color = COLORS.get(key, "#333")
        if points:
            out.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}" '
                f'data-measure="{key}"></polyline>'
            )
        last = next((v for v in reversed(values) if v is not None), None)
        ly = height + 18 * k + 4
        shown = "" if last is None else f" {last * 100:.1f}%".replace(".", ",")
        out.append(
            f'<rect x="{left}" y="{ly}" width="12" height="10" fill="{color}"></rect>'
            f'<text x="{left + 16}" y="{ly + 9}" font-size="11">{escape(labels[key])}{shown}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def charts(data: dict, translate: Callable[[str], str]) -> dict:
    """The SVG charts of ``progress_over_time(...)``: the scope's, then one per unit below it."""
    names = {m: translate(MEASURE_LABELS[m]) for m in MEASURES}

    def step(n: int) -> str:
        return translate(N_("Step %(n)s")) % {"n": n}

    def chart(figures: dict, title: str) -> str:
        return line_chart_svg(data["days"], figures["shares"], names, data["deadlines"], title=title, step_label=step)

    return {"total": chart(data["total"], ""), "units": [(u["name"], chart(u, u["name"])) for u in data["units"]]}
