"""Every HTTP error, in Vietnamese, registered once on the app: a page inside the app's layout (menu, a link home
and back to the previous page) or, under /api/, ``{"message": ...}``.

- ``error_response(exc)``: the answer to any ``HTTPException`` (a CSRF failure included); our own descriptions
  (already translated where they were raised) are kept, werkzeug's English defaults are replaced.
- Unexpected exceptions are a 500 without any detail (the traceback goes to the log only).
- The REST API: FAB, its JWT layer and werkzeug answer with fixed English messages (``"Not found"``,
  ``"Not authorized"``, ``"Request is not JSON"``, ...); ``translate_api_message`` replaces them in every
  JSON error answer, so no resource has to override FAB's ``response_4xx`` helpers.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from app.api import is_api_request
from app.services.messages import CONFLICT, N_

log = logging.getLogger(__name__)

TITLES = {
    400: _l("Invalid request"),
    401: _l("Sign-in required"),
    403: _l("No permission"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    409: _l("Conflict"),
    413: _l("File too large"),
    500: _l("System error"),
    503: _l("Service unavailable"),
}
MESSAGES = {
    400: _l("The request is not valid. Check what you entered and try again."),
    401: _l("Not signed in, or the access token is not valid"),
    403: _l("You do not have permission to do this"),
    404: _l("The page or the record you asked for does not exist, or is outside your area."),
    405: _l("This method is not allowed here"),
    413: _l("The file is larger than the allowed size."),
    500: _l("An unexpected error occurred. Try again or ask an administrator."),
}
QUEUE_DOWN = _l(
    "Cannot reach the job queue (Redis). Nothing was lost: what you saved is kept and its job starts when the "
    "queue is back. Try again in a moment or tell the administrator."
)
CSRF_TITLE = _l("The form has expired")
CSRF_MESSAGE = _l("The page was open too long or the form was sent twice. Reload the page and try again.")
OTHER_TITLE = _l("Error")

# The fixed English messages of FAB's REST layer, flask-jwt-extended and werkzeug, as they reach clients.
API_MESSAGES = {
    "Not found": _l("Not found"),
    "Forbidden": MESSAGES[403],
    "Access is Denied": MESSAGES[403],
    "Not authorized": MESSAGES[401],
    "Missing Authorization Header": MESSAGES[401],
    "Token has expired": MESSAGES[401],
    "Token has been revoked": MESSAGES[401],
    "Fresh token required": MESSAGES[401],
    "Arguments are not correct": MESSAGES[400],
    "Could not process entity": MESSAGES[400],
    "Request is not JSON": _l("The request must be JSON"),
    "Request payload is not JSON": _l("The request must be JSON"),
    "Not a valid rison/json argument": _l("The q parameter is not valid"),
    "Not a valid rison argument": _l("The q parameter is not valid"),
    "Internal error": MESSAGES[500],
    "Fatal error": MESSAGES[500],
    "Method Not Allowed": MESSAGES[405],
}
RISON_SCHEMA = "Not a valid rison schema "
# FAB's messages that carry a column or an operation, with the Vietnamese sentence that names the same.
API_PATTERNS = [
    (re.compile(r"Invalid order by column: (?P<column>.*)", re.S), N_("Cannot sort by the column %(column)s")),
    (
        re.compile(r"Filter column: (?P<column>.*) not allowed to filter", re.S),
        N_("Cannot filter by the column %(column)s"),
    ),
    (
        re.compile(r"Filter operation: (?P<operation>.*) not allowed on column: (?P<column>.*)", re.S),
        N_("There is no filter %(operation)s for the column %(column)s"),
    ),
    (
        re.compile(r"Cannot use both select and sel columns", re.S),
        N_("Use only one of the parameters columns or select_columns"),
    ),
    (re.compile(r"Database exception occurred: .*", re.S), CONFLICT),  # never the driver's words
]


def _own_description(exc: HTTPException) -> str | None:
    """The description the raiser gave (ours are translated), not werkzeug's English default."""
    description = exc.description
    if not description or description == type(exc).description or isinstance(exc, CSRFError):
        return None
    return str(description)


