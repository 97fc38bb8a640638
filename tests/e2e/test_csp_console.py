"""The main pages of several roles run under the Content-Security-Policy without a console error."""

from __future__ import annotations

PAGES = {
    "admin": ["/", "/users/list/", "/users/add", "/swagger/v1"],
    "congan.00004": ["/", "/beneficiaryview/list/", "/visits/", "/cases/", "/openingtasks/", "/workgroupview/list/"],
    "phong.001": [
        "/",
        "/importbatchview/list/",
        "/importbatchview/upload/",
        "/matchreviewview/list/",
        "/payoutperiodview/list/",
        "/campaignview/list/",
    ],
}


def test_no_console_errors_or_csp_violations(app, as_user):
    problems = []
    for username, urls in PAGES.items():
        s = as_user(username)
        s.page.on("console", lambda m, u=username, p=s.page: m.type == "error" and problems.append((u, p.url, m.text)))
        s.page.on("pageerror", lambda e, u=username, p=s.page: problems.append((u, p.url, str(e))))
        for url in urls:
            response = s.go(url)
            assert response is not None and response.status < 400, (username, url)
            s.page.wait_for_load_state("networkidle")
            if url.startswith("/swagger"):  # Swagger UI drew the API (its inline start-up script ran)
                s.page.wait_for_selector(".opblock")
            else:  # jQuery ran (FAB's scripts are nonce'd): the page's own code is alive
                assert s.page.evaluate("typeof window.jQuery") == "function", (username, url)
    assert problems == []
