"""Content-Security-Policy: no inline code but the scripts carrying the request's nonce, no eval."""

from __future__ import annotations

import re

import pytest

SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)

PAGES = {
    "admin": ["/", "/users/list/", "/users/add", "/swagger/v1", "/auditlogview/list/"],
    "congan.00004": ["/", "/beneficiaryview/list/", "/visits/", "/cases/", "/openingtasks/", "/workgroupview/list/"],
    "phong.001": [
        "/",
        "/importbatchview/list/",
        "/importbatchview/upload/",
        "/matchreviewview/list/",
        "/payoutperiodview/list/",
    ],
}


def _script_src(policy: str) -> str:
    return next(part.strip() for part in policy.split(";") if part.strip().startswith("script-src"))


def test_policy_has_no_unsafe_script_sources(app, client_for):
    response = client_for("canbo.00004").get("/")
    script_src = _script_src(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert re.search(r"'nonce-[A-Za-z0-9_-]{20,}'", script_src)
    other = client_for("canbo.00004").get("/")
    assert _script_src(other.headers["Content-Security-Policy"]) != script_src  # a new nonce per request


@pytest.mark.parametrize("username", sorted(PAGES))
def test_every_inline_script_carries_the_nonce(app, client_for, username):
    client = client_for(username)
    checked = 0
    for url in PAGES[username]:
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        for attrs in SCRIPT.findall(html):
            if "src=" not in attrs:
                assert nonce and f'nonce="{nonce.group(1)}"' in attrs, (url, attrs)
        assert not HANDLER.search(html), (url, HANDLER.search(html).group(0))
        assert not JS_URL.search(html), url
        checked += 1
    assert checked >= 3
