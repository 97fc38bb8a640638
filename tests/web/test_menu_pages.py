"""Every page a role's menu offers renders (200), for every role of the role table."""
import re

import pytest

from app.security.roles import ROLES
from tests.web.test_role_matrix import USER_OF_ROLE

SKIP = ("/logout", "/lang", "/static", "/appbuilder", "/swagger")


@pytest.mark.parametrize("role", ROLES, ids=[r.key for r in ROLES])
def test_every_menu_page_renders(client_for, role):
    client = client_for(USER_OF_ROLE[role.key])
    html = client.get("/").get_data(as_text=True)
    links = sorted({href for href in re.findall(r'<a[^>]+href="(/[^"#?]*)"', html) if not href.startswith(SKIP)})
    assert len(links) >= 8
    failures = [(href, client.get(href).status_code) for href in links]
    assert [f for f in failures if f[1] != 200] == []
