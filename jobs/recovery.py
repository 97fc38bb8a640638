"""Re-enqueue work a crashed worker left behind. Every job resumes from what the database recorded."""
from __future__ import annotations

import logging

from rq.job import Job

from jobs.queues import ACTIVE, enqueue_once, redis_connection

log = logging.getLogger(__name__)


def _active(job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=redis_connection()).get_status(refresh=True) in ACTIVE
    except Exception:
        return False


def requeue_interrupted() -> list[str]:
    """Enqueue again every import batch (beneficiaries, population extract, accounts), matching run and
    payout sync run that is neither finished nor waiting in the queue (its worker died). Needs an app
    context. Returns the job ids enqueued."""
    from app.extensions import db
    from app.models import ImportBatch, MatchRun, PayoutSyncRun
    from jobs.imports import import_job_id, run_apply, run_import
    from jobs.matching import match_job_id, population_job_id, run_match, run_population_import
    from jobs.payout import account_import_job_id, run_account_import, run_payout_sync, sync_job_id

    queued = []
    for batch in db.session.query(ImportBatch).filter(ImportBatch.status.in_(("uploaded", "parsing", "applying"))):
        if batch.kind == "population":
            func, job_id = run_population_import, population_job_id(batch.id)
        elif batch.kind == "beneficiary":
            func, job_id = (run_apply if batch.status == "applying" else run_import), import_job_id(batch.id)
        elif batch.kind == "account":
            func, job_id = run_account_import, account_import_job_id(batch.id)
        else:
            continue
        if not _active(job_id):
            enqueue_once(func, batch.id, job_id=job_id)
            queued.append(job_id)
    for run in db.session.query(MatchRun).filter(MatchRun.status.in_(("queued", "running"))):
        job_id = match_job_id(run.id)
        if not _active(job_id):
            enqueue_once(run_match, run.id, job_id=job_id)
            queued.append(job_id)
    for run in db.session.query(PayoutSyncRun).filter(PayoutSyncRun.status.in_(("queued", "running"))):
        job_id = sync_job_id(run.period_id, run.unit_id)
        if not _active(job_id):
            enqueue_once(run_payout_sync, run.id, job_id=job_id)
            queued.append(job_id)
    if queued:
        log.warning("re-enqueued interrupted jobs: %s", ", ".join(queued))
    return queued
