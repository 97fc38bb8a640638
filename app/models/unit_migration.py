"""Moving the data from one scheme of administrative units to the next (2024 → 2025): the run's state row and
the review list of people whose new commune the migration could not decide."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.services.messages import N_  # marks the labels below; translated when shown

UNIT_MIGRATION_STATUSES = ("queued", "running", "done", "failed")
UNIT_REVIEW_STATUSES = ("open", "resolved")
#: Why a person was left for review (UnitReview.reason).
UNIT_REVIEW_REASONS = ("no_match", "several_match", "no_successor")
UNIT_REVIEW_REASON_LABELS = {
    "no_match": N_("The address names no part of a candidate commune"),
    "several_match": N_("The address names parts of several candidate communes"),
    "no_successor": N_("The old unit has no single successor"),
}


class UnitMigration(Model):
    """One migration from ``from_scheme`` to ``to_scheme``: a single row per pair (the job's fixed id comes from
    it), so running the command again finds the run already done and changes nothing."""

    __tablename__ = "unit_migration"
    __table_args__ = (UniqueConstraint("from_scheme", "to_scheme", name="uq_unit_migration_schemes"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_scheme: Mapped[str] = mapped_column(String(4), nullable=False)
    to_scheme: Mapped[str] = mapped_column(String(4), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="queued")  # queued/running/done/failed
    processed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    counts_json: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class UnitReview(Model):
    """A person of a commune split among several new communes whose address did not decide which one: parked at
    the city of the new scheme (the city department's scope) until the department picks one of ``candidates``."""

    __tablename__ = "unit_review"
    __table_args__ = (UniqueConstraint("migration_id", "beneficiary_id", name="uq_unit_review_person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    migration_id: Mapped[int] = mapped_column(ForeignKey("unit_migration.id"), nullable=False, index=True)
    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiary.id", ondelete="CASCADE"), nullable=False, index=True
    )
    old_commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False)
    candidates: Mapped[str] = mapped_column(String(200), nullable=False)  # new commune codes, space-separated
    address: Mapped[str | None] = mapped_column(String(400))
    reason: Mapped[str] = mapped_column(String(20), nullable=False)  # UNIT_REVIEW_REASONS
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    resolved_commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    old_commune: Mapped[AdminUnit] = relationship(AdminUnit, foreign_keys=[old_commune_id])
