"""After the money moves: the bank's result file, the totals, the follow-up list, carrying failed lines."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import (
    AdminUnit,
    PayoutLine,
)
from app.services import audit
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, Problem
from app.services.payout.exports import log_export
from app.services.payout.periods import (
    ACTIVE_LINE_SQL,
    LOCKED_MSG,
    benefit_month,
    effective_unit,
    load_period,
    lock_month,
    require_status,
    require_writable,
)
from app.services.payout.sync import SNAPSHOT_COLS
from app.services.registry import normalize as nz
from app.services.scope import subtree_ids, subtree_sql
from app.services.validation import is_id

# --- reconciliation ----------------------------------------------------------------------------

RESULT_ALIASES = {
    "ref": ["reference", "ref", "Mã giao dịch", "Mã tham chiếu", "Mã dòng", "Mã", "Số tham chiếu", "Line code"],
    "status": ["status", "result", "Kết quả", "Trạng thái", "Tình trạng"],
    "reason": ["reason", "message", "Lý do", "Lý do lỗi", "Ghi chú", "Mô tả lỗi"],
    "description": ["description", "Nội dung", "Nội dung chuyển khoản", "Diễn giải"],
    "account_number": ["account_number", "Số tài khoản", "STK"],
    "amount": ["amount", "Số tiền"],
}
_PAID_WORDS = {"thanh cong", "success", "successful", "ok", "paid", "da chi", "da chi tra", "1", "s", "00",
               "thanh toan thanh cong", "da thanh toan"}
_FAILED_WORDS = {"that bai", "failed", "fail", "failure", "loi", "error", "0", "f", "tu choi", "rejected",
                 "khong thanh cong", "chua chi"}
_REF_IN_TEXT = re.compile(r"\bMA\s*(\d+)\b", re.IGNORECASE)


def parse_result_status(value: Any) -> str | None:
    key = nz.ascii_key(value).lower().strip()
    if key in _PAID_WORDS:
        return "paid"
    if key in _FAILED_WORDS:
        return "failed"
    return None


def _ref_of(values: dict) -> int | None:
    ref = nz.clean_text(values.get("ref"))
    if ref:
        m = _REF_IN_TEXT.search(nz.ascii_key(ref))
        if m:
            return int(m.group(1))
        digits = ref.replace(".0", "") if ref.endswith(".0") else ref
        if is_id(digits):
            return int(digits)
    m = _REF_IN_TEXT.search(nz.ascii_key(values.get("description") or ""))
    return int(m.group(1)) if m else None


def import_results(session: Session, period_id: int, path: str, unit: AdminUnit, user_id: int | None,
                   filename: str | None = None) -> dict:
    """Read a bank's (or a commune's cash) result file: each line paid or failed with its reason. Commits.

    Returns {"rows", "paid", "failed", "unknown", "invalid", "problems": [Problem dicts (first 50)]}."""
    from app.services.registry.sheets import HeaderNotFound, SheetError, open_table

    period = load_period(session, period_id, lock=True)
    require_writable(session, period, unit)
    target = effective_unit(period, unit)
    require_status(period, ("handed_over", "paid", "locked"), N_(
        "The payout period %(name)s must be locked and handed over before results are imported"),
        "period_not_handed_over")
    try:
        table = open_table(path, aliases=RESULT_ALIASES, required=("ref",))
    except HeaderNotFound:
        raise FieldError(Problem("file", "results_header", N_(
            "The result file needs a reference column (reference / Mã giao dịch) and a status column"))) from None
    except SheetError as exc:
        raise FieldError(Problem("file", "file_unsupported", exc.msgid, exc.params)) from None
    problems: list[Problem] = []
    updates: dict[int, tuple[str, str | None, int]] = {}
    rows = invalid = 0
    with table:
        for row in table:
            rows += 1
            ref = _ref_of(row.values)
            status = parse_result_status(row.values.get("status"))
            if ref is None or status is None:
                invalid += 1
                if len(problems) < 50:
                    problems.append(Problem("row", "result_unreadable", N_(
                        "Row %(row)s: the reference or the status cannot be read"), {"row": row.row_number}))
                continue
            reason = nz.clean_text(row.values.get("reason"))[:300] or None
            updates[ref] = (status, reason, row.row_number)
    known: set[int] = set()
    ids = list(updates)
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        known.update(session.scalars(select(PayoutLine.id).where(
            PayoutLine.period_id == period.id, PayoutLine.id.in_(chunk), PayoutLine.channel != "held",
            PayoutLine.commune_id.in_(subtree_ids(target)))))
    now = utc_now()
    params = [{"id": ref, "s": s, "r": r if s == "failed" else None, "now": now, "pid": period.id}
              for ref, (s, r, _n) in updates.items() if ref in known]
    if params:
        session.execute(text("""UPDATE payout_line SET result_status = :s, result_reason = :r, result_at = :now
                                WHERE id = :id AND period_id = :pid AND result_status <> 'carried'"""), params)
    unknown = [(ref, n) for ref, (_s, _r, n) in updates.items() if ref not in known]
    for ref, n in unknown[:max(0, 50 - len(problems))]:
        problems.append(Problem("ref", "result_unknown_line", N_(
            "Row %(row)s: line %(ref)s is not a payable line of this period in your scope"), {"row": n, "ref": ref}))
    result = {"rows": rows, "paid": sum(1 for p in params if p["s"] == "paid"),
              "failed": sum(1 for p in params if p["s"] == "failed"), "unknown": len(unknown), "invalid": invalid,
              "problems": [p.to_dict() for p in problems]}
    log_export(session, period_id=period.id, kind="results", unit=target, filename=filename or path.rsplit("/", 1)[-1],
               lines=len(params), amount=0, sha256=None, user_id=user_id,
               detail={k: v for k, v in result.items() if k != "problems"})
    audit.record(session, action="bulk", entity="payout_period", entity_id=period.id, unit_id=target.id,
                 new={"results": {k: v for k, v in result.items() if k != "problems"}},
                 detail=f"Payment results recorded for {period.name}: {filename or path.rsplit('/', 1)[-1]}")
    session.commit()
    return result


def period_totals(session: Session, period_id: int, unit: AdminUnit) -> dict:
    """Paid / failed / outstanding (lines and amounts) of the part of the period in ``unit``'s scope."""
    period = load_period(session, period_id)
    target = effective_unit(period, unit)
    out = {k: {"lines": 0, "amount": 0} for k in ("paid", "failed", "outstanding", "carried", "held")}
    for status, channel, n, amount in session.execute(
            select(PayoutLine.result_status, PayoutLine.channel, func.count(),
                   func.sum(PayoutLine.amount + PayoutLine.carried_amount))
            .where(PayoutLine.period_id == period.id, PayoutLine.commune_id.in_(subtree_ids(target)))
            .group_by(PayoutLine.result_status, PayoutLine.channel)):
        key = "held" if channel == "held" else ("outstanding" if status == "pending" else status)
        out[key]["lines"] += n
        out[key]["amount"] += int(amount or 0)
    return out


