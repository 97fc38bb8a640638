"""The duplicate finder job: one at a time over the whole registry (pairs cross communes and districts)."""

from __future__ import annotations

import json

from jobs.runtime import app_context, failure_recorded, report_progress

#: One finder at a time, whichever run row asked for it: a second run started while one runs would mark the
#: other's pairs stale.
FIND_DUPLICATES_JOB_ID = "find-duplicates"


def find_duplicates_job_id(run_id: int) -> str:
    return FIND_DUPLICATES_JOB_ID


def run_find_duplicates(run_id: int) -> dict:
    """Find the duplicate pairs for DuplicateRun ``run_id``. Idempotent: a finished run is not repeated."""
    with app_context():
        from app.extensions import db
        from app.models import DuplicateRun
        from app.services.registry import duplicates

        with failure_recorded(DuplicateRun, run_id, "duplicate finder"):
            duplicates.execute_run(db.session, run_id, progress=report_progress)
        run = db.session.get(DuplicateRun, run_id)
        if run is None:
            return {}
        return {"run_id": run.id, "status": run.status, **json.loads(run.counts_json or "{}")}


def start_after(user_id: int | None = None) -> None:
    """Ask for a run after an import or a matching changed the registry (inside an app context; commits)."""
    from app.extensions import db
    from app.services.registry import duplicates
    from jobs import registry

    run = duplicates.request_run(db.session, user_id)
    db.session.commit()
    registry.start("find_duplicates", run.id)
