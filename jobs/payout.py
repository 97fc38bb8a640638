"""Payout jobs: the sync of a period's list for a unit, the lock of a period, the bulk account import (account lists and VNeID lists)
and a bank's answer to an account pre-validation request. Idempotent, fixed ids."""

from __future__ import annotations

from jobs.runtime import app_context, failure_recorded, report_progress


def sync_job_id(period_id: int, unit_id: int) -> str:
    return f"payout-sync-{period_id}-{unit_id}"


def lock_job_id(period_id: int) -> str:
    return f"payout-lock-{period_id}"


def account_import_job_id(batch_id: int) -> str:
    return f"account-import-{batch_id}"


def account_check_job_id(batch_id: int) -> str:
    return f"account-check-{batch_id}"


def _run_once(model_name: str, row_id: int, what: str, summary, work, *, mark_running: bool = False) -> dict:
    """The skeleton of a job on a state row of ``model_name`` (app.models) that finishes "done" or "failed":
    reload the row; a finished one is not run again (its ``summary``); ``mark_running`` commits "running"
    first, for a row the work does not mark itself; then ``work(session, row)`` under the one failure path.
    Answers what the work returns, else (None, or refused: the row records why) the summary of the row."""
    with app_context():
        import app.models
        from app.extensions import db
        from app.services.formatting import utc_now

        model = getattr(app.models, model_name)
        session = db.session
        row = session.get(model, row_id)
        if row is None:
            return {}
        if row.status in ("done", "failed"):
            return summary(row)
        if mark_running:
            row.status, row.started_at = "running", utc_now()
            session.commit()  # the page shows the job running
        with failure_recorded(model, row_id, what):
            result = work(session, row)
            if result is not None:
                return result
        return summary(session.get(model, row_id))


def run_payout_sync(run_id: int) -> dict:
    """Run the sync recorded as PayoutSyncRun ``run_id`` (restricted to its unit). Idempotent: a finished
    run is not repeated."""
    from app.services import payout

    def work(session, run):
        return payout.sync_payout_list(
            session, run.period_id, run.unit, progress=report_progress, run_id=run.id, user_id=run.user_id
        )

    return _run_once("PayoutSyncRun", run_id, "payout sync run", payout.run_summary, work)


def run_payout_lock(run_id: int) -> dict:
    """Lock the period of PayoutLockRun ``run_id``. Idempotent: a finished run is not repeated, and the lock
    and the run's "done" are one commit, so a run interrupted anywhere before it locks the period once when
    started again. The refusals are checked again here (the lines may have changed since the request)."""
    from app.services import payout

    def work(session, run):
        payout.lock_period(session, run.period_id, run.user_id, run.unit, run_id=run.id, progress=report_progress)
        # None: the job answers with the run's summary

    return _run_once("PayoutLockRun", run_id, "payout lock run", payout.lock_run_summary, work, mark_running=True)


def run_account_import(batch_id: int) -> dict:
    """Parse an account list and create the pending accounts. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services.payout import account_import

        session = db.session
        with failure_recorded(ImportBatch, batch_id, "account import"):
            batch = account_import.parse_batch(session, batch_id, progress=report_progress)
            if batch is not None and batch.status in ("parsed", "applying"):
                account_import.apply_batch(session, batch_id, progress=report_progress)
                if session.get(ImportBatch, batch_id).status == "applied":
                    from jobs.duplicates import start_after

                    start_after(batch.uploaded_by_id)  # new accounts may be shared by two people
        return account_import.summary(session.get(ImportBatch, batch_id))


def run_account_check(batch_id: int) -> dict:
    """Read a bank's answer file and record one check per account. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services.payout import prevalidation

        session = db.session
        with failure_recorded(ImportBatch, batch_id, "account check"):
            batch = prevalidation.parse_answer(session, batch_id, progress=report_progress)
            if batch is not None and batch.status in ("parsed", "applying"):
                prevalidation.apply_answer(session, batch_id, progress=report_progress)
        return prevalidation.answer_summary(session, session.get(ImportBatch, batch_id))


def verification_job_id(sample_id: int) -> str:
    return f"verification-sample-{sample_id}"


def run_verification_sample(sample_id: int) -> dict:
    """Draw the post-payment verification sample ``sample_id`` and write its tasks. Idempotent: a drawn sample
    is not drawn again; an interrupted draw wrote nothing and starts over."""
    from app.services.payout import verification

    return _run_once(
        "VerificationSample",
        sample_id,
        "verification sample",
        verification.sample_summary,
        lambda session, sample: verification.draw_sample(session, sample.id, progress=report_progress),
    )
