"""Vietnamese first (English on request), formats, the OpenAPI spec, and the user CLI."""

import datetime as dt

from app.services.formatting import format_date, format_money
from tests.conftest import login


def test_login_page_is_vietnamese_and_english_on_request(app):
    client = app.test_client()
    html = client.get("/login/").get_data(as_text=True)
    assert "Đăng nhập" in html and "Tên đăng nhập" in html
    client.get("/lang/en")
    html = client.get("/login/").get_data(as_text=True)
    assert "Sign In" in html or "Login" in html


def test_form_errors_are_vietnamese(app):
    client = app.test_client()
    html = client.get("/login/").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    html = client.post("/login/", data={"username": "", "password": "", "csrf_token": token}).get_data(as_text=True)
    assert "Trường này là bắt buộc." in html


def test_formats():
    assert format_date(dt.date(2024, 1, 9)) == "09/01/2024"
    assert format_date(None, 1948) == "1948"
    assert format_money(1500000) == "1.500.000 ₫"
    assert format_money(0) == "0 ₫"


def test_openapi_spec_lists_our_resources(app, api_token):
    client = app.test_client()
    assert client.get("/api/v1/_openapi").status_code == 401
    spec = client.get("/api/v1/_openapi", headers=api_token("admin")).json
    paths = set(spec["paths"])
    assert {"/api/v1/beneficiary/", "/api/v1/import/", "/api/v1/match/", "/api/v1/security/login"} <= paths


def test_create_user_cli_scopes_the_account(app, client_for):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "asxh",
            "create-user",
            "congan.test",
            "--role",
            "Công an xã",
            "--unit",
            "00040",
            "--password",
            "Bí-mật@2024x",
        ]
    )
    assert result.exit_code == 0, result.output
    bad = runner.invoke(
        args=["asxh", "create-user", "x", "--role", "Không có", "--unit", "00040", "--password", "Bí-mật@2024x"]
    )
    assert bad.exit_code != 0 and "role" in bad.output.lower()
    weak = runner.invoke(
        args=["asxh", "create-user", "y", "--role", "Công an xã", "--unit", "00040", "--password", "123"]
    )
    assert weak.exit_code != 0
    unknown_unit = runner.invoke(
        args=["asxh", "create-user", "z", "--role", "Công an xã", "--unit", "99999", "--password", "Bí-mật@2024x"]
    )
    assert unknown_unit.exit_code != 0
    client = app.test_client()
    assert login(client, "congan.test", "Bí-mật@2024x").status_code == 302
    assert "Phường Đồng Xuân" in client.get("/").get_data(as_text=True)


def test_init_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["asxh", "init"])
    second = runner.invoke(args=["asxh", "init"])
    assert first.exit_code == 0 and second.exit_code == 0
    assert first.output.splitlines()[-1] == second.output.splitlines()[-1]
