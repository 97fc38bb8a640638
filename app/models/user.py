"""The FAB user, extended with the administrative unit the account is scoped to."""
from __future__ import annotations

from typing import Optional

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit


class AsxhUser(User):
    __tablename__ = "ab_user"

    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_unit.id"), nullable=True)
    unit: Mapped[Optional[AdminUnit]] = relationship(AdminUnit, foreign_keys=[unit_id])
