"""Derived data kept up to date by the writes that change it, never by reads.

A beneficiary added or changed through the ORM (screens, REST, services) gets its search and sort
keys when flushed and, in the same transaction, its row in the visit list (commune, parsed address) and its case type. Bulk paths
(the import job) call ``refresh_units`` themselves. Pages and GET endpoints only read.
"""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

_PENDING = "asxh_derived_beneficiaries"
_HOLDS = "asxh_derived_hold_changes"
# Changes of these columns change the visit list row (commune, address) or the case type.
_WATCHED = ("commune_id", "address", "hold_reason", "match_status")


def refresh_units(session: Session, units) -> None:
    """Visit list and case types of every beneficiary in ``units`` (after a bulk write)."""
    from app.services.cases import classify_cases
    from app.services.visits.workgroups import sync_visit_list

    for unit in units:
        sync_visit_list(session, unit)
        classify_cases(session, unit, only_unclassified=True)


def _after_flush(session: Session, _ctx) -> None:
    from app.models import Beneficiary

    pending = session.info.setdefault(_PENDING, set())
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Beneficiary) or obj.id is None:
            continue
        state = inspect(obj)
        if obj in session.new or any(state.attrs[name].history.has_changes() for name in _WATCHED):
            pending.add(obj.id)
        if obj not in session.new and state.attrs["hold_reason"].history.has_changes():
            session.info.setdefault(_HOLDS, set()).add(obj.id)


def _before_commit(session: Session) -> None:
    if not session.info.get(_PENDING) and not (session.new or session.dirty):
        return
    session.flush()
    ids = session.info.pop(_PENDING, set())
    if not ids:
        return
    from sqlalchemy import select

    from app.models import AdminUnit, Beneficiary
    from app.services.cases import classify_cases
    from app.services.visits.workgroups import sync_visit_list

    with session.no_autoflush:
        communes = session.scalars(
            select(AdminUnit).where(
                AdminUnit.id.in_(select(Beneficiary.commune_id).where(Beneficiary.id.in_(ids)).distinct())
            )
        ).all()
        for commune in communes:
            sync_visit_list(session, commune)
        # New people without a case get theirs; a hold set or lifted later moves a person in or out of
        # case 6. A case set explicitly by the writer, or decided by visits, stays.
        classify_cases(session, beneficiary_ids=sorted(ids), only_unclassified=True)
        holds = session.info.pop(_HOLDS, set())
        if holds:
            classify_cases(session, beneficiary_ids=sorted(holds), only_hold_changes=True)


def _after_soft_rollback(session: Session, _previous_transaction) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_HOLDS, None)


def _fill_keys(_mapper, _connection, person) -> None:
    from app.services.registry.keys import fill_search_keys

    fill_search_keys(person)


def install_listeners(target) -> None:
    """Install on ``target`` before the audit listeners, so the audit record stays the last statement.
    Every ORM insert or update of a beneficiary also refreshes its search and sort keys."""
    from app.models import Beneficiary

    for name in ("before_insert", "before_update"):
        if not event.contains(Beneficiary, name, _fill_keys):
            event.listen(Beneficiary, name, _fill_keys)
    for name, fn in (
        ("after_flush", _after_flush),
        ("before_commit", _before_commit),
        ("after_soft_rollback", _after_soft_rollback),
    ):
        if not event.contains(target, name, fn):
            event.listen(target, name, fn, insert=True)
