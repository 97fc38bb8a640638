"""Payout: base levels and category rules (data with effective dates), payout periods, their lines
(one per enrolment per period, a snapshot), sync runs, exports and bank result imports."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
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
    text,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.models.import_batch import StagingRow
from app.services.messages import N_  # marks the labels below; translated when shown

PERIOD_STATES = ("draft", "synced", "approved", "locked", "handed_over", "paid")
LINE_CHANNELS = ("account", "cash", "proxy", "held")
#: ``carried`` and ``cancelled`` lines no longer pay anything (see INACTIVE_RESULTS). ``partial``: part of the
#: amount reached the person (``paid_amount``), the rest is owed; ``reversed``: a payment the bank reported paid
#: came back (found in a later result file), the whole line is owed again.
LINE_RESULTS = ("pending", "paid", "partial", "failed", "reversed", "carried", "cancelled")
#: Results after which something is still owed: the follow-up list, carried into a later period.
OWED_RESULTS = ("partial", "failed", "reversed")
#: Lines paid to the person in hand (the signed receipt is recorded with the result).
HAND_CHANNELS = ("cash", "proxy")
INACTIVE_RESULTS = ("carried", "cancelled")
#: A line in payment: not held, waiting for its result. At most one per enrolment and benefit month across all
#: periods (the partial unique index below). Whether a month is paid is a matter of amounts (what reached the
#: person against what the month is worth: ``app/services/payout/backpay.py``): a failed or reversed line paid
#: nothing, a partial line part of it; the sync pays the rest as back pay (arrears), one line at a time.
IN_PAYMENT_LINE_SQL = "channel <> 'held' AND result_status = 'pending'"
#: What a line pays: the period's own month, or an earlier month owed (back pay, "truy lĩnh").
LINE_KINDS = ("regular", "arrears")
LINE_KIND_LABELS = {"regular": N_("This month"), "arrears": N_("Back pay")}
#: Why a line is held: the person's hold (deceased, moved, mismatch), an identity not confirmed by the
#: matching (not_matched = pending, needs_review, possible_duplicate, not_found), no CCCD, no amount;
#: duplicate_month: a legacy line cancelled because another period already paid that month; duplicate_review /
#: duplicate_person: the later enrolled person of an open duplicate pair, or of one decided to be the same person.
HOLD_REASONS = (
    "deceased",
    "moved",
    "mismatch",
    "not_matched",
    "needs_review",
    "possible_duplicate",
    "not_found",
    "no_cccd",
    "no_amount",
    "duplicate_month",
    "duplicate_review",
    "duplicate_person",
    "account_name_mismatch",
    "account_closed",
    "account_not_prevalidated",
)
#: The states of a run on a period (``PeriodRunMixin``): a sync or a lock.
PAYOUT_RUN_STATES = ("queued", "running", "done", "failed")
PERIOD_STATE_LABELS = {
    "draft": N_("Draft"),
    "synced": N_("Synced"),
    "approved": N_("Approved, waiting for the lock"),
    "locked": N_("Locked and approved"),
    "handed_over": N_("Handed over"),
    "paid": N_("Paid and reconciled"),
}
LINE_CHANNEL_LABELS = {"account": N_("Bank account"), "cash": N_("Cash"), "proxy": N_("Proxy"), "held": N_("Held")}
LINE_RESULT_LABELS = {
    "pending": N_("Not paid yet"),
    "paid": N_("Paid"),
    "partial": N_("Partially paid"),
    "failed": N_("Failed"),
    "reversed": N_("Reversed (the payment came back)"),
    "carried": N_("Carried to a later period"),
    "cancelled": N_("Cancelled"),
}
HOLD_REASON_LABELS = {
    "deceased": N_("Deceased"),
    "moved": N_("Moved away"),
    "mismatch": N_("Registry mismatch"),
    "not_matched": N_("Not matched with the population registry yet"),
    "needs_review": N_("Registry match waiting for review"),
    "possible_duplicate": N_("Possible duplicate"),
    "not_found": N_("Not found in the population registry"),
    "no_cccd": N_("No CCCD"),
    "no_amount": N_("No amount"),
    "duplicate_month": N_("Already paid for this month in another payout period"),
    "duplicate_review": N_("Possible duplicate (same account, phone or person) waiting for a decision"),
    "duplicate_person": N_("The same person as another record: end the duplicate record"),
    "account_name_mismatch": N_("The bank gives another holder name for the account: check it on a visit"),
    "account_closed": N_("The bank says the account is closed or unknown: check it on a visit"),
    "account_not_prevalidated": N_("The account was not pre-validated with the bank recently"),
}
#: What an approver records in the approval ledger (``PayoutApproval``): an approval of one tier, a rejection
#: (back to synced, a new round) or a withdrawal of the round's approvals (the same, so the list can change).
APPROVAL_DECISIONS = ("approve", "reject", "withdraw")
APPROVAL_DECISION_LABELS = {"approve": N_("Approved"), "reject": N_("Rejected"), "withdraw": N_("Approvals withdrawn")}
PAYOUT_RUN_STATE_LABELS = {
    "queued": N_("Waiting"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class BaseLevel(Model):
    """A base level (mức chuẩn) of a category from a date, e.g. BTXH 500,000 ₫ from 1.7.2024."""

    __tablename__ = "base_level"
    __table_args__ = (UniqueConstraint("category", "effective_from", "jurisdiction", name="uq_base_level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(5), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    effective_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    jurisdiction: Mapped[str] = mapped_column(String(10), nullable=False, default="VN")  # "VN" national, "01" Hà Nội
    legal_basis: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"{self.category} {self.amount} {self.effective_from}"


class CategoryRule(Model):
    """Whether a category may be paid together with other categories to the same person in one period."""

    __tablename__ = "category_rule"

    category: Mapped[str] = mapped_column(String(5), primary_key=True)
    stackable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    note: Mapped[str | None] = mapped_column(String(300))

    def __repr__(self) -> str:
        return self.category


class PayoutPeriod(Model):
    """A payout period (đợt chi trả) of a unit (the city or one paying unit: a district in 2024, a commune in 2025):
    draft → synced → approved (every approval tier, ``PayoutApproval``) → locked → handed_over → paid."""

    __tablename__ = "payout_period"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    period_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="draft", server_default="draft")
    checksum: Mapped[str | None] = mapped_column(String(64))
    summary_json: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    synced_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    synced_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    locked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    unit: Mapped[AdminUnit] = relationship(AdminUnit)

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class PayoutLine(Model):
    """One payment of one enrolment in one period: a snapshot taken by the sync, frozen by the lock.
    Never deleted through the ORM (``app.models.guards``); only the sync removes lines of a list not yet locked.

    The ids are snapshots too, without foreign keys: a line is history and outlives changes to the
    registry (and a million rows are written without a million foreign-key checks). The period owns
    its lines; only the service deletes them. ``sequence`` is the STT within the commune."""

    __tablename__ = "payout_line"
    __table_args__ = (
        # one line per enrolment and benefit month in a period (a period pays the back months as lines of their own)
        UniqueConstraint("period_id", "enrolment_id", "benefit_month", name="uq_payout_line_period_enrolment_month"),
        Index("ix_payout_line_period_commune", "period_id", "commune_id"),
        # the sync's category rule across periods: what else is the person paid for the month
        Index("ix_payout_line_person_month", "beneficiary_id", "benefit_month"),
        # back pay: what else stands for an enrolment's month (any result, in any period)
        Index("ix_payout_line_enrolment_month", "enrolment_id", "benefit_month"),
        # At most one line in payment per enrolment and benefit month, across all periods (IN_PAYMENT_LINE_SQL);
        # the sync pays a month only up to what it is worth, so a month is never paid twice.
        Index(
            "uq_payout_line_enrolment_month",
            "enrolment_id",
            "benefit_month",
            unique=True,
            sqlite_where=text(IN_PAYMENT_LINE_SQL),
            postgresql_where=text(IN_PAYMENT_LINE_SQL),
        ),
        # A bank's transfer file reads its own lines in the file's order, not every line of the period.
        Index(
            "ix_payout_line_period_bank",
            "period_id",
            "bank_bin",
            "commune_id",
            "sequence",
            "id",
            sqlite_where=text("channel = 'account'"),
            postgresql_where=text("channel = 'account'"),
        ),
    )  # PostgreSQL: fillfactor 85 (set in the migration) so re-syncs and results are HOT updates

    id: Mapped[int] = mapped_column(_BIGID, primary_key=True)
    period_id: Mapped[int] = mapped_column(Integer, nullable=False)
    enrolment_id: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The month this line pays (its first day): the period's month for the regular lines.
    benefit_month: Mapped[dt.date] = mapped_column(Date, nullable=False)
    #: ``regular`` (the period's month) or ``arrears`` (an earlier month still owed: back pay).
    kind: Mapped[str] = mapped_column(String(8), nullable=False, default="regular", server_default="regular")
    beneficiary_id: Mapped[int] = mapped_column(Integer, nullable=False)
    commune_id: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int | None] = mapped_column(Integer)
    full_name: Mapped[str] = mapped_column(String(150), nullable=False)
    cccd: Mapped[str | None] = mapped_column(String(12))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    category: Mapped[str] = mapped_column(String(5), nullable=False)
    case_type: Mapped[int | None] = mapped_column(SmallInteger)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    carried_amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    channel: Mapped[str] = mapped_column(String(8), nullable=False)
    hold_reason: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(Integer)
    bank_bin: Mapped[str | None] = mapped_column(String(10))
    bank_name: Mapped[str | None] = mapped_column(String(80))
    account_number: Mapped[str | None] = mapped_column(String(19))
    holder_ascii: Mapped[str | None] = mapped_column(String(150))
    proxy_name: Mapped[str | None] = mapped_column(String(150))
    proxy_cccd: Mapped[str | None] = mapped_column(String(12))
    result_status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", server_default="pending")
    result_reason: Mapped[str | None] = mapped_column(String(300))
    result_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: What reached the person: the whole amount when paid, the amount received when partly paid, 0 otherwise.
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)
    #: Who recorded the result (a user id; None: the system) and from which result import (``payout_export``).
    result_by_id: Mapped[int | None] = mapped_column(Integer)
    result_export_id: Mapped[int | None] = mapped_column(Integer)
    #: The receipt of a payment in hand (cash, proxy): who paid, when, the signed receipt ("ký nhận") and the
    #: proxy who received it for the person.
    receipt_paid_by: Mapped[str | None] = mapped_column(String(150))
    receipt_date: Mapped[dt.date | None] = mapped_column(Date)
    receipt_ref: Mapped[str | None] = mapped_column(String(60))
    receipt_proxy_name: Mapped[str | None] = mapped_column(String(150))
    carried_from_line_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # Sync bookkeeping: which run created the line and which last changed it.
    created_run_id: Mapped[int | None] = mapped_column(Integer)
    changed_run_id: Mapped[int | None] = mapped_column(Integer)

    period: Mapped[PayoutPeriod] = relationship(
        PayoutPeriod, primaryjoin="foreign(PayoutLine.period_id) == PayoutPeriod.id", viewonly=True
    )
    commune: Mapped[AdminUnit] = relationship(
        AdminUnit, primaryjoin="foreign(PayoutLine.commune_id) == AdminUnit.id", viewonly=True
    )

    @property
    def paid_for(self) -> tuple[str, dt.date]:
        """(kind, benefit month): what the line pays, shown as "mm/yyyy" or "Truy lĩnh tháng mm/yyyy"."""
        return (self.kind, self.benefit_month)

    @property
    def total(self) -> int:
        return (self.amount or 0) + (self.carried_amount or 0)

    @property
    def description(self) -> str:
        return transfer_description(self.category, self.period_id, self.id)


def transfer_description(category: str, period_id: int, line_id: int) -> str:
    """The transfer text the bank shows (ASCII); it carries the line id for reconciliation."""
    return f"ASXH {category} DOT {period_id} MA {line_id}"


class PeriodRunMixin:
    """The state columns of a job run on a payout period for a unit (a sync, a lock): the database row is the
    truth of the job (``app/services/job_state.py`` records its failure). ``sort_order`` keeps the columns where
    the migrations put them: these first, the run's own columns, then ``message`` and the times."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)
    period_id: Mapped[int] = mapped_column(
        ForeignKey("payout_period.id", ondelete="CASCADE"), nullable=False, index=True, sort_order=-1
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, sort_order=-1)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), sort_order=-1)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued", sort_order=-1)
    message: Mapped[str | None] = mapped_column(Text, sort_order=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now(), sort_order=1)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, sort_order=1)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, sort_order=1)

    @declared_attr
    def unit(cls) -> Mapped[AdminUnit]:
        return relationship(AdminUnit)


