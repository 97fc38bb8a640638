"""Step 4: every beneficiary in a scope gets exactly one case type, and the lists per case type.

1 has an account and wants account payment; 2 wants account payment, account being opened;
3 declines, paid in cash (confirmed with a reason); 4 vulnerable, with a support arrangement
(proxy, cash at home, assisted); 5 not yet visited or not met; 6 held (``Beneficiary.hold_reason``
is set: deceased, moved, mismatch not resolved).

Derivation: held wins; then the latest visit (by visit date, then id) decides through the case it
implies (``Visit.case_type``, see :func:`visit_case`), except that type 1 needs a VERIFIED account
(``accounts.has_verified_account``): a person who wants account payment is type 1 when a verified account is
in force, else type 2 (the account is being opened, or entered and waiting for the second person). No
visit: type 5.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import BinaryIO

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from sqlalchemy import and_, case, false, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.models import (
    AccountOpeningTask,
    AdminUnit,
    Bank,
    Beneficiary,
    Enrolment,
    PaymentAccount,
    Questionnaire,
    Visit,
    VisitAssignment,
    WorkGroup,
)
from app.models.beneficiary import CASE_TYPE_LABELS
from app.services.formatting import format_date, local_today
from app.services.labels import label
from app.services.masking import mask_account, mask_cccd
from app.services.messages import N_
from app.services.payout.accounts import has_verified_account
from app.services.reference import commune_level, level_below
from app.services.scope import contains_clause, subtree_ids
from app.services.spreadsheets import Styled, append_row, new_workbook
from app.services.visits import questionnaire as qn
from app.services.visits.latest import latest_visit_column, latest_visit_id

CASE_TYPES: dict[int, str] = CASE_TYPE_LABELS  # case type → label msgid (the map is in app/models/beneficiary.py)
HAS_ACCOUNT, OPENING, DECLINES, VULNERABLE, NOT_VISITED, HELD = 1, 2, 3, 4, 5, 6
ACCOUNT_OPEN_STATES = ("pending", "verified")


def visit_case(*, met: bool, vulnerable: bool, has_account: bool | None, wants_account: bool | None) -> int:
    """The case type a visit implies on its own (before holds and later account entries)."""
    if not met:
        return NOT_VISITED
    if vulnerable:
        return VULNERABLE
    if wants_account:
        return HAS_ACCOUNT if has_account else OPENING
    return DECLINES


def case_expression():
    """SQL expression of the case type of the enclosing Beneficiary row."""
    latest = latest_visit_column("case_type")
    has_account = has_verified_account(Beneficiary.id).correlate(Beneficiary)
    return case(
        (and_(Beneficiary.hold_reason.is_not(None), Beneficiary.hold_reason != ""), HELD),
        (latest.is_(None), NOT_VISITED),
        (and_(latest.in_((HAS_ACCOUNT, OPENING)), has_account), HAS_ACCOUNT),
        (latest == HAS_ACCOUNT, OPENING),
        else_=latest,
    )


def classify_cases(
    session: Session,
    unit: AdminUnit | None = None,
    beneficiary_ids: Iterable[int] | None = None,
    *,
    only_unclassified: bool = False,
    only_hold_changes: bool = False,
) -> int:
    """Recompute ``Beneficiary.case_type`` for every beneficiary in ``unit`` (None: everywhere),
    optionally only for some people. One UPDATE; returns the number of rows it touched."""
    stmt = update(Beneficiary).values(case_type=case_expression())
    if unit is not None:
        stmt = stmt.where(Beneficiary.commune_id.in_(subtree_ids(unit)))
    if beneficiary_ids is not None:
        ids = list(beneficiary_ids)
        stmt = stmt.where(Beneficiary.id.in_(ids) if ids else false())
    if only_unclassified:
        stmt = stmt.where(Beneficiary.case_type.is_(None))
    if only_hold_changes:
        # After matching only the hold can have changed: recompute where "held" and case 6 disagree.
        stmt = stmt.where(
            or_(
                Beneficiary.case_type.is_(None),
                and_(Beneficiary.hold_reason.is_not(None), Beneficiary.case_type != HELD),
                and_(Beneficiary.hold_reason.is_(None), Beneficiary.case_type == HELD),
            )
        )
    result = session.execute(stmt.execution_options(synchronize_session=False))
    session.expire_all()
    return result.rowcount or 0


def unclassified_count(session: Session, unit: AdminUnit | None) -> int:
    q = select(func.count()).select_from(Beneficiary).where(Beneficiary.case_type.is_(None))
    if unit is not None:
        q = q.where(Beneficiary.commune_id.in_(subtree_ids(unit)))
    return session.scalar(q) or 0


def breakdown_level(unit: AdminUnit | None) -> int | None:
    """The ``level`` of ``case_counts`` for the table of ``unit``: one row per unit directly below it (the districts
    of the 2024 city), None (one row per commune) when the units below are communes or ``unit`` is one."""
    below = None if unit is None else level_below(unit)
    return None if below is None or below == commune_level(unit.scheme) else below


def case_counts(session: Session, unit: AdminUnit | None = None, *, level: int | None = None, cache=None) -> list[dict]:
    """Counts per unit per case type within ``unit`` (None: everywhere).

    ``level`` None: one row per commune; else one row per unit of that level (``breakdown_level``)
    that contains the communes. Each row: {unit_id, code, name, level,
    counts: {1..6: n}, unclassified, total}. Units without beneficiaries are left out. ``cache`` (optional, the
    home page's: its entries must not outlive a write of the figures) keeps the rows of a unit: at city scale
    they group the whole registry."""
    import json

    key = f"asxh:cases:{unit.scheme}:{unit.id}:{level}" if unit is not None else None
    hit = cache.get(key) if cache is not None and key is not None else None
    if hit:
        return [dict(r, counts={int(t): n for t, n in r["counts"].items()}) for r in json.loads(hit)]
    rows = _case_counts(session, unit, level)
    if cache is not None and key is not None:
        cache.set(key, json.dumps(rows))
    return rows


def _case_counts(session: Session, unit: AdminUnit | None, level: int | None) -> list[dict]:
    commune = aliased(AdminUnit)
    if level is None:
        group = commune
        q = select(commune.id, commune.code, commune.name, commune.level, Beneficiary.case_type, func.count()).join(
            commune, commune.id == Beneficiary.commune_id
        )
    else:
        group = aliased(AdminUnit)
        q = (
            select(group.id, group.code, group.name, group.level, Beneficiary.case_type, func.count())
            .join(commune, commune.id == Beneficiary.commune_id)
            .join(group, and_(group.level == level, contains_clause(group, commune)))
        )
    if unit is not None:
        q = q.where(Beneficiary.commune_id.in_(subtree_ids(unit)))
    q = q.group_by(group.id, group.code, group.name, group.level, Beneficiary.case_type)
    rows: dict[int, dict] = {}
    for unit_id, code, name, lvl, case_type, n in session.execute(q):
        row = rows.setdefault(
            unit_id,
            {
                "unit_id": unit_id,
                "code": code,
                "name": name,
                "level": lvl,
                "counts": {t: 0 for t in CASE_TYPES},
                "unclassified": 0,
                "total": 0,
            },
        )
        if case_type in CASE_TYPES:
            row["counts"][case_type] += n
        else:
            row["unclassified"] += n
        row["total"] += n
    return sorted(rows.values(), key=lambda r: r["code"])


def totals(rows: list[dict]) -> dict:
    out = {"counts": {t: 0 for t in CASE_TYPES}, "unclassified": 0, "total": 0}
    for r in rows:
        for t in CASE_TYPES:
            out["counts"][t] += r["counts"][t]
        out["unclassified"] += r["unclassified"]
        out["total"] += r["total"]
    return out


# --- the lists ------------------------------------------------------------------------


def case_people_query(unit: AdminUnit | None, case_type: int | None):
    """SELECT (Beneficiary, Visit or None, AdminUnit commune) for a case list, ordered by commune and name."""
    commune = aliased(AdminUnit)
    q = (
        select(Beneficiary, Visit, commune)
        .join(commune, commune.id == Beneficiary.commune_id)
        .outerjoin(Visit, Visit.id == latest_visit_id())
    )
    if unit is not None:
        q = q.where(Beneficiary.commune_id.in_(subtree_ids(unit)))
    if case_type is not None:
        q = q.where(Beneficiary.case_type == case_type)
    return q.order_by(commune.path, Beneficiary.sort_key, Beneficiary.id)


class _Details:
    """Looks up, per chunk of people, what the lists show besides the person: categories, accounts,
    opening tasks, groups, and the questionnaire labels of the latest visit."""

    def __init__(self, session: Session, translate: Callable[[str], str], unmask: bool):
        self.session, self.t, self.unmask = session, translate, unmask
        self.definitions: dict[int, dict] = {}
        self.banks = {b: n for b, n in session.execute(select(Bank.bin, Bank.short_name))}

    def load(self, ids: list[int]) -> None:
        s = self.session
        self.categories: dict[int, list[str]] = {}
        for bid, cat in s.execute(
            select(Enrolment.beneficiary_id, Enrolment.category)
            .where(Enrolment.beneficiary_id.in_(ids))
            .order_by(Enrolment.category)
        ):
            self.categories.setdefault(bid, []).append(cat)
        self.accounts: dict[int, tuple] = {}
        for bid, bin_, number, state in s.execute(
            select(
                PaymentAccount.beneficiary_id,
                PaymentAccount.bank_bin,
                PaymentAccount.account_number,
                PaymentAccount.state,
            )
            .where(PaymentAccount.beneficiary_id.in_(ids), PaymentAccount.state.in_(ACCOUNT_OPEN_STATES))
            .order_by(PaymentAccount.id)
        ):
            if bid not in self.accounts or state == "verified" or self.accounts[bid][2] != "verified":
                self.accounts[bid] = (bin_, number, state)
        self.tasks: dict[int, tuple] = {}
        for bid, bin_, state in s.execute(
            select(AccountOpeningTask.beneficiary_id, AccountOpeningTask.bank_bin, AccountOpeningTask.state)
            .where(AccountOpeningTask.beneficiary_id.in_(ids))
            .order_by(AccountOpeningTask.id)
        ):
            self.tasks[bid] = (bin_, state)
        self.groups = dict(
            s.execute(
                select(VisitAssignment.beneficiary_id, WorkGroup.name)
                .join(WorkGroup, WorkGroup.id == VisitAssignment.group_id)
                .where(VisitAssignment.beneficiary_id.in_(ids))
            ).all()
        )

    def definition(self, questionnaire_id: int) -> dict:
        if questionnaire_id not in self.definitions:
            q = self.session.get(Questionnaire, questionnaire_id)
            self.definitions[questionnaire_id] = q.parsed if q else {}
        return self.definitions[questionnaire_id]

    def detail(self, person: Beneficiary, visit: Visit | None) -> str:
        t = self.t
        ct = person.case_type
        if ct == HELD:
            code = person.hold_reason or ""
            return label("hold_reason", code, t)
        if ct == NOT_VISITED or ct is None:
            if visit is None:
                return t(N_("Not visited yet"))
            d = self.definition(visit.questionnaire_id)
            reason = qn.option_label(d, "not_met_reason", visit.answer_dict.get("not_met_reason"))
            text = t(N_("Not met on %(date)s")) % {"date": format_date(visit.visit_date)}
            return f"{text}: {reason}" if reason else text
        if ct == HAS_ACCOUNT:
            acct = self.accounts.get(person.id)
            if acct:
                number = acct[1] if self.unmask else mask_account(acct[1])
                return f"{self.banks.get(acct[0], acct[0])} · {number}"
            return ""
        if ct == OPENING:
            task = self.tasks.get(person.id)
            if task:
                bank = self.banks.get(task[0], "") if task[0] else t(N_("bank not chosen yet"))
                return f"{bank} · {label('task_state', task[1], t)}"
            return ""
        if visit is None:
            return ""
        d = self.definition(visit.questionnaire_id)
        answers = visit.answer_dict
        if ct == DECLINES:
            reason = qn.option_label(d, "decline_reason", visit.decline_reason)
            other = answers.get("decline_reason_other")
            return f"{reason}: {other}" if other else reason
        if ct == VULNERABLE:
            parts = [qn.option_label(d, "support", s) for s in visit.support_list if s != "other"]
            if "other" in visit.support_list:
                parts.append(answers.get("support_other") or qn.option_label(d, "support", "other"))
            if visit.proxy_name:
                cccd = visit.proxy_cccd if self.unmask else mask_cccd(visit.proxy_cccd) or ""
                parts.append(
                    t(N_("proxy: %(name)s, CCCD %(cccd)s, %(relationship)s"))
                    % {"name": visit.proxy_name, "cccd": cccd, "relationship": visit.proxy_relationship or ""}
                )
            return "; ".join(p for p in parts if p)
        return ""


def case_rows(
    session: Session,
    unit: AdminUnit | None,
    case_type: int | None,
    translate: Callable[[str], str],
    *,
    unmask: bool = False,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = 1000,
):
    """Yield one dict per person of a case list (in list order)."""
    details = _Details(session, translate, unmask)
    q = case_people_query(unit, case_type)
    if limit is not None:
        q = q.limit(limit).offset(offset)
    batch: list = []

    def flush(batch):
        details.load([p.id for p, _v, _c in batch])
        for person, visit, commune in batch:
            yield {
                "id": person.id,
                "full_name": person.full_name,
                "birth": person.birth,
                "cccd": (person.cccd if unmask else mask_cccd(person.cccd)) or "",
                "address": person.address or "",
                "commune": commune.name,
                "categories": ", ".join(details.categories.get(person.id, [])),
                "case_type": person.case_type,
                "detail": details.detail(person, visit),
                "visit_date": visit.visit_date if visit is not None else None,
                "group": details.groups.get(person.id, ""),
            }

    for row in session.execute(q).yield_per(chunk):
        batch.append(tuple(row))
        if len(batch) >= chunk:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


# Sheet titles (module level: the extractor does not read msgids inside f-strings).
TYPE_WORD = N_("Type")
CASE_LIST_TITLE = N_("List of case type %(n)s")


def write_case_lists(
    session: Session,
    unit: AdminUnit | None,
    out: BinaryIO,
    translate: Callable[[str], str],
    *,
    case_type: int | None = None,
    today: dt.date | None = None,
    unmask: bool = False,
    unit_name: str | None = None,
) -> dict[int, int]:
    """The lists per case type as .xlsx: a summary sheet (counts per unit below ``unit``) and one sheet per
    case type (or only ``case_type``), each with the unit, the date and totals. Returns people per type."""
    t = translate
    today = today or local_today()
    name = unit_name or (unit.name if unit is not None else "")
    wb = new_workbook()
    bold, title_font = Font(bold=True), Font(bold=True, size=13)
    fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")

    def head(ws, values):
        append_row(ws, values, font=bold, fill=fill, border=_BORDER, alignment=wrap)

    def preamble(ws, heading):
        append_row(ws, [heading], font=title_font)
        append_row(ws, [t(N_("Unit")) + ":", name])
        append_row(ws, [t(N_("Date")) + ":", format_date(today)])
        append_row(ws, [])

    # Summary
    rows = case_counts(session, unit, level=breakdown_level(unit))
    types = [case_type] if case_type is not None else list(CASE_TYPES)
    ws = wb.create_sheet(t(N_("Summary")))
    ws.column_dimensions["A"].width = 8
    ws.column_dimensions["B"].width = 32
    preamble(ws, t(N_("Beneficiaries by case type")))
    head(
        ws,
        [t(N_("No.")), t(N_("Unit"))]
        + [f"{t(TYPE_WORD)} {n}: {t(CASE_TYPES[n])}" for n in CASE_TYPES]
        + [t(N_("Total"))],
    )
    for i, r in enumerate(rows, 1):
        append_row(ws, [i, r["name"]] + [r["counts"][n] for n in CASE_TYPES] + [r["total"]], border=_BORDER)
    tot = totals(rows)
    append_row(
        ws, ["", t(N_("Total"))] + [tot["counts"][n] for n in CASE_TYPES] + [tot["total"]], font=bold, border=_BORDER
    )

    counts: dict[int, int] = {}
    headers = [
        t(N_("No.")),
        t(N_("Full name")),
        t(N_("Date of birth")),
        t(N_("CCCD")),
        t(N_("Address")),
        t(N_("Commune")),
        t(N_("Categories")),
        t(N_("Details")),
        t(N_("Latest visit")),
        t(N_("Working group")),
    ]
    widths = [6, 28, 12, 16, 40, 22, 12, 45, 12, 20]
    for n in types:
        ws = wb.create_sheet(f"{t(TYPE_WORD)} {n}"[:31])
        for col, w in zip("ABCDEFGHIJ", widths, strict=True):
            ws.column_dimensions[col].width = w
        preamble(ws, t(CASE_LIST_TITLE) % {"n": n} + f": {t(CASE_TYPES[n])}")
        head(ws, headers)
        count = 0
        for r in case_rows(session, unit, n, translate, unmask=unmask):
            count += 1
            append_row(
                ws,
                [
                    count,
                    r["full_name"],
                    r["birth"],
                    r["cccd"],
                    Styled(r["address"], alignment=wrap),
                    r["commune"],
                    r["categories"],
                    Styled(r["detail"], alignment=wrap),
                    format_date(r["visit_date"]) if r["visit_date"] else "",
                    r["group"],
                ],
                border=_BORDER,
                text_cols=(3,),
            )
        append_row(ws)
        append_row(ws, [t(N_("Total")), t(N_("%(n)s people")) % {"n": count}], font=bold)
        counts[n] = count
    wb.save(out)
    return counts
