"""Resolve unit names and codes typed in spreadsheets ("P. Trúc Bạch", "Phường Trúc Bạch, Q. Ba Đình", 4)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AdminUnit
from app.services.messages import N_, FieldError, Problem
from app.services.reference import commune_level, level_of
from app.services.registry.normalize import ascii_key
from app.services.scope import contains

# Unit-type words and their abbreviations, longest first (ASCII keys).
_TYPE_PREFIXES = (
    "thanh pho",
    "thi tran",
    "thi xa",
    "phuong",
    "quan",
    "huyen",
    "xa",
    "tp.",
    "tp",
    "tt.",
    "tt",
    "tx.",
    "tx",
    "ph.",
    "p.",
    "q.",
    "h.",
    "x.",
    "p ",
    "q ",
    "h ",
)
_SEPARATORS = re.compile(r"\s*[,;\-–/]\s*")


def _bare(text: str) -> str:
    key = ascii_key(text).lower().strip()
    for prefix in _TYPE_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :].strip()
            break
    return key.strip(" .")


@dataclass
class _Unit:
    id: int
    code: str
    name: str
    level: int
    path: str
    parent_id: int | None
    in_scope: bool


class UnitResolver:
    """Looks up communes of one scheme; answers only with units inside ``scope``."""

    def __init__(self, session: Session, scope: AdminUnit):
        self.scope = scope
        rows = session.execute(
            select(
                AdminUnit.id,
                AdminUnit.code,
                AdminUnit.name,
                AdminUnit.level,
                AdminUnit.scheme,
                AdminUnit.path,
                AdminUnit.parent_id,
                AdminUnit.unit_type,
            ).where(AdminUnit.scheme == scope.scheme)
        ).all()
        self.units = {r.id: _Unit(r.id, r.code, r.name, r.level, r.path, r.parent_id, contains(scope, r)) for r in rows}
        self.by_code = {u.code: u for u in self.units.values()}
        self.communes_by_name: dict[str, list[_Unit]] = {}
        self.parents_by_name: dict[str, list[_Unit]] = {}
        for r in rows:
            target = self.communes_by_name if r.level == commune_level(r.scheme) else self.parents_by_name
            target.setdefault(_bare(r.name), []).append(self.units[r.id])
        self._cache: dict[str, int] = {}

    def _label(self, unit: _Unit) -> str:
        parent = self.units.get(unit.parent_id) if unit.parent_id else None
        city = level_of(self.scope.scheme, "city")  # "Phường X (Quận Y)" in 2024; the city is not worth naming
        return f"{unit.name} ({parent.name})" if parent and parent.level > city else unit.name

    def resolve(self, value, field: str = "commune") -> int:
        """The id of the commune meant by ``value`` (code or name); raises FieldError otherwise."""
        text = "" if value is None else str(value).strip()
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        unit = self._find(text, field)
        if not unit.in_scope:
            raise FieldError(
                Problem(
                    field,
                    "unit_out_of_scope",
                    N_("%(unit)s is outside the scope of this import (%(scope)s)"),
                    {"unit": self._label(unit), "scope": self.scope.name},
                )
            )
        self._cache[text] = unit.id
        return unit.id

    def _find(self, text: str, field: str) -> _Unit:
        if not text:
            raise FieldError(Problem(field, "unit_missing", N_("The commune is missing")))
        if text.isdigit():
            unit = self.by_code.get(text.zfill(5)) or self.by_code.get(text.zfill(3))
            if unit is None:
                raise FieldError(Problem(field, "unit_unknown", N_("Unknown unit code: %(value)s"), {"value": text}))
            return unit
        parts = [p for p in _SEPARATORS.split(text) if p]
        name = _bare(parts[0])
        candidates = self.communes_by_name.get(name, [])
        if len(candidates) > 1 and len(parts) > 1:
            wanted_parents = {u.id for p in parts[1:] for u in self.parents_by_name.get(_bare(p), [])}
            candidates = [u for u in candidates if u.parent_id in wanted_parents] or candidates
        if len(candidates) > 1:
            in_scope = [u for u in candidates if u.in_scope]
            candidates = in_scope if len(in_scope) == 1 else candidates
        if not candidates:
            raise FieldError(Problem(field, "unit_unknown", N_("Unknown commune: %(value)s"), {"value": text}))
        if len(candidates) > 1:
            raise FieldError(
                Problem(
                    field,
                    "unit_ambiguous",
                    N_("Ambiguous commune %(value)s: could be %(candidates)s"),
                    {"value": text, "candidates": "; ".join(self._label(u) for u in candidates)},
                )
            )
        return candidates[0]
