"""What a unit is, asked of the scheme data (app/services/reference.py) on the real units of both schemes
(fixtures/), without the app: communes, the level below a unit, the units a unit's figures break down into."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.models import AdminUnit
from app.services.cases import breakdown_level
from app.services.reference import (
    FIXTURES,
    SCHEME_LEVELS,
    commune_clause,
    find_unit,
    is_commune,
    kind_below,
    level_below,
    load_units,
    unit_kind,
    units_below,
)

# Per scheme: the communes of the fixture, and a unit at each level with what lies right below it.
COMMUNE_FILES = {"2024": "hanoi_legacy_units.csv", "2025": "hanoi_2025_units.csv"}
BELOW = {"2024": {"01": "district", "001": "commune", "00004": None}, "2025": {"01": "commune", "00004": None}}


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    AdminUnit.__table__.create(engine)
    with Session(engine) as s:
        load_units(s)
        s.commit()
        yield s
    engine.dispose()


@pytest.mark.parametrize("scheme", sorted(SCHEME_LEVELS))
def test_communes_are_the_lowest_level_of_the_scheme(session, scheme):
    with open(FIXTURES / COMMUNE_FILES[scheme], encoding="utf-8") as fh:
        codes = {row["ward_code"] for row in csv.DictReader(fh)}
    found = set(session.scalars(select(AdminUnit.code).where(AdminUnit.scheme == scheme, commune_clause())))
    assert found == codes
    assert {
        u.code for u in session.scalars(select(AdminUnit).where(AdminUnit.scheme == scheme)) if is_commune(u)
    } == codes
    assert not is_commune(None)


def test_a_commune_is_a_commune_whatever_its_type_word(session):
    """A 2025 unit type the fixtures do not use yet (a special zone) is still a commune: its level says so."""
    ward = find_unit(session, "00004", "2025")
    ward.unit_type = "đặc khu"
    try:
        assert is_commune(ward)
        assert (
            session.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.id == ward.id, commune_clause()))
            == 1
        )
    finally:
        session.rollback()


@pytest.mark.parametrize("scheme", sorted(SCHEME_LEVELS))
def test_what_lies_below_a_unit(session, scheme):
    for code, kind in BELOW[scheme].items():
        unit = find_unit(session, code, scheme)
        assert kind_below(unit) == kind
        below = units_below(session, unit)
        if kind is None:
            assert level_below(unit) is None and below == []
        else:
            assert level_below(unit) == SCHEME_LEVELS[scheme].index(kind) + 1
            assert below and {unit_kind(u) for u in below} == {kind} and {u.parent_id for u in below} == {unit.id}
            assert [u.code for u in below] == sorted(u.code for u in below)


@pytest.mark.parametrize("scheme", sorted(SCHEME_LEVELS))
def test_case_lists_break_down_by_districts_only_where_there_are_districts(session, scheme):
    levels = {code: breakdown_level(find_unit(session, code, scheme)) for code in BELOW[scheme]}
    expected = {"2024": {"01": 2, "001": None, "00004": None}, "2025": {"01": None, "00004": None}}[scheme]
    assert levels == expected
    assert breakdown_level(None) is None
