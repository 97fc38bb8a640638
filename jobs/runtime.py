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
