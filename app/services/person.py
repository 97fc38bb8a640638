"""Everything about one person, for the person page: the one query of every step's data about a beneficiary;
and the beneficiary list as a spreadsheet (``write_beneficiary_list``).

``person_file(session, beneficiary_id, actor_unit)`` returns a ``PersonFile`` (rows and plain values, codes
untranslated) or None when the person does not exist or lies outside the actor's scope — one answer for
both, so a page cannot tell them apart. Read-only: it never writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import (
    AccountOpeningTask,
    AdminUnit,
    AuditLog,
    Beneficiary,
    PaymentAccount,
    PayoutLine,
    PayoutPeriod,
    Visit,
)
from app.services.messages import N_
from app.services.notices import outbox
from app.services.payout import complaints, verification
from app.services.payout.backpay import back_pay_table
from app.services.scope import covers, subtree_ids
from app.services.spreadsheets import Money, Styled, append_row, new_workbook

#: How many audit records the page shows (newest first); the audit screen has the rest.
AUDIT_LIMIT = 200


@dataclass
class PersonFile:
    person: Beneficiary
    enrolments: list = field(default_factory=list)
    matching: dict = field(default_factory=dict)
    visits: list[dict] = field(default_factory=list)
    opening_tasks: list = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)
    payout_lines: list[dict] = field(default_factory=list)
    holds: list[dict] = field(default_factory=list)
    audit: list = field(default_factory=list)
    complaints: list = field(default_factory=list)
    verifications: list = field(default_factory=list)
    #: per enrolment and benefit month: what it is worth, what was paid, what is in payment, what is owed
    back_pay: list[dict] = field(default_factory=list)
    identifiers: dict[str, str] = field(default_factory=dict)
    contact: Any = None  # the phone number and opt-out for notices (BeneficiaryContact), None: none recorded
    notices: list = field(default_factory=list)


def _json(value: str | None, default):
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        return default


def _matching(person: Beneficiary, session: Session) -> dict:
    reviewer = None
    if person.reviewed_by_id:
        from app.models import AsxhUser

        user = session.get(AsxhUser, person.reviewed_by_id)
        reviewer = user.username if user else None
    diff = _json(person.match_diff, {})
    return {
        "status": person.match_status,
        "cccd": person.match_cccd,
        "score": person.match_score,
        "matched_at": person.matched_at,
        "diff": sorted(diff.items()) if isinstance(diff, dict) else [],
        "candidates": _json(person.match_candidates, []),
        "review_note": person.review_note,
        "reviewed_by": reviewer,
        "reviewed_at": person.reviewed_at,
        "duplicate_of_id": person.duplicate_of_id,
    }


def _visits(session: Session, person_id: int, translate: Callable[[str], str]) -> list[dict]:
    from app.services.visits import survey

    visits = session.scalars(
        select(Visit)
        .where(Visit.beneficiary_id == person_id)
        .options(selectinload(Visit.questionnaire), selectinload(Visit.recorded_by))
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
    ).all()
    return [
        {"visit": v, "answers": survey.describe_answers(v.questionnaire.parsed, v.answer_dict, translate)}
        for v in visits
    ]


def _accounts(session: Session, person_id: int, history: dict[int, list]) -> list[dict]:
    accounts = session.scalars(
        select(PaymentAccount)
        .where(PaymentAccount.beneficiary_id == person_id)
        .options(selectinload(PaymentAccount.bank))
        .order_by(PaymentAccount.id.desc())
    ).all()
    return [{"account": a, "history": history.get(a.id, [])} for a in accounts]


def _payout_lines(session: Session, person_id: int) -> list[dict]:
    rows = session.execute(
        select(PayoutLine, PayoutPeriod.name, PayoutPeriod.period_date, PayoutPeriod.status)
        .join(PayoutPeriod, PayoutPeriod.id == PayoutLine.period_id)
        .where(PayoutLine.beneficiary_id == person_id)
        .order_by(PayoutPeriod.period_date.desc(), PayoutLine.benefit_month.desc(), PayoutLine.id.desc())
    ).all()
    return [
        {"line": line, "period_name": name, "period_date": date, "period_status": status}
        for line, name, date, status in rows
    ]


def _decisions(audit: list[AuditLog]) -> list[dict]:
    """Every review decision in the person's audit trail (oldest first): who, when, the status and the note."""
    out = []
    for record in reversed(audit):
        new = _json(record.new_values, {})
        if record.entity == "beneficiary" and isinstance(new, dict) and "reviewed_at" in new:
            out.append(
                {
                    "at": record.at,
                    "by": record.username,
                    "status": new.get("match_status"),
                    "note": new.get("review_note"),
                }
            )
    return out


