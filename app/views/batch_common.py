"""What the pages of every import batch (beneficiary lists, account lists) show the same way."""
from __future__ import annotations

import json
from collections.abc import Callable

from flask_babel import gettext

from app.extensions import db
from app.security.audit import log_page
from app.security.masking import should_mask
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


def failure_text(batch) -> str | None:
    """Why a batch failed or was not read, in the user's language."""
    if batch.status == "failed" and batch.message:
        try:
            p = json.loads(batch.message)
            return gettext(p["msgid"]) % p.get("params", {})
        except (ValueError, KeyError, TypeError):
            return gettext("The job failed unexpectedly. The registry was not changed; try again or ask an administrator.")
    if batch.status == "duplicate_file":
        return gettext(batch.message) % {"id": batch.duplicate_of_id}
    return None
