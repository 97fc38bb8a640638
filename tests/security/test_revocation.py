"""Tokens and sessions end when the password, the roles or the unit of the account change."""

from __future__ import annotations

import itertools

import pytest

from tests.audit.conftest import login_guard_reset  # noqa: F401
from tests.conftest import DEMO_PASSWORD, login

_names = itertools.count()


@pytest.fixture()
def account(app):
    """A fresh commune police account (its own, so changing it disturbs no other test)."""
    from app.extensions import db
    from app.services.reference import find_unit

    name = f"revoke.{next(_names)}"
    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.add_user(name, "R", "V", f"{name}@asxh.local", [sm.find_role("Công an xã")], DEMO_PASSWORD)
        user.unit_id = find_unit(db.session, "00004", app.config["UNIT_SCHEME"]).id
        db.session.commit()
    return name


def _credentials(app, name):
    client = app.test_client()
    tokens = client.post(
        "/api/v1/security/login", json={"username": name, "password": DEMO_PASSWORD, "provider": "db", "refresh": True}
    ).json
    browser = app.test_client()
    login(browser, name)
    return tokens, browser


def _alive(app, tokens, browser) -> tuple[bool, bool, bool]:
    client = app.test_client()
    access = client.get("/api/v1/beneficiary/", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    refresh = client.post("/api/v1/security/refresh", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    page = browser.get("/beneficiaryview/list/")
    return access.status_code == 200, refresh.status_code == 200, page.status_code == 200


def _change(app, name, how):
    from app.extensions import db

    with app.app_context():
        sm = app.appbuilder.sm
        user = sm.find_user(username=name)
        how(sm, user, db)
        db.session.commit()


def _new_password(sm, user, db):
    sm.reset_password(user.id, "Other@12345x")


def _new_role(sm, user, db):
    user.roles = [sm.find_role("Cán bộ LĐTBXH xã")]


def _new_unit(sm, user, db):
    from app.services.reference import find_unit

    user.unit_id = find_unit(db.session, "00001", "2024").id


@pytest.mark.parametrize("how", [_new_password, _new_role, _new_unit], ids=["password", "role", "unit"])
def test_change_revokes_tokens_and_sessions(app, login_guard_reset, account, how):
    tokens, browser = _credentials(app, account)
    assert _alive(app, tokens, browser) == (True, True, True)
    _change(app, account, how)
    assert _alive(app, tokens, browser) == (False, False, False)
    # Signing in again gives working credentials.
    password = "Other@12345x" if how is _new_password else DEMO_PASSWORD
    client = app.test_client()
    fresh = client.post(
        "/api/v1/security/login", json={"username": account, "password": password, "provider": "db"}
    ).json
    assert (
        client.get("/api/v1/beneficiary/", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code
        == 200
    )


def test_other_changes_and_other_sign_ins_keep_credentials(app, login_guard_reset, account):
    tokens, browser = _credentials(app, account)
    _credentials(app, account)  # signing in elsewhere updates last_login and login_count

    def rename(sm, user, db):
        user.first_name = "Renamed"

    _change(app, account, rename)
    assert _alive(app, tokens, browser) == (True, True, True)


def test_cli_create_user_on_an_existing_account_revokes(app, login_guard_reset, account):
    tokens, browser = _credentials(app, account)
    result = app.test_cli_runner().invoke(
        args=["asxh", "create-user", account, "--role", "Công an xã", "--unit", "00004", "--password", "Cli@12345xy"]
    )
    assert result.exit_code == 0, result.output
    assert _alive(app, tokens, browser) == (False, False, False)


def test_token_lifetimes(app):
    assert app.config["JWT_ACCESS_TOKEN_EXPIRES"] == 15 * 60
    assert app.config["JWT_REFRESH_TOKEN_EXPIRES"] == 12 * 3600
