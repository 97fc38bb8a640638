"""Account pre-validation with the banks, before the money moves.

Promises:
- a bank's answer about an account is one of four outcomes (``CHECK_OUTCOMES``): ``valid``, ``name_mismatch``,
  ``closed_or_unknown``, ``unavailable``; the holder name the bank returns may be masked ("N**** V** A*");
  names are compared by the ASCII key (``normalize.ascii_key``), a masked word by its visible letters and its
  length (:func:`names_match`);
- every check is a new row of ``account_check`` (insert-only: the history stays); the latest check *with an
  answer* (not ``unavailable``) is what counts (``account_checks.latest_check_sql``); the payout sync holds a line whose
  account failed (``app/services/payout/holds.py``);
- offices exchange files today: a request file per bank (xlsx or CSV, the accounts of a unit or of a period,
  within the actor's scope) and the bank's answer file, read like every import (staging, one row per data
  row, every refused row in the error report with its row number and reason), applied set-based and audited;
- an HTTP adapter (:class:`HttpVerifier`) asks a bank's service directly; off unless configured; a time-out,
  an error or an answer it cannot read is ``unavailable``, never a guess.

Services never translate: problems carry English msgids (see ``app/services/messages.py``).
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from openpyxl.styles import Font, PatternFill
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.models import AccountCheck, AccountCheckRow, AdminUnit, Bank, ImportBatch, PaymentAccount, PayoutLine
from app.models.account import CHECK_OUTCOMES, FAILED_CHECKS
from app.services import audit
from app.services.formatting import format_date, utc_now
from app.services.labels import label
from app.services.masking import fits_masked_word, is_masked_word
from app.services.messages import N_, Problem, Problems, has_errors
from app.services.payout.account_checks import latest_check_sql
from app.services.payout.accounts import OPEN_STATES
from app.services.registry import normalize as nz
from app.services.registry.importing import COLUMNS
from app.services.registry.reports import CHECK_KIND, FIELD_LABELS, staged_row_lines
from app.services.registry.staging import count_outcomes, record_upload, stage_file, staging_fields
from app.services.scope import require_user_covers, subtree_ids, subtree_sql
from app.services.spreadsheets import CsvWriter, append_row, new_workbook

KIND = CHECK_KIND  #: ImportBatch.kind of a bank's answer file
Progress = Callable[..., None]

# --- comparing names -----------------------------------------------------------------------------


def _word_matches(bank_word: str, word: str) -> bool:
    """A bank word against our word: equal, or (masked) the same length with every visible letter in place."""
    return fits_masked_word(bank_word, word) if is_masked_word(bank_word) else bank_word == word


def names_match(expected: str | None, bank_name: str | None) -> bool:
    """Does the holder name the bank returns (perhaps masked, e.g. "N**** V** A*") fit the expected holder?

    Both are folded to the ASCII key; an unmasked name must be equal, a masked one must have as many words,
    each masked word the expected word's length and its visible letters in their places."""
    ours = nz.ascii_key(expected).split()
    theirs = nz.ascii_key(bank_name).split()
    if not ours or not theirs or len(ours) != len(theirs):
        return False
    return all(_word_matches(m, w) for m, w in zip(theirs, ours, strict=True))


# --- what a bank says ----------------------------------------------------------------------------

#: The account's state as a bank writes it (ASCII key, lower case) → our reading of it.
STATUS_WORDS = {
    "active": (
        "active",
        "open",
        "ok",
        "valid",
        "hop le",
        "hoat dong",
        "dang hoat dong",
        "binh thuong",
        "con hoat dong",
    ),
    "closed_or_unknown": (
        "closed",
        "unknown",
        "not found",
        "da dong",
        "dong",
        "khong ton tai",
        "khong tim thay",
        "sai so tai khoan",
        "tai khoan khong ton tai",
        "da tat toan",
    ),
    "name_mismatch": ("name mismatch", "sai ten", "khong khop ten", "ten khong khop"),
    "unavailable": ("unavailable", "error", "loi", "khong kiem tra duoc", "khong xac minh duoc", "timeout"),
}
_STATUS_OF = {word: code for code, words in STATUS_WORDS.items() for word in words}


def read_status(value: Any) -> str | None:
    """The bank's status cell → active / closed_or_unknown / name_mismatch / unavailable; None when unreadable."""
    return _STATUS_OF.get(nz.search_key(value))


