"""Payout jobs: the sync of a period's list for a unit, and the bulk account import. Idempotent, fixed ids."""
from __future__ import annotations

import logging
import traceback

from jobs.runtime import app_context, report_progress

log = logging.getLogger(__name__)


def sync_job_id(period_id: int, unit_id: int) -> str:
    return f"payout-sync-{period_id}-{unit_id}"


def account_import_job_id(batch_id: int) -> str:
    return f"account-import-{batch_id}"


def run_payout_sync(run_id: int) -> dict:
    """Run the sync recorded as PayoutSyncRun ``run_id`` (restricted to its unit). Idempotent: a finished
    run is not repeated."""
    with app_context():
        from app.extensions import db
        from app.models import AdminUnit, PayoutSyncRun
        from app.services import payout
        from app.services.messages import FieldError

        session = db.session
        run = session.get(PayoutSyncRun, run_id)
        if run is None:
            return {}
        if run.status in ("done", "failed"):
            return payout.run_summary(run)
        unit = session.get(AdminUnit, run.unit_id)
        try:
            return payout.sync_payout_list(session, run.period_id, unit, progress=report_progress, run_id=run.id,
                                           user_id=run.user_id)
        except FieldError as exc:
            payout.fail_sync(session, run_id, exc.problem.msgid % exc.problem.params if exc.problem.params
                             else exc.problem.msgid)
            return payout.run_summary(session.get(PayoutSyncRun, run_id))
        except Exception:
            log.exception("payout sync run %s failed", run_id)
            payout.fail_sync(session, run_id, traceback.format_exc())
            raise


def run_account_import(batch_id: int) -> dict:
    """Parse an account list and create the pending accounts. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services import account_import
        from app.services.staging import ImportRefused

        session = db.session
        try:
            batch = account_import.parse_batch(session, batch_id, progress=report_progress)
            if batch is not None and batch.status in ("parsed", "applying"):
                account_import.apply_batch(session, batch_id, progress=report_progress)
        except ImportRefused as exc:
            account_import.fail_batch(session, batch_id, exc.problem)
        except Exception:
            log.exception("account import %s failed", batch_id)
            account_import.fail_batch(session, batch_id, None, traceback.format_exc())
            raise
        return account_import.summary(session.get(ImportBatch, batch_id))


def enqueue_sync(run) -> object:
    """Queue the sync run ``run`` (a PayoutSyncRun) under its fixed job id."""
    from jobs.queues import enqueue_once

    return enqueue_once(run_payout_sync, run.id, job_id=sync_job_id(run.period_id, run.unit_id))
