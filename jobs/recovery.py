"""Re-enqueue work a crashed worker left behind. Every job resumes from what the database recorded."""

from __future__ import annotations

import logging

from rq.job import Job

from jobs.queues import ACTIVE, redis_connection

log = logging.getLogger(__name__)


def _active(job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=redis_connection()).get_status(refresh=True) in ACTIVE
    except Exception:
        return False


def requeue_interrupted() -> list[str]:
    """Start again, for every job kind of the registry, each state row left waiting or running whose job
    is not in the queue (its worker died, or the web process died before enqueueing). Needs an app
    context. Returns the job ids enqueued."""
    from app.extensions import db
    from jobs.registry import KINDS, start

    queued = []
    for kind in KINDS.values():
        if kind.pending is None:
            continue
        for row in kind.pending(db.session).all():
            job_id = kind.job_id(row)
            if job_id not in queued and not _active(job_id):
                start(kind.name, row.id)
                queued.append(job_id)
    if queued:
        log.warning("re-enqueued interrupted jobs: %s", ", ".join(queued))
    return queued
