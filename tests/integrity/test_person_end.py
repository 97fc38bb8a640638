"""Hole 14: nobody hard-deletes a beneficiary or an enrolment; they are ended (reason, who, when), reversibly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import page_token
from tests.integrity.conftest import person_row


def test_orm_refuses_to_delete_a_beneficiary_or_an_enrolment(app, make_person):
    from app.extensions import db
    from app.models import Beneficiary, Enrolment, HardDeleteRefused

    pk = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    attempts = (
        lambda: db.session.delete(db.session.get(Beneficiary, pk)),
        lambda: db.session.delete(db.session.get(Enrolment, db.session.get(Beneficiary, pk).enrolments[0].id)),
        lambda: db.session.get(Beneficiary, pk).enrolments.clear(),  # a delete-orphan cascade is a delete too
    )
    for attempt in attempts:
        with app.app_context():
            keep = db.session.get(Beneficiary, pk)  # noqa: F841 (the identity map holds objects weakly)
            attempt()
            with pytest.raises(HardDeleteRefused):
                db.session.commit()
            db.session.rollback()
            db.session.remove()
    assert person_row(app, pk)["enrolments"] == [("BTXH", "00004", 500000, False)]


def test_postgresql_refuses_a_raw_delete(app, make_person):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db

    pk = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("the trigger exists on PostgreSQL only; SQLite relies on the ORM guard")
        for table, column in (("enrolment", "beneficiary_id"), ("beneficiary", "id")):
            with pytest.raises(IntegrityError):
                db.session.execute(text(f"DELETE FROM {table} WHERE {column} = :p"), {"p": pk})
            db.session.rollback()
    assert person_row(app, pk)["enrolments"] == [("BTXH", "00004", 500000, False)]


def test_delete_routes_are_gone_for_commune_police(app, client_for, api_token, make_person):
    pk = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    client = client_for("congan.00004")
    token = page_token(client)
    assert client.post(f"/beneficiaryview/delete/{pk}", data={"csrf_token": token}).status_code == 404
    assert app.test_client().delete(f"/api/v1/beneficiary/{pk}", headers=api_token("congan.00004")).status_code in (
        404,
        405,
    )
    assert "/beneficiaryview/delete/" not in client.get("/beneficiaryview/list/").get_data(as_text=True)
    assert person_row(app, pk)["full_name"] == "Nguyễn Văn An"


def test_end_needs_a_reason_and_is_recorded(app, api_token, make_person):
    from app.extensions import db
    from app.models import AsxhUser, AuditLog

    pk = make_person("00004", "Nguyễn Văn An", cccd="001045000001", enrol={"BTXH": 500000, "NCC": 2789000})
    client, headers = app.test_client(), api_token("congan.00004")
    response = client.post(f"/api/v1/beneficiary/{pk}/end", headers=headers, json={"reason": "  "})
    assert response.status_code == 400 and "Lý do" in response.json["message"]
    assert not person_row(app, pk)["ended"]
    response = client.post(f"/api/v1/beneficiary/{pk}/end", headers=headers, json={"reason": "Đã chết ngày 1/1/2026"})
    assert response.status_code == 200, response.get_data(as_text=True)
    row = person_row(app, pk)
    assert row["ended"] and row["end_reason"] == "Đã chết ngày 1/1/2026"
    assert all(ended for *_x, ended in row["enrolments"])
    with app.app_context():
        uid = db.session.scalar(select(AsxhUser.id).where(AsxhUser.username == "congan.00004"))
        from app.models import Beneficiary

        assert db.session.get(Beneficiary, pk).ended_by_id == uid
        changes = db.session.scalars(
            select(AuditLog).where(AuditLog.entity == "beneficiary", AuditLog.action == "update")
        ).all()
        assert any("end_reason" in (c.new_values or "") for c in changes)


def test_reinstate_is_for_a_higher_unit_only(app, api_token, make_person):
    pk = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    client = app.test_client()
    assert (
        client.post(
            f"/api/v1/beneficiary/{pk}/end", headers=api_token("congan.00004"), json={"reason": "Chuyển đi"}
        ).status_code
        == 200
    )
    # The commune police who ended it cannot undo it; the district office can.
    response = client.post(
        f"/api/v1/beneficiary/{pk}/reinstate", headers=api_token("congan.00004"), json={"reason": "nhầm"}
    )
    assert response.status_code == 403
    assert person_row(app, pk)["ended"]
    # Another district's office does not even see the person.
    assert (
        client.post(
            f"/api/v1/beneficiary/{pk}/reinstate", headers=api_token("phong.002"), json={"reason": "nhầm"}
        ).status_code
        == 404
    )
    response = client.post(
        f"/api/v1/beneficiary/{pk}/reinstate", headers=api_token("phong.001"), json={"reason": "Nhập nhầm"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    row = person_row(app, pk)
    assert not row["ended"] and row["enrolments"] == [("BTXH", "00004", 500000, False)]


def test_end_one_enrolment_through_the_web_form(app, client_for, make_person):
    pk = make_person("00004", "Nguyễn Văn An", cccd="001045000001", enrol={"BTXH": 500000, "NCC": 2789000})
    client = client_for("congan.00004")
    page = client.get(f"/beneficiaryview/show/{pk}").get_data(as_text=True)
    assert f"/beneficiaryview/end/{pk}" in page and "/beneficiaryview/reinstate/" not in page
    form = client.get(f"/beneficiaryview/end/{pk}")
    assert form.status_code == 200
    token = page_token(client)
    response = client.post(
        f"/beneficiaryview/end/{pk}", data={"csrf_token": token, "category": "NCC", "reason": ""}, follow_redirects=True
    )
    assert not any(e[3] for e in person_row(app, pk)["enrolments"])
    response = client.post(
        f"/beneficiaryview/end/{pk}",
        data={"csrf_token": token, "category": "NCC", "reason": "Hết hạn hưởng"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    row = person_row(app, pk)
    assert not row["ended"] and row["enrolments"] == [("BTXH", "00004", 500000, False), ("NCC", "00004", 2789000, True)]
    # The district office sees the reinstate button.
    page = client_for("phong.001").get(f"/beneficiaryview/show/{pk}").get_data(as_text=True)
    assert f"/beneficiaryview/reinstate/{pk}" in page


def test_ended_people_and_enrolments_are_not_synced_for_payout(app, make_person):
    import datetime as dt

    from app.extensions import db
    from app.models import Beneficiary, PayoutLine
    from app.services import payout
    from app.services.reference import find_unit
    from app.services.registry import people

    paid = make_person("00004", "Nguyễn Văn An", cccd="001045000001", enrol={"BTXH": 500000, "NCC": 2789000})
    gone = make_person("00004", "Trần Văn Bình", cccd="001045000002")
    with app.app_context():
        unit = find_unit(db.session, "001", "2024")
        period = payout.create_period(
            db.session, name="Tháng 01/2026", period_date=dt.date(2026, 1, 1), unit=unit, user_id=None
        )
        db.session.commit()
        payout.sync_payout_list(db.session, period.id, unit)

        def lines():
            return sorted(
                (l.beneficiary_id, l.category)
                for l in db.session.scalars(select(PayoutLine).where(PayoutLine.period_id == period.id))
            )

        assert {b for b, _c in lines()} == {paid, gone}
        people.end_person(db.session, db.session.get(Beneficiary, gone), None, "Đã chết")
        people.end_person(db.session, db.session.get(Beneficiary, paid), None, "Thôi hưởng", category="NCC")
        db.session.commit()
        payout.sync_payout_list(db.session, period.id, unit)
        db.session.expire_all()
        assert lines() == [(paid, "BTXH")]