def _back_link() -> str | None:
    """The previous page, when it is a page of this site."""
    referrer = request.referrer
    if not referrer:
        return None
    parts = urlsplit(referrer)
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return referrer if referrer != request.url else None


def _page(code: int, title: str, message: str):
    appbuilder = current_app.appbuilder
    if "user" not in g:  # refused before FAB's before_request (CSRF): the menu still needs the user
        from flask_login import current_user

        g.user = current_user
    try:
        return render_template(
            "error.html",
            appbuilder=appbuilder,
            base_template=appbuilder.base_template,
            code=code,
            title=title,
            message=message,
            back=_back_link(),
            home=appbuilder.get_url_for_index,
        ), code
    except Exception:  # the layout needs the database (menu, user): a plain page when even that fails
        log.exception("error page %s could not be rendered in the layout", code)
        title, message = escape(title), escape(message)
        return (
            f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>{title}</title><h1>{title}</h1>"
            f"<p>{message}</p><p><a id='error-home' href='/'>{escape(gettext('Home'))}</a></p></html>",
            code,
            {"Content-Type": "text/html; charset=utf-8"},
        )


def error_response(exc: HTTPException):
    code = exc.code or 500
    if code >= 500:
        from app.extensions import db

        try:
            db.session.rollback()  # whatever failed may have left the transaction unusable for the menu
        except Exception:
            log.exception("rollback after a server error failed")
    if isinstance(exc, CSRFError):
        title, message = str(CSRF_TITLE), str(CSRF_MESSAGE)
    else:
        title = str(TITLES.get(code, OTHER_TITLE))
        message = _own_description(exc) if code < 500 else None
        message = message or str(MESSAGES.get(code, title))
    if is_api_request():
        if code == 404 and not _own_description(exc):
            message = str(API_MESSAGES["Not found"])
        response = jsonify(message=message)
        response.status_code = code
        if code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response
    return _page(code, title, message)


def _server_error(exc: InternalServerError):
    return error_response(exc)


def _queue_unreachable(exc: Exception):
    """Redis down or unreachable, from any page, API call or job start: a 503 that says so in Vietnamese."""
    log.error("job queue unreachable: %s", exc)
    if is_api_request():
        response = jsonify(message=str(QUEUE_DOWN))
        response.status_code = 503
        return response
    return _page(503, str(TITLES[503]), str(QUEUE_DOWN))


def translate_api_message(response):
    """after_request: a JSON error of the REST API carrying one of the fixed English messages gets ours."""
    if response.status_code < 400 or not response.is_json or not is_api_request():
        return response
    data = response.get_json(silent=True)
    if not isinstance(data, dict):
        return response
    message = data.get("message", data.get("msg"))
    if not isinstance(message, str):
        return response
    translated = API_MESSAGES.get(message)
    if translated is None and message.startswith(RISON_SCHEMA):  # without jsonschema's detail, in English
        translated = API_MESSAGES["Not a valid rison argument"]
    for pattern, msgid in API_PATTERNS if translated is None else ():
        found = pattern.fullmatch(message)
        if found:
            translated = gettext(msgid, **found.groupdict())
            break
    if translated is None and response.status_code in (401, 422) and "msg" in data:
        translated = MESSAGES[401]  # flask-jwt-extended: a malformed or unverifiable token, in PyJWT's words
    if translated is None:
        return response
    data.pop("msg", None)  # flask-jwt-extended's key: one key, "message", for every error of the API
    data["message"] = str(translated)
    response.set_data(current_app.json.dumps(data))
    return response


def register(app) -> None:
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(CSRFError, error_response)
    from redis.exceptions import ConnectionError as QueueConnectionError
    from redis.exceptions import TimeoutError as QueueTimeoutError

    app.register_error_handler(QueueConnectionError, _queue_unreachable)
    app.register_error_handler(QueueTimeoutError, _queue_unreachable)
    app.after_request(translate_api_message)
