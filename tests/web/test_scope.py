"""Scope on every path: a commune user sees and touches only their commune."""
import io

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import page_token


@pytest.fixture()
def people(app):
    """One beneficiary in Trúc Bạch (00004, Ba Đình) and one in Phúc Tân (00037, Hoàn Kiếm)."""
    from app.extensions import db

    with app.app_context():
        return {code: factories.make_person(db.session, code, name, enrol={"BTXH": 540000}, cccd=cccd, birth_year=1945,
                                            sex="M" if "Văn" in name else "F", match_status="pending")
                for code, name, cccd in (("00004", "Nguyễn Văn An", "001045000001"),
                                         ("00037", "Trần Thị Bình", "001145000002"))}


def _names(response):
    return response.get_data(as_text=True)


def test_list_shows_only_own_commune(client_for, people):
    html = _names(client_for("congan.00004").get("/beneficiaryview/list/"))
    assert "Nguyễn Văn An" in html and "Trần Thị Bình" not in html
    html = _names(client_for("phong.001").get("/beneficiaryview/list/"))
    assert "Nguyễn Văn An" in html and "Trần Thị Bình" not in html
    html = _names(client_for("so.ldtbxh").get("/beneficiaryview/list/"))
    assert "Nguyễn Văn An" in html and "Trần Thị Bình" in html


def test_show_edit_delete_of_another_commune_give_404(app, client_for, people):
    client = client_for("congan.00004")
    other = people["00037"]
    assert client.get(f"/beneficiaryview/show/{other}").status_code == 404
    assert client.get(f"/beneficiaryview/edit/{other}").status_code == 404
    token = page_token(client)
    response = client.post(f"/beneficiaryview/delete/{other}", data={"csrf_token": token})
    assert response.status_code == 404
    _assert_unchanged(app, other, "Trần Thị Bình")


def test_edit_cannot_move_a_row_out_of_scope(app, client_for, people):
    from app.extensions import db
    from app.services.reference import find_unit

    client = client_for("congan.00004")
    own = people["00004"]
    with app.app_context():
        other_unit = find_unit(db.session, "00037", "2024").id
    token = page_token(client)
    response = client.post(f"/beneficiaryview/edit/{own}", data={
        "csrf_token": token, "full_name": "Nguyễn Văn An", "cccd": "001045000001", "birth_year": "1945",
        "sex": "M", "commune": str(other_unit)}, follow_redirects=True)
    assert response.status_code in (200, 400)
    with app.app_context():
        from app.models import Beneficiary

        assert db.session.get(Beneficiary, own).commune.code == "00004"


def test_rest_get_put_delete_post_are_scoped(app, api_token, people):
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.reference import find_unit

    headers = api_token("congan.00004")
    client = app.test_client()
    listing = client.get("/api/v1/beneficiary/", headers=headers).json
    assert [r["full_name"] for r in listing["result"]] == ["Nguyễn Văn An"]
    other, own = people["00037"], people["00004"]
    assert client.get(f"/api/v1/beneficiary/{other}", headers=headers).status_code == 404
    assert client.put(f"/api/v1/beneficiary/{other}", headers=headers, json={"full_name": "X"}).status_code == 404
    assert client.delete(f"/api/v1/beneficiary/{other}", headers=headers).status_code in (404, 405)  # no delete at all
    with app.app_context():
        other_unit = find_unit(db.session, "00037", "2024").id
        own_unit = find_unit(db.session, "00004", "2024").id
    # Moving an own row into another commune is refused.
    response = client.put(f"/api/v1/beneficiary/{own}", headers=headers, json={"commune_id": other_unit})
    assert response.status_code in (400, 403)
    # Creating a row in another commune is refused; in the own commune it works.
    response = client.post("/api/v1/beneficiary/", headers=headers,
                           json={"full_name": "Lê Văn Cường", "birth_year": 1950, "commune_id": other_unit})
    assert response.status_code in (400, 403)
    response = client.post("/api/v1/beneficiary/", headers=headers,
                           json={"full_name": "Lê Văn Cường", "birth_year": 1950, "commune_id": own_unit})
    assert response.status_code == 201, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Beneficiary, own).commune_id == own_unit
        names = set(db.session.scalars(select(Beneficiary.full_name)))
        assert names == {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"}
    _assert_unchanged(app, other, "Trần Thị Bình")


def test_rest_filters_with_q(app, api_token, people):
    import json as _json

    client = app.test_client()
    headers = api_token("so.ldtbxh")
    q = _json.dumps({"filters": [{"col": "full_name", "opr": "ct", "value": "Bình"}]})
    rows = client.get(f"/api/v1/beneficiary/?q={q}", headers=headers).json["result"]
    assert [r["full_name"] for r in rows] == ["Trần Thị Bình"]
    assert rows[0]["commune_code"] == "00037" and rows[0]["category"] == "BTXH" and rows[0]["match_status"] == "pending"


def _assert_unchanged(app, pk, name):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        db.session.expire_all()
        person = db.session.get(Beneficiary, pk)
        assert person is not None and person.full_name == name and person.commune.code == "00037"


def test_import_batches_and_reports_are_scoped(app, client_for, api_token):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import importing

    with app.app_context():
        unit = find_unit(db.session, "002", "2024")
        batch = importing.create_batch(db.session, filename="hk.csv", content=b"Ho va ten\nA\n", unit=unit,
                                       category="BTXH", user_id=None)
        db.session.commit()
        pk = batch.id
    client = client_for("phong.001")
    assert client.get(f"/importbatchview/detail/{pk}").status_code == 404
    assert client.get(f"/importbatchview/report/{pk}").status_code == 404
    assert client.get(f"/importbatchview/progress/{pk}").status_code == 404
    assert app.test_client().get(f"/api/v1/import/{pk}", headers=api_token("phong.001")).status_code == 404
    assert client_for("phong.002").get(f"/importbatchview/detail/{pk}").status_code == 200
    # An upload for a unit outside the user's scope is refused.
    client = client_for("phong.001")
    response = app.test_client().post(
        "/api/v1/import/", headers=api_token("phong.001"),
        data={"file": (io.BytesIO(b"Ho va ten\nA\n"), "x.csv"), "unit": "002"}, content_type="multipart/form-data")
    assert response.status_code == 403


def test_csrf_is_required_on_forms(app, client_for, people):
    from app.extensions import db
    from app.models import Beneficiary

    client = client_for("congan.00004")
    own = people["00004"]
    response = client.post(f"/beneficiaryview/end/{own}", data={"reason": "x"})
    assert response.status_code == 400
    # There is no delete at all (people are ended, with a reason).
    assert client.get(f"/beneficiaryview/delete/{own}").status_code == 404
    with app.app_context():
        person = db.session.get(Beneficiary, own)
        assert person is not None and person.ended_at is None
    # Login without a token is refused too.
    fresh = app.test_client()
    response = fresh.post("/login/", data={"username": "admin", "password": "Demo@12345"})
    assert response.status_code == 400
