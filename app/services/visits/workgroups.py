"""Step 2: working groups per commune, the visit list (ordered by address) and the printable visit sheet.

Scope: every function that changes something takes the acting ``user_id`` (None: the system, e.g.
the CLI) and refuses units outside that user's scope with a FieldError.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import BinaryIO

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet.page import PageMargins
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from app.models import (
    AdminUnit,
    AsxhUser,
    Beneficiary,
    Enrolment,
    Visit,
    VisitAssignment,
    WorkGroup,
    WorkGroupMember,
)
from app.services.bulk import analyze_after_bulk, bulk_insert, bulk_update, rows_in_chunks
from app.services.formatting import format_date, local_today, utc_now
from app.services.masking import mask_cccd
from app.services.messages import N_, FieldError, Problem
from app.services.reference import is_commune
from app.services.registry.normalize import clean_text, parse_phone
from app.services.scope import require_user_covers, subtree_ids
from app.services.spreadsheets import append_row, new_workbook
from app.services.visits import questionnaire as qn
from app.services.visits.addresses import AddressParts, parse_address
from app.services.visits.latest import latest_visits

# --- scope (the rule: app/services/scope.py) --------------------------------------------


def require_scope(session: Session, user_id: int | None, unit_id: int | None, field: str = "commune") -> None:
    require_user_covers(session, user_id, unit_id, field=field)


# --- groups and members ---------------------------------------------------------------


def create_group(
    session: Session, *, commune_id: int, name: str, user_id: int | None, note: str | None = None
) -> WorkGroup:
    require_scope(session, user_id, commune_id)
    commune = session.get(AdminUnit, commune_id)
    if not is_commune(commune):
        raise FieldError(Problem("commune", "not_a_commune", N_("A working group belongs to a commune")))
    name = clean_text(name)
    if not name:
        raise FieldError(Problem("name", "name_missing", N_("The group needs a name")))
    if session.scalar(select(WorkGroup.id).where(WorkGroup.commune_id == commune_id, WorkGroup.name == name)):
        raise FieldError(
            Problem("name", "name_taken", N_("The commune already has a group named %(name)s"), {"name": name})
        )
    group = WorkGroup(commune_id=commune_id, name=name[:120], note=clean_text(note) or None, created_by_id=user_id)
    session.add(group)
    session.flush()
    return group


def add_member(
    session: Session,
    group: WorkGroup,
    *,
    user_id: int | None,
    member_user_id: int | None = None,
    name: str | None = None,
    role_text: str | None = None,
    phone: str | None = None,
    is_leader: bool = False,
) -> WorkGroupMember:
    """A user of the group's commune, or a person named in free text. Making a leader replaces the old one."""
    require_scope(session, user_id, group.commune_id)
    name = clean_text(name) or None
    phone = parse_phone(phone)
    if member_user_id:
        member_user = session.get(AsxhUser, member_user_id)
        if member_user is None or member_user.unit_id != group.commune_id:
            raise FieldError(
                Problem(
                    "user",
                    "user_not_in_commune",
                    N_("Only users of the group's commune can be members; add other people by name"),
                )
            )
        if any(m.user_id == member_user_id for m in group.members):
            raise FieldError(Problem("user", "user_already_member", N_("This user is already a member")))
        name = None
    elif not name:
        raise FieldError(Problem("name", "member_missing", N_("Choose a user or type the member's name")))
    if is_leader:
        for m in group.members:
            m.is_leader = False
    member = WorkGroupMember(
        group=group,
        commune_id=group.commune_id,
        user_id=member_user_id or None,
        name=name[:150] if name else None,
        role_text=(clean_text(role_text) or None),
        phone=phone,
        is_leader=bool(is_leader),
    )
    session.add(member)
    session.flush()
    return member


def set_leader(session: Session, member: WorkGroupMember, *, user_id: int | None) -> None:
    require_scope(session, user_id, member.commune_id)
    for m in member.group.members:
        m.is_leader = m.id == member.id
    session.flush()


