"""Step 2 of the campaign: the commune working groups (Tổ công tác Đề án 06) and the visit list.

A group belongs to one commune. Its members are users (commune police as the core, commune
labour officers) or people without an account (free text); one member may lead it.
``VisitAssignment`` is the visit list: one row per beneficiary, with the group / member who
visits them and the parts of the address used to order the round (street, ngõ, ngách, số nhà).
"""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.models.user import AsxhUser


class WorkGroup(Model):
    """A commune working group (Tổ công tác Đề án 06 cấp xã)."""

    __tablename__ = "work_group"
    __table_args__ = (UniqueConstraint("commune_id", "name", name="uq_work_group_commune_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    commune: Mapped[AdminUnit] = relationship(AdminUnit)
    members: Mapped[list[WorkGroupMember]] = relationship(
        back_populates="group",
        cascade="all, delete-orphan",
        order_by="(WorkGroupMember.is_leader.desc(), WorkGroupMember.id)",
    )

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__

    @property
    def leader(self) -> WorkGroupMember | None:
        return next((m for m in self.members if m.is_leader), None)

    @property
    def leader_name(self) -> str:
        leader = self.leader
        return leader.display_name if leader else ""

    @property
    def member_count(self) -> int:
        return len(self.members)


class WorkGroupMember(Model):
    """A member: a user of the commune, or a person named in free text (e.g. a street-group head)."""

    __tablename__ = "work_group_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("work_group.id", ondelete="CASCADE"), nullable=False, index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    name: Mapped[str | None] = mapped_column(String(150))
    role_text: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_leader: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    group: Mapped[WorkGroup] = relationship(back_populates="members")
    user: Mapped[AsxhUser | None] = relationship(AsxhUser)

    @property
    def display_name(self) -> str:
        if self.user is not None:
            full = f"{self.user.first_name or ''} {self.user.last_name or ''}".strip()
            return f"{full} ({self.user.username})" if full else self.user.username
        return self.name or ""

    def __repr__(self) -> str:
        return self.display_name

    __str__ = __repr__


class VisitAssignment(Model):
    """The visit list: one row per beneficiary (who visits, and the address parts for ordering)."""

    __tablename__ = "visit_assignment"
    __table_args__ = (
        Index("ix_visit_assignment_order", "commune_id", "street_key", "lane_no", "alley_no", "house_no"),
    )

    beneficiary_id: Mapped[int] = mapped_column(
        ForeignKey("beneficiary.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("work_group.id", ondelete="SET NULL"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("work_group_member.id", ondelete="SET NULL"), index=True)
    street: Mapped[str] = mapped_column(String(150), nullable=False, default="")
    street_key: Mapped[str] = mapped_column(String(150), nullable=False, default="")
    lane_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    alley_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    house_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    house_suffix: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    address_seen: Mapped[str | None] = mapped_column(String(400))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    assigned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    group: Mapped[WorkGroup | None] = relationship(WorkGroup)
    member: Mapped[WorkGroupMember | None] = relationship(WorkGroupMember)
