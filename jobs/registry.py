"""Every kind of background job, in one table: its function, its fixed job id, its state row and how to find
the rows a dead worker left behind. Views, the API, the CLI and recovery start jobs only through ``start``.

Job ids are fixed per state row (per period and unit for a payout sync), so starting the same work twice
while it waits or runs enqueues it once (``jobs/queues.enqueue_once``). The state row is the truth; the
job's meta (``progress``) is only a live hint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobs.cases import classify_job_id, run_classify
from jobs.duplicates import find_duplicates_job_id, run_find_duplicates
from jobs.imports import import_job_id, run_apply, run_import
from jobs.matching import match_job_id, population_job_id, run_match, run_population_import
from jobs.notices import run_send_notices, send_notices_job_id
from jobs.payout import (
    account_check_job_id,
    account_import_job_id,
    lock_job_id,
    run_account_check,
    run_account_import,
    run_payout_lock,
    run_payout_sync,
    run_verification_sample,
    sync_job_id,
    verification_job_id,
)
from jobs.queues import enqueue_once, failed_job, job_progress
from jobs.units import run_unit_migration, unit_migration_job_id

BATCH_PENDING = ("uploaded", "parsing", "applying")
RUN_PENDING = ("queued", "running")


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable[[Any], dict]  # run_<noun>(row_id): idempotent, resumes from the state row
    model: str | None  # the state row's model (app.models), None for a job without one
    job_id: Callable[[Any], str]  # the fixed job id, from the state row (or the argument when there is none)
    pending: Callable[[Any], Any] | None = None  # session -> rows left waiting or running, to start again
    pending_statuses: tuple = ()  # the row statuses during which the job is (or should be) in the queue
    retry_status: str | None = None  # the status a failed row goes back to when its failed job is started again

    def row_model(self):
        import app.models

        return getattr(app.models, self.model) if self.model else None


def _batches(kind: str | tuple[str, ...], statuses: tuple):
    kinds = (kind,) if isinstance(kind, str) else kind

    def pending(session):
        from app.models import ImportBatch

        return (
            session.query(ImportBatch)
            .filter(ImportBatch.kind.in_(kinds), ImportBatch.status.in_(statuses))
            .order_by(ImportBatch.id)
        )

    return pending


def _runs(model_name: str):
    def pending(session):
        import app.models

        model = getattr(app.models, model_name)
        return session.query(model).filter(model.status.in_(RUN_PENDING)).order_by(model.id)

    return pending


KINDS: dict[str, JobKind] = {
    k.name: k
    for k in (
        # A beneficiary list: parse into staging (and apply when asked); "applying" resumes with the apply job.
        # Both share the batch's job id: a batch never parses and applies at the same time.
        JobKind(
            "import",
            run_import,
            "ImportBatch",
            lambda b: import_job_id(b.id),
            _batches("beneficiary", ("uploaded", "parsing")),
            BATCH_PENDING,
            "uploaded",
        ),
        JobKind(
            "import_apply",
            run_apply,
            "ImportBatch",
            lambda b: import_job_id(b.id),
            _batches("beneficiary", ("applying",)),
            BATCH_PENDING,
            "applying",
        ),
        JobKind(
            "population",
            run_population_import,
            "ImportBatch",
            lambda b: population_job_id(b.id),
            _batches("population", BATCH_PENDING),
            BATCH_PENDING,
            "uploaded",
        ),
        JobKind(
            "account_import",
            run_account_import,
            "ImportBatch",
            lambda b: account_import_job_id(b.id),
            _batches(("account", "vneid"), BATCH_PENDING),  # an account list or a VNeID list: one machinery
            BATCH_PENDING,
            "uploaded",
        ),
        # A bank's answer to a pre-validation request: read, then record one check per account.
        JobKind(
            "account_check",
            run_account_check,
            "ImportBatch",
            lambda b: account_check_job_id(b.id),
            _batches("account_check", BATCH_PENDING),
            BATCH_PENDING,
            "uploaded",
        ),
        JobKind("match", run_match, "MatchRun", lambda r: match_job_id(r.id), _runs("MatchRun"), RUN_PENDING, "queued"),
        # Duplicate pairs over the whole registry: one finder at a time (a fixed id whatever the row).
        JobKind(
            "find_duplicates",
            run_find_duplicates,
            "DuplicateRun",
            lambda r: find_duplicates_job_id(r.id),
            _runs("DuplicateRun"),
            RUN_PENDING,
            "queued",
        ),
        # One sync per period and unit at a time, whichever run row asked for it.
        JobKind(
            "payout_sync",
            run_payout_sync,
            "PayoutSyncRun",
            lambda r: sync_job_id(r.period_id, r.unit_id),
            _runs("PayoutSyncRun"),
            RUN_PENDING,
            "queued",
        ),
        # One lock per period at a time, whichever run row asked for it.
        JobKind(
            "payout_lock",
            run_payout_lock,
            "PayoutLockRun",
            lambda r: lock_job_id(r.period_id),
            _runs("PayoutLockRun"),
            RUN_PENDING,
            "queued",
        ),
        # The move from one scheme of units to the next: one row (and one job id) per pair of schemes.
        JobKind(
            "migrate_units",
            run_unit_migration,
            "UnitMigration",
            lambda r: unit_migration_job_id(r.from_scheme, r.to_scheme),
            _runs("UnitMigration"),
            RUN_PENDING,
            "queued",
        ),
        # The draw of a large post-payment verification sample: one job per sample row.
        JobKind(
            "verification_sample",
            run_verification_sample,
            "VerificationSample",
            lambda r: verification_job_id(r.id),
            _runs("VerificationSample"),
            RUN_PENDING,
            "queued",
        ),
        # Recomputes derived columns for a unit (None: everywhere); no state row, nothing to recover.
        JobKind("classify", run_classify, None, classify_job_id),
        # Sends the due notices of a unit (None: everywhere) through the gateway; the notices are the state.
        JobKind("send_notices", run_send_notices, None, send_notices_job_id),
    )
}


def _row(kind: JobKind, row_id):
    from app.extensions import db

    model = kind.row_model()
    if model is None:
        return row_id
    row = db.session.get(model, row_id)
    if row is None:
        raise LookupError(f"{kind.model} {row_id} does not exist")
    return row


def job_id(kind: str, row_id) -> str:
    """The fixed job id of ``kind`` for state row ``row_id``."""
    k = KINDS[kind]
    return k.job_id(_row(k, row_id))


def start(kind: str, row_id):
    """Enqueue the job of ``kind`` for state row ``row_id`` (committed by the caller) under its fixed id.
    Idempotent: while that job waits or runs, nothing more is enqueued. Needs an app context."""
    k = KINDS[kind]
    return enqueue_once(k.func, row_id, job_id=k.job_id(_row(k, row_id)))


def progress(kind: str, row) -> dict:
    """The live hint (job meta) of a row whose status says its job is waiting or running, else {}."""
    k = KINDS[kind]
    if row is None or row.status not in k.pending_statuses:
        return {}
    return job_progress(k.job_id(row))


def run_here(kind: str, row_id):
    """Run the job of ``kind`` in this process, without the queue (a CLI command that prints the result);
    the same function, hence the same failure path, as in a worker."""
    return KINDS[kind].func(row_id)


def kind_of(func_name: str) -> JobKind | None:
    """The kind whose function an RQ job runs (by its dotted name), None for a job not in the table."""
    for kind in KINDS.values():
        if f"{kind.func.__module__}.{kind.func.__name__}" == func_name:
            return kind
    return None


def retry_failed(job_id: str):
    """Start again, through ``start``, the failed job ``job_id`` (its kind and state row read from the job): a
    failed state row first goes back to the kind's ``retry_status`` (committed) so that the job does its work.
    Returns the new job, or None when no failed job of a known kind has that id. Needs an app context."""
    job = failed_job(job_id)
    if job is None or len(job.args or ()) != 1:
        return None
    kind = kind_of(job.func_name)
    if kind is None:
        return None
    model = kind.row_model()
    if model is not None and kind.retry_status is not None:
        from app.extensions import db
        from app.services.job_state import reopen_failed

        if reopen_failed(db.session, model, job.args[0], kind.retry_status):
            db.session.commit()
    return start(kind.name, job.args[0])  # the fixed id: the failed job is replaced (enqueue_once)
