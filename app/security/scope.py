"""Scope rules: which administrative units a user may see and touch.

A user is scoped to one unit; their scope is that unit and every unit below it in
the same scheme. The rule itself is ``app/services/scope.py``; this module is the glue
from a user (the request's ``g.user``, or the current user at the bottom) to their unit,
for FAB filters and checks. Every path — list, show, edit, delete, actions, REST,
exports, charts and jobs — asks one of the two.
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, Forbidden

from app.models import AdminUnit
from app.services.scope import covers, subtree_ids


def user_unit(session: Session, user) -> AdminUnit | None:
    """The unit of a user object (the request's ``g.user``); None for no user or a user without a unit."""
    unit_id = getattr(user, "unit_id", None)
    return session.get(AdminUnit, unit_id) if unit_id else None


def unit_in_scope(session: Session, user, unit_id: int | None) -> bool:
    """True when the unit ``unit_id`` is inside the user's scope (``app.services.scope.covers``)."""
    return covers(user_unit(session, user), unit_id, session)


def scoped_query(session: Session, user, model, column: str = "commune_id"):
    """A query over ``model`` restricted to the user's scope (exports, charts, jobs)."""
    col = getattr(model, column)
    return session.query(model).filter(col.in_(subtree_ids(user_unit(session, user))))


# --- Flask glue --------------------------------------------------------------


def _current_user():
    from flask import g

    return getattr(g, "user", None)


def _session():
    from app.extensions import db

    return db.session


def current_scope_ids():
    """For FAB ``base_filters``: ``[["commune_id", FilterInFunction, current_scope_ids]]``."""
    user = _current_user()
    if user is None or not getattr(user, "is_authenticated", False):
        return subtree_ids(None)
    return subtree_ids(user_unit(_session(), user))


def current_unit() -> AdminUnit | None:
    user = _current_user()
    return user_unit(_session(), user) if user is not None and getattr(user, "is_authenticated", False) else None


def check_current(unit_id: int | None, *, exc=BadRequest) -> None:
    """Raise ``exc`` (400 by default) when ``unit_id`` is outside the current user's scope."""
    from flask_babel import gettext

    user = _current_user()
    if user is None or not unit_in_scope(_session(), user, unit_id):
        raise exc(gettext("This unit is outside your scope."))


def check_items(items, column: str = "commune_id") -> None:
    """For row actions: refuse (403) when any item lies outside the current user's scope."""
    for item in items:
        check_current(getattr(item, column), exc=Forbidden)


class InScopeOr404:
    """For FAB views whose ``base_filters`` express the scope: fetch one row by id, 404 outside it."""

    def in_scope_or_404(self, pk):
        from flask import abort

        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return item


class ScopedMixin(InScopeOr404):
    """Mixin for FAB ModelView / ModelRestApi over a model with a unit column.

    Reads are filtered by ``base_filters``; writes are re-checked in the pre-hooks,
    because FAB applies base filters neither to new rows nor to the new values of an
    edited row.
    """

    scope_column = "commune_id"
    scope_relation: str | None = None  # e.g. "commune": forms set the relation, not the column
    # The units whose rows the list shows (a function for FilterInFunction); read-only views of history widen
    # it (payout lines: the scope and the archive of a retired scheme). Writes are checked against the scope.
    scope_ids = staticmethod(current_scope_ids)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        from flask_appbuilder.models.sqla.filters import FilterInFunction

        cls.base_filters = [[cls.scope_column, FilterInFunction, cls.scope_ids]] + list(
            getattr(cls, "extra_base_filters", [])
        )

    def _item_unit_ids(self, item):
        ids = {getattr(item, self.scope_column)}
        related = getattr(item, self.scope_relation, None) if self.scope_relation else None
        if related is not None:
            ids.add(related.id)
            ids.discard(None)  # a new row's column is set at flush, from the relation checked here
        return ids

    def pre_add(self, item):
        for unit_id in self._item_unit_ids(item):
            check_current(unit_id)

    def pre_update(self, item):
        for unit_id in self._item_unit_ids(item):
            check_current(unit_id)

    def pre_delete(self, item):
        check_current(getattr(item, self.scope_column), exc=Forbidden)
