"""Step 3: the survey questionnaire (as data), home visits and account-opening tasks.

Every visit is kept; the latest one (by visit date, then id) decides the person's case type.
The answers are stored as JSON; the fields that decide the case and feed other steps
(account entry, proxies for the payout) are copied into columns.
"""

from __future__ import annotations

import datetime as dt
import json

from flask_appbuilder.models.sqla import Model
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit, Bank
from app.models.beneficiary import Beneficiary
from app.models.user import AsxhUser
from app.services.messages import N_  # marks the labels below; translated when shown

VISIT_SOURCES = ("web", "api")
RESPONDENTS = ("beneficiary", "family", "not_met")
TASK_STATES = ("requested", "opened", "entered", "cancelled")
OPEN_TASK_STATES = ("requested", "opened")
RESPONDENT_LABELS = {
    "beneficiary": N_("Met the beneficiary"),
    "family": N_("A relative answered"),
    "not_met": N_("Not met"),
}
TASK_STATE_LABELS = {
    "requested": N_("Requested"),
    "opened": N_("Account opened"),
    "entered": N_("Account entered"),
    "cancelled": N_("Cancelled"),
}


class Questionnaire(Model):
    """One version of the survey question set (bộ câu hỏi khảo sát); ``definition`` is JSON.
    Exactly one version is active: new visits use it. A version with visits is not edited."""

    __tablename__ = "questionnaire"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    definition: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    def __repr__(self) -> str:
        return f"v{self.version} {self.title}"

    __str__ = __repr__

    @property
    def parsed(self) -> dict:
        return json.loads(self.definition)


class Visit(Model):
    """One home visit of a beneficiary, with the answers to the questionnaire."""

    __tablename__ = "visit"
    __table_args__ = (Index("ix_visit_person_latest", "beneficiary_id", "visit_date", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id"), nullable=False, index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id", ondelete="SET NULL"), index=True)
    visit_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    met: Mapped[bool] = mapped_column(Boolean, nullable=False)
    respondent: Mapped[str] = mapped_column(String(20), nullable=False)
    has_account: Mapped[bool | None] = mapped_column(Boolean)
    wants_account: Mapped[bool | None] = mapped_column(Boolean)
    declined: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    decline_reason: Mapped[str | None] = mapped_column(String(40))
    can_transact_alone: Mapped[bool | None] = mapped_column(Boolean)
    vulnerable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    support: Mapped[str | None] = mapped_column(String(120))  # comma-separated option values
    proxy_name: Mapped[str | None] = mapped_column(String(150))
    proxy_cccd: Mapped[str | None] = mapped_column(String(12))
    proxy_relationship: Mapped[str | None] = mapped_column(String(80))
    citizen_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    opening_bank_bin: Mapped[str | None] = mapped_column(ForeignKey("bank.bin"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("payment_account.id", ondelete="SET NULL"))
    case_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # the case this visit alone implies
    answers: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="web")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    beneficiary: Mapped[Beneficiary] = relationship(Beneficiary)
    questionnaire: Mapped[Questionnaire] = relationship(Questionnaire)
    recorded_by: Mapped[AsxhUser | None] = relationship(AsxhUser)

    @property
    def answer_dict(self) -> dict:
        return json.loads(self.answers) if self.answers else {}

    @property
    def support_list(self) -> list[str]:
        return [s for s in (self.support or "").split(",") if s]


class AccountOpeningTask(Model):
    """ "Open an account at bank X" for a person who wants account payment and has no account:
    requested → opened → entered (the account was entered), or cancelled."""

    __tablename__ = "account_opening_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiary.id", ondelete="CASCADE"), nullable=False, index=True
    )
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id", ondelete="SET NULL"), index=True)
    bank_bin: Mapped[str | None] = mapped_column(ForeignKey("bank.bin"))
    state: Mapped[str] = mapped_column(String(12), nullable=False, default="requested")
    note: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    entered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("payment_account.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))

    beneficiary: Mapped[Beneficiary] = relationship(Beneficiary)
    commune: Mapped[AdminUnit] = relationship(AdminUnit)
    bank: Mapped[Bank | None] = relationship(Bank)