def judge(status: str | None, bank_name: str | None, expected: str | None) -> str:
    """One outcome from what the bank said: its status (``read_status``; None with a name means the account
    exists) and the holder name it returns, against the holder we expect."""
    if status in ("closed_or_unknown", "unavailable"):
        return status
    if status == "name_mismatch":
        return "name_mismatch"
    if not nz.clean_text(bank_name):
        return "unavailable" if status is None else "valid"  # an open account whose name the bank withholds
    return "valid" if names_match(expected, bank_name) else "name_mismatch"


@dataclass(frozen=True)
class CheckResult:
    outcome: str  # one of CHECK_OUTCOMES
    bank_holder_name: str | None = None


class AccountVerifier(Protocol):
    """Asks a bank about one account: (BIN, number, the holder we expect) → what the bank says."""

    def verify(self, bank_bin: str, account_number: str, expected_holder: str) -> CheckResult: ...


class HttpVerifier:
    """A bank's (or an aggregator's) verification service over HTTP(S), with the standard library only.

    Request: ``POST url`` with JSON ``{"bin", "account_number"}``. Answer: JSON ``{"status": ..., "holder_name":
    ...}`` (status as :data:`STATUS_WORDS`). A time-out, a refused connection, an HTTP error or an answer that is
    not such JSON is ``unavailable``: the account is neither passed nor failed."""

    def __init__(self, url: str, timeout: float = 5.0, headers: dict[str, str] | None = None) -> None:
        self.url, self.timeout, self.headers = url, float(timeout), dict(headers or {})

    def verify(self, bank_bin: str, account_number: str, expected_holder: str) -> CheckResult:
        body = json.dumps({"bin": bank_bin, "account_number": account_number}).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json", **self.headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                payload = json.loads(response.read(65536).decode("utf-8"))
        # URLError, HTTPError (4xx/5xx), time-outs and refused connections are OSErrors; a cut answer is an
        # HTTPException; an answer that is not JSON a ValueError.
        except (OSError, ValueError, http.client.HTTPException):
            return CheckResult("unavailable")
        if not isinstance(payload, dict):
            return CheckResult("unavailable")
        name = payload.get("holder_name")
        name = nz.clean_text(name)[:150] if isinstance(name, str) else None
        status = read_status(payload.get("status")) if isinstance(payload.get("status"), str) else None
        if status is None:
            return CheckResult("unavailable", name)
        return CheckResult(judge(status, name, expected_holder), name or None)


def verifier_from_settings(settings: dict[str, Any]) -> AccountVerifier | None:
    """The configured online verifier (``ACCOUNT_VERIFY_URL``, ``ACCOUNT_VERIFY_TIMEOUT``), None when off."""
    url = settings.get("ACCOUNT_VERIFY_URL")
    if not url:
        return None
    return HttpVerifier(url, timeout=float(settings.get("ACCOUNT_VERIFY_TIMEOUT") or 5.0))


# --- recording ----------------------------------------------------------------------------------


def record_check(
    session: Session,
    account: PaymentAccount,
    result: CheckResult,
    *,
    user_id: int | None,
    source: str = "http",
    batch_id: int | None = None,
) -> AccountCheck:
    """Record one check (an online answer). Does not commit; the ORM insert is audited like every change."""
    if result.outcome not in CHECK_OUTCOMES:
        raise ValueError(result.outcome)
    check = AccountCheck(
        account_id=account.id,
        commune_id=account.commune_id,
        outcome=result.outcome,
        bank_holder_name=(result.bank_holder_name or None) and result.bank_holder_name[:150],
        checked_at=utc_now(),
        source=source,
        batch_id=batch_id,
        user_id=user_id,
    )
    session.add(check)
    session.flush()
    return check


def check_online(
    session: Session, verifier: AccountVerifier, unit: AdminUnit, user_id: int | None, *, limit: int = 500
) -> dict[str, int]:
    """Ask ``verifier`` about the open accounts of ``unit``'s scope that have no answer yet (at most ``limit``)
    and record each answer. Commits. Returns the count per outcome."""
    require_user_covers(session, user_id, unit.id)
    open_ids = (
        select(PaymentAccount)
        .where(
            PaymentAccount.commune_id.in_(subtree_ids(unit)),
            PaymentAccount.state.in_(OPEN_STATES),
            ~select(AccountCheck.id)
            .where(AccountCheck.account_id == PaymentAccount.id, AccountCheck.outcome != "unavailable")
            .exists(),
        )
        .order_by(PaymentAccount.id)
        .limit(limit)
    )
    counts: dict[str, int] = {}
    for account in session.scalars(open_ids).all():
        result = verifier.verify(account.bank_bin, account.account_number, account.holder_ascii)
        record_check(session, account, result, user_id=user_id, source="http")
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    session.commit()
    return counts


