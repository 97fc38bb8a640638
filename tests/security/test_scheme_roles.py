"""Roles per scheme: the permission sets stay in one table, the scheme names them and says at which unit kinds
their users sit (2025: no district office; the commune social-affairs officer holds what it and the commune
labour officer held)."""

import pytest

from app.security.roles import PERMISSION_SETS, ROLE_BY_KEY, ROLES, roles_for
from app.services.reference import SCHEME_LEVELS


@pytest.mark.parametrize("scheme", sorted(SCHEME_LEVELS))
def test_every_role_of_a_scheme_is_a_permission_set_placed_at_its_levels(scheme):
    roles = roles_for(scheme, "Sở quản lý an sinh")
    assert len({r.name for r in roles}) == len(roles)
    for role in roles:
        assert (role.views, role.capabilities) == (
            PERMISSION_SETS[role.key].views,
            PERMISSION_SETS[role.key].capabilities,
        )
        assert role.kinds and set(role.kinds) <= set(SCHEME_LEVELS[scheme])
    for kind in SCHEME_LEVELS[scheme]:  # every level has someone
        assert any(kind in r.kinds for r in roles if not r.is_admin)
    payers = [r for r in roles if "approve_payout" in r.capabilities and not r.is_admin]
    assert {k for r in payers for k in r.kinds} == {"city", {"2024": "district", "2025": "commune"}[scheme]}


def test_2024_roles_are_the_table():
    assert [(r.key, r.name) for r in roles_for("2024")] == [(r.key, r.name) for r in ROLES]


def test_2025_roles():
    roles = {r.key: r for r in roles_for("2025", "Sở An sinh Hà Nội")}
    assert set(roles) == {"admin", "so", "xa", "congan", "lanhdao"}
    assert roles["so"].name == "Sở An sinh Hà Nội" and roles["so"].kinds == ("city",)
    assert roles_for("2025")[1].name == "Sở quản lý an sinh"
    xa = roles["xa"]
    assert xa.kinds == ("commune",)
    assert xa.capabilities == ROLE_BY_KEY["phong"].capabilities | ROLE_BY_KEY["canbo"].capabilities
    for view in set(ROLE_BY_KEY["phong"].views) | set(ROLE_BY_KEY["canbo"].views):
        levels = {ROLE_BY_KEY[k].views.get(view) for k in ("phong", "canbo")}
        assert xa.views[view] == ("write" if "write" in levels else "read")


@pytest.mark.parametrize(
    "role, unit", [("Phòng LĐTBXH", "00004"), ("Công an xã", "001"), ("Sở LĐTBXH", "00004"), ("Cán bộ LĐTBXH xã", "01")]
)
def test_create_user_refuses_a_unit_the_role_does_not_sit_at(app, role, unit):
    result = app.test_cli_runner().invoke(
        args=["asxh", "create-user", "sai.cap", "--role", role, "--unit", unit, "--password", "Bí-mật@2024x"]
    )
    assert result.exit_code != 0
    assert f"Vai trò {role} chỉ gán cho người dùng ở cấp" in result.output and "theo sơ đồ đơn vị hành" in result.output
    from app.extensions import db
    from app.models import AsxhUser

    with app.app_context():
        assert db.session.query(AsxhUser).filter_by(username="sai.cap").count() == 0


def test_the_user_screen_refuses_a_unit_the_role_does_not_sit_at(app, client_for):
    from app.extensions import db
    from app.services.reference import find_unit
    from tests.conftest import csrf_from

    admin = client_for("admin")
    with app.app_context():
        role_id = app.appbuilder.sm.find_role("Phòng LĐTBXH").id
        units = {c: find_unit(db.session, c, "2024").id for c in ("00004", "001")}

    def add(username, unit_code):
        page = admin.get("/users/add").get_data(as_text=True)
        return admin.post(
            "/users/add",
            data={
                "csrf_token": csrf_from(page),
                "first_name": "Thử",
                "last_name": "Cấp",
                "username": username,
                "active": "y",
                "email": f"{username}@asxh.local",
                "roles": str(role_id),
                "unit": str(units[unit_code]),
                "password": "Bí-mật@2024x",
                "conf_password": "Bí-mật@2024x",
            },
            follow_redirects=True,
        )

    refused = add("phong.sai", "00004").get_data(as_text=True)
    assert "Vai trò Phòng LĐTBXH chỉ gán cho người dùng ở cấp quận/huyện" in refused
    add("phong.dung", "001")
    with app.app_context():
        assert app.appbuilder.sm.find_user(username="phong.sai") is None
        assert app.appbuilder.sm.find_user(username="phong.dung") is not None
