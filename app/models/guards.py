"""Rows that are never deleted: they are ended (or reversed) instead, with who, when and why.

``NEVER_DELETED`` lists the protected models by class name; add a class name to protect another one.
``install_guards()`` hooks every SQLAlchemy ORM session: a flush that would delete a protected row
(``session.delete(row)``, a delete-orphan cascade, a cascaded delete of a parent) raises ``HardDeleteRefused``
and nothing is written. Set-based SQL does not delete these tables either, with one exception: the sync
replaces the stale lines of a payout list that is not locked yet. On PostgreSQL triggers (migration 0010) refuse
a DELETE on beneficiary, enrolment and payment_account, and on the lines of a locked list.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Mapper, Session

# Class names of the models whose rows are never hard-deleted.
NEVER_DELETED: set[str] = {"Beneficiary", "Enrolment", "PaymentAccount", "PayoutLine", "AccountCheck"}


class HardDeleteRefused(Exception):
    """A flush tried to delete a row of a model listed in ``NEVER_DELETED``."""

    def __init__(self, obj):
        super().__init__(
            f"{type(obj).__name__} rows are never deleted: end them instead (id {getattr(obj, 'id', None)})"
        )
        self.obj = obj


def refuse_protected_deletes(session: Session, flush_context=None, instances=None) -> None:
    for obj in session.deleted:
        if type(obj).__name__ in NEVER_DELETED:
            raise HardDeleteRefused(obj)


def _refuse_row_delete(mapper, connection, target) -> None:
    # Inside the flush: also catches delete-orphan cascades, which before_flush cannot see.
    if type(target).__name__ in NEVER_DELETED:
        raise HardDeleteRefused(target)


_installed = False


def install_guards() -> None:
    """Idempotent: register the listener on every Session (the app's scoped session, jobs, CLI, tests)."""
    global _installed
    if not _installed:
        event.listen(Session, "before_flush", refuse_protected_deletes)
        event.listen(Mapper, "before_delete", _refuse_row_delete)
        _installed = True
