"""Database errors never reach a user as SQL: one generic 409 for conflicts, registered once on the app.

- ``register_error_handlers(app)``: an ``IntegrityError`` escaping any view or API is answered as a
  ``Conflict`` (409, a Vietnamese message, JSON under /api/); the session is rolled back. A refused hard delete
  (``HardDeleteRefused``) becomes a 409 too. The typed refusals of the services (``NotFound``, ``OutOfScope``,
  ``Conflict``) are answered by app/views/problems.py, the one map from refusal to status.
- ``SafeSQLAInterface``: FAB's data interface whose add/edit/delete turn a uniqueness violation into
  ``ConflictError`` (FAB screens then show only our message, never ``str(IntegrityError)``); with
  ``SafeWritesApiMixin`` on a ``ModelRestApi`` it answers 409 instead of FAB's 422 carrying the SQL.
- ``problem_message(problem)``: "<field label>: <message>" for a service ``Problem``.
"""

from __future__ import annotations

from flask import jsonify
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.api import is_api_request
from app.models.guards import HardDeleteRefused
from app.services.messages import CONFLICT, Conflict
from app.views import problems
from app.views.problems import render_problem

FIELD_LABELS = {
    "full_name": _l("Full name"),
    "cccd": _l("CCCD"),
    "cmnd": _l("Old ID (CMND)"),
    "date_of_birth": _l("Date of birth"),
    "birth_year": _l("Birth year"),
    "sex": _l("Sex"),
    "address": _l("Address"),
    "commune_id": _l("Commune"),
    "commune": _l("Commune"),
    "reason": _l("Reason"),
    "category": _l("Category"),
    "beneficiary": _l("Beneficiary"),
}
NOT_DELETED = _l("Beneficiaries and enrolments are never deleted: end them with a reason instead.")


def problem_message(problem) -> str:
    label = FIELD_LABELS.get(problem.field)
    text = render_problem(problem)
    return f"{label}: {text}" if label is not None else text


class ConflictError(Exception):
    """A uniqueness violation, without the database's words. Not a FAB ``DatabaseException``, so FAB's REST
    handlers (which answer 422 with the driver's message) let it through to ``SafeWritesApiMixin`` (409);
    FAB's screens flash ``str()`` of it."""

    def __str__(self) -> str:
        return gettext(CONFLICT)


class SafeWritesApiMixin:
    """For a ``ModelRestApi`` whose ``datamodel`` is a ``SafeSQLAInterface``: a conflict answers 409."""

    def _conflict_409(self, call, *args):
        try:
            return call(*args)
        except ConflictError:
            from app.extensions import db

            db.session.rollback()
            return self.response(409, message=gettext(CONFLICT))

    def post_headless(self):
        return self._conflict_409(super().post_headless)

    def put_headless(self, pk):
        return self._conflict_409(super().put_headless, pk)

    def delete_headless(self, pk):
        return self._conflict_409(super().delete_headless, pk)


class SafeSQLAInterface(SQLAInterface):
    def _guard(self, fn, item, commit):
        try:
            return fn(item, commit)
        except (IntegrityError, DatabaseException) as exc:
            cause = exc if isinstance(exc, IntegrityError) else exc.__cause__
            if isinstance(cause, IntegrityError):
                self.session.rollback()
                raise ConflictError() from None
            raise
        except HardDeleteRefused:
            self.session.rollback()
            raise DatabaseException(str(NOT_DELETED)) from None

    def add(self, item, commit: bool = True) -> None:
        return self._guard(super().add, item, commit)

    def edit(self, item, commit: bool = True) -> None:
        return self._guard(super().edit, item, commit)

    def delete(self, item, commit: bool = True) -> None:
        return self._guard(super().delete, item, commit)


def _conflict_response(message: str):
    from app.extensions import db

    db.session.rollback()
    if is_api_request():
        response = jsonify(message=message)
        response.status_code = 409
        return response
    return message, 409, {"Content-Type": "text/plain; charset=utf-8"}


def register_error_handlers(app) -> None:
    @app.errorhandler(IntegrityError)
    def _integrity(_exc):
        return problems.refusal_response(Conflict())  # the same generic answer as a refused write

    @app.errorhandler(HardDeleteRefused)
    def _no_delete(_exc):
        return _conflict_response(str(NOT_DELETED))

    problems.register(app)
