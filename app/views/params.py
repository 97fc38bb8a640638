"""Request input for every screen and REST endpoint, through the one validator (app/services/validation.py).

Bad input is a 400 with a Vietnamese message (``{"message": ...}`` under /api/), never a 500:
- ``id_arg`` / ``int_arg`` / ``ids_arg`` for query and form values, ``json_object`` for JSON bodies;
- ``register(app)`` guards what FAB parses itself: ``<int:pk>`` / ``<pk>`` path ids beyond the database's range
  (404: no such row), unknown row actions (400), FAB's file download route that no view of ours serves (404),
  and as the last line the database refusing a value of a request (out of its range, malformed): 400.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, HTTPException, NotFound

from app.api import is_api_request
from app.services import validation
from app.services.messages import FieldError

log = logging.getLogger(__name__)


def refuse(exc: FieldError):
    """Raise the 400 of a parsing problem, translated."""
    raise BadRequest(exc.problem.render(gettext))


def _raw(name: str, source):
    raw = (request.values if source is None else source).get(name)
    return None if raw is None or not str(raw).strip() else raw


def id_arg(name: str, default: int | None = None, *, source=None) -> int | None:
    """The id in ``?name=`` (or the form): None/default when absent, 400 when it is not an id."""
    raw = _raw(name, source)
    if raw is None:
        return default
    try:
        return validation.parse_id(raw, name)
    except FieldError as exc:
        refuse(exc)


def int_arg(
    name: str,
    default: int | None = None,
    *,
    minimum: int = -validation.MAX_INT,
    maximum: int = validation.MAX_INT,
    source=None,
) -> int | None:
    """A whole number in ``?name=`` (or the form) within [minimum, maximum]: default when absent, else 400."""
    raw = _raw(name, source)
    if raw is None:
        return default
    try:
        return validation.parse_int(raw, name, minimum=minimum, maximum=maximum)
    except FieldError as exc:
        refuse(exc)


def ids_arg(name: str, *, source=None) -> list[int]:
    """Every id of a repeated form / query field (e.g. the ``rowid`` of a row action); 400 when one is not an id."""
    values = (request.form if source is None else source).getlist(name)
    try:
        return validation.parse_ids(values, name)
    except FieldError as exc:
        refuse(exc)


def json_object(*, required: bool = False) -> dict:
    """The JSON body as an object. An empty body is ``{}`` unless ``required``; anything else is a 400."""
    if not request.get_data(cache=True).strip():
        if required:
            raise BadRequest(gettext("A JSON object is required."))
        return {}
    try:
        return validation.parse_object(request.get_json(silent=True, force=True))
    except FieldError as exc:
        refuse(exc)


# --- guards for what FAB parses itself ---------------------------------------------------------------


def _views() -> dict:
    views = current_app.extensions.get("asxh_views")
    if views is None:
        views = {type(v).__name__: v for v in current_app.appbuilder.baseviews}
        current_app.extensions["asxh_views"] = views
    return views


def _integer_pk(view) -> bool:
    datamodel = getattr(view, "datamodel", None)
    model = getattr(datamodel, "obj", None)
    mapper = getattr(model, "__mapper__", None)
    if mapper is None or len(mapper.primary_key) != 1:
        return False
    try:
        return mapper.primary_key[0].type.python_type is int
    except NotImplementedError:
        return False


def _check_rison(value: str) -> None:
    """FAB reads the REST ``q`` argument with prison, which crashes (instead of refusing) on some malformed input,
    e.g. "(((" or "(a:": that is a 400, not a 500. Its own refusals are left to FAB (it then tries JSON)."""
    import prison

    try:
        prison.loads(value)
    except prison.decoder.ParserException:
        return
    except Exception:  # noqa: BLE001 - RecursionError, TypeError, ... from the parser
        raise BadRequest(gettext("The q parameter is not valid")) from None


def _guard():
    if "q" in request.args and is_api_request():
        _check_rison(request.args["q"])
    endpoint = request.endpoint or ""
    view_name, _, method = endpoint.rpartition(".")
    args = request.view_args or {}
    for value in args.values():
        if isinstance(value, int) and not 0 <= value <= validation.MAX_ID:
            raise NotFound()
    view = _views().get(view_name)
    if view is None:
        return
    if isinstance(args.get("pk"), str) and _integer_pk(view) and not validation.is_id(args["pk"]):
        raise NotFound()
    from flask_appbuilder import ModelView

    if not isinstance(view, ModelView):
        return
    if method == "download" and type(view).download is ModelView.download:
        raise NotFound()  # FAB serves uploaded files there; no model of ours has a file column
    if method in ("action", "action_post"):
        name = args.get("name") if method == "action" else request.form.get("action")
        if name not in view.actions:
            raise BadRequest(gettext("Unknown action"))


def _not_an_id(exc: HTTPException):
    """FAB's REST resources route GET by ``<int:pk>`` but PUT/DELETE by ``<pk>``: a GET of ``/resource/x`` was a 405.
    A path whose id cannot exist names no resource: 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in exc.valid_methods or ():
        try:
            _, args = adapter.match(method=method)
        except HTTPException:
            continue
        if isinstance(args.get("pk"), str) and not validation.is_id(args["pk"]):
            return _api_json(NotFound())
    return _api_json(exc)


def _api_json(exc: HTTPException):
    from app.views.errors import error_response

    return error_response(exc)


def _refused_by_database(context):
    """SQLAlchemy ``handle_error``: the database (or its driver) refused a value of a request — an integer beyond
    its range (SQLite raises OverflowError while binding, PostgreSQL a DataError), text where a number belongs, a
    value too long. That is bad input wherever it was parsed (FAB's filters and REST schemas included): a 400."""
    from flask import has_request_context
    from sqlalchemy.exc import DataError

    if not has_request_context():
        return
    if isinstance(context.original_exception, OverflowError) or isinstance(context.sqlalchemy_exception, DataError):
        log.info(
            "input refused by the database on %s: %s",
            request.path,
            str(context.original_exception).splitlines()[0][:200],
        )
        raise BadRequest(gettext("A value is malformed or out of range."))


def register(app) -> None:
    from sqlalchemy import event

    from app.extensions import db

    app.before_request(_guard)
    app.register_error_handler(405, _not_an_id)  # the other codes: app/views/errors.py
    with app.app_context():
        event.listen(db.engine, "handle_error", _refused_by_database)
