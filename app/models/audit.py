"""The audit trail: one append-only, hash-chained table.

Rows are written only by ``app.services.audit`` (never through the ORM unit of work):
each row's ``hash`` is SHA-256 over its content and the previous row's hash, and its
``id`` is the previous id + 1, so an edited, deleted or reordered row breaks the chain
(``flask --app run asxh audit-verify``).

No foreign keys on purpose: the trail must outlive the users, people and units it names.
"""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.services.messages import N_  # marks the labels below; translated when shown

# The usual action codes; modules may record others (short lower-case codes, e.g. "approve").
AUDIT_ACTIONS = (
    "create",
    "update",
    "delete",
    "view",
    "export",
    "unmask",
    "login",
    "logout",
    "login_failed",
    "login_locked",
    "bulk",
    "search",
)
AUDIT_ACTION_LABELS = {
    "create": N_("Created"),
    "update": N_("Changed"),
    "delete": N_("Deleted"),
    "view": N_("Viewed"),
    "export": N_("Exported"),
    "unmask": N_("Revealed full numbers"),
    "login": N_("Signed in"),
    "logout": N_("Signed out"),
    "login_failed": N_("Failed sign-in"),
    "login_locked": N_("Sign-in locked"),
    "bulk": N_("Bulk change"),
    "search": N_("Searched by full number"),
}
# Where an action came from: the part of ``source`` before ":" (``cli:import`` → "cli").
AUDIT_SOURCES = ("web", "api", "cli", "job", "system")
AUDIT_SOURCE_LABELS = {
    "web": N_("Web screen"),
    "api": N_("REST API"),
    "cli": N_("Command line"),
    "job": N_("Background job"),
    "system": N_("System"),
}


class AuditLog(Model):
    """Who did what to which record, when and from where; ``old_values`` / ``new_values`` are canonical JSON."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_user_at", "user_id", "at"),
        Index("ix_audit_log_beneficiary", "beneficiary_id"),
        Index("ix_audit_log_unit_at", "unit_id", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
    )

    # Assigned by the chain (previous id + 1) under the append lock, never by a sequence.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)  # UTC, naive
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(128))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))  # web, api, cli:…, job:…, system
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    entity: Mapped[str | None] = mapped_column(String(64))  # table name
    entity_id: Mapped[str | None] = mapped_column(String(64))
    beneficiary_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)
    old_values: Mapped[str | None] = mapped_column(Text)
    new_values: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)

    unit: Mapped[AdminUnit | None] = relationship(
        AdminUnit, primaryjoin="foreign(AuditLog.unit_id) == AdminUnit.id", viewonly=True
    )

    def __repr__(self) -> str:
        return f"#{self.id} {self.action} {self.entity or ''} {self.entity_id or ''}".strip()