def follow_up_lines(session: Session, unit: AdminUnit, period_id: int | None = None):
    """Failed lines (not yet carried) in scope: fix the account or pay in cash, then carry."""
    query = (select(PayoutLine).where(PayoutLine.result_status == "failed",
                                      PayoutLine.commune_id.in_(subtree_ids(unit)))
             .order_by(PayoutLine.period_id, PayoutLine.sequence))
    if period_id is not None:
        query = query.where(PayoutLine.period_id == period_id)
    return query


def carry_failed(session: Session, from_period_id: int, to_period_id: int, unit: AdminUnit,
                 user_id: int | None, line_ids: list[int] | None = None) -> int:
    """Carry the failed lines of a period into a later period that is not locked; commits.

    The target line of the same enrolment gets the unpaid amount added (``carried_amount``) and is
    refreshed by the next sync (a fixed account, or cash)."""
    source = load_period(session, from_period_id)
    target_period = load_period(session, to_period_id, lock=True)
    require_writable(session, source, unit)  # its failed lines become "carried"
    require_writable(session, target_period, unit)
    scope = effective_unit(source, unit)
    effective_unit(target_period, unit)
    require_status(target_period, ("draft", "synced"), LOCKED_MSG, "period_locked")
    if target_period.id == source.id or target_period.period_date < source.period_date:
        raise FieldError(Problem("period", "carry_backwards", N_(
            "Failed lines can only be carried into a later payout period")))
    in_scope, scope_params = subtree_sql(scope)
    params: dict[str, Any] = {"src": source.id, "dst": target_period.id, **scope_params}
    only = ""
    if line_ids:
        only = " AND l.id IN (" + ", ".join(f":l{i}" for i in range(len(line_ids))) + ")"
        params.update({f"l{i}": int(v) for i, v in enumerate(line_ids)})
    where = f"l.period_id = :src AND l.result_status = 'failed' AND l.commune_id IN {in_scope}{only}"
    true = "true" if session.get_bind().dialect.name == "postgresql" else "1"
    params["month"] = benefit_month(target_period.period_date)
    lock_month(session, params["month"])
    taken = session.execute(text(f"""
        SELECT count(*) FROM payout_line l WHERE {where} AND EXISTS (
            SELECT 1 FROM payout_line o WHERE o.enrolment_id = l.enrolment_id AND o.benefit_month = :month
              AND o.period_id <> :dst AND o.{ACTIVE_LINE_SQL})"""), params).scalar()
    if taken:
        raise FieldError(Problem("period", "carry_conflict", N_(
            "%(count)s failed lines cannot be carried into %(name)s: another payout period already pays them "
            "for that month"), {"count": taken, "name": target_period.name}))
    cols = ", ".join(SNAPSHOT_COLS)
    session.execute(text(f"""
        INSERT INTO payout_line (period_id, enrolment_id, benefit_month, {cols}, carried_amount, carried_from_line_id,
                                 result_status)
        SELECT :dst, l.enrolment_id, :month, {", ".join("l." + c for c in SNAPSHOT_COLS).replace("l.amount", "0")},
               l.amount + l.carried_amount, l.id, 'pending'
        FROM payout_line l WHERE {where} AND {true}
        ON CONFLICT (period_id, enrolment_id) DO UPDATE SET
            carried_amount = payout_line.carried_amount + excluded.carried_amount,
            carried_from_line_id = excluded.carried_from_line_id
        """), params)
    moved = session.execute(text(f"""
        UPDATE payout_line SET result_status = 'carried'
        WHERE id IN (SELECT l.id FROM payout_line l WHERE {where})"""), params).rowcount
    audit.record(session, action="bulk", entity="payout_period", entity_id=to_period_id, unit_id=unit.id,
                 new={"carry": {"from_period_id": from_period_id, "lines": moved}},
                 detail=f"Failed payments carried into {target_period.name}")
    session.commit()
    return moved
