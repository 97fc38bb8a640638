"""The state row of a background job (ImportBatch, MatchRun, PayoutSyncRun): how a failure is recorded and read.

Every job records its outcome on its row (``status`` ... ``failed``, ``message``, ``finished_at``). A failure is
stored as one translatable :class:`Problem` (msgid + params, JSON) so screens and the API render it in the user's
language; a traceback never goes into the row (the job logs it). Framework-free: jobs/ decides when to call it.
"""
from __future__ import annotations

import json

from sqlalchemy.orm import Session

from app.services.formatting import utc_now
from app.services.messages import N_, Problem

UNEXPECTED = N_("The job stopped on an unexpected error. Try again or ask an administrator.")


def unexpected_problem() -> Problem:
    """What the user is told about a crash: the cause is in the worker's log, not on the screen."""
    return Problem(field=None, code="job_failed", msgid=UNEXPECTED)


def record_failure(session: Session, model, row_id: int, problem: Problem) -> None:
    """Mark row ``row_id`` of ``model`` failed with ``problem``; whatever the job left uncommitted is dropped."""
    session.rollback()
    row = session.get(model, row_id)
    if row is None:
        return
    row.status = "failed"
    row.message = json.dumps(problem.to_dict(), ensure_ascii=False)
    row.finished_at = utc_now()
    session.commit()


def failure_problem(row) -> Problem | None:
    """The problem a failed row records (rows failed before problems were stored as JSON read as a crash)."""
    if row is None or row.status != "failed":
        return None
    try:
        data = json.loads(row.message or "")
        return Problem(field=data.get("field"), code=data["code"], msgid=data["msgid"],
                       params=dict(data.get("params") or {}), severity=data.get("severity", "error"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return unexpected_problem()
