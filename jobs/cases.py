"""Case-type classification as a job: recompute Beneficiary.case_type for a unit's scope. Idempotent."""

from __future__ import annotations

from jobs.runtime import app_context, failure_recorded, report_progress


def classify_job_id(unit_id: int | None) -> str:
    return f"classify-{unit_id or 'all'}"


def run_classify(unit_id: int | None) -> dict:
    """Classify every beneficiary under unit ``unit_id`` (None: everywhere); returns the counts per type.
    No state row: the case types themselves are the result, and a rerun recomputes them."""
    with app_context():
        from app.extensions import db
        from app.models import AdminUnit
        from app.services import cases

        session = db.session
        with failure_recorded(None, unit_id, "classify"):
            unit = session.get(AdminUnit, unit_id) if unit_id else None
            touched = cases.classify_cases(session, unit)
            session.commit()
            report_progress(rows=touched)
            total = cases.totals(cases.case_counts(session, unit, level=unit.level if unit is not None else None))
            return {"unit_id": unit_id, "rows": touched, "counts": total["counts"], "total": total["total"]}
