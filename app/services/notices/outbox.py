"""The outbox of notices to beneficiaries: creating them (one per person, event and reference), a person's phone
number and opt-out, handing waiting notices over in a spreadsheet, and sending them through a gateway.

Who calls ``notify``: the account verification (``payout/accounts.verify_account``: "account verified"), the
result import (``payout/reconciliation.import_results`` creates the payment notices of a whole file with one
INSERT … SELECT: ``notify_results``), and the complaints service, which calls
``notify(session, "complaint_received" | "complaint_resolved", beneficiary_id, reference="complaint:<id>",
number=<the complaint's short number>)`` in its own transaction.

A notice is created even when it will not be sent, as ``skipped`` with the reason (the person opted out, or no
phone number is recorded), so the outbox shows who was not told. Creating is idempotent: the unique key
(person, event, reference) and ``ON CONFLICT DO NOTHING`` make a repeated call (a job run again, a file imported
after a reversal) add nothing. Nothing here translates: labels are in ``app/models/notice.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AdminUnit, Beneficiary
from app.models.notice import NOTICE_EVENTS, NOTICE_STATUSES, BeneficiaryContact, Notice
from app.services import audit
from app.services.formatting import utc_now
from app.services.messages import N_, NotFound
from app.services.notices import templates
from app.services.notices.senders import REFUSED, SENT, Sender
from app.services.registry.normalize import parse_phone
from app.services.scope import require_user_covers, subtree_ids, subtree_sql
from app.services.spreadsheets import append_row, new_workbook

#: The SMS_* settings (``configure`` at start-up): encoding, gateway, attempts.
SETTINGS: dict[str, Any] = {"SMS_ENCODING": "gsm7", "SMS_MAX_ATTEMPTS": 5, "SMS_RETRY_MINUTES": 15}

# What a new notice is, from its person's contact row ``c`` (absent: no phone): skipped with the reason, or
# queued. An opted-out person's number is not copied into the outbox.
_STATUS_SQL = "CASE WHEN c.sms_opt_out THEN 'skipped' WHEN c.phone IS NULL THEN 'skipped' ELSE 'queued' END"
_REASON_SQL = "CASE WHEN c.sms_opt_out THEN 'opt_out' WHEN c.phone IS NULL THEN 'no_phone' END"
_PHONE_SQL = "CASE WHEN c.sms_opt_out THEN NULL ELSE c.phone END"


def configure(config: Mapping[str, Any]) -> None:
    """Take the ``SMS_*`` settings from the app's config (called by the app factory)."""
    SETTINGS.update({k: v for k, v in config.items() if k.startswith("SMS_")})


def _encoding() -> str:
    return str(SETTINGS.get("SMS_ENCODING") or "gsm7")


def _insert(session: Session, *, source: str, where: str, columns: Mapping[str, str], params: dict) -> int:
    """INSERT … SELECT new notices from ``source`` (which names the person as ``b``), once per person, event and
    reference; ``columns``: the SQL of event, ref, text, encoding and segments. Returns how many were created."""
    sql = f"""
        INSERT INTO notice (beneficiary_id, commune_id, event, ref, phone, text, encoding, segments, status,
                            skip_reason, attempts, created_at)
        SELECT b.id, b.commune_id, {columns["event"]}, {columns["ref"]}, {_PHONE_SQL}, {columns["text"]},
               {columns["encoding"]}, {columns["segments"]}, {_STATUS_SQL}, {_REASON_SQL}, 0, :now
        FROM {source}
        LEFT JOIN beneficiary_contact c ON c.beneficiary_id = b.id
        WHERE {where} AND b.ended_at IS NULL
        ON CONFLICT (beneficiary_id, event, ref) DO NOTHING"""
    return session.execute(text(sql), {**params, "now": utc_now()}).rowcount or 0