def _holds(person: Beneficiary, audit: list[AuditLog], lines: list[dict]) -> list[dict]:
    """The current hold, every change of it in the audit trail, and the payout lines held."""
    holds = []
    if person.hold_reason:
        holds.append({"kind": "current", "reason": person.hold_reason, "at": None, "by": None})
    for record in audit:
        if record.entity != "beneficiary":
            continue
        old, new = _json(record.old_values, {}), _json(record.new_values, {})
        if (
            isinstance(new, dict)
            and "hold_reason" in new
            and (not isinstance(old, dict) or old.get("hold_reason") != new["hold_reason"])
        ):
            holds.append(
                {
                    "kind": "change",
                    "reason": new["hold_reason"],
                    "old": old.get("hold_reason") if isinstance(old, dict) else None,
                    "at": record.at,
                    "by": record.username,
                }
            )
    for entry in lines:
        line = entry["line"]
        if line.hold_reason:
            holds.append(
                {
                    "kind": "line",
                    "reason": line.hold_reason,
                    "at": None,
                    "by": None,
                    "period_name": entry["period_name"],
                    "benefit_month": line.benefit_month,
                }
            )
    return holds


def person_file(
    session: Session,
    beneficiary_id: int,
    actor_unit: AdminUnit | None,
    *,
    translate: Callable[[str], str] = lambda s: s,
    audit_limit: int = AUDIT_LIMIT,
    sees_sensitive: bool = False,
) -> PersonFile | None:
    """One person's data from every step, or None when unknown or outside ``actor_unit``'s scope.

    ``translate`` is handed to the questionnaire's answer labels (the caller's language). Identifier values
    (CCCD, CMND, account numbers…) are returned unmasked: the caller masks them for the reader."""
    person = session.get(Beneficiary, beneficiary_id)
    if person is None or not covers(actor_unit, person.commune_id, session):
        return None
    # Records of the person's accounts carry the person too (the ORM trail names beneficiary_id).
    audit = session.scalars(
        select(AuditLog).where(AuditLog.beneficiary_id == person.id).order_by(AuditLog.id.desc()).limit(audit_limit)
    ).all()
    history: dict[int, list] = {}
    for record in reversed(audit):
        if record.entity == "payment_account" and record.action != "view" and str(record.entity_id).isdigit():
            history.setdefault(int(record.entity_id), []).append(record)
    lines = _payout_lines(session, person.id)
    matching = dict(_matching(person, session), decisions=_decisions(audit))
    return PersonFile(
        person=person,
        enrolments=sorted(person.enrolments, key=lambda e: (e.ended_at is not None, e.category)),
        matching=matching,
        visits=_visits(session, person.id, translate),
        opening_tasks=list(
            session.scalars(
                select(AccountOpeningTask)
                .where(AccountOpeningTask.beneficiary_id == person.id)
                .order_by(AccountOpeningTask.id.desc())
            )
        ),
        accounts=_accounts(session, person.id, history),
        payout_lines=lines,
        holds=_holds(person, audit, lines),
        contact=outbox.contact_of(session, person.id),
        notices=outbox.person_notices(session, person.id),
        audit=audit,
        # After the money moves: the complaints the reader sees (sensitive ones: their leaders only) and the
        # post-payment verification answers.
        complaints=complaints.person_complaints(session, person.id, actor_unit, sees_sensitive),
        verifications=verification.person_answers(session, person.id, actor_unit),
        back_pay=back_pay_table(session, person.id),
    )


