"""Request-level glue: security headers, session timeout, template filters."""

from __future__ import annotations

import secrets

from flask import Flask, g, request, session

from app.api import is_api_request
from app.services.formatting import format_date, format_datetime, format_money, format_number, format_percent

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Everything is served from the app itself: the users' networks are closed. Scripts: our files and
# inline <script> elements carrying this request's nonce (FAB's templates read it through
# ``csp_nonce()``); no inline handlers, no eval. Styles: FAB's templates and widgets use style=""
# attributes, so style-src keeps 'unsafe-inline' (styles cannot run code).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'nonce-{nonce}'; font-src 'self' data:; frame-ancestors 'self'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)
CSP_STATIC = CSP.replace(" 'nonce-{nonce}'", "")
# Pages and exports carry personal data: no copy in browser or proxy caches (static files excepted).
STATIC_ENDPOINTS = ("static", "appbuilder.static")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
HSTS = "max-age=31536000; includeSubDomains"


def register(app: Flask) -> None:  # noqa: C901
    from app.views import params

    params.register(app)  # bad input (ids, numbers, JSON bodies, FAB's own routes) is a 400/404, never a 500
    from app.views import errors

    errors.register(app)  # every HTTP error in Vietnamese: a page in the layout, or JSON under /api/
    app.jinja_env.filters["vndate"] = format_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.filters["percent"] = format_percent
    app.jinja_env.filters["vndatetime"] = format_datetime

    from flask_login import user_logged_in

    from app.security.manager import SESSION_STAMP_KEY

    @user_logged_in.connect_via(app)
    def _stamp_session(_sender, user, **_kw):
        session[SESSION_STAMP_KEY] = getattr(user, "security_stamp", None)

    def _revoked_session():
        # A browser session signed in before a password, role or unit change of its account ends here.
        # Runs before FAB's own before_request (which sets g.user), so the rest of the request is anonymous.
        if "_user_id" not in session:
            return None
        from flask_login import current_user, logout_user

        user = current_user
        if user.is_authenticated and session.get(SESSION_STAMP_KEY) != getattr(user, "security_stamp", None):
            logout_user()
            session.clear()
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, _revoked_session)

    @app.before_request
    def _session_timeout():
        # PERMANENT_SESSION_LIFETIME is the idle timeout; each request renews it.
        session.permanent = True

    @app.before_request
    def _api_csrf():
        # The REST API accepts the browser session (allow_browser_login) and FAB exempts it from CSRF:
        # a cookie-authenticated write must carry the page's token (X-CSRFToken, from
        # <meta name="csrf-token">), else a cross-site form could run matching, sync, lock or imports.
        # Requests with an Authorization header (JWT) cannot come from a cross-site form: unchanged.
        if request.method in SAFE_METHODS or not is_api_request():
            return None
        if request.headers.get("Authorization"):
            return None
        if "_user_id" not in session:  # no browser identity: nothing to forge (e.g. the JWT login)
            return None
        from app.extensions import csrf

        csrf.protect()  # 400 CSRFError when the token is missing or wrong
        return None

    def csp_nonce() -> str:
        """This request's script nonce (one per request, made on first use)."""
        nonce = g.get("_csp_nonce")
        if nonce is None:
            nonce = g._csp_nonce = secrets.token_urlsafe(18)
        return nonce

    app.jinja_env.globals["csp_nonce"] = csp_nonce
    from app.security.access import is_admin

    app.jinja_env.globals["asxh_is_admin"] = is_admin

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        nonce = g.get("_csp_nonce")
        response.headers.setdefault("Content-Security-Policy", CSP.format(nonce=nonce) if nonce else CSP_STATIC)
        if request.endpoint not in STATIC_ENDPOINTS and "no-store" not in (response.headers.get("Cache-Control") or ""):
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def compile_templates(app: Flask) -> int:
    """Load every HTML template ``app`` can find (its own and its blueprints', FAB's included) into its Jinja
    environment's cache, so that the first request to each page of a new web process does not compile one
    (100-180 ms a page). A template that fails to load is skipped: its page fails as it would have. Returns the
    number loaded."""
    loaded = 0
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        try:
            app.jinja_env.get_template(name)
        except Exception:  # a broken template fails on its own page, not at start-up
            continue
        loaded += 1
    return loaded
