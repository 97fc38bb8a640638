"""The unit-scope rule, in one place: a unit's scope is the unit and every unit of the same scheme below it.

``AdminUnit.path`` is the chain of codes from the city down ("01/001/00004/"), so "below" is a path prefix —
*within one scheme*: both schemes start at the city ("01/"), and a code such as 00004 names a ward in each
(2024: "01/001/00004/", under the district 001; 2025: "01/00004/", straight under the city). Everything that
restricts or checks by unit — services, views, REST, jobs, raw set-based SQL — asks this module;
``tests/test_architecture.py`` fails on a copy of the rule anywhere else.

The None convention (deny by default): no unit covers nothing and lies in nothing. ``subtree_ids(None)`` is
empty, ``contains(None, x)``, ``contains(x, None)`` and ``covers(None, ...)`` are False. Code that means
"everywhere" (a job over the whole city started by the system) says so by not filtering at all, never by
passing None here.

The archive: rows that stay with the units of a retired scheme after ``asxh migrate-units`` (payout periods
and their lines) are read by the city level of the active scheme — the city department, leaders, the
administrator — and by nobody else: ``archive_ids(unit)`` and ``reads_archive(unit, other)``. Reading is all
it gives; whoever writes refuses a row of another scheme than the actor's (app/services/payout/periods.py).
The start-up check keeps every user in a unit of the active scheme, so "another scheme" is the retired one.

The system actor: services take the acting ``user_id``, and ``user_id is None`` there is not "a user without
a unit" but no user at all (the CLI, the seed, a job re-running a request that was checked when it was made).
``user_covers`` is the one place that says so; a user id whose user has no unit covers nothing.

Pure: SQLAlchemy only (no Flask); the Flask glue (current user → unit) is ``app/security/scope.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeGuard

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from app.models.admin_unit import AdminUnit
from app.models.user import AsxhUser
from app.services.messages import N_, FieldError, Problem
from app.services.reference import level_of

OUT_OF_SCOPE = N_("This unit is outside your scope")


class UnitLike(Protocol):
    """A unit as this module reads it: an ``AdminUnit``, or a Row of its ``scheme`` and ``path`` columns."""

    @property
    def scheme(self) -> str: ...

    @property
    def path(self) -> str: ...


def _is_unit(value: object) -> TypeGuard[UnitLike]:
    """A loaded unit (anything with a ``path``) rather than a unit id."""
    return hasattr(value, "path")


class OutOfScope(FieldError):
    """A unit or record outside the actor's scope. A :class:`FieldError` with code ``out_of_scope``, so every
    handler of FieldError renders it (its ``field`` and ``msgid`` say what was refused); a caller that must not
    reveal that a row exists answers 404 instead."""

    code = "out_of_scope"

    def __init__(self, field: str = "unit", msgid: str = OUT_OF_SCOPE, params: Mapping[str, object] | None = None):
        super().__init__(Problem(field, self.code, msgid, dict(params or {})))


# --- in Python: loaded units ---------------------------------------------------------------------


def contains(outer: UnitLike | None, inner: UnitLike | int | str | None, session: Session | None = None) -> bool:
    """True when ``inner`` is ``outer`` or a unit below it in the same scheme.

    ``outer`` and ``inner`` are units: an ``AdminUnit`` or anything with ``scheme`` and ``path`` (a Row of
    those columns). ``inner`` may also be a unit id, loaded through ``session``. None, or an id of no unit,
    on either side: False."""
    unit: UnitLike | None
    if inner is None or _is_unit(inner):
        unit = inner
    else:  # an id (as the caller got it: int, or str from a form)
        if session is None:
            raise TypeError("contains() needs a session to load a unit by id")
        unit = session.get(AdminUnit, inner) if outer is not None else None
    if outer is None or unit is None:
        return False
    return unit.scheme == outer.scheme and unit.path.startswith(outer.path)


def covers(actor_unit: AdminUnit | None, unit_id: int | None, session: Session) -> bool:
    """Does an actor of ``actor_unit`` cover the unit ``unit_id``? No actor unit or no unit id: False."""
    return contains(actor_unit, unit_id, session) if unit_id is not None else False


def require_covers(
    actor_unit: AdminUnit | None,
    unit_id: int | None,
    session: Session,
    *,
    field: str = "unit",
    msgid: str = OUT_OF_SCOPE,
    params: Mapping[str, object] | None = None,
) -> None:
    """Raise :class:`OutOfScope` (``field``, ``msgid``) unless ``covers(actor_unit, unit_id, session)``."""
    if not covers(actor_unit, unit_id, session):
        raise OutOfScope(field, msgid, params)


def unit_of_user(session: Session, user_id: int | None) -> AdminUnit | None:
    """The unit of the user ``user_id`` (None: no such user, or a user without a unit)."""
    if user_id is None:
        return None
    user = session.get(AsxhUser, user_id)
    return session.get(AdminUnit, user.unit_id) if user is not None and user.unit_id is not None else None


def user_covers(session: Session, user_id: int | None, unit_id: int | None) -> bool:
    """Does the acting user cover ``unit_id``? ``user_id`` None is the system (see the module docstring) and
    covers everything; a user without a unit covers nothing."""
    if user_id is None:
        return True
    return covers(unit_of_user(session, user_id), unit_id, session)


def require_user_covers(
    session: Session,
    user_id: int | None,
    unit_id: int | None,
    *,
    field: str = "unit",
    msgid: str = OUT_OF_SCOPE,
    params: Mapping[str, object] | None = None,
) -> None:
    """Raise :class:`OutOfScope` (``field``, ``msgid``) unless ``user_covers(session, user_id, unit_id)``."""
    if not user_covers(session, user_id, unit_id):
        raise OutOfScope(field, msgid, params)


# --- in SQL ---------------------------------------------------------------------------------------


def contains_clause(outer: Any, inner: Any = AdminUnit) -> ColumnElement[bool]:
    """SQL condition: the ``admin_unit`` row ``inner`` (the mapped class or an alias of it) is ``outer`` or
    lies below it. ``outer`` is a loaded unit, or another alias in the same query (a join: "the district of
    each commune")."""
    return and_(inner.scheme == outer.scheme, inner.path.startswith(outer.path))


def subtree_ids(unit: AdminUnit | None) -> Select[tuple[int]]:
    """A SELECT of the ids of ``unit`` and every unit below it (empty for None): ``col.in_(subtree_ids(u))``."""
    if unit is None:
        return select(AdminUnit.id).where(false())
    return select(AdminUnit.id).where(contains_clause(unit))


def _ancestor_paths(path: str) -> list[str]:
    """ "01/001/00004/" → ["01/", "01/001/", "01/001/00004/"]: the paths of the unit and the units above it."""
    codes = path.split("/")[:-1]
    return ["/".join(codes[:i]) + "/" for i in range(1, len(codes) + 1)]


def child_containing(children: list[Any], units: Mapping[int, UnitLike | None]) -> dict[int, Any]:
    """unit id → the one of ``children`` (units of one level, e.g. the units below the actor's) that contains
    it (``contains``), for every unit of ``units`` that one of them contains: a roll-up in one pass over the
    units instead of a ``contains`` per (child, unit) pair."""
    by_path = {(child.scheme, child.path): child for child in children}
    out: dict[int, Any] = {}
    for unit_id, unit in units.items():
        if unit is None:
            continue
        for path in _ancestor_paths(unit.path):
            child = by_path.get((unit.scheme, path))
            if child is not None:
                out[unit_id] = child
                break
    return out


def lineage_ids(unit: AdminUnit | None) -> Select[tuple[int]]:
    """A SELECT of the ids of ``unit``, the units above it and the units below it (empty for None): what
    concerns a unit — a campaign or a payout period run by any of them."""
    if unit is None:
        return select(AdminUnit.id).where(false())
    return select(AdminUnit.id).where(
        AdminUnit.scheme == unit.scheme,
        or_(AdminUnit.path.startswith(unit.path), AdminUnit.path.in_(_ancestor_paths(unit.path))),
    )


def ancestor_ids(unit: AdminUnit | None) -> Select[tuple[int]]:
    """A SELECT of the ids of ``unit`` and the units above it (empty for None): the units whose subtree holds
    ``unit`` — e.g. the payout periods a commune's user works inside."""
    if unit is None:
        return select(AdminUnit.id).where(false())
    return select(AdminUnit.id).where(AdminUnit.scheme == unit.scheme, AdminUnit.path.in_(_ancestor_paths(unit.path)))


def related(a: UnitLike | None, b: UnitLike | None) -> bool:
    """One of the two units lies in the other's subtree (either way)."""
    return contains(a, b) or contains(b, a)


# --- the archive of another scheme (read only) ---------------------------------------------------


def _reads_archives(unit: Any) -> bool:
    return unit is not None and bool(unit.level == level_of(unit.scheme, "city"))


def reads_archive(unit: Any, other: Any) -> bool:
    """True when a user of ``unit`` reads the historical rows of ``other``: ``unit`` is a city of its scheme
    and ``other`` a unit of another scheme on the same territory (the city of the same code, or below it).
    Never a reason to write. None on either side: False."""
    if not _reads_archives(unit) or other is None:
        return False
    return bool(other.scheme != unit.scheme and other.path.startswith(unit.path))


def archive_ids(unit: AdminUnit | None) -> Select[tuple[int]]:
    """A SELECT of the ids of the units whose history a user of ``unit`` reads (``reads_archive``): every unit
    of another scheme on the city's territory when ``unit`` is a city, else none."""
    if unit is None or not _reads_archives(unit):
        return select(AdminUnit.id).where(false())
    return select(AdminUnit.id).where(AdminUnit.scheme != unit.scheme, AdminUnit.path.startswith(unit.path))


def subtree_sql(
    unit: AdminUnit | None, name: str = "scope", *, paramstyle: str = "named"
) -> tuple[str, dict[str, str]]:
    """The subtree of ``unit`` for raw set-based SQL: ``(sql, params)`` where ``sql`` is a parenthesised
    ``SELECT id FROM admin_unit …`` to write as ``commune_id IN {sql}`` (or ``NOT IN``), and ``params`` its
    bind values, named ``<name>_scheme`` and ``<name>_prefix``. ``paramstyle`` "named" gives ``:x`` (SQLAlchemy
    ``text()``), "pyformat" gives ``%(x)s`` (a psycopg cursor, e.g. COPY). None: a subquery of no rows."""
    if unit is None:
        return "(SELECT id FROM admin_unit WHERE 1 = 0)", {}
    if paramstyle not in ("named", "pyformat"):
        raise ValueError(f"unknown paramstyle {paramstyle!r}")
    scheme, prefix = f"{name}_scheme", f"{name}_prefix"

    def mark(p: str) -> str:
        return f":{p}" if paramstyle == "named" else f"%({p})s"

    return (
        f"(SELECT id FROM admin_unit WHERE scheme = {mark(scheme)} AND path LIKE {mark(prefix)})",
        {scheme: unit.scheme, prefix: unit.path + "%"},
    )