def summary(file: PersonFile) -> dict[str, Any]:
    """Counts of each section (for the page's headings and tests)."""
    return {
        "enrolments": len(file.enrolments),
        "visits": len(file.visits),
        "accounts": len(file.accounts),
        "payout_lines": len(file.payout_lines),
        "holds": len(file.holds),
        "audit": len(file.audit),
    }


# --- the beneficiary list as a spreadsheet ---------------------------------------------------------------

EXPORT_HEADERS = (
    N_("No."),
    N_("Full name"),
    N_("CCCD"),
    N_("Date of birth"),
    N_("Birth year"),
    N_("Sex"),
    N_("Address"),
    N_("Commune"),
    N_("Categories"),
    N_("Monthly amount"),
    N_("Match status"),
    N_("Case type"),
    N_("Hold"),
    N_("Ended on"),
)
_EXPORT_WIDTHS = (6, 28, 16, 12, 8, 8, 40, 22, 12, 14, 18, 8, 18, 12)


def write_beneficiary_list(
    session: Session,
    out: BinaryIO,
    actor_unit: AdminUnit | None,
    translate: Callable[[str], str],
    *,
    ids: Select | None = None,
    unmask: bool = False,
    title: str | None = None,
) -> int:
    """The beneficiary list as .xlsx into ``out``: the people of ``ids`` (a SELECT of beneficiary ids, e.g.
    the screen's filters; None: everyone) within ``actor_unit``'s scope, in Vietnamese name order. CCCDs are
    masked unless ``unmask``. Numbers (row number, birth year, amount, case type) are numeric cells and dates
    date cells. Returns the number of people written. Read-only."""
    from openpyxl.styles import Font

    from app.services.labels import label
    from app.services.masking import mask_cccd

    t = translate
    wb = new_workbook()
    ws = wb.create_sheet(t(N_("Beneficiaries"))[:31])
    for i, width in enumerate(_EXPORT_WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    if title:
        append_row(ws, [title], font=Font(bold=True, size=13))
    append_row(ws, [t(h) for h in EXPORT_HEADERS], font=Font(bold=True))
    stmt = (
        select(Beneficiary)
        .where(Beneficiary.commune_id.in_(subtree_ids(actor_unit)))
        .options(selectinload(Beneficiary.enrolments), joinedload(Beneficiary.commune))
        .order_by(Beneficiary.sort_key, Beneficiary.id)
        .execution_options(yield_per=1000)
    )
    if ids is not None:
        stmt = stmt.where(Beneficiary.id.in_(ids))
    count = 0
    for person in session.scalars(stmt):
        count += 1
        cccd = person.cccd if unmask or not person.cccd else mask_cccd(person.cccd)
        amount = sum(e.monthly_amount or 0 for e in person.enrolments if e.ended_at is None)
        born = Styled(person.date_of_birth, number_format="DD/MM/YYYY") if person.date_of_birth else None
        append_row(
            ws,
            [
                count,
                person.full_name,
                cccd,
                born,
                person.birth_year,
                label("sex", person.sex, t),
                person.address,
                person.commune.name if person.commune else None,
                ", ".join(sorted(e.category for e in person.enrolments if e.ended_at is None)),
                Money(amount),
                label("match_status", person.match_status, t),
                person.case_type,
                label("hold_reason", person.hold_reason, t),
                Styled(person.ended_at.date(), number_format="DD/MM/YYYY") if person.ended_at else None,
            ],
            text_cols=(2,),
        )
    wb.save(out)
    return count
