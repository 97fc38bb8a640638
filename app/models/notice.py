"""Notices to beneficiaries (SMS): the outbox, and each person's phone number and opt-out.

The outbox is the truth of what was (or is to be) told to whom: a notice is created once per person, event and
reference (``uq_notice_person_event_ref``) and moves queued → exported (handed over to an office that sends
through its own SMS service) or sent / failed by a gateway; skipped when the person opted out or has no phone.
"""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.models.beneficiary import Beneficiary
from app.services.messages import N_  # marks the labels below; translated when shown

NOTICE_EVENTS = (
    "account_verified",
    "payment_sent",
    "payment_failed",
    "complaint_received",
    "complaint_resolved",
)
NOTICE_EVENT_LABELS = {
    "account_verified": N_("Account verified"),
    "payment_sent": N_("Payment sent"),
    "payment_failed": N_("Payment failed"),
    "complaint_received": N_("Complaint received"),
    "complaint_resolved": N_("Complaint resolved"),
}
#: queued: waiting to be sent or exported; exported: handed over in a file to an office's own SMS service;
#: sent / failed: what a gateway answered; skipped: never to be sent (see ``skip_reason``).
NOTICE_STATUSES = ("queued", "exported", "sent", "failed", "skipped")
NOTICE_STATUS_LABELS = {
    "queued": N_("Waiting to be sent"),
    "exported": N_("Handed over in a file"),
    "sent": N_("Sent"),
    "failed": N_("Not sent"),
    "skipped": N_("Not to be sent"),
}
NOTICE_SKIP_REASONS = ("opt_out", "no_phone")
NOTICE_SKIP_REASON_LABELS = {
    "opt_out": N_("The person asked not to receive messages"),
    "no_phone": N_("No phone number recorded"),
}
NOTICE_ENCODINGS = ("gsm7", "ucs2")
NOTICE_ENCODING_LABELS = {
    "gsm7": N_("Without tones (GSM-7)"),
    "ucs2": N_("With tones (Unicode)"),
}


class Notice(Model):
    """One message to one person (tin nhắn): the outbox row."""

    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("beneficiary_id", "event", "ref", name="uq_notice_person_event_ref"),
        Index("ix_notice_commune_status", "commune_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False)
    event: Mapped[str] = mapped_column(String(30), nullable=False)
    # What the notice is about, so that the same event for the same thing is told once ("line:123", "account:7").
    ref: Mapped[str] = mapped_column(String(60), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    encoding: Mapped[str] = mapped_column(String(5), nullable=False)
    segments: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    skip_reason: Mapped[str | None] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0, server_default="0")
    provider_id: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    beneficiary: Mapped[Beneficiary] = relationship(Beneficiary)
    commune: Mapped[AdminUnit] = relationship(AdminUnit)


class BeneficiaryContact(Model):
    """A person's mobile number for notices and whether they asked for none (with who recorded it, and when)."""

    __tablename__ = "beneficiary_contact"

    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(10))
    phone_recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    phone_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    opt_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opt_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