def remove_member(session: Session, member: WorkGroupMember, *, user_id: int | None) -> None:
    require_scope(session, user_id, member.commune_id)
    session.execute(update(VisitAssignment).where(VisitAssignment.member_id == member.id).values(member_id=None))
    session.delete(member)
    session.flush()


def release_group(session: Session, group_id: int) -> None:
    """Before a group is deleted: its visits and assignments forget it (SQLite does not enforce SET NULL)."""
    session.execute(
        update(VisitAssignment).where(VisitAssignment.group_id == group_id).values(group_id=None, member_id=None)
    )
    session.execute(update(Visit).where(Visit.group_id == group_id).values(group_id=None))
    from app.models import AccountOpeningTask

    session.execute(update(AccountOpeningTask).where(AccountOpeningTask.group_id == group_id).values(group_id=None))


def candidate_users(session: Session, commune_id: int) -> list[AsxhUser]:
    """Users who may be members: those of the commune (police, labour officers)."""
    return list(
        session.scalars(
            select(AsxhUser)
            .where(AsxhUser.unit_id == commune_id, AsxhUser.active.is_(True))
            .order_by(AsxhUser.username)
        )
    )


# --- the visit list -------------------------------------------------------------------


_ADDRESS_CHUNK = 20_000


def _parsed(cache: dict[str | None, AddressParts], address: str | None) -> AddressParts:
    parts = cache.get(address)
    if parts is None:
        parts = cache[address] = parse_address(address)
    return parts


def _address_columns(parts: AddressParts, address: str | None) -> dict:
    """The visit-list columns of a parsed address; ``address_seen`` tells later syncs what was parsed."""
    return {
        "street": parts.street,
        "street_key": parts.street_key,
        "lane_no": parts.lane,
        "alley_no": parts.alley,
        "house_no": parts.house,
        "house_suffix": parts.house_suffix,
        "address_seen": address if address is not None else "",
    }


def sync_visit_list(session: Session, unit: AdminUnit | None) -> int:
    """Bring the visit list of ``unit`` up to date with the registry: a row for every beneficiary,
    the commune of people who moved (their assignment is cleared), and the address parts of changed
    addresses. Set-based except the address parsing (Python, written per chunk with ``bulk.bulk_insert`` for
    new rows, ``bulk.bulk_update`` for changed addresses). Returns the rows whose address was parsed.
    ``unit`` None: every unit (the system)."""
    scope = subtree_ids(unit) if unit is not None else select(AdminUnit.id)
    parsed: dict[str | None, AddressParts] = {}  # addresses repeat (a village, a building): parse each once
    # People without a row yet (a bulk import): their rows are written whole, address parts included, by one
    # COPY per chunk — not inserted blank and then rewritten by the re-parse below. One anti-join, streamed.
    done = 0
    missing = select(Beneficiary.id, Beneficiary.commune_id, Beneficiary.address).where(
        Beneficiary.commune_id.in_(scope), ~exists().where(VisitAssignment.beneficiary_id == Beneficiary.id)
    )
    for chunk in rows_in_chunks(session, missing, order_by=Beneficiary.id, size=_ADDRESS_CHUNK):
        bulk_insert(
            session,
            VisitAssignment.__table__,
            [
                dict(_address_columns(_parsed(parsed, address), address), beneficiary_id=bid, commune_id=commune_id)
                for bid, commune_id, address in chunk
            ],
        )
        done += len(chunk)
        if len(parsed) > _ADDRESS_CHUNK:
            parsed.clear()
    analyze_after_bulk(session, "visit_assignment", done)
    # People who moved: one UPDATE … FROM (a join), not a subquery per row of the list.
    session.execute(
        update(VisitAssignment)
        .where(
            VisitAssignment.beneficiary_id == Beneficiary.id,
            Beneficiary.commune_id.in_(scope),
            VisitAssignment.commune_id != Beneficiary.commune_id,
        )
        .values(commune_id=Beneficiary.commune_id, group_id=None, member_id=None)
        .execution_options(synchronize_session=False)
    )
    # A row never parsed has no ``address_seen``; a parsed one holds the address, "" for none (parsed once too).
    stale = VisitAssignment.address_seen.is_distinct_from(func.coalesce(Beneficiary.address, ""))
    # In chunks by beneficiary id, so memory stays bounded for a city-wide list; each chunk is written back with
    # one COPY + UPDATE … FROM on PostgreSQL (an UPDATE per person cost most of an import's visit-list step).
    changed = (
        select(VisitAssignment.beneficiary_id, Beneficiary.address)
        .join(Beneficiary, Beneficiary.id == VisitAssignment.beneficiary_id)
        .where(Beneficiary.commune_id.in_(scope), stale)
    )
    for chunk in rows_in_chunks(session, changed, order_by=VisitAssignment.beneficiary_id, size=_ADDRESS_CHUNK):
        params = [dict(_address_columns(_parsed(parsed, a), a), beneficiary_id=bid) for bid, a in chunk]
        bulk_update(session, VisitAssignment.__table__, params, key="beneficiary_id")
        if len(parsed) > _ADDRESS_CHUNK:
            parsed.clear()
        done += len(params)
    session.flush()
    return done


