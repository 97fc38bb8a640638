"""The app a job runs in: built once per worker process, before forking."""

from __future__ import annotations

from contextlib import contextmanager

_app = None


def set_app(app) -> None:
    global _app
    _app = app


def get_app():
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


@contextmanager
def app_context():
    from flask import has_app_context

    if has_app_context():
        with _job_actor():
            yield
        return
    with get_app().app_context(), _job_actor():
        yield


@contextmanager
def _job_actor():
    """Inside an RQ job: audit records name the user who enqueued it (see jobs/queues.enqueue_once)."""
    from rq import get_current_job

    from app.services.audit import audit_actor

    job = get_current_job()
    actor = (job.meta or {}).get("audit_actor") if job is not None else None
    if job is None:
        yield
        return
    actor = actor if isinstance(actor, dict) else {}
    with audit_actor(actor.get("user_id"), actor.get("username"), f"job:{job.id}", actor.get("remote_addr")):
        yield


def report_progress(**values) -> None:
    """Live progress in job.meta; the database row stays the truth."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        job.meta.update(values)
        job.save_meta()


@contextmanager
def failure_recorded(model, row_id, what: str):
    """The one failure path of every job. A refusal the domain foresaw (a FieldError or ImportRefused carrying
    a Problem) is recorded on the state row and ends the job normally; any other exception is logged with its
    traceback, recorded on the row as the generic "unexpected error" problem, and re-raised so RQ marks the
    job failed. The traceback never reaches the row, hence never a screen or the API. ``model`` None: a job
    without a state row (it only logs and re-raises)."""
    import logging

    from app.extensions import db
    from app.services.job_state import record_failure, unexpected_problem
    from app.services.messages import FieldError
    from app.services.registry.staging import ImportRefused

    log = logging.getLogger("jobs")
    try:
        yield
    except (FieldError, ImportRefused) as exc:
        if model is None:
            db.session.rollback()
            raise
        log.info("%s %s refused: %s", what, row_id, exc.problem.code)
        record_failure(db.session, model, row_id, exc.problem)
    except Exception:
        log.exception("%s %s failed", what, row_id)
        if model is None:
            db.session.rollback()
        else:
            record_failure(db.session, model, row_id, unexpected_problem())
        raise
