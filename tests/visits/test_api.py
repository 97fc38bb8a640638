"""The tablet API: POST /api/v1/visit/ (201, or 400 with every problem), GET history, question set, visit list."""

from __future__ import annotations

from flask_babel import force_locale, gettext

from app.security.roles import roles_for
from app.services.formatting import local_today
from tests.visits.conftest import answers
from tests.web.test_role_matrix import ROLE_USER

TODAY = local_today().isoformat()  # the form defaults to the date in Hanoi (UTC+7), not the machine's


def _vi(app, msgid, **params):
    with app.test_request_context():
        with force_locale("vi"):
            text = gettext(msgid)
    return text % params if params else text


def test_record_201_and_history(app, api_token, people):
    headers = api_token("congan.00004")
    client = app.test_client()
    response = client.post(
        "/api/v1/visit/",
        headers=headers,
        json={"beneficiary_id": people["an"], "answers": answers(visit_date=TODAY, opening_bank="Agribank")},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert body["case_type"] == 2 and body["beneficiary_case_type"] == 2 and body["task_id"]
    assert body["answers"]["opening_bank_bin"] == "970405" and body["source"] == "api"
    # A tablet sends booleans and lists as JSON.
    response = client.post(
        "/api/v1/visit/",
        headers=headers,
        json={
            "beneficiary_id": people["binh"],
            "answers": {
                "visit_date": TODAY,
                "met": "family",
                "respondent_name": "Lê Văn Con",
                "has_account": False,
                "wants_account_payment": False,
                "decline_reason": "old_age",
                "citizen_confirmed": True,
                "can_transact_alone": False,
                "vulnerabilities": ["elderly_alone", "no_phone"],
                "support": ["cash_at_home"],
            },
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["case_type"] == 4
    history = client.get(f"/api/v1/visit/?beneficiary_id={people['an']}", headers=headers)
    assert history.status_code == 200
    assert history.json["case_type"] == 2 and len(history.json["result"]) == 1
    described = {a["key"]: a["text"] for a in history.json["result"][0]["described"]}
    assert described["met"] == "Gặp trực tiếp đối tượng"


def test_record_400_lists_every_problem_in_vietnamese(app, api_token, people):
    from app.extensions import db
    from app.models import Visit

    headers = api_token("canbo.00004")
    client = app.test_client()
    response = client.post(
        "/api/v1/visit/",
        headers=headers,
        json={
            "beneficiary_id": people["an"],
            "answers": answers(
                visit_date=TODAY,
                wants_account_payment="no",
                citizen_confirmed=None,
                vulnerabilities=["illness"],
                support=["proxy"],
                proxy_name="Lê Thị Cúc",
                proxy_cccd="0011800123",
                proxy_relationship="con gái",
            ),
        },
    )
    assert response.status_code == 400
    problems = {(p["field"], p["code"]): p["message"] for p in response.json["problems"]}
    decline = _vi(app, "A citizen who declines an account must confirm it and give a specific reason")
    assert problems == {
        ("citizen_confirmed", "decline_unconfirmed"): decline,
        ("decline_reason", "decline_reason_missing"): decline,
        ("proxy_cccd", "cccd_length"): _vi(app, "CCCD must have 12 digits, got %(length)d", length=10),
    }
    with app.app_context():
        assert db.session.query(Visit).count() == 0
    # Not JSON / wrong shapes.
    assert client.post("/api/v1/visit/", headers=headers, data="x").status_code == 400
    assert client.post("/api/v1/visit/", headers=headers, json={"answers": {}}).status_code == 400
    response = client.post("/api/v1/visit/", headers=headers, json={"beneficiary_id": people["an"], "answers": []})
    assert response.status_code == 400


def test_scope_404_and_no_write_for_read_only_roles(scheme_app, api_token, people, world, unit_scheme):
    from app.extensions import db
    from app.models import Visit

    client = scheme_app.test_client()
    headers = api_token(world.users["police"])
    # Another commune's beneficiary: 404 for recording and for the history.
    response = client.post(
        "/api/v1/visit/",
        headers=headers,
        json={"beneficiary_id": people["cuong"], "answers": answers(visit_date=TODAY)},
    )
    assert response.status_code == 404
    assert client.get(f"/api/v1/visit/?beneficiary_id={people['cuong']}", headers=headers).status_code == 404
    assert (
        client.post(
            "/api/v1/visit/", headers=headers, json={"beneficiary_id": 99999999, "answers": answers(visit_date=TODAY)}
        ).status_code
        == 404
    )
    # The roles that read visits without recording them (2024: district office, city, leaders; 2025: city,
    # leaders — the commune's social-affairs officer records).
    readers = [world.users[ROLE_USER[r.key]] for r in roles_for(world.scheme) if r.views.get("Visit") == "read"]
    assert len(readers) == {"2024": 3, "2025": 2}[world.scheme]
    for user in readers:
        h = api_token(user)
        assert client.get(f"/api/v1/visit/?beneficiary_id={people['an']}", headers=h).status_code == 200
        assert (
            client.post(
                "/api/v1/visit/", headers=h, json={"beneficiary_id": people["an"], "answers": answers(visit_date=TODAY)}
            ).status_code
            == 403
        )
    assert (
        client.get(
            f"/api/v1/visit/?beneficiary_id={people['cuong']}", headers=api_token(world.users["payer"])
        ).status_code
        == 404
    )
    with scheme_app.app_context():
        assert db.session.query(Visit).count() == 0
    assert client.post("/api/v1/visit/", json={"beneficiary_id": people["an"], "answers": {}}).status_code == 401


def test_questionnaire_and_visit_list_for_tablets(scheme_app, api_token, people, units, world, unit_scheme):
    client = scheme_app.test_client()
    headers = api_token(world.users["officer"])
    response = client.get("/api/v1/visit/questionnaire", headers=headers)
    assert response.status_code == 200 and response.json["version"] >= 1
    keys = [q["key"] for s in response.json["definition"]["sections"] for q in s["questions"]]
    assert "proxy_cccd" in keys and "citizen_confirmed" in keys
    response = client.get("/api/v1/visit/list", headers=headers)
    assert response.status_code == 200
    rows = response.json["result"]
    assert [r["full_name"] for r in rows] == ["Trần Thị Bình", "Nguyễn Văn An"]  # Quán Thánh số 5, then ngõ 34
    # Masked unless the officer's role holds "unmask" (2025: the social-affairs officer does, as the district
    # office did).
    officer = next(r for r in roles_for(world.scheme) if world.users[ROLE_USER[r.key]] == world.users["officer"])
    cccd = "001045000101" if "unmask" in officer.capabilities else "001******101"
    assert rows[1]["lane"] == 34 and rows[1]["house"] == 12 and rows[1]["cccd"] == cccd
    assert client.get(f"/api/v1/visit/list?commune_id={units['other_commune']}", headers=headers).status_code == 404
    # The city is not a commune: a tablet asks for a commune's list.
    assert (
        client.get(f"/api/v1/visit/list?commune_id={units['city']}", headers=api_token(world.users["city"])).status_code
        == 400
    )
