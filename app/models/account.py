"""Payment accounts of beneficiaries, under four-eyes control."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import Bank
from app.models.beneficiary import Beneficiary
from app.services.messages import N_  # marks the labels below; translated when shown

ACCOUNT_CHANNELS = ("bank", "e_wallet", "mobile_money")
#: "ended": taken out of use with a reason (closed at the bank, entered for the wrong person...), never deleted;
#: a higher role can restore it.
ACCOUNT_STATES = ("pending", "verified", "rejected", "superseded", "ended")
ACCOUNT_SOURCES = ("survey", "police", "import", "vneid")
ACCOUNT_CHANNEL_LABELS = {"bank": N_("Bank account"), "e_wallet": N_("E-wallet"), "mobile_money": N_("Mobile Money")}
ACCOUNT_STATE_LABELS = {
    "pending": N_("Waiting for verification"),
    "verified": N_("Verified"),
    "rejected": N_("Rejected"),
    "superseded": N_("Replaced"),
    "ended": N_("Ended"),
}
ACCOUNT_SOURCE_LABELS = {
    "survey": N_("Home visit survey"),
    "police": N_("Police entry"),
    "import": N_("Imported list"),
    "vneid": N_("Declared by the citizen on VNeID"),
}
#: What the bank said about an account before any money moved (pre-validation, ``account_check``):
#: ``valid`` open and held by the expected person; ``name_mismatch`` open, another holder name;
#: ``closed_or_unknown`` closed or no such account; ``unavailable`` no answer (time-out, bank error).
CHECK_OUTCOMES = ("valid", "name_mismatch", "closed_or_unknown", "unavailable")
#: The outcomes that stop a payment to the account (the payout sync holds its line).
FAILED_CHECKS = ("name_mismatch", "closed_or_unknown")
CHECK_OUTCOME_LABELS = {
    "valid": N_("Valid at the bank"),
    "name_mismatch": N_("Holder name differs at the bank"),
    "closed_or_unknown": N_("Closed or unknown at the bank"),
    "unavailable": N_("The bank did not answer"),
}
CHECK_SOURCES = ("file", "http")
CHECK_SOURCE_LABELS = {"file": N_("Bank answer file"), "http": N_("Online check")}


class PaymentAccount(Model):
    """One version of a beneficiary's account. At most one version is in force (verified, not superseded);
    a change is a new pending version that takes over only when a second person verifies it."""

    __tablename__ = "payment_account"
    __table_args__ = (
        Index("ix_payment_account_number", "account_number"),
        Index("ix_payment_account_person_state", "beneficiary_id", "state"),
        # At most one version in force per person, enforced by the database.
        Index(
            "uq_payment_account_in_force",
            "beneficiary_id",
            unique=True,
            sqlite_where=text("state = 'verified'"),
            postgresql_where=text("state = 'verified'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No ON DELETE CASCADE: an account is history and outlives nothing by deletion (a beneficiary with accounts
    # cannot be deleted by the database either).
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="RESTRICT"), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    channel: Mapped[str] = mapped_column(String(15), nullable=False, default="bank")
    bank_bin: Mapped[str] = mapped_column(ForeignKey("bank.bin"), nullable=False)
    account_number: Mapped[str] = mapped_column(String(19), nullable=False)
    holder_name: Mapped[str] = mapped_column(String(150), nullable=False)
    holder_ascii: Mapped[str] = mapped_column(String(150), nullable=False)
    name_mismatch_reason: Mapped[str | None] = mapped_column(String(300))
    shared_flag: Mapped[bool] = mapped_column(nullable=False, default=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="police")
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("payment_account.id"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    source_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)

    beneficiary: Mapped[Beneficiary] = relationship(Beneficiary)
    bank: Mapped[Bank] = relationship(Bank)
    entered_by = relationship("AsxhUser", foreign_keys=[entered_by_id])
    verified_by = relationship("AsxhUser", foreign_keys=[verified_by_id])
    ended_by = relationship("AsxhUser", foreign_keys=[ended_by_id])

    def __repr__(self) -> str:
        return f"{self.bank_bin} {self.account_number}"


class AccountCheck(Model):
    """One pre-validation of an account with its bank (insert-only: a new check is a new row, the history
    stays). The latest check with an answer (not ``unavailable``) is what counts."""

    __tablename__ = "account_check"
    __table_args__ = (Index("ix_account_check_account_at", "account_id", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("payment_account.id", ondelete="RESTRICT"), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    bank_holder_name: Mapped[str | None] = mapped_column(String(150))
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="file")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    account: Mapped[PaymentAccount] = relationship(PaymentAccount)

    def __repr__(self) -> str:
        return f"{self.account_id} {self.outcome}"