ADDRESS_ORDER = (
    VisitAssignment.street_key,
    VisitAssignment.lane_no,
    VisitAssignment.alley_no,
    VisitAssignment.house_no,
    VisitAssignment.house_suffix,
    Beneficiary.sort_key,
    Beneficiary.id,
)


def not_visited(person=Beneficiary):
    """A person still to visit: not ended (deceased, moved away…) and never visited. Step 3's work."""
    return and_(person.ended_at.is_(None), ~exists().where(Visit.beneficiary_id == person.id))


def visit_list_query(
    commune_id: int,
    *,
    group_id: int | None = None,
    member_id: int | None = None,
    unassigned: bool = False,
    match_status: str | None = None,
    category: str | None = None,
    case_type: int | None = None,
    search: str | None = None,
    not_visited_only: bool = False,
):
    """SELECT (Beneficiary, VisitAssignment) of a commune's visit list, in address order, filtered."""
    q = (
        select(Beneficiary, VisitAssignment)
        .join(VisitAssignment, VisitAssignment.beneficiary_id == Beneficiary.id)
        .where(Beneficiary.commune_id == commune_id)
    )
    if group_id:
        q = q.where(VisitAssignment.group_id == group_id)
    if member_id:
        q = q.where(VisitAssignment.member_id == member_id)
    if unassigned:
        q = q.where(VisitAssignment.group_id.is_(None))
    if match_status:
        q = q.where(Beneficiary.match_status == match_status)
    if category:
        q = q.where(exists().where(Enrolment.beneficiary_id == Beneficiary.id, Enrolment.category == category))
    if case_type:
        q = q.where(Beneficiary.case_type == case_type)
    if not_visited_only:
        q = q.where(not_visited())
    if search:
        from app.services.registry.normalize import search_key

        key = search_key(search)  # tones and case ignored, as the stored keys
        q = q.where(
            or_(
                Beneficiary.search_key.contains(key, autoescape=True),
                Beneficiary.address_key.contains(key, autoescape=True),
                Beneficiary.cccd == search.strip(),
            )
        )
    return q.order_by(*ADDRESS_ORDER)


def groups_of(session: Session, commune_id: int) -> list[WorkGroup]:
    """The work groups of a commune, by name."""
    return list(session.scalars(select(WorkGroup).where(WorkGroup.commune_id == commune_id).order_by(WorkGroup.name)))


