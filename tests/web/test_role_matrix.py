"""Role × endpoint matrix, generated from the role table of each scheme: 200 where the role may, 302/403 where it
may not."""

import pytest

from app.security.roles import WRITE, roles_for
from tests.conftest import SCHEMES, WORLDS

# The demo user (by what they do, ``World.users``) holding each permission set.
ROLE_USER = {
    "admin": "admin",
    "so": "city",
    "phong": "payer",
    "xa": "payer",
    "congan": "police",
    "canbo": "officer",
    "lanhdao": "leader",
}


def user_of(scheme, role):
    return WORLDS[scheme].users[ROLE_USER[role.key]]


# (url, permission class, level needed, capability needed)
WEB_ENDPOINTS = [
    ("/beneficiaryview/list/", "Beneficiary", "read", None),
    ("/beneficiaryview/add", "Beneficiary", "write", None),
    ("/importbatchview/list/", "ImportBatch", "read", None),
    ("/importbatchview/upload/", "ImportBatch", "write", "import"),
    ("/adminunitview/list/", "AdminUnit", "read", None),
    ("/adminunitview/add", "AdminUnit", "write", None),
    ("/bankview/list/", "Bank", "read", None),
    ("/bankview/add", "Bank", "write", None),
    ("/users/list/", "__admin__", "read", None),
    ("/roles/list/", "__admin__", "read", None),
]
API_ENDPOINTS = [
    ("GET", "/api/v1/beneficiary/", "Beneficiary", "read"),
    ("GET", "/api/v1/beneficiary/_info", "Beneficiary", "read"),
    ("POST", "/api/v1/beneficiary/", "Beneficiary", "write"),
]


def allowed(role, view, level, cap=None):
    if view == "__admin__":
        return role.is_admin
    has = role.views.get(view)
    ok = has is not None and (level == "read" or has == WRITE)
    return ok and (cap is None or cap in role.capabilities)


CASES = [
    (s, r, url, view, level, cap) for s in SCHEMES for r in roles_for(s) for url, view, level, cap in WEB_ENDPOINTS
]


@pytest.mark.parametrize(
    "unit_scheme,role,url,view,level,cap",
    CASES,
    indirect=["unit_scheme"],
    ids=[f"{c[0]}-{c[1].key}-{c[2]}" for c in CASES],
)
def test_web_matrix(client_for, unit_scheme, role, url, view, level, cap):
    client = client_for(user_of(unit_scheme, role))
    response = client.get(url)
    if allowed(role, view, level, cap):
        assert response.status_code == 200
    else:
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"] or response.headers["Location"].endswith("/")


API_CASES = [
    (s, r, m, url, view, level) for s in SCHEMES for r in roles_for(s) for m, url, view, level in API_ENDPOINTS
]


@pytest.mark.parametrize(
    "unit_scheme,role,method,url,view,level",
    API_CASES,
    indirect=["unit_scheme"],
    ids=[f"{c[0]}-{c[1].key}-{c[2]}-{c[3]}" for c in API_CASES],
)
def test_api_matrix(scheme_app, api_token, unit_scheme, role, method, url, view, level):
    headers = api_token(user_of(unit_scheme, role))
    client = scheme_app.test_client()
    response = client.open(url, method=method, headers=headers, json={} if method == "POST" else None)
    if allowed(role, view, level):
        # An empty body is refused by validation, not by permissions.
        # (the beneficiary resource validates through people.parse_person_fields: 400 naming the field)
        expected = (400 if url == "/api/v1/beneficiary/" else 422) if method == "POST" else 200
        assert response.status_code == expected, response.get_data(as_text=True)
    else:
        assert response.status_code == 403


def test_anonymous_is_sent_to_login(app):
    client = app.test_client()
    response = client.get("/beneficiaryview/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/api/v1/beneficiary/").status_code == 401


def test_every_demo_login_works_with_its_scope(scheme_app, client_for, unit_scheme):
    from app.cli.common import demo_accounts
    from app.extensions import db
    from app.services.reference import find_unit

    with scheme_app.app_context():
        accounts = demo_accounts()
        assert {username for username, _role, _unit in accounts} >= set(WORLDS[unit_scheme].users.values())
    for username, _role_name, unit_code in accounts:
        html = client_for(username).get("/").get_data(as_text=True)
        with scheme_app.app_context():
            unit = find_unit(db.session, unit_code, unit_scheme)
            assert unit.name in html, username
