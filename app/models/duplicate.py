"""Duplicate detection beyond the CCCD: pairs of people that look like one person (or one payee), found by a
set-based job, decided by a reviewer. See app/services/registry/duplicates.py."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.models.sqla import Model
from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.beneficiary import Beneficiary
from app.services.messages import N_  # marks the labels below; translated when shown

#: What makes two people a pair: one bank account (BIN + number), one phone number (an e-wallet or Mobile Money
#: number, the only phone recorded for a person) in two households, one name + date of birth + sex in two communes,
#: one identity enrolled twice in categories that are not paid together.
DUPLICATE_KINDS = ("same_account", "same_phone", "moved", "category_stack")
DUPLICATE_KIND_LABELS = {
    "same_account": N_("Same bank account"),
    "same_phone": N_("Same phone number in two households"),
    "moved": N_("Same name, date of birth and sex in two communes"),
    "category_stack": N_("Enrolled twice in categories not paid together"),
}
#: ``open`` waits for a decision (and holds the later enrolment); the three decisions are final (a new run never
#: reopens them); ``stale``: an open pair whose evidence is gone (a later run reopens it if the evidence returns).
DUPLICATE_STATUSES = ("open", "same_person", "different_people", "allowed", "stale")
DUPLICATE_DECISIONS = ("same_person", "different_people", "allowed")
DUPLICATE_STATUS_LABELS = {
    "open": N_("Waiting for a decision"),
    "same_person": N_("The same person"),
    "different_people": N_("Different people"),
    "allowed": N_("Allowed"),
    "stale": N_("No longer found"),
}
DUPLICATE_RUN_STATES = ("queued", "running", "done", "failed")
DUPLICATE_RUN_STATE_LABELS = {
    "queued": N_("Waiting"),
    "running": N_("Running"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}


class DuplicatePair(Model):
    """Two people (``person_a_id`` < ``person_b_id``) found together by one kind of evidence.

    ``held_id`` is the later enrolled of the two (the higher first enrolment id): while the pair is open, the
    payout sync holds that person's lines."""

    __tablename__ = "duplicate_pair"
    __table_args__ = (
        UniqueConstraint("kind", "person_a_id", "person_b_id", name="uq_duplicate_pair_kind_people"),
        CheckConstraint("person_a_id < person_b_id", name="ck_duplicate_pair_order"),
        Index("ix_duplicate_pair_held_status", "held_id", "status"),
        Index("ix_duplicate_pair_person_b", "person_b_id"),
        Index("ix_duplicate_pair_status_kind", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    person_a_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", name="fk_duplicate_pair_a"), nullable=False)
    person_b_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", name="fk_duplicate_pair_b"), nullable=False)
    held_id: Mapped[int] = mapped_column(ForeignKey("beneficiary.id", name="fk_duplicate_pair_held"), nullable=False)
    #: The shared evidence: "BIN number" (account), the phone number, "name key|date of birth|sex", "CAT+CAT".
    detail: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open", server_default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", name="fk_duplicate_pair_decided_by"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    found_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    #: The last run that found the evidence (a run marks the open pairs it did not find ``stale``).
    run_id: Mapped[int | None] = mapped_column(Integer)

    person_a: Mapped[Beneficiary] = relationship(Beneficiary, foreign_keys=[person_a_id])
    person_b: Mapped[Beneficiary] = relationship(Beneficiary, foreign_keys=[person_b_id])


class DuplicateRun(Model):
    """One run of the duplicate finder over the whole registry: the database row is the truth of the job."""

    __tablename__ = "duplicate_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id", name="fk_duplicate_run_user"))
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="queued")
    counts_json: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now())
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
