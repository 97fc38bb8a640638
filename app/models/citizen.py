"""The population registry mirror (Cơ sở dữ liệu quốc gia về dân cư), filled from extract files."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.import_batch import StagingRow
from app.services.messages import N_  # marks the labels below; translated when shown

CITIZEN_STATUSES = ("alive", "deceased", "moved")
CITIZEN_STATUS_LABELS = {"alive": N_("Alive"), "deceased": N_("Deceased"), "moved": N_("Moved away")}
MATCH_RUN_STATES = ("queued", "running", "done", "failed")
MATCH_RUN_STATE_LABELS = {"queued": N_("Waiting"), "running": N_("Running"), "done": N_("Done"), "failed": N_("Failed")}


class Citizen(Model):
    __tablename__ = "citizen"
    __table_args__ = (Index("ix_citizen_fg_year", "fg_key", "birth_year"),)

    cccd: Mapped[str] = mapped_column(String(12), primary_key=True)
    cmnd: Mapped[str | None] = mapped_column(String(12), index=True)
    full_name: Mapped[str] = mapped_column(String(150), nullable=False)
    name_key: Mapped[str] = mapped_column(String(150), nullable=False)
    # Blocking key for candidates without a CCCD: ASCII family name + given name ("nguyen an").
    fg_key: Mapped[str] = mapped_column(String(80), nullable=False)
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(400))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="alive")
    status_date: Mapped[dt.date | None] = mapped_column(Date)
    source_batch_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())


class PopulationRow(StagingRow, Model):
    """Staging for a population extract import (same row-accounting rules as the beneficiary import)."""

    __tablename__ = "population_row"
    __table_args__ = (
        UniqueConstraint("batch_id", "row_number", name="uq_population_row_batch_row"),
        Index("ix_population_row_batch_cccd", "batch_id", "cccd"),
    )

    cccd: Mapped[str | None] = mapped_column(String(12))
    cmnd: Mapped[str | None] = mapped_column(String(12))
    full_name: Mapped[str | None] = mapped_column(String(150))
    name_key: Mapped[str | None] = mapped_column(String(150))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(400))
    commune_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(10))
    status_date: Mapped[dt.date | None] = mapped_column(Date)


class MatchRun(Model):
    """One matching job over a scope; the counts per status are its result."""

    __tablename__ = "match_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="queued")  # queued/running/done/failed
    processed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    counts_json: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
