"""Every page a role's menu offers renders (200), for every role of each scheme."""

import re

import pytest

from app.security.roles import roles_for
from tests.conftest import SCHEMES
from tests.web.test_role_matrix import user_of

SKIP = ("/logout", "/lang", "/static", "/appbuilder", "/swagger")
CASES = [(s, r) for s in SCHEMES for r in roles_for(s)]


@pytest.mark.parametrize("unit_scheme,role", CASES, indirect=["unit_scheme"], ids=[f"{s}-{r.key}" for s, r in CASES])
def test_every_menu_page_renders(client_for, unit_scheme, role):
    client = client_for(user_of(unit_scheme, role))
    html = client.get("/").get_data(as_text=True)
    links = sorted({href for href in re.findall(r'<a[^>]+href="(/[^"#?]*)"', html) if not href.startswith(SKIP)})
    assert len(links) >= 8
    failures = [(href, client.get(href).status_code) for href in links]
    assert [f for f in failures if f[1] != 200] == []
