"""Errors reach people in Vietnamese: pages inside the app's layout (menu, a way back), the REST API as JSON."""

import pytest

from tests.conftest import page_token

ENGLISH = ("Not Found", "Forbidden", "Internal Server Error", "Bad Request", "The CSRF token", "Method Not Allowed")


def _assert_app_page(response, status, title):
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert 'class="navbar' in html and 'name="csrf-token"' in html  # the app's layout, with its menu
    assert title in html
    assert 'id="error-home"' in html  # a way back
    assert not [w for w in ENGLISH if w in html]
    return html


def test_404_page(client_for):
    client = client_for("canbo.00004")
    html = _assert_app_page(
        client.get("/no/such/page", headers={"Referer": "http://localhost/visits/"}), 404, "Không tìm thấy"
    )
    assert 'id="error-back" href="http://localhost/visits/"' in html
    assert "Danh sách thăm hộ" in html or "Thăm hộ" in html or "menu" in html.lower()


def test_404_of_a_record_outside_the_scope(client_for):
    _assert_app_page(client_for("canbo.00004").get("/matchreviewview/review/999999999"), 404, "Không tìm thấy")


def test_a_foreign_referrer_is_not_offered_as_the_way_back(client_for):
    html = _assert_app_page(
        client_for("admin").get("/no/such/page", headers={"Referer": "http://evil.example/"}), 404, "Không tìm thấy"
    )
    assert "evil.example" not in html


def test_403_page(client_for):
    # A commune officer without the matching capability asks to run the matching.
    client = client_for("canbo.00004")
    response = client.post("/matchreviewview/run", data={"csrf_token": page_token(client)})
    _assert_app_page(response, 403, "Không có quyền")


def test_405_page(client_for):
    _assert_app_page(client_for("admin").get("/matchreviewview/run"), 405, "Không được phép")


def test_csrf_failure_page(client_for):
    client = client_for("congan.00004")
    response = client.post("/matchreviewview/run", data={"csrf_token": "forged"})
    html = _assert_app_page(response, 400, "Biểu mẫu đã hết hạn")
    assert "tải lại trang" in html


def test_500_page(app, client_for, monkeypatch):
    client = client_for("admin")

    def boom(*args, **kwargs):
        raise RuntimeError("internal-detail-1234")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "MatchReviewView.list", boom)
    html = _assert_app_page(client.get("/matchreviewview/list/"), 500, "Lỗi hệ thống")
    assert "internal-detail-1234" not in html


# --- the REST API --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/beneficiary/999999999", "/api/v1/match/999999999", "/api/v1/nothing-here"])
def test_api_404_is_vietnamese(client_for, api_token, url):
    response = client_for("admin").get(url, headers=api_token("admin"))
    assert response.status_code == 404 and response.json == {"message": "Không tìm thấy"}


def test_api_401_and_403_are_vietnamese(app, client_for, api_token):
    client = app.test_client()
    missing = client.get("/api/v1/beneficiary/")
    assert missing.status_code == 401 and missing.json["message"] == "Chưa đăng nhập hoặc mã truy cập không hợp lệ"
    bad = client.get("/api/v1/beneficiary/", headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code in (401, 422) and bad.json["message"] == "Chưa đăng nhập hoặc mã truy cập không hợp lệ"
    login = client.post("/api/v1/security/login", json={"username": "admin", "password": "wrong", "provider": "db"})
    assert login.status_code == 401 and login.json["message"] == "Chưa đăng nhập hoặc mã truy cập không hợp lệ"
    # The commune officer may not run the matching through the API.
    forbidden = client_for("canbo.00004").post("/api/v1/match/", json={}, headers=api_token("canbo.00004"))
    assert forbidden.status_code == 403 and forbidden.json["message"] == "Không có quyền thực hiện thao tác này"


def test_api_fab_messages_are_vietnamese(app, client_for, api_token):
    client, headers = client_for("admin"), api_token("admin")
    not_json = app.test_client().post("/api/v1/security/login", data="x", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 400 and not_json.json["message"] == "Yêu cầu phải ở dạng JSON"
    rison = client.get("/api/v1/beneficiary/", query_string={"q": "(x"}, headers=headers)
    assert rison.status_code == 400 and rison.json["message"] == "Tham số q không hợp lệ"
    for crashing in ("(((", "(a:"):  # the rison parser used to crash on these: a 500
        answer = client.get("/api/v1/beneficiary/", query_string={"q": crashing}, headers=headers)
        assert answer.status_code == 400 and answer.json["message"] == "Tham số q không hợp lệ"
    schema = client.get("/api/v1/beneficiary/", query_string={"q": "(filters:!((col:x,opr:y)))"}, headers=headers)
    assert schema.status_code == 400 and schema.json["message"] == "Tham số q không hợp lệ"  # no English detail
    wrong_method = client.patch("/api/v1/match/1", headers=headers)
    assert wrong_method.status_code in (404, 405) and wrong_method.json["message"] in (
        "Không tìm thấy",
        "Không được phép dùng phương thức này",
    )


def test_api_500_is_vietnamese_json(app, api_token, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("internal-detail-5678")

    headers = api_token("admin")
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "MatchApi.status", boom)
    response = app.test_client().get("/api/v1/match/1", headers=headers)
    assert response.status_code == 500
    assert response.json == {"message": "Đã xảy ra lỗi không mong muốn. Hãy thử lại hoặc báo quản trị viên."}
