"""Helpers shared by the screens of the home-visit feature (groups, visits, tasks, cases, campaigns)."""

from __future__ import annotations

from flask import abort, current_app, g, request
from sqlalchemy import select

from app.extensions import db
from app.models import AdminUnit, Bank, WorkGroup
from app.security.masking import can_unmask  # noqa: F401  (the one decision; re-exported for the screens)
from app.security.scope import current_scope_ids, current_unit, unit_in_scope
from app.services.reference import commune_clause, is_commune
from app.services.visits import workgroups
from app.views import params
from app.views.labels import label, labels
from app.views.params import id_arg
from app.views.problems import render_problems  # noqa: F401 (re-exported for the visit views)


def has(permission: str, view: str) -> bool:
    return current_app.appbuilder.sm.has_access(permission, view)


def case_label(case_type) -> str:
    return label("case_type", case_type) if case_type is not None else ""


def case_labels() -> dict[int, str]:
    return labels("case_type")


def scoped_communes() -> list[AdminUnit]:
    return list(
        db.session.scalars(
            select(AdminUnit).where(AdminUnit.id.in_(current_scope_ids()), commune_clause()).order_by(AdminUnit.path)
        )
    )


def unit_param(name: str = "unit", *, default_own: bool = True) -> AdminUnit | None:
    """The unit named by ``?name=<id>`` (404 outside the scope), else the user's own unit."""
    unit_id = id_arg(name)  # 400 when not an id
    if unit_id is not None:
        if not unit_in_scope(db.session, g.user, unit_id):
            abort(404)
        return db.session.get(AdminUnit, unit_id)
    return current_unit() if default_own else None


def commune_param(name: str = "commune") -> AdminUnit | None:
    """The commune to work on: the user's own commune, or ``?commune=<id>`` inside the scope (404 otherwise)."""
    own = current_unit()
    if is_commune(own):
        raw = request.values.get(name, "").strip()
        if raw and raw != str(own.id):
            abort(404)
        return own
    unit = unit_param(name, default_own=False)
    if unit is not None and not is_commune(unit):
        abort(404)
    return unit


def groups_of(commune_id: int) -> list[WorkGroup]:
    return workgroups.groups_of(db.session, commune_id)


def bank_options() -> list[tuple[str, str]]:
    """(value to type, label) for the bank datalists."""
    return [
        (f"{b.bin} - {b.short_name}", b.name_vi) for b in db.session.scalars(select(Bank).order_by(Bank.short_name))
    ]


def int_arg(name: str, default=None):
    """A whole number in the query or the form (default when absent, 400 when malformed or out of range)."""
    return params.int_arg(name, default)
