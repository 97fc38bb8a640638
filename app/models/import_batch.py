"""Import batches and their staging rows: the database row is the truth of a job."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.services.messages import N_  # marks the labels below; translated when shown

BATCH_STATES = ("uploaded", "parsing", "parsed", "applying", "applied", "failed", "duplicate_file")
BATCH_STATE_LABELS = {
    "uploaded": N_("Waiting"),
    "parsing": N_("Reading file"),
    "parsed": N_("Ready to confirm"),
    "applying": N_("Applying"),
    "applied": N_("Applied"),
    "failed": N_("Failed"),
    "duplicate_file": N_("Same file already imported"),
}


class StagingRow:
    """The columns every staging row shares (beneficiary list, population extract, account list): its place in
    the file, the raw cells, its problems (JSON list of {field, code, msgid, params, severity}) and its outcome
    (error | dup_file, a repeat of ``duplicate_of_row`` | imported | updated | duplicate, unchanged)."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"), nullable=False)
    row_number: Mapped[int] = mapped_column(Integer, nullable=False)
    raw: Mapped[str | None] = mapped_column(Text)
    problems: Mapped[str | None] = mapped_column(Text)
    has_error: Mapped[bool] = mapped_column(nullable=False, default=False)
    outcome: Mapped[str | None] = mapped_column(String(10))
    duplicate_of_row: Mapped[int | None] = mapped_column(Integer)


class ImportBatch(Model):
    """One uploaded file and what became of each of its rows.

    Counters obey rows_total = rows_imported + rows_updated + rows_duplicate + rows_error;
    blank and footer rows are outside rows_total and counted apart.
    """

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="beneficiary")
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    file_hash: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # Kept in the database so that a worker on another machine can read it.
    file_content: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    category: Mapped[str | None] = mapped_column(String(5))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    auto_apply: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="uploaded")
    message: Mapped[str | None] = mapped_column(Text)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    sheet_name: Mapped[str | None] = mapped_column(String(100))
    header_row: Mapped[int | None] = mapped_column(Integer)
    columns_json: Mapped[str | None] = mapped_column(Text)
    rows_parsed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_error: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_blank: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_footer: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_corrected: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_warning: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    unit: Mapped[AdminUnit] = relationship(AdminUnit)

    def __repr__(self) -> str:
        return f"#{self.id} {self.filename}"


class ImportRow(StagingRow, Model):
    """A parsed, validated row of a batch (staging). ``outcome`` is set when the batch is applied
    (or at parse time for errors). ``problems`` is a JSON list of {field, code, msgid, params, severity}."""

    __tablename__ = "import_row"
    __table_args__ = (
        UniqueConstraint("batch_id", "row_number", name="uq_import_row_batch_row"),
        Index("ix_import_row_batch_key", "batch_id", "natural_key"),
    )

    natural_key: Mapped[str | None] = mapped_column(String(220))
    full_name: Mapped[str | None] = mapped_column(String(150))
    name_key: Mapped[str | None] = mapped_column(String(150))
    search_key: Mapped[str | None] = mapped_column(String(150))
    sort_key: Mapped[str | None] = mapped_column(String(400))
    address_key: Mapped[str | None] = mapped_column(String(400))
    cccd: Mapped[str | None] = mapped_column(String(12))
    cmnd: Mapped[str | None] = mapped_column(String(12))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(400))
    commune_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(5))
    policy_code: Mapped[str | None] = mapped_column(String(40))
    monthly_amount: Mapped[int | None] = mapped_column(BigInteger)
    start_month: Mapped[dt.date | None] = mapped_column(Date)
    extra: Mapped[str | None] = mapped_column(Text)
