"""What the pages of every import batch (beneficiary lists, account lists) show the same way."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask_babel import gettext

from app.extensions import db
from app.security.audit import log_page
from app.security.masking import should_mask
from app.services.job_state import failure_problem, job_progress
from app.services.masking import mask_cells, mask_ids_in_text

PREVIEW_LINES = 50


def preview_lines(batch, report_lines: Callable) -> list:
    """The first problems of a batch for its page, masked for roles that may not see full numbers."""
    lines = []
    if batch.status in ("parsed", "applied", "applying"):
        for i, line in enumerate(report_lines(db.session, batch.id, gettext)):
            if i >= PREVIEW_LINES:
                break
            lines.append(line)
    log_page("import_batch", [n for n, *_rest in lines], entity_id=batch.id, unit_id=batch.unit_id)  # sheet rows shown
    if should_mask():  # CCCD / CMND / account numbers, for roles without the unmask capability
        fields = [f for _, f in json.loads(batch.columns_json)] if batch.columns_json else []
        lines = [(n, f, lvl, mask_ids_in_text(r), mask_cells(c, fields)) for n, f, lvl, r, c in lines]
    return lines


def failure_text(row) -> str | None:
    """Why a job's state row (import batch, matching run, sync run) failed, or why a batch was not read, in the
    user's language. Rows store a translatable problem, never a traceback (app/services/job_state.py)."""
    problem = failure_problem(row)
    if problem is not None:
        return problem.render(gettext)
    if getattr(row, "status", None) == "duplicate_file":
        return gettext(row.message) % {"id": row.duplicate_of_id}
    return None


def shown_progress(kind: str, row, code_set: str) -> dict:
    """What every progress display of a job's state row shows, pages and their polling JSON and the API alike:
    the row's status, its label and ``job_progress`` (app/services/job_state.py) of the row and its live hint."""
    from app.views.labels import label
    from jobs import registry

    progress = job_progress(row, registry.progress(kind, row))
    return {"status": row.status, "status_label": str(label(code_set, row.status)), "progress": progress.to_dict()}


def period_run_answer(kind: str, run, summary: dict) -> dict:
    """The polling answer of a run on a payout period (``payout_sync``, ``payout_lock``), on the page and in the
    API alike: the run's ``summary``, what its progress display shows, and why it failed."""
    return dict(summary, **shown_progress(kind, run, "payout_run_status"), failure=failure_text(run))
