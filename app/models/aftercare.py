"""After the money moves: post-payment verification (a random sample of a closed period's payments, checked by the
working groups on a visit or by phone) and complaints (khiếu nại, phản ánh) about a payment.

The code sets and their labels live here, next to the tables; the deadline of each complaint category is
``COMPLAINT_DEADLINE_DAYS`` (calendar days from the day the complaint was received)."""

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
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.models.beneficiary import Beneficiary
from app.models.payout import PayoutPeriod
from app.models.user import AsxhUser
from app.services.messages import N_  # marks the labels below; translated when shown

VERIFICATION_METHODS = ("visit", "phone")
VERIFICATION_METHOD_LABELS = {"visit": N_("Home visit"), "phone": N_("Phone call")}
#: What the person says about the payment: received in full, in part, not at all, or someone else received it.
VERIFICATION_ANSWERS = ("full", "partly", "none", "someone_else")
VERIFICATION_ANSWER_LABELS = {
    "full": N_("Received in full"),
    "partly": N_("Received in part"),
    "none": N_("Not received"),
    "someone_else": N_("Someone else received it"),
}
SAMPLE_STATES = ("queued", "running", "done", "failed")
SAMPLE_STATE_LABELS = {"queued": N_("Waiting"), "running": N_("Running"), "done": N_("Done"), "failed": N_("Failed")}

COMPLAINT_CATEGORIES = ("not_paid", "wrong_amount", "wrong_account", "wrong_status", "other")
COMPLAINT_CATEGORY_LABELS = {
    "not_paid": N_("Not paid"),
    "wrong_amount": N_("Wrong amount"),
    "wrong_account": N_("Paid to a wrong account"),
    "wrong_status": N_("Wrong status after matching"),
    "other": N_("Other"),
}
#: The deadline of a complaint: calendar days from the day it was received, per category (the one table).
COMPLAINT_DEADLINE_DAYS = {"not_paid": 10, "wrong_amount": 15, "wrong_account": 10, "wrong_status": 15, "other": 30}
COMPLAINT_STATES = ("new", "assigned", "in_progress", "resolved", "rejected", "closed")
COMPLAINT_STATE_LABELS = {
    "new": N_("New"),
    "assigned": N_("Assigned"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "rejected": N_("Rejected"),
    "closed": N_("Closed"),
}
#: States in which a complaint still waits for work (its deadline counts).
OPEN_COMPLAINT_STATES = ("new", "assigned", "in_progress")
COMPLAINT_CHANNELS = ("in_person", "phone", "letter", "online", "verification")
COMPLAINT_CHANNEL_LABELS = {
    "in_person": N_("In person"),
    "phone": N_("Phone"),
    "letter": N_("Letter"),
    "online": N_("Online"),
    "verification": N_("Post-payment verification"),
}
#: What a resolution does besides closing the matter: nothing, release the person's hold (the matching
#: review's decision), or carry what is still owed on the line into a later period (the reconciliation's carry).
RESOLUTION_ACTIONS = ("none", "release_hold", "carry")
RESOLUTION_ACTION_LABELS = {
    "none": N_("No further action"),
    "release_hold": N_("Release the person's hold"),
    "carry": N_("Carry what is owed into a later payout period"),
}

_BIGID = BigInteger().with_variant(Integer, "sqlite")


class VerificationSample(Model):
    """A random sample of the payments of a closed period in one unit's scope, drawn per commune; the row is the
    truth of the drawing job. ``seed`` makes the draw reproducible; ``everyone`` checks every payment."""

    __tablename__ = "verification_sample"
    __table_args__ = (UniqueConstraint("period_id", "unit_id", name="uq_verification_sample_period_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("payout_period.id"), nullable=False, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(10), nullable=False, default="visit")
    confidence: Mapped[float] = mapped_column(Numeric(5, 2), nullable=False, default=95)
    margin: Mapped[float] = mapped_column(Numeric(5, 2), nullable=False, default=5)
    everyone: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="queued")
    population: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    drawn: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    message: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    period: Mapped[PayoutPeriod] = relationship(PayoutPeriod)
    unit: Mapped[AdminUnit] = relationship(AdminUnit)

    def __repr__(self) -> str:
        return f"{self.period.name if self.period else self.period_id} – {self.unit.name if self.unit else ''}"

    __str__ = __repr__


class VerificationTask(Model):
    """One sampled payment to check with the person, for the working group that visits them."""

    __tablename__ = "verification_task"
    __table_args__ = (
        UniqueConstraint("sample_id", "line_id", name="uq_verification_task_sample_line"),
        Index("ix_verification_task_commune_answer", "commune_id", "answer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(
        ForeignKey("verification_sample.id", ondelete="CASCADE"), nullable=False, index=True
    )
    period_id: Mapped[int] = mapped_column(Integer, nullable=False)
    line_id: Mapped[int] = mapped_column(_BIGID, nullable=False)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id"), nullable=False, index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id", ondelete="SET NULL"), index=True)
    method: Mapped[str] = mapped_column(String(10), nullable=False, default="visit")
    answer: Mapped[str | None] = mapped_column(String(12))
    #: Who received the money when it was not the person, when they got it, what the person said.
    received_by: Mapped[str | None] = mapped_column(String(150))
    received_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    person: Mapped[Beneficiary] = relationship(Beneficiary)
    commune: Mapped[AdminUnit] = relationship(AdminUnit)
    period: Mapped[PayoutPeriod] = relationship(
        PayoutPeriod, primaryjoin="foreign(VerificationTask.period_id) == PayoutPeriod.id", viewonly=True
    )

    @property
    def full_name(self) -> str:
        return self.person.full_name if self.person else ""


class Complaint(Model):
    """A complaint about a payment, recorded by an officer or opened by a verification answer:
    new → assigned → in_progress → resolved / rejected → closed (``app/services/payout/complaints.py``).
    ``commune_id`` is the person's commune (the scope); ``unit_id`` the unit it is assigned to. A sensitive
    complaint is shown only to the leaders of the assigned unit (capability ``sensitive_complaints``)."""

    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_commune_status", "commune_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id"), nullable=False, index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    period_id: Mapped[int | None] = mapped_column(ForeignKey("payout_period.id"))
    line_id: Mapped[int | None] = mapped_column(_BIGID)
    verification_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("verification_task.id", ondelete="SET NULL"), unique=True
    )
    category: Mapped[str] = mapped_column(String(16), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="new", server_default="new")
    received_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    deadline: Mapped[dt.date] = mapped_column(Date, nullable=False)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    resolution: Mapped[str | None] = mapped_column(Text)
    resolution_action: Mapped[str | None] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    person: Mapped[Beneficiary] = relationship(Beneficiary)
    commune: Mapped[AdminUnit] = relationship(AdminUnit, foreign_keys=[commune_id])
    unit: Mapped[AdminUnit] = relationship(AdminUnit, foreign_keys=[unit_id])
    period: Mapped[PayoutPeriod | None] = relationship(PayoutPeriod)
    assigned_to: Mapped[AsxhUser | None] = relationship(AsxhUser, foreign_keys=[assigned_to_id])

    @property
    def full_name(self) -> str:
        return self.person.full_name if self.person else ""

    def __repr__(self) -> str:
        return f"#{self.id}"

    __str__ = __repr__
