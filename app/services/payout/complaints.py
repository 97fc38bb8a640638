"""Complaints (khiếu nại, phản ánh) about a payment: recorded by an officer or opened by a verification answer.

Promises:
- a complaint moves only along ``TRANSITIONS`` (new → assigned → in_progress → resolved / rejected → closed; a
  resolved complaint may be reopened), through ``move``; any other move is refused (``illegal_transition``);
- its deadline is the day it was received plus ``COMPLAINT_DEADLINE_DAYS`` of its category (calendar days); it is
  overdue while open (``OPEN_COMPLAINT_STATES``) after that day (``overdue``: the home page's to-do shows it red);
- the scope is the person's commune; a sensitive complaint is seen only by holders of the capability
  ``sensitive_complaints`` whose scope covers the unit it is assigned to (the leaders of that unit and above):
  ``visible_clause`` is the one rule for lists, ``visible`` for one row;
- a resolution never edits a payout line: it may release the person's hold through the matching review's
  decision (``keep_record``) or carry what is owed through the reconciliation's carry;
- every change is an ORM change of an audited table (``complaint``): the audit trail records it;
- ``complaint_events`` is the one place a change of a complaint is announced (beneficiary notices hook there).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, Beneficiary, PayoutLine, PayoutPeriod
from app.models.aftercare import (
    COMPLAINT_CATEGORIES,
    COMPLAINT_CHANNELS,
    COMPLAINT_DEADLINE_DAYS,
    OPEN_COMPLAINT_STATES,
    RESOLUTION_ACTIONS,
    Complaint,
)
from app.models.payout import OWED_RESULTS
from app.services.formatting import local_today, utc_now
from app.services.messages import N_, FieldError, NotFound, Problem
from app.services.registry import normalize as nz
from app.services.scope import covers, subtree_ids

#: state → the states it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("assigned", "rejected"),
    "assigned": ("assigned", "in_progress", "rejected"),
    "in_progress": ("resolved", "rejected"),
    "resolved": ("closed", "in_progress"),
    "rejected": ("closed",),
    "closed": (),
}
SENSITIVE_CAPABILITY = "sensitive_complaints"

# --- notices: the one call point -------------------------------------------------------------------------


#: Listeners of complaint events: ``listener(session, complaint, event)``. Beneficiary notices register here;
#: a listener adds rows to the caller's transaction and must not commit.
def _tell_the_person(session: Session, complaint: Complaint, event: str) -> None:
    """The person hears that their complaint was received and, later, that it was resolved (an SMS notice,
    which carries only the complaint's number)."""
    from app.services.notices import outbox

    notice = {"opened": "complaint_received", "resolved": "complaint_resolved"}.get(event)
    if notice is not None:
        outbox.notify(
            session, notice, complaint.beneficiary_id, reference=f"complaint:{complaint.id}", number=str(complaint.id)
        )


LISTENERS: list[Callable[[Session, Complaint, str], None]] = [_tell_the_person]


def complaint_events(session: Session, complaint: Complaint, event: str) -> None:
    """A complaint was opened (``opened``) or moved (its new state): tell every listener, inside the
    transaction of the change (so a notice exists exactly when the change does)."""
    for listener in LISTENERS:
        listener(session, complaint, event)


# --- rules -----------------------------------------------------------------------------------------------


def deadline_for(category: str, received_on: dt.date) -> dt.date:
    """The day by which a complaint of ``category`` received on ``received_on`` must be answered."""
    return received_on + dt.timedelta(days=COMPLAINT_DEADLINE_DAYS[category])


def overdue(today: dt.date) -> ColumnElement[bool]:
    """SQL: the complaint is still open after its deadline."""
    return and_(Complaint.status.in_(OPEN_COMPLAINT_STATES), Complaint.deadline < today)


def is_overdue(complaint: Complaint, today: dt.date | None = None) -> bool:
    return complaint.status in OPEN_COMPLAINT_STATES and complaint.deadline < (today or local_today())


def visible_clause(unit: AdminUnit | None, sees_sensitive: bool) -> ColumnElement[bool]:
    """SQL: the complaints a user of ``unit`` sees: in scope (the person's commune), and a sensitive one only
    when the user holds ``sensitive_complaints`` and their scope covers the unit it is assigned to."""
    if unit is None:
        return false()
    in_scope = Complaint.commune_id.in_(subtree_ids(unit))
    if not sees_sensitive:
        return and_(in_scope, Complaint.sensitive.is_(False))
    return and_(in_scope, or_(Complaint.sensitive.is_(False), Complaint.unit_id.in_(subtree_ids(unit))))


def visible(session: Session, complaint: Complaint | None, unit: AdminUnit | None, sees_sensitive: bool) -> bool:
    if complaint is None or not covers(unit, complaint.commune_id, session):
        return False
    return not complaint.sensitive or (sees_sensitive and covers(unit, complaint.unit_id, session))


def load(session: Session, complaint_id: int, unit: AdminUnit | None, sees_sensitive: bool) -> Complaint:
    """The complaint, or NotFound when unknown or not visible to the actor (the same answer: 404)."""
    complaint = session.get(Complaint, complaint_id)
    if not visible(session, complaint, unit, sees_sensitive):
        raise NotFound("complaint")
    return complaint  # type: ignore[return-value]


def _problem(field: str, code: str, msgid: str, **params: Any) -> FieldError:
    return FieldError(Problem(field, code, msgid, params))


# --- writes ----------------------------------------------------------------------------------------------


def open_complaint(
    session: Session,
    *,
    beneficiary_id: int,
    category: str,
    channel: str,
    actor_unit: AdminUnit | None,
    user_id: int | None,
    description: str | None = None,
    period_id: int | None = None,
    line_id: int | None = None,
    sensitive: bool = False,
    received_on: dt.date | None = None,
    unit_id: int | None = None,
    verification_task_id: int | None = None,
) -> Complaint:
    """Record a complaint about a person of the actor's scope (``actor_unit`` None: the system); flushes, the
    caller commits. The line (or period) must be the person's; the deadline follows the category."""
    if category not in COMPLAINT_CATEGORIES:
        raise _problem("category", "category_unknown", N_("Unknown complaint category %(value)s"), value=category)
    if channel not in COMPLAINT_CHANNELS:
        raise _problem("channel", "channel_unknown", N_("Unknown channel %(value)s"), value=channel)
    person = session.get(Beneficiary, beneficiary_id)
    if person is None or (actor_unit is not None and not covers(actor_unit, person.commune_id, session)):
        raise NotFound("beneficiary")
    if line_id is not None:
        line = session.get(PayoutLine, line_id)
        if line is None or line.beneficiary_id != person.id:
            raise _problem("line", "line_not_of_person", N_("This payout line is not the person's"))
        period_id = line.period_id
    elif period_id is not None and session.get(PayoutPeriod, period_id) is None:
        raise NotFound("period")
    assigned = unit_id or person.commune_id
    if actor_unit is not None and not covers(actor_unit, assigned, session):
        raise NotFound("unit")
    received = received_on or local_today()
    complaint = Complaint(
        beneficiary_id=person.id,
        commune_id=person.commune_id,
        unit_id=assigned,
        period_id=period_id,
        line_id=line_id,
        verification_task_id=verification_task_id,
        category=category,
        channel=channel,
        description=nz.clean_text(description) or None,
        sensitive=bool(sensitive),
        status="new",
        received_on=received,
        deadline=deadline_for(category, received),
        created_by_id=user_id,
        created_at=utc_now(),
    )
    session.add(complaint)
    session.flush()
    complaint_events(session, complaint, "opened")
    return complaint


def move(
    session: Session,
    complaint: Complaint,
    to: str,
    *,
    user_id: int | None,
    actor_unit: AdminUnit | None,
    unit_id: int | None = None,
    assigned_to_id: int | None = None,
    resolution: str | None = None,
    action: str = "none",
    carry_to_period_id: int | None = None,
) -> Complaint:
    """Move a complaint (the actor has already loaded it through ``load``) to state ``to``; flushes, the caller
    commits. Assigning may name another unit of the actor's scope and an officer; resolving and rejecting need
    the answer given; resolving may release the person's hold or carry what is owed on the line."""
    allowed = TRANSITIONS.get(complaint.status, ())
    if to not in allowed:
        raise _problem(
            "status",
            "illegal_transition",
            N_("A complaint cannot go from %(old)s to %(new)s"),
            old=complaint.status,
            new=to,
        )
    if to == "assigned":
        target = unit_id or complaint.unit_id
        if actor_unit is not None and not covers(actor_unit, target, session):
            raise NotFound("unit")
        complaint.unit_id, complaint.assigned_to_id = target, assigned_to_id
    if to in ("resolved", "rejected"):
        answer = nz.clean_text(resolution)
        if not answer:
            raise _problem("resolution", "resolution_missing", N_("Write the answer given to the person"))
        complaint.resolution = answer
    if to == "resolved":
        if action not in RESOLUTION_ACTIONS:
            raise _problem("action", "action_unknown", N_("Unknown action"))
        _apply_action(session, complaint, action, user_id, actor_unit, carry_to_period_id)
        complaint.resolution_action = action
    complaint.closed_at = utc_now() if to == "closed" else None
    complaint.status = to
    session.flush()
    complaint_events(session, complaint, to)
    return complaint


def _apply_action(
    session: Session,
    complaint: Complaint,
    action: str,
    user_id: int | None,
    actor_unit: AdminUnit | None,
    carry_to_period_id: int | None,
) -> None:
    if action == "release_hold":
        from app.services.registry.matching import decide

        scope = actor_unit or session.get(AdminUnit, complaint.commune_id)
        outcome = decide(
            session,
            scope,
            [complaint.beneficiary_id],
            "keep_record",
            user_id,
            reason=complaint.resolution,
        )
        if outcome.refused:
            raise FieldError(outcome.refused[0][1])
    elif action == "carry":
        from app.services.payout.reconciliation import carry_failed

        if complaint.line_id is None or carry_to_period_id is None:
            raise _problem(
                "carry_to",
                "carry_target_missing",
                N_("Name the payout line and the later payout period to carry the amount into"),
            )
        line = session.get(PayoutLine, complaint.line_id)
        if line is None or line.result_status not in OWED_RESULTS:
            # Only what the results say is owed (failed, partial, reversed) is carried; a payment the bank
            # reported paid is first corrected by a result file (a reversal), never by the complaint.
            raise _problem(
                "action",
                "nothing_owed",
                N_("Nothing is owed on this payout line by its payment result: it cannot be carried"),
            )
        scope = actor_unit or session.get(AdminUnit, complaint.commune_id)
        carry_failed(session, line.period_id, carry_to_period_id, scope, user_id, line_ids=[line.id])


# --- reads -----------------------------------------------------------------------------------------------


def person_complaints(session: Session, beneficiary_id: int, unit: AdminUnit | None, sees_sensitive: bool):
    """The person's complaints the actor sees, newest first."""
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.beneficiary_id == beneficiary_id, visible_clause(unit, sees_sensitive))
            .order_by(Complaint.id.desc())
        )
    )


def complaint_ids(session: Session, ids: Iterable[int], unit: AdminUnit | None, sees_sensitive: bool) -> set[int]:
    """Which of ``ids`` the actor sees."""
    wanted = [int(i) for i in ids]
    if not wanted:
        return set()
    return set(
        session.scalars(select(Complaint.id).where(Complaint.id.in_(wanted), visible_clause(unit, sees_sensitive)))
    )
