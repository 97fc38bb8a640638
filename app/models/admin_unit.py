"""Reference data: administrative units (by scheme) and banks (by NAPAS BIN)."""

from __future__ import annotations

from flask_appbuilder.models.sqla import Model
from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.services.messages import N_  # marks the labels below; translated when shown

SCHEMES = ("2024", "2025")
CITY_CODE = "01"


class AdminUnit(Model):
    """A unit of one scheme: the city (level 1), a district (level 2, 2024 only) or a commune.

    ``path`` is the chain of codes from the city down ("01/001/00004/"): a unit's
    scope is every unit of the same scheme whose path starts with its own.
    """

    __tablename__ = "admin_unit"
    __table_args__ = (
        UniqueConstraint("scheme", "code", name="uq_admin_unit_scheme_code"),
        Index("ix_admin_unit_scheme_path", "scheme", "path"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(4), nullable=False)
    code: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    unit_type: Mapped[str] = mapped_column(String(20), nullable=False)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    path: Mapped[str] = mapped_column(String(64), nullable=False)

    parent: Mapped[AdminUnit | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


BANK_KINDS = ("bank", "e_wallet", "mobile_money")
BANK_KIND_LABELS = {"bank": N_("Bank"), "e_wallet": N_("E-wallet"), "mobile_money": N_("Mobile Money")}


class Bank(Model):
    """A bank, e-wallet or Mobile Money provider, keyed by its NAPAS BIN."""

    __tablename__ = "bank"

    bin: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False)
    short_name: Mapped[str] = mapped_column(String(80), nullable=False)
    name_vi: Mapped[str] = mapped_column(String(200), nullable=False)
    swift: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    former_names: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"{self.short_name} ({self.bin})"

    __str__ = __repr__
