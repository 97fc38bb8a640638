"""Fixtures of the home-visit tests: synthetic people (DỮ LIỆU GIẢ LẬP) in two communes, users, answers."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories

TODAY = dt.date(2024, 1, 14)

# A complete "has no account, wants account payment" visit; tests change what they need.
BASE_ANSWERS = {
    "visit_date": "12/01/2024",
    "met": "beneficiary",
    "has_account": "no",
    "wants_account_payment": "yes",
    "wants_help_opening": "yes",
    "opening_bank": "Agribank",
    "can_transact_alone": "yes",
    "citizen_confirmed": "yes",
}


def answers(**changes) -> dict:
    out = dict(BASE_ANSWERS)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


@pytest.fixture()
def units(scheme_app, world):
    """Unit ids by the world's names ("commune", "other_commune", "city", ...); in 2024 by code as well."""
    from app.extensions import db
    from app.services.reference import find_unit

    with scheme_app.app_context():
        out = {key: find_unit(db.session, code, world.scheme).id for key, code in world.units.items()}
        if world.scheme == "2024":
            out.update(
                {code: find_unit(db.session, code, "2024").id for code in ("00001", "00004", "00037", "001", "01")}
            )
        return out


@pytest.fixture()
def user_ids(scheme_app):
    from app.extensions import db
    from app.models import AsxhUser

    with scheme_app.app_context():
        return {u.username: u.id for u in db.session.query(AsxhUser).all()}


@pytest.fixture()
def make_person(scheme_app, world):
    """make_person(code, name, address=..., cccd=..., categories=("BTXH",), hold=None) -> id (synthetic), in a
    commune of the test's scheme."""
    from app.extensions import db

    def make(
        code: str,
        name: str,
        *,
        address: str | None = None,
        cccd: str | None = None,
        categories=("BTXH",),
        hold: str | None = None,
        match_status: str = "matched",
        birth_year: int = 1945,
    ):
        with scheme_app.app_context():
            return factories.make_person(
                db.session,
                code,
                name,
                scheme=world.scheme,
                enrol=dict.fromkeys(categories, 540000),
                cccd=cccd,
                birth_year=birth_year,
                sex="M",
                address=address,
                match_status=match_status,
                hold_reason=hold,
            )

    return make


@pytest.fixture()
def people(make_person, world):
    """Two people in commune 00004 (Trúc Bạch in 2024, Ba Đình in 2025) and one in a commune of another paying
    unit (2024: Phúc Tân, 00037, Hoàn Kiếm; 2025: Hoàn Kiếm, 00070)."""
    return {
        "an": make_person("00004", "Nguyễn Văn An", address="Số 12, ngõ 34 phố Quán Thánh", cccd="001045000101"),
        "binh": make_person("00004", "Trần Thị Bình", address="Số 5 phố Quán Thánh", cccd="001145000102"),
        "cuong": make_person(
            world.units["other_commune"], "Lê Văn Cường", address="Số 3 phố Hàng Bạc", cccd="001045000103"
        ),
    }
