"""Holes 13 and 16: REST/web writes of a beneficiary are validated like the import; no SQL in any answer."""

from __future__ import annotations

import pytest

from tests.conftest import page_token
from tests.integrity.conftest import person_row


def test_put_with_the_cccd_of_another_communes_person_is_a_generic_409(app, api_token, make_person):
    own = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    response = app.test_client().put(
        f"/api/v1/beneficiary/{own}", headers=api_token("congan.00004"), json={"cccd": "001145000002"}
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True).lower()
    for leak in ("insert", "update", "unique", "constraint", "beneficiary", "sql", "trần", "detail"):
        assert leak not in body
    assert "xung đột" in response.json["message"]
    assert person_row(app, own)["cccd"] == "001045000001"


def test_post_with_an_existing_cccd_is_a_generic_409(app, api_token, make_person, unit_id):
    make_person("00037", "Trần Thị Bình", cccd="001145000002", sex="F")
    response = app.test_client().post(
        "/api/v1/beneficiary/",
        headers=api_token("congan.00004"),
        json={"full_name": "Lê Văn Cường", "cccd": "001145000002", "commune_id": unit_id("00004")},
    )
    assert response.status_code == 409 and "constraint" not in response.get_data(as_text=True).lower()


@pytest.mark.parametrize(
    "field,value,label",
    [
        ("cccd", "abc<>", "CCCD"),
        ("cccd", "0010450000", "CCCD"),
        ("birth_year", -5, "Năm sinh"),
        ("birth_year", 3000, "Năm sinh"),
        ("full_name", "Nguyễn\x00Văn An", "Họ và tên"),
        ("full_name", "", "Họ và tên"),
        ("full_name", ["a"], "Họ và tên"),
        ("address", "Số 1\x00", "Địa chỉ"),
        ("sex", "X", "Giới tính"),
        ("date_of_birth", "31/02/1950", "Ngày sinh"),
        ("cmnd", "12ab", "CMND"),
        ("commune_id", "abc", "Xã"),
        ("hacker", 1, None),
    ],
)
def test_rest_create_and_edit_refuse_bad_values_with_a_vietnamese_message(
    app, api_token, make_person, unit_id, field, value, label
):
    own = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    before = person_row(app, own)
    client, headers = app.test_client(), api_token("congan.00004")
    body = {"full_name": "Lê Văn Cường", "birth_year": 1950, "commune_id": unit_id("00004"), field: value}
    response = client.post("/api/v1/beneficiary/", headers=headers, json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    if label:
        assert label.lower() in response.json["message"].lower()
    response = client.put(f"/api/v1/beneficiary/{own}", headers=headers, json={field: value})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert person_row(app, own) == before
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        assert db.session.query(Beneficiary).count() == 1


def test_rest_values_are_normalised_like_the_import(app, api_token, unit_id):
    client, headers = app.test_client(), api_token("congan.00004")
    response = client.post(
        "/api/v1/beneficiary/",
        headers=headers,
        json={
            "full_name": "  Nguyễn   Văn  An ",
            "cccd": 1045000001,
            "date_of_birth": "01/05/1945",
            "sex": "Nam",
            "commune_id": unit_id("00004"),
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    row = person_row(app, response.json["id"])
    assert (row["full_name"], row["cccd"]) == ("Nguyễn Văn An", "001045000001")


def test_web_form_refuses_bad_values_too(app, client_for, make_person, unit_id):
    own = make_person("00004", "Nguyễn Văn An", cccd="001045000001")
    before = person_row(app, own)
    client = client_for("congan.00004")
    token = page_token(client)
    response = client.post(
        f"/beneficiaryview/edit/{own}",
        data={
            "csrf_token": token,
            "full_name": "Nguyễn Văn An",
            "cccd": "abc<>",
            "birth_year": "1945",
            "sex": "M",
            "commune": str(unit_id("00004")),
        },
        follow_redirects=True,
    )
    assert "CCCD" in response.get_data(as_text=True)
    assert person_row(app, own) == before
    # A duplicate CCCD: FAB's message is ours, never the database's.
    other = make_person("00004", "Lê Thị Hoa", cccd="001145000003", sex="F")
    response = client.post(
        f"/beneficiaryview/edit/{other}",
        data={
            "csrf_token": token,
            "full_name": "Lê Thị Hoa",
            "cccd": "001045000001",
            "birth_year": "1945",
            "sex": "F",
            "commune": str(unit_id("00004")),
        },
        follow_redirects=True,
    )
    html = response.get_data(as_text=True).lower()
    assert "constraint" not in html and "insert into" not in html and "update beneficiary" not in html
    assert person_row(app, other)["cccd"] == "001145000003"


def test_integrity_error_anywhere_is_a_generic_409(app):
    """The app-level handler: an IntegrityError escaping any endpoint answers 409 without SQL."""
    from sqlalchemy.exc import IntegrityError

    for path in ("/api/v1/anything", "/beneficiaryview/list/"):
        with app.test_request_context(path):
            error = IntegrityError("INSERT INTO beneficiary ...", {}, Exception("uq_secret_constraint"))
            response = app.make_response(app.handle_user_exception(error))
        assert response.status_code == 409
        text = response.get_json()["message"] if response.is_json else response.get_data(as_text=True)
        assert "uq_secret" not in text and "INSERT" not in text and "xung đột" in text
