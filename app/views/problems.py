"""Problems (app/services/messages.Problem) shown to people: the one renderer for pages, flashes and the API.

A problem carries an English msgid and its parameters; it is translated here, at the moment it is shown, in the
language of the request.

The typed refusals of the services map to HTTP statuses here and nowhere else (``REFUSAL_STATUSES``): ``NotFound``
404, ``OutOfScope`` 403, ``Conflict`` 409; any other problem is the caller's to show (a form error, a flash, a
400). Views and the API never compare problem codes (``tests/test_architecture.py``)."""

from __future__ import annotations

from collections.abc import Iterable

from flask import jsonify
from flask_babel import gettext
from werkzeug.exceptions import default_exceptions

from app.services.messages import Conflict, NotFound, Problem
from app.services.scope import OutOfScope

REFUSAL_STATUSES = ((NotFound, 404), (OutOfScope, 403), (Conflict, 409))


def render_problem(problem: Problem) -> str:
    """The message in the request's language."""
    return problem.render(gettext)


def problem_json(problem: Problem) -> dict:
    """The API's form of a problem: the field, a stable code, the translated message and the severity."""
    return {
        "field": problem.field,
        "code": problem.code,
        "message": render_problem(problem),
        "severity": problem.severity,
    }


def render_problems(problems: Iterable[Problem]) -> tuple[list[str], dict[str, list[str]]]:
    """(every distinct message, messages by field), translated: for a form that shows errors next to fields."""
    messages, by_field = [], {}
    for p in problems:
        text = render_problem(p)
        if text not in messages:
            messages.append(text)
        by_field.setdefault(p.field, []).append(text)
    return messages, by_field


def refusal_status(exc: Exception) -> int | None:
    """The HTTP status of a typed refusal, None for a plain problem (``FieldError``) the caller shows itself."""
    return next((status for kind, status in REFUSAL_STATUSES if isinstance(exc, kind)), None)


def refusal_json(exc: Exception, default: int = 400) -> tuple[dict, int]:
    """(body, status) of a refused API request: ``{"message", "problem"}`` with the typed refusal's status, else
    ``default``."""
    problem = problem_json(exc.problem)
    return {"message": problem["message"], "problem": problem}, refusal_status(exc) or default


def raise_refusal(exc: Exception) -> None:
    """On a page: raise the HTTP error of a typed refusal, its message as the description; return for a plain
    problem, which the caller shows (a flash, a form error, a 400)."""
    status = refusal_status(exc)
    if status is not None:
        raise default_exceptions[status](description=render_problem(exc.problem))


def refusal_response(exc: Exception):
    """The app's handler of a typed refusal escaping a view or an endpoint: the session is rolled back; JSON
    under /api/, the HTTP error page elsewhere."""
    from app.api import is_api_request
    from app.extensions import db

    db.session.rollback()
    if is_api_request():
        body, status = refusal_json(exc)
        response = jsonify(**body)
        response.status_code = status
        return response
    from app.views.errors import error_response

    return error_response(default_exceptions[refusal_status(exc)](description=render_problem(exc.problem)))


def register(app) -> None:
    """Answer every typed refusal that escapes a view or an endpoint with its status."""
    for kind, _status in REFUSAL_STATUSES:
        app.register_error_handler(kind, refusal_response)
