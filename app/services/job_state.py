"""The state row of a background job (ImportBatch, MatchRun, PayoutSyncRun): how a failure is recorded and read.

Every job records its outcome on its row (``status`` ... ``failed``, ``message``, ``finished_at``). A failure is
stored as one translatable :class:`Problem` (msgid + params, JSON) so screens and the API render it in the user's
language; a traceback never goes into the row (the job logs it). Framework-free: jobs/ decides when to call it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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


def reopen_failed(session: Session, model, row_id: int, status: str) -> bool:
    """Put a failed row back to ``status`` (the first status of its job), its problem cleared, so that the job
    started again does its work; False (nothing changed) unless the row is failed. The caller commits."""
    row = session.get(model, row_id)
    if row is None or row.status != "failed":
        return False
    row.status = status
    row.message = None
    row.finished_at = None
    return True


def failure_problem(row) -> Problem | None:
    """The problem a failed row records (rows failed before problems were stored as JSON read as a crash)."""
    if row is None or row.status != "failed":
        return None
    try:
        data = json.loads(row.message or "")
        return Problem(
            field=data.get("field"),
            code=data["code"],
            msgid=data["msgid"],
            params=dict(data.get("params") or {}),
            severity=data.get("severity", "error"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return unexpected_problem()


# --- what a progress display shows -------------------------------------------------------------------------------

WAITING = frozenset({"queued", "uploaded"})  # the job has not started on the row yet
RUNNING = frozenset({"running", "parsing", "applying"})
SYNC_STEPS = 3  # a payout sync reports steps 1..3 (app/services/payout.py)
LOCK_STEPS = 3  # a payout lock reports steps 1..3 (app/services/payout/periods.py)


@dataclass(frozen=True)
class JobProgress:
    """How far a job's state row is, as every screen and the API show it.

    ``phase``: waiting, running, finished or failed, from the row's status only. ``percent``: 0 while waiting,
    100 once finished, None when unknown (no total, or failed: the bar is then a plain striped bar); while running
    it stays below 100 whatever the live hint says, since only the row's status says the job is done."""

    phase: str
    done: int | None
    total: int | None

    @property
    def active(self) -> bool:
        return self.phase in ("waiting", "running")

    @property
    def percent(self) -> int | None:
        if self.phase == "waiting":
            return 0
        if self.phase == "finished":
            return 100
        if self.phase == "running" and self.total:
            return max(0, min(99, 100 * (self.done or 0) // self.total))
        return None

    def to_dict(self) -> dict:
        return {
            "phase": self.phase,
            "active": self.active,
            "done": self.done,
            "total": self.total,
            "percent": self.percent,
        }


def _counts(row, live: dict) -> tuple[int | None, int | None]:
    """Work done and the whole of it: the live hint of the running job, else what the row recorded."""
    kind = type(row).__name__
    if kind == "PayoutSyncRun":
        return live.get("step", 0), SYNC_STEPS
    if kind == "PayoutLockRun":
        return live.get("step", 0), LOCK_STEPS
    if kind == "MatchRun":
        return live.get("rows", row.processed), live.get("total") or row.total
    return live.get("rows", getattr(row, "rows_parsed", None)), None  # an import: the file's size is unknown


def job_progress(row, live: dict | None = None) -> JobProgress:
    """The one rule from a state row (ImportBatch, MatchRun, PayoutSyncRun) and its job's live hint (job meta) to
    what is displayed. The row's status decides the phase; the hint counts only while the row says the job runs
    (a hint left by an earlier job of the same fixed id never makes a waiting row look done)."""
    status = getattr(row, "status", None)
    if status in WAITING:
        return JobProgress("waiting", 0, _counts(row, {})[1])
    if status in RUNNING:
        done, total = _counts(row, live or {})
        if total and done is not None:
            done = min(done, total)
        return JobProgress("running", done, total)
    if status == "failed":
        return JobProgress("failed", None, None)
    done, total = _counts(row, {})
    return JobProgress("finished", total if total else done, total)
