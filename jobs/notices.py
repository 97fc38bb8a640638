"""Sending the waiting notices through the configured SMS gateway, per unit. Idempotent, fixed id.

No state row of its own: the notices are the state (only ``queued`` ones are sent, each answer is committed at
once), so a job run twice, or started again after a crash, sends nothing twice.
"""

from __future__ import annotations

from jobs.runtime import app_context, failure_recorded, report_progress


def send_notices_job_id(unit_id: int | None) -> str:
    return f"notices-send-{unit_id or 'all'}"


def run_send_notices(unit_id: int | None) -> dict:
    """Send the due notices of unit ``unit_id``'s scope (None: everywhere); nothing when no gateway is set."""
    with app_context():
        from flask import current_app

        from app.extensions import db
        from app.models import AdminUnit
        from app.services.notices import outbox
        from app.services.notices.senders import sender_from_config

        session = db.session
        sender = sender_from_config(current_app.config)
        if sender is None:
            return {"unit_id": unit_id, "gateway": False}
        with failure_recorded(None, unit_id, "send notices"):
            unit = session.get(AdminUnit, unit_id) if unit_id else None
            counts = outbox.send_queued(session, sender, unit)
            report_progress(**counts)
            return {"unit_id": unit_id, "gateway": True, **counts}