def visit_list_page(session: Session, commune_id: int, filters: dict, page: int, page_size: int) -> dict:
    """One page of a commune's visit list (``filters`` as ``visit_list_query`` takes them; ``page`` from 1,
    clamped to the pages there are): ``rows`` as (number on the list, person, assignment, latest visit or None),
    ``total``, ``page``, ``pages``, and the commune's work ``groups`` with their ``members``. Reads only."""
    query = visit_list_query(commune_id, **filters)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    found = session.execute(query.limit(page_size).offset((page - 1) * page_size)).all()
    latest = latest_visits(session, [b.id for b, _a in found])
    groups = groups_of(session, commune_id)
    return {
        "rows": [((page - 1) * page_size + i, b, a, latest.get(b.id)) for i, (b, a) in enumerate(found, 1)],
        "total": total,
        "page": page,
        "pages": pages,
        "groups": groups,
        "members": [m for group in groups for m in group.members],
    }


def assign(
    session: Session,
    commune_id: int,
    beneficiary_ids: Iterable[int] | None,
    *,
    group_id: int | None,
    member_id: int | None,
    user_id: int | None,
    filters: dict | None = None,
) -> int:
    """Assign people of a commune (the given ids, or everyone matching ``filters``) to a group and
    optionally one member; group None clears the assignment. Returns the number of people."""
    require_scope(session, user_id, commune_id)
    if group_id is not None:
        group = session.get(WorkGroup, group_id)
        if group is None or group.commune_id != commune_id:
            raise FieldError(Problem("group", "group_other_commune", N_("The group does not belong to this commune")))
    if member_id is not None:
        member = session.get(WorkGroupMember, member_id)
        if member is None or member.group_id != group_id:
            raise FieldError(Problem("member", "member_other_group", N_("The member does not belong to the group")))
    if beneficiary_ids is None:
        ids_q = visit_list_query(commune_id, **(filters or {})).with_only_columns(Beneficiary.id).order_by(None)
    else:
        ids = [int(i) for i in beneficiary_ids]
        ids_q = select(Beneficiary.id).where(Beneficiary.id.in_(ids), Beneficiary.commune_id == commune_id)
    result = session.execute(
        update(VisitAssignment)
        .where(VisitAssignment.beneficiary_id.in_(ids_q), VisitAssignment.commune_id == commune_id)
        .values(group_id=group_id, member_id=member_id, assigned_by_id=user_id, assigned_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return result.rowcount or 0


def next_to_visit(session: Session, commune_id: int, after_id: int, *, group_id: int | None = None) -> int | None:
    """The next person after ``after_id`` in the visit list (same group filter) still of case type 5 / unclassified."""
    rows = [(b.id, b.case_type) for b, _a in session.execute(visit_list_query(commune_id, group_id=group_id))]
    order = [bid for bid, _ct in rows]
    pos = order.index(after_id) if after_id in order else -1
    for bid, ct in rows[pos + 1 :] + rows[: max(pos, 0)]:
        if ct in (None, 5) and bid != after_id:
            return bid
    return None


# --- the visit sheet ------------------------------------------------------------------


def sheet_people(session: Session, group: WorkGroup, *, unmask: bool = False) -> list[dict]:
    """People of a group's round in address order, with what the sheet prints about them."""
    rows = session.execute(visit_list_query(group.commune_id, group_id=group.id)).all()
    ids = [b.id for b, _a in rows]
    cats: dict[int, list[str]] = {}
    for bid, cat in session.execute(
        select(Enrolment.beneficiary_id, Enrolment.category)
        .where(Enrolment.beneficiary_id.in_(ids))
        .order_by(Enrolment.category)
    ):
        cats.setdefault(bid, []).append(cat)
    latest = latest_visits(session, ids)
    out = []
    for i, (b, a) in enumerate(rows, 1):
        v = latest.get(b.id)
        out.append(
            {
                "no": i,
                "id": b.id,
                "full_name": b.full_name,
                "birth": b.birth,
                "sex": b.sex or "",
                "cccd": b.cccd if unmask else mask_cccd(b.cccd),
                "address": b.address or "",
                "street": a.street,
                "categories": ", ".join(cats.get(b.id, [])),
                "member": a.member.display_name if a.member is not None else "",
                "last_visit": v.visit_date if v is not None else None,
                "case_type": b.case_type,
            }
        )
    return out


SHEET_COLUMNS = (
    "has_account",
    "account_bank",
    "account_number",
    "wants_account_payment",
    "opening_bank",
    "decline_reason",
    "can_transact_alone",
    "vulnerabilities",
    "support",
)


def write_visit_sheet(
    session: Session,
    group: WorkGroup,
    out: BinaryIO,
    translate: Callable[[str], str],
    *,
    definition: dict,
    today: dt.date | None = None,
    unmask: bool = False,
) -> int:
    """The visit sheet of a group as .xlsx (A4 landscape): who to visit in address order, blank answer boxes
    (headed by the questionnaire's own labels) and a signature box for the citizen. Returns the rows."""
    t = translate
    today = today or local_today()
    people = sheet_people(session, group, unmask=unmask)
    questions = qn.question_map(definition)
    wb = new_workbook(write_only=False)
    ws = wb.active
    ws.title = t(N_("Visit sheet"))[:31]
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    bold = Font(bold=True)
    append_row(ws, [t(N_("VISIT SHEET OF THE WORKING GROUP (ĐỀ ÁN 06)"))])
    ws["A1"].font = Font(bold=True, size=14)
    append_row(ws, [t(N_("Commune")) + ":", group.commune.name])
    append_row(ws, [t(N_("Working group")) + ":", group.name])
    append_row(ws, [t(N_("Leader")) + ":", group.leader_name])
    append_row(ws, [t(N_("Members")) + ":", "; ".join(m.display_name for m in group.members)])
    append_row(ws, [t(N_("Printed on")) + ":", format_date(today)])
    append_row(ws, [t(N_("Questionnaire")) + ":", definition.get("title", "")])
    append_row(ws)
    headers = (
        [
            t(N_("No.")),
            t(N_("Full name")),
            t(N_("Date of birth")),
            t(N_("CCCD")),
            t(N_("Address")),
            t(N_("Categories")),
            t(N_("Member")),
        ]
        + [questions[k]["label"] if k in questions else k for k in SHEET_COLUMNS]
        + [t(N_("Visit date")), t(N_("Citizen's signature"))]
    )
    append_row(ws, headers)
    header_row = ws.max_row
    for c in ws[header_row]:
        c.font, c.border, c.alignment = bold, border, wrap
        c.fill = PatternFill("solid", fgColor="DDEBF7")
    for p in people:
        append_row(
            ws,
            [p["no"], p["full_name"], p["birth"], p["cccd"], p["address"], p["categories"], p["member"]]
            + [""] * len(SHEET_COLUMNS)
            + ["", ""],
        )
        ws.row_dimensions[ws.max_row].height = 42
        for c in ws[ws.max_row]:
            c.border, c.alignment = border, wrap
    append_row(ws)
    append_row(ws, [t(N_("Total")), t(N_("%(n)s people")) % {"n": len(people)}])
    ws.cell(ws.max_row, 1).font = bold
    append_row(ws)
    append_row(ws, ["", t(N_("Leader of the working group (signature, full name)"))])
    widths = [5, 24, 11, 15, 32, 9, 16] + [14] * len(SHEET_COLUMNS) + [11, 18]
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    wb.save(out)
    return len(people)


def delete_group(session: Session, group: WorkGroup, *, user_id: int | None) -> None:
    require_scope(session, user_id, group.commune_id)
    release_group(session, group.id)
    session.execute(delete(WorkGroupMember).where(WorkGroupMember.group_id == group.id))
    session.delete(group)
    session.flush()
