"""Matching and population-extract jobs."""
from __future__ import annotations

import logging
import traceback

from app.services.staging import ImportRefused
from jobs.runtime import app_context, report_progress

log = logging.getLogger(__name__)


def match_job_id(run_id: int) -> str:
    return f"match-{run_id}"


def run_match(run_id: int) -> dict:
    """Match the scope of MatchRun ``run_id``. Idempotent."""
    import json

    with app_context():
        from app.extensions import db
        from app.models import MatchRun
        from app.services import matching

        try:
            run = matching.execute_run(db.session, run_id, progress=report_progress)
        except Exception:
            log.exception("match run %s failed", run_id)
            db.session.rollback()
            run = db.session.get(MatchRun, run_id)
            run.status, run.message = "failed", traceback.format_exc()[-2000:]
            db.session.commit()
            raise
        return {"run_id": run.id, "status": run.status, **json.loads(run.counts_json or "{}")}


def population_job_id(batch_id: int) -> str:
    return f"population-{batch_id}"


def run_population_import(batch_id: int) -> dict:
    """Stage and apply a population extract. Idempotent."""
    with app_context():
        from app.extensions import db
        from app.models import ImportBatch
        from app.services import importing, population

        session = db.session
        try:
            population.parse_population(session, batch_id, progress=report_progress)
            population.apply_population(session, batch_id, progress=report_progress)
        except ImportRefused as exc:
            importing.fail_batch(session, batch_id, exc.problem)
        except Exception:
            log.exception("population import %s failed", batch_id)
            importing.fail_batch(session, batch_id, None, traceback.format_exc())
            raise
        return importing.summary(session.get(ImportBatch, batch_id))
