"""Hole 3 (import side): the same person imported with and without a CCCD is flagged possible_duplicate,
with what it duplicates, within the unit and across the city; a matching run keeps the flag until a review."""

from __future__ import annotations

from sqlalchemy import select

from tests.integrity.conftest import person_row

HEADER = "Họ và tên;Số CCCD;Ngày sinh;Giới tính;Xã/Phường;Mức hưởng\n"


def _people(app):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        return {
            (b.full_name, b.cccd, b.commune.code): (b.id, b.match_status, b.duplicate_of_id)
            for b in db.session.scalars(select(Beneficiary))
        }


def _import(rest_import, csv_body, user="phong.001"):
    headers, batch = rest_import(user, HEADER + csv_body)
    done = rest_import.apply(user, batch["batch_id"])
    assert done["status"] == "applied", done
    return done


def test_same_name_birth_date_and_commune_without_cccd_is_a_possible_duplicate(app, make_person, rest_import):
    a = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    _import(rest_import, "Nguyễn Văn An;;01/05/1945;Nam;00004;500000\n")
    got = _people(app)
    assert got[("Nguyễn Văn An", None, "00004")][1:] == ("possible_duplicate", a)
    assert person_row(app, a)["match_status"] == "matched"


def test_same_person_in_another_district_is_flagged_and_left_alone(app, make_person, rest_import):
    a = make_person("00037", "Nguyễn Văn An", cccd="001045000001")
    before = person_row(app, a)
    _import(rest_import, "Nguyễn Văn An;;01/05/1945;Nam;00004;500000\n")
    assert _people(app)[("Nguyễn Văn An", None, "00004")][1:] == ("possible_duplicate", a)
    assert person_row(app, a) == before


def test_within_one_file_the_later_row_is_flagged(app, rest_import):
    _import(
        rest_import,
        "Nguyễn Văn An;001045000001;01/05/1945;Nam;00004;500000\nNguyễn Văn An;;01/05/1945;Nam;00004;500000\n",
    )
    (one, other) = _people(app).values()
    flagged, kept = (one, other) if one[1] == "possible_duplicate" else (other, one)
    assert flagged[1:] == ("possible_duplicate", kept[0]) and kept[1:] == ("pending", None)


def test_different_people_are_not_flagged(app, make_person, rest_import):
    make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    _import(
        rest_import,
        "Nguyễn Văn An;;02/05/1945;Nam;00004;500000\n"  # another birth date
        "Nguyễn Văn Anh;;01/05/1945;Nam;00004;500000\n",
    )  # another name
    flagged = [v for v in _people(app).values() if v[1] == "possible_duplicate"]
    assert flagged == []


def test_matching_keeps_the_flag_until_a_police_review(app, make_person, rest_import):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.reference import find_unit
    from app.services.registry import matching

    a = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    _import(rest_import, "Nguyễn Văn An;;01/05/1945;Nam;00004;500000\n")
    dup = _people(app)[("Nguyễn Văn An", None, "00004")][0]
    with app.app_context():
        matching.match_beneficiaries(db.session, find_unit(db.session, "001", "2024"))
    assert person_row(app, dup)["match_status"] == "possible_duplicate"
    assert person_row(app, dup)["duplicate_of_id"] == a
    with app.app_context():
        person = db.session.get(Beneficiary, dup)
        matching.review(db.session, person, "keep_record", None, reason="Hai người khác nhau, đã xác minh")
        db.session.commit()
        matching.match_beneficiaries(db.session, find_unit(db.session, "001", "2024"))
    assert person_row(app, dup)["match_status"] == "matched"
