"""Cookie-authenticated writes to the REST API need the CSRF token; JWT requests do not."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import page_token


def _runs(app) -> int:
    from app.extensions import db
    from app.models import MatchRun

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(MatchRun))


def test_cookie_api_write_without_token_is_refused(app, client_for):
    client = client_for("congan.00004")
    # A cross-site form post carries the cookie but not the token.
    for response in (
        client.post("/api/v1/match/", json={}),
        client.post("/api/v1/match/", data={"unit": "00004"}),
        client.post("/api/v1/match/", json={}, headers={"X-CSRFToken": "forged"}),
    ):
        assert response.status_code == 400
    assert _runs(app) == 0
    # Reads with the cookie still work.
    assert client.get("/api/v1/beneficiary/").status_code == 200


def test_cookie_api_write_with_the_page_token_works(app, client_for):
    client = client_for("congan.00004")
    response = client.post("/api/v1/match/", json={}, headers={"X-CSRFToken": page_token(client)})
    assert response.status_code == 202
    assert _runs(app) == 1


def test_jwt_api_write_needs_no_csrf_token(app, api_token):
    client = app.test_client()
    response = client.post("/api/v1/match/", json={}, headers=api_token("congan.00004"))
    assert response.status_code == 202
    assert _runs(app) == 1