# --- the request file -----------------------------------------------------------------------------

#: Our request file's columns (field, header msgid). The bank fills the last two and sends the file back.
REQUEST_COLUMNS = (
    ("ref", N_("Check reference")),
    ("bin", N_("Bank BIN")),
    ("bank", N_("Bank")),
    ("account_number", N_("Account number")),
    ("expected_holder", N_("Expected account holder")),
    ("bank_holder", N_("Holder name at the bank")),
    ("status", N_("Account status at the bank")),
)
#: How the answer file's headers are read: our Vietnamese headers and common spellings of the banks.
ANSWER_ALIASES: dict[str, list[str]] = {
    "ref": ["Mã tra soát", "Mã tham chiếu", "Số tham chiếu", "Mã yêu cầu", "Check reference", "Ref"],
    "account_number": COLUMNS["account_number"],
    "bin": ["Mã BIN", "BIN", "Mã ngân hàng", "Bank BIN"],
    "expected_holder": ["Tên chủ tài khoản dự kiến", "Expected account holder"],
    "bank_holder": [
        "Tên chủ tài khoản tại ngân hàng",
        "Tên tại ngân hàng",
        "Tên chủ TK tại ngân hàng",
        "Holder name at the bank",
    ],
    "status": ["Tình trạng tài khoản tại ngân hàng", "Tình trạng tài khoản", "Tình trạng", "Kết quả", "Trạng thái"],
}


def _request_scope(session: Session, unit: AdminUnit, user_id: int | None, period_id: int | None):
    """The accounts a request covers: the open accounts of ``unit``'s scope, of the people on the lines of a
    period when one is given (held lines included: an account held for want of a check is the one to check)."""
    require_user_covers(session, user_id, unit.id)
    where = [PaymentAccount.commune_id.in_(subtree_ids(unit)), PaymentAccount.state.in_(OPEN_STATES)]
    if period_id is not None:
        where.append(
            PaymentAccount.beneficiary_id.in_(
                select(PayoutLine.beneficiary_id).where(PayoutLine.period_id == period_id)
            )
        )
    return where


def request_banks(
    session: Session, unit: AdminUnit, user_id: int | None, *, period_id: int | None = None
) -> list[dict]:
    """The banks a request file can be made for: {bin, name, accounts} for each bank with accounts in scope."""
    where = _request_scope(session, unit, user_id, period_id)
    rows = session.execute(
        select(Bank.bin, Bank.short_name, func.count(PaymentAccount.id))
        .join(PaymentAccount, PaymentAccount.bank_bin == Bank.bin)
        .where(*where)
        .group_by(Bank.bin, Bank.short_name)
        .order_by(Bank.short_name)
    ).all()
    return [{"bin": b, "name": n, "accounts": int(c)} for b, n, c in rows]


def request_rows(
    session: Session, unit: AdminUnit, user_id: int | None, bank_bin: str, *, period_id: int | None = None
) -> Iterable[list]:
    """The data rows of a request file for one bank (streamed)."""
    where = _request_scope(session, unit, user_id, period_id)
    query = (
        select(
            PaymentAccount.id,
            PaymentAccount.bank_bin,
            Bank.short_name,
            PaymentAccount.account_number,
            PaymentAccount.holder_ascii,
        )
        .join(Bank, Bank.bin == PaymentAccount.bank_bin)
        .where(PaymentAccount.bank_bin == bank_bin, *where)
        .order_by(PaymentAccount.id)
    )
    for ref, bin_, bank, number, holder in session.execute(query).yield_per(2000):
        yield [ref, bin_, bank, number, holder, "", ""]


