"""The FAB user, extended with the administrative unit the account is scoped to."""

from __future__ import annotations

import secrets

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import ForeignKey, String, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit

# A change of any of these ends every session and token of the account (see security_stamp).
STAMPED_ATTRIBUTES = ("password", "roles", "unit_id", "active", "username")


def new_security_stamp() -> str:
    return secrets.token_hex(16)


class AsxhUser(User):
    __tablename__ = "ab_user"

    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"), nullable=True)
    unit: Mapped[AdminUnit | None] = relationship(AdminUnit, foreign_keys=[unit_id])
    # Embedded in JWTs and in the browser session at sign-in, compared on every request
    # (app/security/manager.py, app/web.py): a new stamp revokes them all.
    security_stamp: Mapped[str] = mapped_column(
        String(32), nullable=False, default=new_security_stamp, server_default="0"
    )


@event.listens_for(AsxhUser, "before_update")
def _renew_security_stamp(_mapper, _connection, target: AsxhUser) -> None:
    """Every path that changes the password, roles, unit or state (screens, CLI, reset) renews the stamp."""
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in STAMPED_ATTRIBUTES):
        target.security_stamp = new_security_stamp()
