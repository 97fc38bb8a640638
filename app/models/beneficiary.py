"""The registry: a person (Beneficiary) and their enrolments, one per category.

One person in two categories is one Beneficiary with two Enrolments.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_appbuilder.models.sqla import Model
from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.admin_unit import AdminUnit
from app.models.sorting import sorts_by
from app.services.messages import N_  # marks the labels below; translated when shown

CATEGORY_CODES = ("BTXH", "NCC", "HN", "HCN", "KHAC")
CATEGORY_LABELS = {
    "BTXH": N_("Social assistance"),
    "NCC": N_("Meritorious service"),
    "HN": N_("Poor household"),
    "HCN": N_("Near-poor household"),
    "KHAC": N_("Other"),
}
# Codes of the REST resource and the CLI; the UI shows Vietnamese labels.
MATCH_STATUSES = (
    "pending",
    "matched",
    "mismatch",
    "not_found",
    "deceased",
    "moved",
    "possible_duplicate",
    "needs_review",
)
MATCH_STATUS_LABELS = {
    "pending": N_("To be matched"),
    "matched": N_("Matched"),
    "mismatch": N_("Mismatch"),
    "not_found": N_("Not found"),
    "deceased": N_("Deceased"),
    "moved": N_("Moved away"),
    "possible_duplicate": N_("Possible duplicate"),
    "needs_review": N_("Needs review"),
}
#: Beneficiary.case_type, derived by app/services/cases.py.
CASE_TYPE_CODES = (1, 2, 3, 4, 5, 6)
CASE_TYPE_LABELS = {
    1: N_("Has an account and wants account payment"),
    2: N_("Wants account payment, account being opened"),
    3: N_("Declines, paid in cash (confirmed with a reason)"),
    4: N_("Vulnerable: support arrangement (proxy, cash at home, assisted)"),
    5: N_("Not yet visited or not met"),
    6: N_("Held (deceased, moved, mismatch not resolved)"),
}
SEXES = ("M", "F")
SEX_LABELS = {"M": N_("Male"), "F": N_("Female")}


# Matching statuses that wait for a police officer's review decision (the review list).
TO_REVIEW = ("mismatch", "needs_review", "not_found", "possible_duplicate", "deceased", "moved")
TO_REVIEW_SQL = "match_status IN (" + ", ".join(f"'{s}'" for s in TO_REVIEW) + ")"
# The place of a status waiting for review in the review list, which orders them by name; NULL for the others.
REVIEW_RANK_SQL = (
    "CASE match_status " + " ".join(f"WHEN '{s}' THEN {n}" for n, s in enumerate(sorted(TO_REVIEW), 1)) + " END"
)


class Beneficiary(Model):
    """A person on a social-security list (đối tượng ASXH).

    ``natural_key`` is "C:<cccd>" when the CCCD is known, else
    "N:<name key>|<date or year>|<commune code>": re-imports update by it.
    """

    __tablename__ = "beneficiary"
    # No index includes a column matching writes (match_*, hold_reason, matched_at): with the room the fillfactor
    # (50, PostgreSQL) leaves on each page, its updates are HOT (the new row version on the same page, no new
    # index entry). The review queue is found through ``to_review``, which a first match (pending → matched)
    # leaves unchanged. Migration 0025_match_hot_updates. The review list's order is ``review_rank``, equally
    # unchanged by a first match (NULL before and after) and indexed only where ``to_review``: migration
    # 0026_web_review_rank.
    __table_args__ = (
        Index(
            "ix_beneficiary_commune_to_review",
            "commune_id",
            postgresql_where=text("to_review"),
            sqlite_where=text("to_review"),
        ),
        Index(
            "ix_beneficiary_review_rank",
            "review_rank",
            "id",
            postgresql_where=text("to_review"),
            sqlite_where=text("to_review"),
        ),
        Index("ix_beneficiary_name_year", "name_key", "birth_year"),
        # List screens sort by name within a scope.
        Index("ix_beneficiary_full_name", "full_name"),
        Index("ix_beneficiary_commune_name", "commune_id", "full_name"),
        # Name search ignores tones and case; lists sort in Vietnamese alphabetical order.
        Index("ix_beneficiary_search_key", "search_key"),
        Index("ix_beneficiary_sort_key", "sort_key"),
        Index("ix_beneficiary_commune_sort", "commune_id", "sort_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    natural_key: Mapped[str] = mapped_column(String(220), nullable=False, unique=True)
    full_name: Mapped[str] = mapped_column(String(150), nullable=False)
    name_key: Mapped[str] = mapped_column(String(150), nullable=False)
    # Derived from full_name / address by app/services/registry/keys.py (search_keys), on every write.
    search_key: Mapped[str] = mapped_column(String(150), nullable=False, server_default="")
    sort_key: Mapped[str] = mapped_column(String(400), nullable=False, server_default="")
    address_key: Mapped[str | None] = mapped_column(String(400))
    cccd: Mapped[str | None] = mapped_column(String(12), unique=True)
    cmnd: Mapped[str | None] = mapped_column(String(12))
    date_of_birth: Mapped[dt.date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(400))
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False)
    match_status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending", server_default="pending")
    # Waiting for a police review decision (derived by the database from match_status).
    to_review: Mapped[bool | None] = mapped_column(Boolean, Computed(TO_REVIEW_SQL), nullable=True)
    # Its place in the review list (derived from match_status; NULL when not to review).
    review_rank: Mapped[int | None] = mapped_column(Integer, Computed(REVIEW_RANK_SQL), nullable=True)
    # Matching against the population registry (set by the matching job and the police review).
    match_cccd: Mapped[str | None] = mapped_column(String(12))
    match_score: Mapped[int | None] = mapped_column(SmallInteger)
    match_diff: Mapped[str | None] = mapped_column(Text)  # JSON {field: [record value, registry value]}
    match_candidates: Mapped[str | None] = mapped_column(Text)  # JSON [{cccd, full_name, score}, ...]
    matched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Later steps: how the person is paid, and whether payments are held (deceased, moved, mismatch).
    payment_method: Mapped[str | None] = mapped_column(String(20))
    hold_reason: Mapped[str | None] = mapped_column(String(40))
    case_type: Mapped[int | None] = mapped_column(SmallInteger, index=True)
    source_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    # An import found someone with the same name key, date of birth (and commune): who, for the reviewer.
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("beneficiary.id", name="fk_beneficiary_duplicate_of")
    )
    # Nobody is deleted: a person is ended (with who, when and why) and a higher role may reinstate them.
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", name="fk_beneficiary_ended_by"))
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    # Lists show the commune and the categories of every row: load them with the rows, not one query each.
    commune: Mapped[AdminUnit] = relationship(AdminUnit, lazy="joined")
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="beneficiary", cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return self.full_name

    # Read-only views used by screens and the REST resource.
    @sorts_by("date_of_birth")
    def birth(self) -> str:
        return (
            self.date_of_birth.strftime("%d/%m/%Y")
            if self.date_of_birth
            else (str(self.birth_year) if self.birth_year else "")
        )

    @property
    def categories(self) -> str:
        return ", ".join(sorted(e.category for e in self.enrolments))

    @property
    def primary_enrolment(self) -> Enrolment | None:
        return max(self.enrolments, key=lambda e: (e.monthly_amount or 0, e.category), default=None)

    @property
    def category(self) -> str | None:
        e = self.primary_enrolment
        return e.category if e else None

    @property
    def monthly_amount(self) -> int | None:
        e = self.primary_enrolment
        return e.monthly_amount if e else None

    @property
    def total_amount(self) -> str:
        total = sum(e.monthly_amount or 0 for e in self.enrolments)
        return f"{total:,} ₫".replace(",", ".")

    @property
    def commune_code(self) -> str | None:
        return self.commune.code if self.commune else None

    @property
    def is_ended(self) -> bool:
        return self.ended_at is not None


class Enrolment(Model):
    """One category a beneficiary is paid under, with its policy code and monthly amount."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("beneficiary_id", "category", name="uq_enrolment_person_category"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", ondelete="CASCADE"), nullable=False)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), nullable=False, index=True)
    category: Mapped[str] = mapped_column(String(5), nullable=False)
    policy_code: Mapped[str | None] = mapped_column(String(40))
    monthly_amount: Mapped[int | None] = mapped_column(BigInteger)
    # Payout amount = base level of the category at the period date × coefficient (else monthly_amount).
    coefficient: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    extra: Mapped[str | None] = mapped_column(Text)
    #: The first month paid (its first day), from the decision. None: owed from the first month a payout
    #: period knew the enrolment (no back pay for the months before the system knew the person).
    start_month: Mapped[dt.date | None] = mapped_column(Date)
    source_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"), index=True)
    # Ended, never deleted (see Beneficiary).
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", name="fk_enrolment_ended_by"))
    end_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="enrolments")
    commune: Mapped[AdminUnit] = relationship(AdminUnit)