def write_request(
    session: Session,
    unit: AdminUnit,
    user_id: int | None,
    bank_bin: str,
    out: BinaryIO,
    translate: Callable[[str], str],
    *,
    fmt: str = "xlsx",
    period_id: int | None = None,
) -> int:
    """Write the request file for one bank to ``out`` (xlsx or csv). Returns the number of accounts. Raises
    OutOfScope when ``user_id`` does not cover ``unit``."""
    require_user_covers(session, user_id, unit.id)  # before any file is started
    headers = [translate(h) for _f, h in REQUEST_COLUMNS]
    rows = request_rows(session, unit, user_id, bank_bin, period_id=period_id)
    count = 0
    if fmt == "csv":
        buf = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
        writer = CsvWriter(buf)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(row)
            count += 1
        buf.flush()
        buf.detach()
        return count
    wb = new_workbook()
    ws = wb.create_sheet(translate(N_("Account check")))
    append_row(ws, headers, font=Font(bold=True), fill=PatternFill("solid", fgColor="FFF2CC"))
    for row in rows:
        append_row(ws, row, text_cols=(1, 3))  # BIN and number keep their leading zeros
        count += 1
    wb.save(out)
    return count


def request_filename(bank_bin: str, unit: AdminUnit, fmt: str, today: dt.date) -> str:
    return f"tra-soat-tai-khoan-{bank_bin}-{unit.code}-{today:%Y%m%d}.{fmt}"


# --- the answer file ------------------------------------------------------------------------------

ANSWER_FIELD_LABELS = dict(
    FIELD_LABELS,
    ref=N_("Check reference"),
    bank_holder=N_("Holder name at the bank"),
    status=N_("Account status at the bank"),
)


def create_answer_batch(
    session: Session, *, filename: str, content: bytes, unit: AdminUnit, user_id: int | None
) -> ImportBatch:
    """Record a bank's answer file for the accounts of ``unit``'s scope (refused outside the user's scope)."""
    require_user_covers(session, user_id, unit.id)
    return record_upload(
        session, kind=KIND, filename=filename, content=content, unit_id=unit.id, user_id=user_id, auto_apply=True
    )


def _answer_row(session: Session, values: dict, accounts: Callable[[int], Any]) -> tuple[dict, list[Problem]]:
    problems = Problems()
    rec: dict[str, Any] = {"account_id": None, "commune_id": None, "check_outcome": None, "bank_holder_name": None}
    ref = nz.clean_text(values.get("ref"))
    account = None
    if not ref:
        problems.append(Problem("ref", "ref_missing", N_("The check reference is missing")))
    elif not ref.isdigit():
        problems.append(
            Problem("ref", "ref_unknown", N_("The check reference %(value)s is not one of ours"), {"value": ref})
        )
    else:
        account = accounts(int(ref))
        if account is None:
            problems.append(
                Problem(
                    "ref",
                    "ref_unknown",
                    N_("No account with the check reference %(value)s in the unit of the import"),
                    {"value": ref},
                )
            )
    number, found = nz.parse_account_number(values.get("account_number"))
    if account is not None and number != account.account_number:
        problems.append(
            Problem(
                "account_number",
                "account_differs",
                N_("The account number %(value)s is not the one of this check reference"),
                {"value": nz.clean_text(values.get("account_number"))},
            )
        )
    name = nz.clean_text(values.get("bank_holder"))[:150] or None
    raw_status = nz.clean_text(values.get("status"))
    status = read_status(raw_status) if raw_status else None
    if raw_status and status is None:
        problems.append(
            Problem(
                "status",
                "status_unknown",
                N_("The account status %(value)s cannot be read (write: active, closed, name mismatch or error)"),
                {"value": raw_status},
            )
        )
    elif not raw_status and not name:
        problems.append(
            Problem("status", "answer_missing", N_("The bank gave neither the account status nor the holder name"))
        )
    if account is not None and not has_errors(problems):
        rec["account_id"], rec["commune_id"] = account.id, account.commune_id
        rec["check_outcome"] = judge(status, name, account.holder_ascii)
        rec["bank_holder_name"] = name
    return rec, problems