def notify(session: Session, event: str, beneficiary_id: int, *, reference: str, **params: Any) -> int:
    """Create the notice of ``event`` for the person ``beneficiary_id`` about ``reference`` (e.g. "account:7",
    "complaint:12"), with the template's parameters; 1 when created, 0 when it existed already (or the person
    is unknown or ended). Does not commit: it belongs to the caller's transaction."""
    rendered = templates.render(event, _encoding(), **params)
    return _insert(
        session,
        source="beneficiary b",
        where="b.id = :bid",
        columns={"event": ":event", "ref": ":ref", "text": ":text", "encoding": ":enc", "segments": ":seg"},
        params={
            "event": event,
            "ref": str(reference)[:60],
            "text": rendered.text,
            "enc": rendered.encoding,
            "seg": rendered.segments,
            "bid": beneficiary_id,
        },
    )


#: The result of a payout line → the notice it gives (a partial payment gives none: the commune calls).
RESULT_EVENTS = {"paid": "payment_sent", "failed": "payment_failed", "reversed": "payment_failed"}


def notify_results(session: Session, export_id: int, benefit_month: dt.date) -> int:
    """The notices of every line a result import recorded (``payout_line.result_export_id``): paid → "payment
    sent", failed or reversed → "payment failed" (contact the commune). One INSERT … SELECT whatever the size
    of the file; does not commit (the import commits once)."""
    month = templates.month_of(benefit_month)
    rendered = {event: templates.render(event, _encoding(), month=month) for event in set(RESULT_EVENTS.values())}
    params: dict[str, Any] = {"eid": export_id}
    for event, r in rendered.items():
        params.update({f"t_{event}": r.text, f"e_{event}": r.encoding, f"s_{event}": r.segments})

    def by_result(prefix: str) -> str:  # CASE over the line's result, each branch the bound value of its event
        branches = " ".join(f"WHEN '{result}' THEN :{prefix}_{event}" for result, event in RESULT_EVENTS.items())
        return f"CASE l.result_status {branches} END"

    events = " ".join(f"WHEN '{result}' THEN '{event}'" for result, event in RESULT_EVENTS.items())
    results = ", ".join(f"'{result}'" for result in RESULT_EVENTS)
    return _insert(
        session,
        source="payout_line l JOIN beneficiary b ON b.id = l.beneficiary_id",
        where=f"l.result_export_id = :eid AND l.result_status IN ({results})",
        columns={
            "event": f"CASE l.result_status {events} END",
            "ref": "'line:' || CAST(l.id AS VARCHAR(20))",
            "text": by_result("t"),
            "encoding": by_result("e"),
            "segments": by_result("s"),
        },
        params=params,
    )


# --- a person's phone number and opt-out ------------------------------------------------------------------------


def contact_of(session: Session, beneficiary_id: int) -> BeneficiaryContact | None:
    return session.get(BeneficiaryContact, beneficiary_id)


def set_contact(
    session: Session, beneficiary_id: int, user_id: int | None, *, phone: Any, opt_out: bool
) -> BeneficiaryContact:
    """Record the person's mobile number (validated: ``normalize.parse_phone``; empty clears it) and whether
    they asked for no messages (who and when are kept). Waiting notices follow: an opt-out skips them, a new
    number is the one they go to. Scope is checked here; does not commit (the ORM change is audited)."""
    person = session.get(Beneficiary, beneficiary_id)
    if person is None:
        raise NotFound("beneficiary", N_("Unknown beneficiary #%(id)s"), {"id": beneficiary_id})
    require_user_covers(session, user_id, person.commune_id)
    number = parse_phone(phone)
    contact = session.get(BeneficiaryContact, beneficiary_id) or BeneficiaryContact(
        beneficiary_id=beneficiary_id, sms_opt_out=False
    )
    session.add(contact)
    now = utc_now()
    if number != contact.phone:
        contact.phone, contact.phone_recorded_at, contact.phone_recorded_by_id = number, now, user_id
    if bool(opt_out) != bool(contact.sms_opt_out):
        contact.sms_opt_out, contact.opt_out_at, contact.opt_out_by_id = bool(opt_out), now, user_id
    session.flush()
    if contact.sms_opt_out:
        session.execute(
            text("""UPDATE notice SET status = 'skipped', skip_reason = 'opt_out', phone = NULL
                    WHERE beneficiary_id = :b AND status = 'queued'"""),
            {"b": beneficiary_id},
        )
    elif number:
        session.execute(
            text("UPDATE notice SET phone = :p WHERE beneficiary_id = :b AND status = 'queued'"),
            {"p": number, "b": beneficiary_id},
        )
    else:  # the number was removed (wrong, given up): nothing may still go to it
        session.execute(
            text("""UPDATE notice SET status = 'skipped', skip_reason = 'no_phone', phone = NULL
                    WHERE beneficiary_id = :b AND status = 'queued'"""),
            {"b": beneficiary_id},
        )
    return contact


