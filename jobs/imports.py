"""Import jobs: parse a batch into staging (and apply it when asked), or apply a parsed batch."""

from __future__ import annotations

from jobs.runtime import app_context, failure_recorded, report_progress


def import_job_id(batch_id: int) -> str:
    return f"import-{batch_id}"


def run_import(batch_id: int) -> dict:
    """Parse batch ``batch_id``; apply it too when the batch asks for it. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services.registry import importing

        session = db.session
        with failure_recorded(ImportBatch, batch_id, "import"):
            batch = importing.parse_batch(session, batch_id, progress=report_progress)
            if batch is not None and batch.auto_apply and batch.status in ("parsed", "applying"):
                importing.apply_batch(session, batch_id, progress=report_progress)
                _refresh_derived(session, batch_id)
        return importing.summary(session.get(ImportBatch, batch_id))


def run_apply(batch_id: int) -> dict:
    """Apply a parsed batch to the registry. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services.registry import importing

        with failure_recorded(ImportBatch, batch_id, "apply"):
            importing.apply_batch(db.session, batch_id, progress=report_progress)
            _refresh_derived(db.session, batch_id)
        return importing.summary(db.session.get(ImportBatch, batch_id))


def _refresh_derived(session, batch_id: int) -> None:
    """The bulk apply bypasses the ORM: bring the unit's visit list and case types up to date here."""
    from app.models import ImportBatch
    from app.services import derived

    batch = session.get(ImportBatch, batch_id)
    if batch is not None and batch.status == "applied" and batch.kind == "beneficiary":
        derived.refresh_units(session, [batch.unit])
        session.commit()
        from jobs.duplicates import start_after

        start_after(batch.uploaded_by_id)  # new people may duplicate people already registered
