"""The unit-scope rule (app/services/scope.py) on the real units of both schemes (fixtures/), without the app:
an in-memory SQLite database holding only the unit and user tables."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import and_, create_engine, insert, select, text
from sqlalchemy.orm import Session, aliased

from app.models import AdminUnit, AsxhUser
from app.services import scope
from app.services.messages import FieldError
from app.services.reference import load_units


@pytest.fixture(scope="module")
def session():
    engine = create_engine("sqlite://")
    AdminUnit.__table__.create(engine)
    AsxhUser.__table__.create(engine)
    with Session(engine) as s:
        load_units(s)
        s.commit()
        yield s
    engine.dispose()


def unit(session, scheme, code) -> AdminUnit:
    return session.scalar(select(AdminUnit).where(AdminUnit.scheme == scheme, AdminUnit.code == code))


def ids(session, query) -> set[int]:
    return set(session.scalars(query))


def all_ids(session, **where) -> set[int]:
    return set(session.scalars(select(AdminUnit.id).filter_by(**where)))


# --- both schemes -----------------------------------------------------------------------------


def test_2024_city_district_commune(session):
    city, district = unit(session, "2024", "01"), unit(session, "2024", "001")  # Ba Đình
    commune = unit(session, "2024", "00004")  # Trúc Bạch, in Ba Đình
    assert (city.level, district.level, commune.level) == (1, 2, 3)
    assert ids(session, scope.subtree_ids(city)) == all_ids(session, scheme="2024")
    below_district = ids(session, scope.subtree_ids(district))
    assert below_district == {district.id} | all_ids(session, scheme="2024", parent_id=district.id)
    assert commune.id in below_district and len(below_district) > 2
    assert ids(session, scope.subtree_ids(commune)) == {commune.id}
    other_district = unit(session, "2024", "002")  # Hoàn Kiếm
    assert not below_district & ids(session, scope.subtree_ids(other_district))


def test_2025_city_commune(session):
    city, commune = unit(session, "2025", "01"), unit(session, "2025", "00004")  # Phường Ba Đình (2025)
    assert (city.level, commune.level) == (1, 2) and commune.parent_id == city.id
    assert ids(session, scope.subtree_ids(city)) == all_ids(session, scheme="2025")
    assert ids(session, scope.subtree_ids(commune)) == {commune.id}


def test_the_schemes_never_mix(session):
    """Both cities have the path "01/" and the code 00004 names a ward in each: the scheme decides."""
    city24, city25 = unit(session, "2024", "01"), unit(session, "2025", "01")
    ward24, ward25 = unit(session, "2024", "00004"), unit(session, "2025", "00004")
    assert city24.path == city25.path == "01/"
    assert not ids(session, scope.subtree_ids(city24)) & all_ids(session, scheme="2025")
    assert not ids(session, scope.subtree_ids(city25)) & all_ids(session, scheme="2024")
    assert scope.contains(city24, ward24) and not scope.contains(city24, ward25)
    assert scope.contains(city25, ward25) and not scope.contains(city25, ward24)
    assert not scope.contains(ward24, ward25) and not scope.contains(ward25, ward24)
    assert not scope.covers(city24, ward25.id, session)


# --- contains / covers and the None convention ---------------------------------------------


def test_contains_takes_units_rows_and_ids(session):
    district, commune = unit(session, "2024", "001"), unit(session, "2024", "00004")
    other = unit(session, "2024", "00037")  # Hoàn Kiếm
    assert scope.contains(district, commune) and scope.contains(district, district)
    assert not scope.contains(commune, district) and not scope.contains(district, other)
    assert scope.contains(district, commune.id, session) and not scope.contains(district, other.id, session)
    row = session.execute(select(AdminUnit.scheme, AdminUnit.path).where(AdminUnit.id == commune.id)).one()
    assert scope.contains(district, row)
    assert scope.contains(SimpleNamespace(scheme="2024", path="01/001/"), commune)
    with pytest.raises(TypeError):
        scope.contains(district, commune.id)


def test_none_covers_nothing_and_is_in_nothing(session):
    """One convention: no unit covers nothing (deny by default); no unit, or an unknown id, is covered by none."""
    city, commune = unit(session, "2024", "01"), unit(session, "2024", "00004")
    assert ids(session, scope.subtree_ids(None)) == set()
    assert ids(session, scope.lineage_ids(None)) == set()
    assert not scope.contains(None, commune) and not scope.contains(city, None)
    assert not scope.contains(None, None)
    assert not scope.covers(None, commune.id, session)
    assert not scope.covers(city, None, session)
    assert not scope.covers(city, 10**9, session)
    assert scope.covers(city, commune.id, session)
    sql, params = scope.subtree_sql(None)
    assert session.execute(text(f"SELECT count(*) FROM admin_unit WHERE id IN {sql}"), params).scalar() == 0


def test_require_covers_raises_a_typed_field_error(session):
    district, other = unit(session, "2024", "001"), unit(session, "2024", "00037")
    scope.require_covers(district, unit(session, "2024", "00004").id, session)
    with pytest.raises(scope.OutOfScope) as info:
        scope.require_covers(district, other.id, session)
    assert isinstance(info.value, FieldError)
    assert (info.value.problem.field, info.value.problem.code, info.value.problem.msgid) == (
        "unit",
        "out_of_scope",
        scope.OUT_OF_SCOPE,
    )
    with pytest.raises(FieldError) as info:
        scope.require_covers(None, other.id, session, field="period", msgid="This payout period is outside your scope")
    assert (info.value.problem.field, info.value.problem.code) == ("period", "out_of_scope")
    assert info.value.problem.render() == "This payout period is outside your scope"


def test_user_covers_the_system_and_a_user_without_unit(session):
    district, commune, other = (
        unit(session, "2024", "001"),
        unit(session, "2024", "00004"),
        unit(session, "2024", "00037"),
    )
    for uid, name, unit_id in ((9001, "phong", district.id), (9002, "nounit", None)):
        session.execute(
            insert(AsxhUser.__table__).values(
                id=uid, first_name=name, last_name=name, username=name, email=f"{name}@x", active=True, unit_id=unit_id
            )
        )
    assert scope.unit_of_user(session, 9001).id == district.id and scope.unit_of_user(session, 9002) is None
    assert scope.user_covers(session, 9001, commune.id) and not scope.user_covers(session, 9001, other.id)
    assert not scope.user_covers(session, 9001, None)
    assert not scope.user_covers(session, 9002, commune.id)  # a user without a unit: nothing
    assert not scope.user_covers(session, 12345, commune.id)  # no such user: nothing
    assert scope.user_covers(session, None, other.id)  # no user at all: the system (CLI, jobs)
    with pytest.raises(scope.OutOfScope) as info:
        scope.require_user_covers(session, 9002, commune.id, field="commune")
    assert info.value.problem.field == "commune"
    session.rollback()


# --- SQL: lineage, joins, raw SQL -------------------------------------------------------------


def test_lineage_is_the_units_above_and_below(session):
    city, district, commune = unit(session, "2024", "01"), unit(session, "2024", "001"), unit(session, "2024", "00004")
    assert ids(session, scope.lineage_ids(commune)) == {city.id, district.id, commune.id}
    assert ids(session, scope.lineage_ids(district)) == {city.id} | ids(session, scope.subtree_ids(district))
    city25, ward25 = unit(session, "2025", "01"), unit(session, "2025", "00004")
    assert ids(session, scope.lineage_ids(ward25)) == {city25.id, ward25.id}
    assert scope.related(commune, district) and scope.related(district, commune)
    assert not scope.related(commune, unit(session, "2024", "002")) and not scope.related(commune, ward25)


def test_contains_clause_joins_each_commune_to_its_district(session):
    commune, group = aliased(AdminUnit), aliased(AdminUnit)
    pairs = session.execute(
        select(commune.id, group.id)
        .join(group, and_(group.level == 2, scope.contains_clause(group, commune)))
        .where(commune.level == 3)
    ).all()
    parents = dict(session.execute(select(AdminUnit.id, AdminUnit.parent_id).where(AdminUnit.level == 3)).all())
    assert dict(pairs) == parents and len(pairs) == len(parents)


@pytest.mark.parametrize(
    "scheme,code", [("2024", "01"), ("2024", "001"), ("2024", "00004"), ("2025", "01"), ("2025", "00004")]
)
def test_subtree_sql_is_the_same_set_as_subtree_ids(session, scheme, code):
    u = unit(session, scheme, code)
    sql, params = scope.subtree_sql(u, "s")
    assert set(params) == {"s_scheme", "s_prefix"}
    got = set(session.scalars(text(f"SELECT id FROM admin_unit WHERE id IN {sql}"), params))
    assert got == ids(session, scope.subtree_ids(u)) and got
    outside = set(session.scalars(text(f"SELECT id FROM admin_unit WHERE id NOT IN {sql}"), params))
    assert outside == all_ids(session) - got


def test_subtree_sql_for_a_psycopg_cursor(session):
    sql, params = scope.subtree_sql(unit(session, "2024", "001"), "t", paramstyle="pyformat")
    assert "%(t_scheme)s" in sql and "%(t_prefix)s" in sql and params == {"t_scheme": "2024", "t_prefix": "01/001/%"}
    with pytest.raises(ValueError):
        scope.subtree_sql(unit(session, "2024", "001"), paramstyle="qmark")


# --- the archive: the city reads the units of the other scheme, nobody else -------------------


def test_the_city_reads_the_archive_of_the_other_scheme_and_nothing_else_does(session):
    city25, commune25 = unit(session, "2025", "01"), unit(session, "2025", "00004")
    city24, district24, commune24 = (
        unit(session, "2024", "01"),
        unit(session, "2024", "001"),
        unit(session, "2024", "00004"),
    )
    assert ids(session, scope.archive_ids(city25)) == all_ids(session, scheme="2024")
    assert ids(session, scope.archive_ids(city24)) == all_ids(session, scheme="2025")
    for below in (commune25, district24, commune24, None):
        assert ids(session, scope.archive_ids(below)) == set()
    assert scope.reads_archive(city25, district24) and scope.reads_archive(city25, commune24)
    assert not scope.reads_archive(city25, commune25)  # its own scheme: scope, not archive
    assert not scope.reads_archive(commune25, commune24) and not scope.reads_archive(commune25, district24)
    assert not scope.reads_archive(None, district24) and not scope.reads_archive(city25, None)
    # the archive never widens the scope: no write rule asks for it
    assert not scope.contains(city25, district24) and not scope.related(city25, district24)


@pytest.mark.parametrize("scheme", ["2024", "2025"])
def test_child_containing_is_contains_in_one_pass(session, scheme):
    """The roll-up of the home page: each unit under the one child that ``contains`` it, none for the others."""
    city = unit(session, scheme, "01")
    children = list(session.scalars(select(AdminUnit).where(AdminUnit.parent_id == city.id)))
    units = {u.id: u for u in session.scalars(select(AdminUnit))}  # both schemes: the other never matches
    units[-1] = None
    expected = {uid: c for uid, u in units.items() if u is not None for c in children if scope.contains(c, u)}
    assert scope.child_containing(children, units) == expected
    assert len(expected) >= len(children) > 0 and city.id not in expected
