"""Campaigns (đợt): a deadline per step and each commune's completion of each step.

Deadlines default to the article (9.1, 10.1, 15.1, 15.1, 16.1 of the campaign year, from
fixtures/campaign_steps.json) and can be changed per campaign. A step is done for a commune when a
user recorded it, or when the data shows it plainly (derived):
1 the commune has beneficiaries and none is still waiting to be matched;
2 the commune has a working group with members and every beneficiary is assigned to a group;
3 every beneficiary has been visited at least once;
4 every beneficiary has a case type other than 5 (visited and met, or held);
5 step 4 is done and every person of type 1 has a verified account.
Only people whose benefit has not ended count. A step not done after its deadline is overdue; once its work
is done (recorded or derived, before or after the deadline) it is done, never overdue.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    AdminUnit,
    Beneficiary,
    Campaign,
    CampaignStep,
    CampaignStepDone,
    VisitAssignment,
    WorkGroup,
    WorkGroupMember,
)
from app.services.formatting import local_today
from app.services.messages import N_, FieldError, Problem
from app.services.payout.accounts import has_verified_account
from app.services.reference import FIXTURES, commune_clause, is_commune, kind_below, unit_kind, units_below
from app.services.registry.normalize import clean_text
from app.services.scope import contains, contains_clause, lineage_ids, subtree_ids
from app.services.visits.workgroups import not_visited, require_scope

STEPS_FIXTURE = FIXTURES / "campaign_steps.json"
STEP_NUMBERS = (1, 2, 3, 4, 5)


def default_steps(year: int, path: Path = STEPS_FIXTURE) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        {"step_no": s["step_no"], "title": s["title"], "deadline": dt.date(year, s["month"], s["day"])}
        for s in data["steps"]
    ]


def create_campaign(session: Session, *, name: str, year: int, unit_id: int, user_id: int | None) -> Campaign:
    """A campaign for ``unit_id`` and below, with the default steps and deadlines of ``year``."""
    require_scope(session, user_id, unit_id, "unit")
    name = clean_text(name)
    if not name:
        raise FieldError(Problem("name", "name_missing", N_("The campaign needs a name")))
    if not 2000 <= int(year) <= 2100:
        raise FieldError(Problem("year", "year_invalid", N_("The year %(year)s is not plausible"), {"year": year}))
    campaign = Campaign(name=name[:200], year=int(year), unit_id=unit_id, created_by_id=user_id)
    for s in default_steps(int(year)):
        campaign.steps.append(CampaignStep(**s))
    session.add(campaign)
    session.flush()
    return campaign


def ensure_steps(session: Session, campaign: Campaign) -> None:
    """Add any missing step with its default deadline (e.g. a campaign created from the generic screen)."""
    have = {s.step_no for s in campaign.steps}
    for s in default_steps(campaign.year):
        if s["step_no"] not in have:
            campaign.steps.append(CampaignStep(**s))
    session.flush()


def set_deadline(session: Session, campaign: Campaign, step_no: int, deadline: dt.date, *, user_id: int | None) -> None:
    require_scope(session, user_id, campaign.unit_id, "unit")
    step = next((s for s in campaign.steps if s.step_no == step_no), None)
    if step is None:
        raise FieldError(Problem("step", "step_unknown", N_("Unknown step %(n)s"), {"n": step_no}))
    step.deadline = deadline
    session.flush()


def mark_step(
    session: Session,
    campaign: Campaign,
    step_no: int,
    commune_id: int,
    *,
    user_id: int | None,
    done: bool = True,
    note: str | None = None,
    today: dt.date | None = None,
) -> None:
    """Record (or withdraw) that a commune finished a step."""
    require_scope(session, user_id, commune_id)
    commune = session.get(AdminUnit, commune_id)
    campaign_unit = campaign.unit
    if not is_commune(commune) or not contains(campaign_unit, commune):
        raise FieldError(
            Problem("commune", "commune_not_in_campaign", N_("This commune does not take part in the campaign"))
        )
    if step_no not in STEP_NUMBERS:
        raise FieldError(Problem("step", "step_unknown", N_("Unknown step %(n)s"), {"n": step_no}))
    existing = session.scalar(
        select(CampaignStepDone).where(
            CampaignStepDone.campaign_id == campaign.id,
            CampaignStepDone.step_no == step_no,
            CampaignStepDone.commune_id == commune_id,
        )
    )
    if not done:
        if existing is not None:
            session.delete(existing)
        session.flush()
        return
    if existing is None:
        existing = CampaignStepDone(campaign_id=campaign.id, step_no=step_no, commune_id=commune_id)
        session.add(existing)
    existing.done_on = today or local_today()
    existing.done_by_id = user_id
    existing.note = (clean_text(note) or None) and clean_text(note)[:300]
    session.flush()


def _per_commune(session: Session, query) -> dict[int, int]:
    return {cid: n for cid, n in session.execute(query)}


def derived_status(session: Session, commune_ids) -> dict[int, dict[int, bool]]:
    """{commune_id: {step_no: derived done}} for the communes selected by ``commune_ids`` (a SELECT). People
    whose benefit ended (deceased, moved away…) are no work left: they count for no step."""
    b = Beneficiary
    current = and_(b.commune_id.in_(commune_ids), b.ended_at.is_(None))
    total = _per_commune(session, select(b.commune_id, func.count()).where(current).group_by(b.commune_id))
    pending = _per_commune(
        session, select(b.commune_id, func.count()).where(current, b.match_status == "pending").group_by(b.commune_id)
    )
    groups = _per_commune(
        session,
        select(WorkGroup.commune_id, func.count(func.distinct(WorkGroup.id)))
        .join(WorkGroupMember, WorkGroupMember.group_id == WorkGroup.id)
        .where(WorkGroup.commune_id.in_(commune_ids))
        .group_by(WorkGroup.commune_id),
    )
    unassigned = _per_commune(
        session,
        select(b.commune_id, func.count())
        .where(current, ~exists().where(VisitAssignment.beneficiary_id == b.id, VisitAssignment.group_id.is_not(None)))
        .group_by(b.commune_id),
    )
    unvisited = _per_commune(
        session, select(b.commune_id, func.count()).where(current, not_visited(b)).group_by(b.commune_id)
    )
    case5 = _per_commune(
        session,
        select(b.commune_id, func.count())
        .where(current, or_(b.case_type.is_(None), b.case_type == 5))
        .group_by(b.commune_id),
    )
    type1_unverified = _per_commune(
        session,
        select(b.commune_id, func.count())
        .where(current, b.case_type == 1, ~has_verified_account(b.id))
        .group_by(b.commune_id),
    )
    out: dict[int, dict[int, bool]] = {}
    for cid, n in total.items():
        if not n:
            continue
        step4 = case5.get(cid, 0) == 0
        out[cid] = {
            1: pending.get(cid, 0) == 0,
            2: groups.get(cid, 0) > 0 and unassigned.get(cid, 0) == 0,
            3: unvisited.get(cid, 0) == 0,
            4: step4,
            5: step4 and type1_unverified.get(cid, 0) == 0,
        }
    return out


def board(session: Session, campaign: Campaign, unit: AdminUnit, *, today: dt.date | None = None) -> dict:
    """The campaign page for ``unit``: the steps with deadlines, and either one row per commune (when
    ``unit`` is or directly contains communes) or one row per unit below it with done / total communes."""
    today = today or local_today()
    steps = sorted(campaign.steps, key=lambda s: s.step_no)
    deadline = {s.step_no: s.deadline for s in steps}
    communes_q = select(AdminUnit.id).where(
        AdminUnit.id.in_(subtree_ids(unit)), commune_clause(), contains_clause(campaign.unit)
    )
    communes = list(session.scalars(select(AdminUnit).where(AdminUnit.id.in_(communes_q)).order_by(AdminUnit.path)))
    derived = derived_status(session, communes_q)
    recorded = {
        (r.commune_id, r.step_no): r
        for r in session.scalars(
            select(CampaignStepDone).where(
                CampaignStepDone.campaign_id == campaign.id, CampaignStepDone.commune_id.in_(communes_q)
            )
        )
    }

    def cell(cid: int, n: int) -> dict:
        rec = recorded.get((cid, n))
        auto = derived.get(cid, {}).get(n, False)
        done = rec is not None or auto
        return {
            "done": done,
            "recorded": rec,
            "derived": auto and rec is None,
            "overdue": not done and deadline[n] < today,
        }

    commune_rows = [{"unit": c, "cells": {n: cell(c.id, n) for n in deadline}} for c in communes]
    by_child = kind_below(unit) in (None, "commune")  # a commune, or a unit right above communes
    rows = []
    if by_child:
        rows = commune_rows
        mode = "communes"
    else:
        mode = "units"
        children = units_below(session, unit)
        for child in children:
            mine = [r for r in commune_rows if contains(child, r["unit"])]
            if not mine:
                continue
            cells = {}
            for n in deadline:
                done = sum(1 for r in mine if r["cells"][n]["done"])
                cells[n] = {
                    "done_count": done,
                    "total": len(mine),
                    "done": done == len(mine),
                    "overdue": done < len(mine) and deadline[n] < today,
                }
            rows.append({"unit": child, "cells": cells})
    summary = {
        n: {
            "done": sum(1 for r in commune_rows if r["cells"][n]["done"]),
            "total": len(commune_rows),
            "overdue": deadline[n] < today and any(not r["cells"][n]["done"] for r in commune_rows),
        }
        for n in deadline
    }
    return {"steps": steps, "rows": rows, "mode": mode, "summary": summary, "today": today}


def visible_campaigns(session: Session, unit: AdminUnit | None) -> list[Campaign]:
    """Campaigns that concern a unit: run by it, by a unit above it, or by a unit below it."""
    if unit is None:
        return []
    q = select(Campaign).where(Campaign.unit_id.in_(lineage_ids(unit)))
    return list(session.scalars(q.order_by(Campaign.year.desc(), Campaign.id.desc())))


def delete_campaign(session: Session, campaign: Campaign, *, user_id: int | None) -> None:
    require_scope(session, user_id, campaign.unit_id, "unit")
    session.execute(delete(CampaignStepDone).where(CampaignStepDone.campaign_id == campaign.id))
    session.delete(campaign)
    session.flush()


def unit_choices(session: Session, unit: AdminUnit | None) -> list[tuple[str, list[AdminUnit]]]:
    """The units a user of ``unit`` may run a campaign for (``unit`` and the units below it), grouped by kind
    ("city", "district", "commune") from the top of the scheme down, by code within a kind; none without a unit."""
    groups: dict[str, list[AdminUnit]] = {}
    rows = session.scalars(
        select(AdminUnit).where(AdminUnit.id.in_(subtree_ids(unit))).order_by(AdminUnit.level, AdminUnit.code)
    )
    for row in rows:
        groups.setdefault(unit_kind(row), []).append(row)
    return list(groups.items())