# --- handing over in a spreadsheet ------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    N_("No."),
    N_("Phone number"),
    N_("Message"),
    N_("SMS segments"),
    N_("Notice"),
    N_("Notice number"),
)


def export_outbox(
    session: Session,
    unit: AdminUnit | None,
    user_id: int | None,
    out: BinaryIO,
    translate: Callable[[str], str],
    labels: Mapping[str, str],
) -> int:
    """Write every waiting notice of ``unit``'s scope (phone number and text, nothing else about the person) to
    ``out`` as .xlsx for an office's own SMS service, and mark them handed over (``exported``, by whom, when).
    Returns how many; commits (after its audit record). ``labels``: event → shown label."""
    scope, scope_params = subtree_sql(unit)
    last = session.execute(
        text(f"SELECT MAX(id) FROM notice WHERE status = 'queued' AND commune_id IN {scope}"), scope_params
    ).scalar()
    if last is None:
        return 0
    now = utc_now()
    session.execute(
        text(f"""UPDATE notice SET status = 'exported', exported_at = :now, exported_by_id = :uid
                 WHERE status = 'queued' AND phone IS NOT NULL AND id <= :last AND commune_id IN {scope}"""),
        {**scope_params, "now": now, "uid": user_id, "last": last},
    )
    wb = new_workbook()
    ws = wb.create_sheet()
    append_row(ws, [translate(c) for c in EXPORT_COLUMNS])
    count = 0
    rows = session.execute(
        text(f"""SELECT id, phone, text, segments, event FROM notice
                 WHERE status = 'exported' AND exported_at = :now AND id <= :last AND commune_id IN {scope}
                 ORDER BY id""").execution_options(yield_per=2000),
        {**scope_params, "now": now, "last": last},
    )
    for notice_id, phone, body, parts, event in rows:
        count += 1
        append_row(ws, [count, phone, body, parts, labels.get(event, event), notice_id])
    wb.save(out)
    audit.record(
        session,
        action="bulk",
        entity="notice",
        unit_id=unit.id if unit is not None else None,
        new={"exported": count},
        detail="Notices handed over in a spreadsheet",
    )
    session.commit()
    return count


# --- sending through a gateway ----------------------------------------------------------------------------------


def send_queued(
    session: Session, sender: Sender, unit: AdminUnit | None = None, *, now: dt.datetime | None = None, batch=500
) -> dict:
    """Send the waiting notices (of ``unit``'s scope; None: everywhere) whose time has come, oldest first, in
    batches of ``batch`` until none is due. Each answer is committed at once, so a crash never sends again a
    notice the gateway accepted; a refusal fails the notice, a gateway error or time-out puts it back for later
    (``SMS_RETRY_MINUTES`` × attempts) until ``SMS_MAX_ATTEMPTS``. Idempotent: only ``queued`` notices are
    touched (every notice handled leaves the due set, so the loop ends). Returns the counts."""
    now = now or utc_now()
    counts = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    while True:
        done = _send_batch(session, sender, unit, now, batch)
        for key, value in done.items():
            counts[key] += value
        if sum(done.values()) < batch:
            break
    if sum(counts.values()):
        audit.record(
            session,
            action="bulk",
            entity="notice",
            unit_id=unit.id if unit is not None else None,
            new={"sent": counts},
            detail="Notices sent through the SMS gateway",
        )
        session.commit()
    return counts


