"""Matching and population-extract jobs."""

from __future__ import annotations

import json

from jobs.runtime import app_context, failure_recorded, report_progress


def match_job_id(run_id: int) -> str:
    return f"match-{run_id}"


def run_match(run_id: int) -> dict:
    """Match the scope of MatchRun ``run_id``. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import MatchRun
        from app.services.registry import matching

        with failure_recorded(MatchRun, run_id, "match run"):
            matching.execute_run(db.session, run_id, progress=report_progress)
        run = db.session.get(MatchRun, run_id)
        if run is None:
            return {}
        if run.status == "done":
            from jobs.duplicates import start_after

            start_after(run.user_id)  # the CCCDs the matching found tell records of one person apart or together
        return {"run_id": run.id, "status": run.status, **json.loads(run.counts_json or "{}")}


def population_job_id(batch_id: int) -> str:
    return f"population-{batch_id}"


def run_population_import(batch_id: int) -> dict:
    """Stage and apply a population extract. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services.registry import importing, population

        session = db.session
        with failure_recorded(ImportBatch, batch_id, "population import"):
            population.parse_population(session, batch_id, progress=report_progress)
            population.apply_population(session, batch_id, progress=report_progress)
        return importing.summary(session.get(ImportBatch, batch_id))
