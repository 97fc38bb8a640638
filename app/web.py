"""Request-level glue: security headers, session timeout, template filters."""
from __future__ import annotations

from flask import Flask, session

from app.services.formatting import format_date, format_money, format_number

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    # Everything is served from the app itself: the users' networks are closed.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'; font-src 'self' data:",
}


def register(app: Flask) -> None:
    app.jinja_env.filters["vndate"] = format_date
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["number"] = format_number

    @app.before_request
    def _session_timeout():
        # PERMANENT_SESSION_LIFETIME is the idle timeout; each request renews it.
        session.permanent = True

    @app.after_request
    def _security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
