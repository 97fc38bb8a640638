"""Fixtures of the audit / personal-data tests."""

from __future__ import annotations

import json

import pytest

from tests import factories


def audit_rows(app, **where) -> list[dict]:
    """Audit records (oldest first) whose columns equal ``where``; old/new values decoded."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AuditLog

    with app.app_context():
        stmt = select(AuditLog).order_by(AuditLog.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditLog, key) == value)
        rows = []
        for r in db.session.scalars(stmt):
            rows.append(
                {
                    "id": r.id,
                    "action": r.action,
                    "entity": r.entity,
                    "entity_id": r.entity_id,
                    "user_id": r.user_id,
                    "username": r.username,
                    "remote_addr": r.remote_addr,
                    "source": r.source,
                    "beneficiary_id": r.beneficiary_id,
                    "unit_id": r.unit_id,
                    "detail": r.detail,
                    "old": json.loads(r.old_values) if r.old_values else None,
                    "new": json.loads(r.new_values) if r.new_values else None,
                }
            )
        db.session.rollback()
        return rows


def wipe_audit_log(app) -> None:
    """Empty the audit trail between steps of a test (the maintenance switch of the append-only trigger)."""
    from app.extensions import db
    from app.services.audit import maintenance, reset_anchors

    with app.app_context():
        with maintenance(db.session):
            db.session.execute(db.text("DELETE FROM audit_log"))
        db.session.commit()
    reset_anchors()


@pytest.fixture()
def make_person(scheme_app, world):
    """make_person(commune_code, name, cccd) → id of a new beneficiary with one BTXH enrolment (synthetic), in a
    commune of the test's scheme."""
    from app.extensions import db
    from app.services.audit import audit_actor

    def make(code="00004", name="Nguyễn Văn An", cccd="001045000001", birth_year=1945, sex="M"):
        with scheme_app.app_context(), audit_actor(None, "fixture", "test"):
            return factories.make_person(
                db.session,
                code,
                name,
                scheme=world.scheme,
                enrol={"BTXH": 540000},
                cccd=cccd,
                birth_year=birth_year,
                sex=sex,
                match_status="pending",
            )

    return make


@pytest.fixture()
def login_guard_reset(app):
    """Clear the failed-login counters of this test run before and after the test."""
    from app.security.login import login_guard

    with app.app_context():
        login_guard().clear()
    yield
    with app.app_context():
        login_guard().clear()