class PayoutSyncRun(PeriodRunMixin, Model):
    """One run of the sync job for a period and a unit."""

    __tablename__ = "payout_sync_run"

    lines_added: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lines_removed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lines_changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lines_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Enrolments left out because another period already pays them for the month; the detail (JSON) lists
    #: them with the reason, and the held lines by reason.
    lines_left_out: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    detail_json: Mapped[str | None] = mapped_column(Text)


class PayoutLockRun(PeriodRunMixin, Model):
    """One lock of a period, run as a job. The lock reads and hashes every line twice (approvals, then the
    stored checksum), too long for a web request on a city-wide list."""

    __tablename__ = "payout_lock_run"

    #: The lock's summary (people, lines, amounts, checksum) as JSON, once done.
    summary_json: Mapped[str | None] = mapped_column(Text)


class PayoutApproval(Model):
    """One decision of the approval ledger of a period: insert-only (database triggers refuse UPDATE and DELETE).

    ``round`` counts from 1; a rejection or a withdrawal closes its round and the next decision opens the next
    one (``app/services/payout/tiers.py``). ``checksum`` is the checksum of the lines the approver saw: an
    approval whose checksum no longer matches the lines is void."""

    __tablename__ = "payout_approval"
    __table_args__ = (Index("ix_payout_approval_period_round", "period_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("payout_period.id"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    tier: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    decision: Mapped[str] = mapped_column(String(8), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class PayoutExport(Model):
    """Log of a hand-over export or a result import: who, when, what, with the file checksum."""

    __tablename__ = "payout_export"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(
        ForeignKey("payout_period.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # list_xlsx | bank_csv | results
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"))
    bank_bin: Mapped[str | None] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    lines: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    unit: Mapped[AdminUnit | None] = relationship(AdminUnit)


class AccountImportRow(StagingRow, Model):
    """Staging of a bulk account import (ImportBatch kind "account"); same row accounting as the
    beneficiary import. ``outcome``: error | dup_file | imported (new account) | updated (a change) |
    duplicate (the same account is already recorded)."""

    __tablename__ = "account_import_row"
    __table_args__ = (UniqueConstraint("batch_id", "row_number", name="uq_account_import_row_batch_row"),)

    beneficiary_id: Mapped[int | None] = mapped_column(Integer)
    commune_id: Mapped[int | None] = mapped_column(Integer)
    full_name: Mapped[str | None] = mapped_column(String(150))
    cccd: Mapped[str | None] = mapped_column(String(12))
    channel: Mapped[str | None] = mapped_column(String(15))
    bank_bin: Mapped[str | None] = mapped_column(String(10))
    account_number: Mapped[str | None] = mapped_column(String(19))
    holder_name: Mapped[str | None] = mapped_column(String(150))
    holder_ascii: Mapped[str | None] = mapped_column(String(150))


class AccountCheckRow(StagingRow, Model):
    """Staging of a bank's answer to a pre-validation request (ImportBatch kind "account_check").
    ``outcome``: error | dup_file | imported (a check recorded)."""

    __tablename__ = "account_check_row"
    __table_args__ = (UniqueConstraint("batch_id", "row_number", name="uq_account_check_row_batch_row"),)

    account_id: Mapped[int | None] = mapped_column(Integer)
    commune_id: Mapped[int | None] = mapped_column(Integer)
    check_outcome: Mapped[str | None] = mapped_column(String(20))
    bank_holder_name: Mapped[str | None] = mapped_column(String(150))
