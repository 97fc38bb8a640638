"""Scope on every path, on both schemes: a user sees and touches only the people of their unit's subtree.

The matrix takes each role of the scheme (its demo user) and checks which people it sees on the list, the show
and edit pages, the REST API and the case-list export."""

import io

import openpyxl
import pytest
from sqlalchemy import select

from app.security.roles import roles_for
from tests import factories
from tests.conftest import SCHEMES, page_token
from tests.web.test_role_matrix import ROLE_USER

AN, BINH = "Nguyễn Văn An", "Trần Thị Bình"


@pytest.fixture()
def people(scheme_app, world):
    """{"commune": id of An, "other_commune": id of Bình}: one beneficiary in the world's commune, one in a commune
    of another paying unit."""
    from app.extensions import db

    with scheme_app.app_context():
        return {
            where: factories.make_person(
                db.session,
                world.units[where],
                name,
                scheme=world.scheme,
                enrol={"BTXH": 540000},
                cccd=cccd,
                birth_year=1945,
                sex="M" if "Văn" in name else "F",
                match_status="pending",
                case_type=1,
            )
            for where, name, cccd in (("commune", AN, "001045000001"), ("other_commune", BINH, "001145000002"))
        }


def _unit_id(scheme_app, world, where):
    from app.extensions import db
    from app.services.reference import find_unit

    with scheme_app.app_context():
        return find_unit(db.session, world.units[where], world.scheme).id


# Who sees whom: users at the city see both people; the paying unit's and the commune's users only An.
SEES_ALL = {"admin", "city", "leader"}
MATRIX = [(s, r) for s in SCHEMES for r in roles_for(s)]


@pytest.mark.parametrize("unit_scheme,role", MATRIX, indirect=["unit_scheme"], ids=[f"{s}-{r.key}" for s, r in MATRIX])
def test_scope_matrix(scheme_app, client_for, api_token, people, world, unit_scheme, role):
    who = ROLE_USER[role.key]
    username = world.users[who]
    seen = {"commune": AN, "other_commune": BINH} if who in SEES_ALL else {"commune": AN}
    hidden = {k: v for k, v in {"commune": AN, "other_commune": BINH}.items() if k not in seen}
    client = client_for(username)
    html = client.get("/beneficiaryview/list/").get_data(as_text=True)
    assert all(name in html for name in seen.values()) and not any(name in html for name in hidden.values())
    may_edit = role.views.get("Beneficiary") == "write"
    for where, pk in people.items():
        visible = where in seen
        assert client.get(f"/beneficiaryview/show/{pk}").status_code == (200 if visible else 404), (username, where)
        status = client.get(f"/beneficiaryview/edit/{pk}").status_code
        if may_edit:
            assert status == (200 if visible else 404), (username, where)
        else:
            assert status in (302, 403), (username, where)
    api = scheme_app.test_client()
    headers = api_token(username)
    listing = api.get("/api/v1/beneficiary/", headers=headers).json
    assert sorted(r["full_name"] for r in listing["result"]) == sorted(seen.values())
    for where, pk in people.items():
        assert api.get(f"/api/v1/beneficiary/{pk}", headers=headers).status_code == (200 if where in seen else 404)
    response = client.get("/cases/export")
    assert response.status_code == 200, username
    cells = {
        str(c)
        for ws in openpyxl.load_workbook(io.BytesIO(response.data)).worksheets
        for row in ws.iter_rows(values_only=True)
        for c in row
        if c is not None
    }
    assert set(seen.values()) <= cells and not set(hidden.values()) & cells, username
    # Another unit's case list is not this user's to export.
    if hidden:
        other = _unit_id(scheme_app, world, "other_commune")
        assert client.get(f"/cases/export?unit={other}").status_code == 404


def _names(response):
    return response.get_data(as_text=True)


def test_show_edit_delete_of_another_commune_give_404(scheme_app, client_for, people, world, unit_scheme):
    client = client_for(world.users["police"])
    other = people["other_commune"]
    assert client.get(f"/beneficiaryview/show/{other}").status_code == 404
    assert client.get(f"/beneficiaryview/edit/{other}").status_code == 404
    token = page_token(client)
    response = client.post(f"/beneficiaryview/delete/{other}", data={"csrf_token": token})
    assert response.status_code == 404
    _assert_unchanged(scheme_app, world, other, BINH)


def test_edit_cannot_move_a_row_out_of_scope(scheme_app, client_for, people, world, unit_scheme):
    from app.extensions import db

    client = client_for(world.users["police"])
    own = people["commune"]
    other_unit = _unit_id(scheme_app, world, "other_commune")
    token = page_token(client)
    response = client.post(
        f"/beneficiaryview/edit/{own}",
        data={
            "csrf_token": token,
            "full_name": "Nguyễn Văn An",
            "cccd": "001045000001",
            "birth_year": "1945",
            "sex": "M",
            "commune": str(other_unit),
        },
        follow_redirects=True,
    )
    assert response.status_code in (200, 400)
    with scheme_app.app_context():
        from app.models import Beneficiary

        assert db.session.get(Beneficiary, own).commune.code == world.units["commune"]


