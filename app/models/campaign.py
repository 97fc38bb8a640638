"""The campaign (đợt): a deadline per step of the process and each commune's completion of each step."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, SmallInteger, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.models.user import AsxhUser


class Campaign(Model):
    """A campaign, e.g. "Chi trả Tết Giáp Thìn 2024", run by a unit (normally the city) for every unit below it."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    unit: Mapped[AdminUnit] = relationship(AdminUnit)
    steps: Mapped[list[CampaignStep]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignStep.step_no"
    )

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class CampaignStep(Model):
    __tablename__ = "campaign_step"
    __table_args__ = (UniqueConstraint("campaign_id", "step_no", name="uq_campaign_step_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False)
    step_no: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    deadline: Mapped[dt.date] = mapped_column(Date, nullable=False)

    campaign: Mapped[Campaign] = relationship(back_populates="steps")


class CampaignStepDone(Model):
    """A commune recorded a step as done (derived completions are computed, not stored)."""

    __tablename__ = "campaign_step_done"
    __table_args__ = (UniqueConstraint("campaign_id", "step_no", "commune_id", name="uq_campaign_step_done"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), nullable=False)
    step_no: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    done_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(String(300))
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    done_by: Mapped[AsxhUser | None] = relationship(AsxhUser)
