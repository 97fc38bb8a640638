"""The menu: the five steps, reports and administration, each role seeing only its own entries, every entry
opening."""

from __future__ import annotations

import re

import pytest

STEPS = [
    "Bước 1 – Danh sách và đối soát",
    "Bước 2 – Tổ công tác",
    "Bước 3 – Khảo sát tại nhà",
    "Bước 4 – Phân loại",
    "Bước 5 – Tài khoản và chi trả",
]
REPORTS, ADMINISTRATION = "Báo cáo", "Quản trị"
EXPECTED = {
    "admin": STEPS + [REPORTS, ADMINISTRATION],
    "so.ldtbxh": STEPS + [REPORTS, ADMINISTRATION],  # audit trail, base levels, category rules
    "phong.001": STEPS + [REPORTS],
    "congan.00004": STEPS + [REPORTS],
    "canbo.00004": STEPS + [REPORTS],
    "lanhdao": STEPS + [REPORTS],
}
DROPDOWN = re.compile(
    r'<li class="dropdown">\s*<a class="dropdown-toggle"[^>]*>(.*?)<b class="caret"></b></a>\s*'
    r'<ul class="dropdown-menu">(.*?)</ul>',
    re.S,
)
ENTRY = re.compile(r'<a tabindex="-1" href="([^"]*)">(.*?)</a>', re.S)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>|&nbsp;", " ", html)).strip()


def menu_of(client) -> dict[str, list[tuple[str, str]]]:
    html = client.get("/").get_data(as_text=True)
    return {
        _text(label): [(href.replace("&amp;", "&"), _text(text)) for href, text in ENTRY.findall(body)]
        for label, body in DROPDOWN.findall(html)
    }


@pytest.mark.parametrize("username", list(EXPECTED))
def test_each_role_sees_its_categories_in_step_order_and_every_entry_opens(app, client_for, username):
    client = client_for(username)
    menu = menu_of(client)
    assert list(menu)[: len(EXPECTED[username])] == EXPECTED[username]
    assert set(menu) - {"Ngôn ngữ", "Language"} <= set(EXPECTED[username])  # the language switcher aside
    for category in EXPECTED[username]:
        assert menu[category], (username, category)
        for href, text in menu[category]:
            assert client.get(href).status_code == 200, (username, category, text, href)


def test_entries_follow_capabilities(app, client_for):
    def entries(username):
        return {text for items in menu_of(client_for(username)).values() for _href, text in items}

    upload, verify, users = "Tải lên danh sách", "Tài khoản chờ duyệt", "Danh sách người dùng"
    assert upload in entries("phong.001") and upload not in entries("congan.00004")
    assert verify in entries("congan.00004") and verify not in entries("canbo.00004")
    assert users in entries("admin") and users not in entries("so.ldtbxh")


def test_2025_roles_see_their_categories():
    """The 2025 commune social-affairs officer holds the district office's and the commune officer's work."""
    from app.security.roles import ADMINISTRATION as ADMIN_KEY
    from app.security.roles import MENU_CATEGORIES, PERMISSION_SETS, permissions_for, roles_for

    keys = [name for name, _label, _icon in MENU_CATEGORIES]
    seen = {role.key: [k for k in keys if ("menu_access", k) in permissions_for(role)] for role in roles_for("2025")}
    assert seen["xa"] == keys[:6]
    assert seen["so"] == keys and seen["admin"] == keys
    assert ADMIN_KEY not in seen["congan"] and ADMIN_KEY not in seen["lanhdao"]
    assert ("menu_access", "AccountsToVerify") in permissions_for(PERMISSION_SETS["xa"])
    assert ("menu_access", "ImportUpload") in permissions_for(PERMISSION_SETS["xa"])


def test_every_menu_entry_has_a_category_in_the_one_table(app):
    from app.security.roles import MENU_CATEGORIES, MENU_LINKS, VIEW_CATEGORIES

    ours = {name for name, _label, _icon in MENU_CATEGORIES}
    top = [item.name for item in app.appbuilder.menu.get_list()]
    assert top[: len(ours)] == [name for name, _label, _icon in MENU_CATEGORIES]
    for item in app.appbuilder.menu.get_list():
        for child in item.childs:
            if item.name != ADMIN_FAB and child.name != "-":
                assert child.name in VIEW_CATEGORIES or child.name in MENU_LINKS, child.name


ADMIN_FAB = "Security"