def parse_answer(session: Session, batch_id: int, progress: Progress | None = None) -> ImportBatch | None:
    """Read a bank's answer file into staging, committing per chunk. Idempotent and resumable."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.kind != KIND or batch.status not in ("uploaded", "parsing"):
        return batch
    batch.status = "parsing"
    session.commit()
    scope = subtree_ids(session.get(AdminUnit, batch.unit_id))
    cache: dict[int, Any] = {}

    def account(ref: int):
        if ref not in cache:
            cache[ref] = session.execute(
                select(
                    PaymentAccount.id,
                    PaymentAccount.commune_id,
                    PaymentAccount.account_number,
                    PaymentAccount.holder_ascii,
                ).where(PaymentAccount.id == ref, PaymentAccount.commune_id.in_(scope))
            ).first()
        return cache[ref]

    def build(row):
        rec, problems = _answer_row(session, row.values, account)
        rec.update(staging_fields(batch.id, row, problems))
        return rec

    stage_file(
        session,
        batch,
        model=AccountCheckRow,
        aliases=ANSWER_ALIASES,
        required=("ref", "account_number"),
        build_row=build,
        progress=progress,
    )
    _classify(session, batch.id)
    count_outcomes(session, AccountCheckRow, batch, flags=False)
    batch.status = "parsed"
    session.commit()
    return batch


def _classify(session: Session, batch_id: int) -> None:
    """dup_file: a later row for the same account; imported: a check to record."""
    params = {"b": batch_id, "f": False}
    session.execute(
        text("""
        UPDATE account_check_row SET outcome = 'dup_file', duplicate_of_row = f.first_row
        FROM (SELECT account_id, min(row_number) AS first_row FROM account_check_row
              WHERE batch_id = :b AND has_error = :f AND account_id IS NOT NULL
              GROUP BY account_id HAVING count(*) > 1) AS f
        WHERE account_check_row.batch_id = :b AND account_check_row.has_error = :f
          AND account_check_row.account_id = f.account_id AND account_check_row.row_number > f.first_row"""),
        params,
    )
    session.execute(
        text("""UPDATE account_check_row SET outcome = 'imported'
                WHERE batch_id = :b AND has_error = :f AND outcome IS NULL"""),
        params,
    )


def apply_answer(session: Session, batch_id: int, progress: Progress | None = None) -> ImportBatch | None:
    """Record one check per valid row, set-based, in one transaction; audited. Idempotent."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.kind != KIND or batch.status not in ("parsed", "applying"):
        return batch
    batch.status = "applying"
    session.commit()
    try:
        now = utc_now()
        params = {"b": batch.id, "now": now, "u": batch.uploaded_by_id}
        session.execute(
            text("""
            INSERT INTO account_check (account_id, commune_id, outcome, bank_holder_name, checked_at, source, batch_id,
                                       user_id)
            SELECT r.account_id, r.commune_id, r.check_outcome, r.bank_holder_name, :now, 'file', r.batch_id, :u
            FROM account_check_row r
            WHERE r.batch_id = :b AND r.outcome = 'imported'
              AND NOT EXISTS (SELECT 1 FROM account_check c WHERE c.batch_id = r.batch_id
                                AND c.account_id = r.account_id)"""),
            params,
        )
        outcomes = dict(
            session.execute(
                select(AccountCheckRow.check_outcome, func.count())
                .where(AccountCheckRow.batch_id == batch.id, AccountCheckRow.outcome == "imported")
                .group_by(AccountCheckRow.check_outcome)
            ).all()
        )
        count_outcomes(session, AccountCheckRow, batch, flags=False)
        batch.status = "applied"
        batch.finished_at = now
        audit.record(
            session,
            action="bulk",
            entity="import_batch",
            entity_id=batch.id,
            unit_id=batch.unit_id,
            new={"account_check": {k: int(v) for k, v in outcomes.items()}, "uploaded_by_id": batch.uploaded_by_id},
            detail=f"Bank answer #{batch.id} applied (account_check): {batch.filename}",
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    if progress:
        progress(stage="done")
    return batch


def answer_summary(session: Session, batch: ImportBatch) -> dict:
    """The batch's counters and the checks it recorded per outcome."""
    from app.services.registry.importing import summary

    out = summary(batch)
    out["outcomes"] = {
        k: int(v)
        for k, v in session.execute(
            select(AccountCheck.outcome, func.count())
            .where(AccountCheck.batch_id == batch.id)
            .group_by(AccountCheck.outcome)
        )
    }
    return out


def report_lines(session: Session, batch_id: int, translate: Callable[[str], str]):
    """(row number, field, level, reason, raw cells) of every refused or repeated row, then every account the
    bank failed (so the report is also the list to check on a visit)."""

    def failed(row):
        if row.outcome == "imported" and row.check_outcome in FAILED_CHECKS:
            status = translate(ANSWER_FIELD_LABELS["status"])
            yield status, label("severity", "warning", translate), label("check_outcome", row.check_outcome, translate)

    yield from staged_row_lines(
        session,
        AccountCheckRow,
        batch_id,
        translate,
        field_labels=ANSWER_FIELD_LABELS,
        repeats=N_("Repeats row %(row)s of the same file (same account); recorded once"),
        columns=(AccountCheckRow.check_outcome,),
        own_lines=failed,
    )


# --- reading ------------------------------------------------------------------------------------


def check_history(session: Session, account_id: int) -> list[AccountCheck]:
    """Every check of one account, the latest first (the caller has checked the account's scope)."""
    return list(
        session.scalars(
            select(AccountCheck)
            .where(AccountCheck.account_id == account_id)
            .order_by(AccountCheck.checked_at.desc(), AccountCheck.id.desc())
        )
    )


PREVALIDATION_STATES = ("prevalidated", "failed", "pending")
PREVALIDATION_LABELS = {
    "prevalidated": N_("Accounts valid at the bank"),
    "failed": N_("Accounts failed at the bank (to check on a visit)"),
    "pending": N_("Accounts not checked with the bank yet"),
}


def state_sql(account: str) -> str:
    """SQL: prevalidated / failed / pending for the account ``account`` (a column) by its latest answer."""
    failed = ", ".join(f"'{o}'" for o in FAILED_CHECKS)
    latest = latest_check_sql(account)
    return (
        f"CASE WHEN {latest} = 'valid' THEN 'prevalidated' WHEN {latest} IN ({failed}) THEN 'failed' ELSE 'pending' END"
    )


def prevalidation_by_commune(session: Session, unit: AdminUnit | None) -> dict[int, dict[str, int]]:
    """commune id → how many verified accounts the banks found valid (``prevalidated``), failed (``failed``), or
    were not asked yet or did not answer (``pending``), within ``unit``'s scope. One GROUP BY."""
    out: dict[int, dict[str, int]] = {}
    if unit is None:
        return out
    in_scope, params = subtree_sql(unit)
    for cid, state, n in session.execute(
        text(f"""SELECT commune_id, s, count(*) FROM (
                    SELECT pa.commune_id, {state_sql("pa.id")} AS s FROM payment_account pa
                    WHERE pa.state = 'verified' AND pa.commune_id IN {in_scope}) x
                 GROUP BY commune_id, s"""),
        params,
    ):
        out.setdefault(cid, dict.fromkeys(PREVALIDATION_STATES, 0))[state] = int(n)
    return out


def prevalidation_counts(session: Session, unit: AdminUnit | None) -> dict[str, int]:
    """The same figures for the whole scope of ``unit``."""
    out = dict.fromkeys(PREVALIDATION_STATES, 0)
    for figures in prevalidation_by_commune(session, unit).values():
        for state, n in figures.items():
            out[state] += n
    return out


def failed_accounts(unit: AdminUnit):
    """Query of the verified accounts of ``unit``'s scope whose latest answer failed (for lists and counts)."""
    latest = (
        select(AccountCheck.outcome)
        .where(AccountCheck.account_id == PaymentAccount.id, AccountCheck.outcome != "unavailable")
        .order_by(AccountCheck.checked_at.desc(), AccountCheck.id.desc())
        .limit(1)
        .correlate(PaymentAccount)
        .scalar_subquery()
    )
    return select(PaymentAccount.id).where(
        PaymentAccount.commune_id.in_(subtree_ids(unit)),
        PaymentAccount.state == "verified",
        latest.in_(FAILED_CHECKS),
    )


def not_checked_accounts(unit: AdminUnit):
    """Query of the verified accounts of ``unit``'s scope that no bank has answered about yet."""
    return select(PaymentAccount.id).where(
        PaymentAccount.commune_id.in_(subtree_ids(unit)),
        PaymentAccount.state == "verified",
        ~select(AccountCheck.id)
        .where(AccountCheck.account_id == PaymentAccount.id, AccountCheck.outcome != "unavailable")
        .correlate(PaymentAccount)
        .exists(),
    )


def history_rows(checks: Iterable[AccountCheck], translate: Callable[[str], str]) -> list[dict]:
    """What a page shows of a check history: date, outcome label, the bank's name, the source."""
    return [
        {
            "checked_at": c.checked_at,
            "date": format_date(c.checked_at),
            "outcome": c.outcome,
            "outcome_label": label("check_outcome", c.outcome, translate),
            "bank_holder_name": c.bank_holder_name or "",
            "source_label": label("check_source", c.source, translate),
            "batch_id": c.batch_id,
        }
        for c in checks
    ]