def _send_batch(session: Session, sender: Sender, unit: AdminUnit | None, now: dt.datetime, limit: int) -> dict:
    max_attempts = int(SETTINGS.get("SMS_MAX_ATTEMPTS") or 5)
    retry = dt.timedelta(minutes=int(SETTINGS.get("SMS_RETRY_MINUTES") or 15))
    if unit is None:
        scope, scope_params = "(SELECT id FROM admin_unit)", {}
    else:
        scope, scope_params = subtree_sql(unit)
    due = session.execute(
        text(f"""SELECT n.id, n.phone, n.text, n.encoding, n.attempts, c.sms_opt_out FROM notice n
                 LEFT JOIN beneficiary_contact c ON c.beneficiary_id = n.beneficiary_id
                 WHERE n.status = 'queued' AND n.phone IS NOT NULL AND n.commune_id IN {scope}
                   AND (n.next_attempt_at IS NULL OR n.next_attempt_at <= :now)
                 ORDER BY n.id LIMIT :limit"""),
        {**scope_params, "now": now, "limit": limit},
    ).all()
    counts = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
    session.commit()  # no transaction stays open while the gateway answers
    for notice_id, phone, body, encoding, attempts, opted_out in due:
        if opted_out:
            values: dict[str, Any] = {"status": "skipped", "skip_reason": "opt_out", "phone": None}
            counts["skipped"] += 1
        else:
            # Claim it first (committed): another sender, or a worker started again after a crash, finds it not
            # due until the claim expires, and then sends it with the same reference.
            claimed = session.execute(
                text("""UPDATE notice SET next_attempt_at = :lease
                        WHERE id = :id AND status = 'queued' AND attempts = :attempts
                          AND (next_attempt_at IS NULL OR next_attempt_at <= :now)"""),
                {"id": notice_id, "attempts": attempts, "now": now, "lease": now + retry},
            ).rowcount
            session.commit()
            if not claimed:
                continue
            outcome = sender.send(phone=phone, text=body, encoding=encoding, reference=f"asxh-notice-{notice_id}")
            values = {"attempts": attempts + 1, "error": outcome.error}
            if outcome.kind == SENT:
                values.update(
                    status="sent", provider_id=outcome.provider_id, sent_at=utc_now(), error=None, next_attempt_at=None
                )
                counts["sent"] += 1
            elif outcome.kind == REFUSED or attempts + 1 >= max_attempts:
                values.update(status="failed", next_attempt_at=None)
                counts["failed"] += 1
            else:
                values.update(next_attempt_at=now + retry * (attempts + 1))
                counts["retry"] += 1
        assignments = ", ".join(f"{k} = :{k}" for k in values)
        session.execute(
            text(f"UPDATE notice SET {assignments} WHERE id = :id AND status = 'queued'"), {**values, "id": notice_id}
        )
        session.commit()
    return counts


# --- what the screens show --------------------------------------------------------------------------------------

PAGE_SIZE = 50


def outbox_page(
    session: Session,
    unit: AdminUnit | None,
    *,
    status: str | None = None,
    event: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> dict:
    """The notices of ``unit``'s scope (none without a unit), newest first, filtered by status and event (unknown
    codes are ignored): {"rows": [(Notice, full name)], "total", "page", "pages", "counts": {status: n}}."""
    in_scope = Notice.commune_id.in_(subtree_ids(unit))
    query = select(Notice, Beneficiary.full_name).join(Beneficiary, Beneficiary.id == Notice.beneficiary_id)
    query = query.where(in_scope)
    if status in NOTICE_STATUSES:
        query = query.where(Notice.status == status)
    if event in NOTICE_EVENTS:
        query = query.where(Notice.event == event)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = session.execute(query.order_by(Notice.id.desc()).limit(page_size).offset((page - 1) * page_size)).all()
    counts = dict(session.execute(select(Notice.status, func.count()).where(in_scope).group_by(Notice.status)).all())
    return {"rows": [tuple(r) for r in rows], "total": total, "page": page, "pages": pages, "counts": counts}


def person_notices(session: Session, beneficiary_id: int, limit: int = 20) -> list:
    """The latest notices of one person (the person page; its scope is checked by the caller)."""
    return list(
        session.scalars(
            select(Notice).where(Notice.beneficiary_id == beneficiary_id).order_by(Notice.id.desc()).limit(limit)
        )
    )