def test_rest_get_put_delete_post_are_scoped(scheme_app, api_token, people, world, unit_scheme):
    from app.extensions import db
    from app.models import Beneficiary

    headers = api_token(world.users["police"])
    client = scheme_app.test_client()
    listing = client.get("/api/v1/beneficiary/", headers=headers).json
    assert [r["full_name"] for r in listing["result"]] == [AN]
    other, own = people["other_commune"], people["commune"]
    assert client.get(f"/api/v1/beneficiary/{other}", headers=headers).status_code == 404
    assert client.put(f"/api/v1/beneficiary/{other}", headers=headers, json={"full_name": "X"}).status_code == 404
    assert client.delete(f"/api/v1/beneficiary/{other}", headers=headers).status_code in (404, 405)  # no delete at all
    other_unit = _unit_id(scheme_app, world, "other_commune")
    own_unit = _unit_id(scheme_app, world, "commune")
    # Moving an own row into another commune is refused.
    response = client.put(f"/api/v1/beneficiary/{own}", headers=headers, json={"commune_id": other_unit})
    assert response.status_code in (400, 403)
    # Creating a row in another commune is refused; in the own commune it works.
    response = client.post(
        "/api/v1/beneficiary/",
        headers=headers,
        json={"full_name": "Lê Văn Cường", "birth_year": 1950, "commune_id": other_unit},
    )
    assert response.status_code in (400, 403)
    response = client.post(
        "/api/v1/beneficiary/",
        headers=headers,
        json={"full_name": "Lê Văn Cường", "birth_year": 1950, "commune_id": own_unit},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    with scheme_app.app_context():
        assert db.session.get(Beneficiary, own).commune_id == own_unit
        names = set(db.session.scalars(select(Beneficiary.full_name)))
        assert names == {AN, BINH, "Lê Văn Cường"}
    _assert_unchanged(scheme_app, world, other, BINH)


def test_rest_filters_with_q(scheme_app, api_token, people, world, unit_scheme):
    import json as _json

    client = scheme_app.test_client()
    headers = api_token(world.users["city"])
    q = _json.dumps({"filters": [{"col": "full_name", "opr": "ct", "value": "Bình"}]})
    rows = client.get(f"/api/v1/beneficiary/?q={q}", headers=headers).json["result"]
    assert [r["full_name"] for r in rows] == [BINH]
    assert rows[0]["commune_code"] == world.units["other_commune"]
    assert rows[0]["category"] == "BTXH" and rows[0]["match_status"] == "pending"


def _assert_unchanged(scheme_app, world, pk, name):
    from app.extensions import db
    from app.models import Beneficiary

    with scheme_app.app_context():
        db.session.expire_all()
        person = db.session.get(Beneficiary, pk)
        assert person is not None and person.full_name == name and person.commune.code == world.units["other_commune"]


def test_import_batches_and_reports_are_scoped(scheme_app, client_for, api_token, world, unit_scheme):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.registry import importing

    with scheme_app.app_context():
        unit = find_unit(db.session, world.units["other_payer"], world.scheme)
        batch = importing.create_batch(
            db.session, filename="hk.csv", content=b"Ho va ten\nA\n", unit=unit, category="BTXH", user_id=None
        )
        db.session.commit()
        pk = batch.id
    payer = world.users["payer"]
    client = client_for(payer)
    assert client.get(f"/importbatchview/detail/{pk}").status_code == 404
    assert client.get(f"/importbatchview/report/{pk}").status_code == 404
    assert client.get(f"/importbatchview/progress/{pk}").status_code == 404
    assert scheme_app.test_client().get(f"/api/v1/import/{pk}", headers=api_token(payer)).status_code == 404
    assert client_for(world.users["other_payer"]).get(f"/importbatchview/detail/{pk}").status_code == 200
    # An upload for a unit outside the user's scope is refused.
    response = scheme_app.test_client().post(
        "/api/v1/import/",
        headers=api_token(payer),
        data={"file": (io.BytesIO(b"Ho va ten\nA\n"), "x.csv"), "unit": world.units["other_payer"]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_csrf_is_required_on_forms(scheme_app, client_for, people, world, unit_scheme):
    from app.extensions import db
    from app.models import Beneficiary

    client = client_for(world.users["police"])
    own = people["commune"]
    response = client.post(f"/beneficiaryview/end/{own}", data={"reason": "x"})
    assert response.status_code == 400
    # There is no delete at all (people are ended, with a reason).
    assert client.get(f"/beneficiaryview/delete/{own}").status_code == 404
    with scheme_app.app_context():
        person = db.session.get(Beneficiary, own)
        assert person is not None and person.ended_at is None
    # Login without a token is refused too.
    fresh = scheme_app.test_client()
    response = fresh.post("/login/", data={"username": "admin", "password": "Demo@12345"})
    assert response.status_code == 400
