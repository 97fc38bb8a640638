"""Bulk entry of payment accounts from a spreadsheet (lists police receive from the banks).

Same promises as the beneficiary import (app/services/registry/importing.py): every data row ends up as
exactly one staging row (``account_import_row``) whose outcome is error, dup_file, imported (a new
account), updated (a change of the account in force) or duplicate (already recorded); parsing commits
per chunk and resumes; applying is one transaction and set-based; the same file is never applied twice.
Every account created is *pending*: it still needs a second person's verification.

The same machinery reads a VNeID list of social-benefit accounts (ImportBatch kind ``vneid``: CCCD, bank BIN,
account number, linked date): the citizen declared the account, linked to their CCCD, so the holder is the
person; it becomes an entry (source ``vneid``) only where the person has no account yet (neither in force nor
waiting), otherwise the row is kept out (``kept``) and listed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from app.models import AccountImportRow, AdminUnit, Bank, Beneficiary, ImportBatch
from app.services import audit
from app.services.formatting import utc_now
from app.services.labels import label
from app.services.messages import N_, Problem, Problems
from app.services.payout import banks
from app.services.payout.accounts import bank_directory
from app.services.registry import normalize as nz
from app.services.registry.importing import COLUMNS  # an account list uses the same column names
from app.services.registry.reports import ACCOUNT_KIND, FIELD_LABELS, VNEID_KIND, staged_row_lines
from app.services.registry.staging import count_outcomes, record_upload, stage_file, staging_fields
from app.services.scope import require_user_covers, subtree_ids

KIND = ACCOUNT_KIND
KINDS = (ACCOUNT_KIND, VNEID_KIND)
#: A VNeID list: the bank is given by its BIN; the date the citizen linked the account.
VNEID_COLUMNS = dict(
    COLUMNS,
    bank=["Mã BIN", "BIN", "Mã ngân hàng", "BIN ngân hàng", *COLUMNS["bank"]],
    linked_on=["Ngày liên kết", "Ngày liên kết tài khoản", "Ngày đăng ký", "Ngày khai báo"],
)
Progress = Callable[..., None]

ACCOUNT_FIELD_LABELS = dict(
    FIELD_LABELS,
    account_number=N_("Account number"),
    bank=N_("Bank"),
    account_holder=N_("Account holder"),
    holder_name=N_("Account holder"),
    beneficiary=N_("Beneficiary"),
    linked_on=N_("Linked on"),
)


def create_batch(
    session: Session,
    *,
    filename: str,
    content: bytes,
    unit: AdminUnit,
    user_id: int | None,
    kind: str = ACCOUNT_KIND,
) -> ImportBatch:
    """Record an upload of an account list, or of a VNeID list (``kind`` ``vneid``), see
    ``staging.record_upload``; applied without a preview, since every account it creates still waits for a
    second person's verification. Refused outside the user's scope."""
    if kind not in KINDS:
        raise ValueError(kind)
    require_user_covers(session, user_id, unit.id)
    return record_upload(
        session, kind=kind, filename=filename, content=content, unit_id=unit.id, user_id=user_id, auto_apply=True
    )


class _People:
    """The beneficiaries of the batch's scope, looked up by CCCD, else by name key (+ birth date)."""

    def __init__(self, session: Session, unit: AdminUnit):
        ids = subtree_ids(unit)
        self.by_cccd: dict[str, tuple] = {}
        self.by_name: dict[str, list[tuple]] = {}
        for row in session.execute(
            select(
                Beneficiary.id,
                Beneficiary.cccd,
                Beneficiary.name_key,
                Beneficiary.date_of_birth,
                Beneficiary.full_name,
                Beneficiary.commune_id,
            ).where(Beneficiary.commune_id.in_(ids))
        ):
            if row.cccd:
                self.by_cccd[row.cccd] = row
            self.by_name.setdefault(row.name_key, []).append(row)

    def find(self, cccd: str | None, key: str, dob: dt.date | None):
        if cccd:
            return self.by_cccd.get(cccd), "cccd"
        found = self.by_name.get(key, [])
        if dob is not None:
            found = [r for r in found if r.date_of_birth == dob]
        if len(found) == 1:
            return found[0], "name"
        return None, ("ambiguous" if found else "none")


def validate_row(session: Session, values: dict, people: _People, *, vneid: bool = False) -> tuple[dict, list[Problem]]:
    problems = Problems()
    rec: dict = {}

    name = nz.clean_text(values.get("full_name"))
    rec["full_name"] = name[:150] or None
    cccd = None
    if values.get("cccd") not in (None, ""):
        cccd, found = nz.parse_cccd(values.get("cccd"))
        problems.extend(p for p in found if p.severity != "error" or cccd is None)
    rec["cccd"] = cccd
    dob = None
    if values.get("date_of_birth") not in (None, ""):
        parsed = problems.attempt(nz.parse_date, values.get("date_of_birth"))
        dob = parsed[0] if parsed else None
    person, how = people.find(cccd, nz.name_key(name), dob) if (cccd or name) else (None, "none")
    if person is None:
        if how == "ambiguous":
            problems.append(
                Problem(
                    "beneficiary",
                    "beneficiary_ambiguous",
                    N_("Several beneficiaries are called %(name)s; add the CCCD"),
                    {"name": name},
                )
            )
        else:
            problems.append(
                Problem(
                    "beneficiary",
                    "beneficiary_not_found",
                    N_("No beneficiary with this CCCD or name in the unit of the import"),
                    {},
                )
            )
    elif how == "cccd" and name and nz.ascii_key(name) != nz.ascii_key(person.full_name):
        problems.append(
            Problem(
                "full_name",
                "name_differs",
                N_("The name %(name)s differs from the registry (%(registry)s) for this CCCD"),
                {"name": name, "registry": person.full_name},
            )
        )
    rec["beneficiary_id"] = person.id if person is not None else None
    rec["commune_id"] = person.commune_id if person is not None else None

    bank_value = values.get("bank")
    bin_ = None
    shown = nz.clean_text(bank_value)
    if not shown:
        problems.append(Problem("bank", "bank_missing", N_("The bank is missing")))
    else:
        bin_, score, candidates = bank_directory(session).resolve(shown)
        if bin_ is None or not banks.is_confident(score):
            names = bank_directory(session).suggestions(candidates)
            if names:
                problems.append(
                    Problem(
                        "bank",
                        "bank_uncertain",
                        N_(
                            "The bank %(value)s cannot be identified with confidence (perhaps: %(candidates)s); "
                            "choose it from the list"
                        ),
                        {"value": shown, "candidates": ", ".join(names)},
                    )
                )
            else:
                problems.append(
                    Problem(
                        "bank",
                        "bank_unknown",
                        N_("The bank %(value)s is not in the bank list; choose it from the list"),
                        {"value": shown},
                    )
                )
            bin_ = None
    rec["bank_bin"] = bin_

    number, found = nz.parse_account_number(values.get("account_number"))
    problems.extend(found)
    if number is None and not any(p.field == "account_number" for p in found):
        problems.append(Problem("account_number", "account_missing", N_("The account number is missing")))
    rec["account_number"] = number

    holder = nz.clean_text(values.get("account_holder")) or name
    if vneid:
        # The citizen linked the account to their own CCCD: the holder is the person.
        holder = person.full_name if person is not None else holder
        if values.get("linked_on") not in (None, ""):
            problems.attempt(nz.parse_date, values.get("linked_on"))
    rec["holder_name"] = holder[:150] or None
    rec["holder_ascii"] = nz.ascii_key(holder)[:150] or None
    if not vneid and person is not None and holder and nz.ascii_key(holder) != nz.ascii_key(person.full_name):
        from app.services.payout.accounts import registered_proxy

        proxy, _c = registered_proxy(session, person.id)
        if not proxy or nz.ascii_key(proxy) != nz.ascii_key(holder):
            problems.append(
                Problem(
                    "holder_name",
                    "holder_mismatch",
                    N_(
                        "The account holder %(holder)s does not match the beneficiary %(name)s or the registered proxy; "
                        "give a reason to accept it"
                    ),
                    {"holder": holder, "name": person.full_name},
                )
            )
    rec["channel"] = None
    if bin_ is not None:
        bank = session.get(Bank, bin_)
        rec["channel"] = bank.kind if bank is not None and bank.kind in ("bank", "e_wallet", "mobile_money") else "bank"
    return rec, problems


def parse_batch(session: Session, batch_id: int, progress: Progress | None = None) -> ImportBatch:
    """Read the file into staging, committing per chunk. Idempotent and resumable."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.kind not in KINDS or batch.status not in ("uploaded", "parsing"):
        return batch
    batch.status = "parsing"
    session.commit()
    people = _People(session, session.get(AdminUnit, batch.unit_id))
    vneid = batch.kind == VNEID_KIND

    def build(row):
        rec, problems = validate_row(session, row.values, people, vneid=vneid)
        rec.update(staging_fields(batch.id, row, problems))
        return rec

    stage_file(
        session,
        batch,
        model=AccountImportRow,
        aliases=VNEID_COLUMNS if vneid else COLUMNS,
        required=("cccd", "account_number") if vneid else ("full_name", "account_number"),
        build_row=build,
        progress=progress,
    )
    _classify(session, batch.id, vneid=vneid)
    count_outcomes(session, AccountImportRow, batch)
    batch.status = "parsed"
    session.commit()
    return batch


def _classify(session: Session, batch_id: int, *, vneid: bool = False) -> None:
    """dup_file: a later row for the same beneficiary; duplicate: the same account already recorded;
    updated: the person has an account in force (a change); imported: a new account. A VNeID list never
    changes an account: where the person has one (in force or waiting), the row is ``kept`` out."""
    params = {"b": batch_id, "f": False}
    # One GROUP BY and a join (a correlated "earlier row" subquery is quadratic on SQLite).
    session.execute(
        text("""
        UPDATE account_import_row SET outcome = 'dup_file', duplicate_of_row = f.first_row
        FROM (SELECT beneficiary_id, min(row_number) AS first_row FROM account_import_row
              WHERE batch_id = :b AND has_error = :f AND beneficiary_id IS NOT NULL
              GROUP BY beneficiary_id HAVING count(*) > 1) AS f
        WHERE account_import_row.batch_id = :b AND account_import_row.has_error = :f
          AND account_import_row.beneficiary_id = f.beneficiary_id
          AND account_import_row.row_number > f.first_row"""),
        params,
    )
    session.execute(
        text("""
        UPDATE account_import_row SET outcome = CASE
            WHEN EXISTS (SELECT 1 FROM payment_account pa WHERE pa.beneficiary_id = account_import_row.beneficiary_id
                           AND pa.state IN ('pending', 'verified') AND pa.bank_bin = account_import_row.bank_bin
                           AND pa.account_number = account_import_row.account_number
                           AND pa.holder_ascii = account_import_row.holder_ascii) THEN 'duplicate'
            WHEN EXISTS (SELECT 1 FROM payment_account pa WHERE pa.beneficiary_id = account_import_row.beneficiary_id
                           AND pa.state IN :open_states) THEN :has_account
            ELSE 'imported' END
        WHERE batch_id = :b AND has_error = :f AND (outcome IS NULL OR outcome <> 'dup_file')""").bindparams(
            bindparam("open_states", expanding=True)
        ),
        dict(params, open_states=["pending", "verified"] if vneid else ["verified"], has_account=_has_account(vneid)),
    )


def _has_account(vneid: bool) -> str:
    return "kept" if vneid else "updated"


def apply_batch(session: Session, batch_id: int, progress: Progress | None = None) -> ImportBatch:
    """Create the pending accounts of the valid rows in one transaction, set-based. Idempotent."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.kind not in KINDS or batch.status not in ("parsed", "applying"):
        return batch
    batch.status = "applying"
    session.commit()
    vneid = batch.kind == VNEID_KIND
    try:
        _classify(session, batch.id, vneid=vneid)
        now = utc_now()
        params = {
            "b": batch.id,
            "f": False,
            "now": now,
            "u": batch.uploaded_by_id,
            "src": "vneid" if vneid else "import",
        }
        new = "r.batch_id = :b AND r.outcome IN ('imported', 'updated')"
        # An older entry nobody verified yet is replaced by the newer one.
        session.execute(
            text(f"""
            UPDATE payment_account SET state = 'superseded'
            WHERE state = 'pending' AND beneficiary_id IN (SELECT r.beneficiary_id FROM account_import_row r WHERE {new})
            """),
            params,
        )
        session.execute(
            text(f"""
            INSERT INTO payment_account (beneficiary_id, commune_id, channel, bank_bin, account_number, holder_name,
                                         holder_ascii, shared_flag, source, state, entered_by_id, entered_at,
                                         supersedes_id, source_batch_id)
            SELECT r.beneficiary_id, r.commune_id, r.channel, r.bank_bin, r.account_number, r.holder_name,
                   r.holder_ascii, :f, :src, 'pending', :u, :now,
                   (SELECT pa.id FROM payment_account pa WHERE pa.beneficiary_id = r.beneficiary_id
                      AND pa.state = 'verified'), r.batch_id
            FROM account_import_row r WHERE {new}"""),
            params,
        )
        if progress:
            progress(stage="apply", step=1)
        # One account number (same BIN) on different people: flag every open version involved.
        different = (
            "NOT (b1.name_key = b2.name_key AND b1.date_of_birth = b2.date_of_birth "
            "AND (b1.cccd IS NULL OR b2.cccd IS NULL))"
        )
        session.execute(
            text(f"""
            UPDATE payment_account SET shared_flag = :t
            WHERE state IN ('pending', 'verified') AND EXISTS (
                SELECT 1 FROM payment_account p2
                JOIN beneficiary b1 ON b1.id = payment_account.beneficiary_id
                JOIN beneficiary b2 ON b2.id = p2.beneficiary_id
                WHERE p2.bank_bin = payment_account.bank_bin AND p2.account_number = payment_account.account_number
                  AND p2.beneficiary_id <> payment_account.beneficiary_id AND p2.state IN ('pending', 'verified')
                  AND {different})
              AND account_number IN (SELECT r.account_number FROM account_import_row r WHERE {new})
            """),
            dict(params, t=True),
        )
        count_outcomes(session, AccountImportRow, batch)
        batch.status = "applied"
        batch.finished_at = now
        # Audit trail: one summary record, last before the commit (it holds the append lock until then).
        audit.record(
            session,
            action="bulk",
            entity="import_batch",
            entity_id=batch.id,
            unit_id=batch.unit_id,
            new=dict(
                {k: v for k, v in summary(batch).items() if k.startswith("rows_")}, uploaded_by_id=batch.uploaded_by_id
            ),
            detail=f"{'VNeID' if vneid else 'Account'} list #{batch.id} applied (payment_account, pending): "
            f"{batch.filename}",
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    if progress:
        progress(stage="done")
    return batch


def fail_batch(session: Session, batch_id: int, problem: Problem | None, detail: str | None = None) -> None:
    from app.services.registry.importing import fail_batch as _fail

    _fail(session, batch_id, problem, detail)


def summary(batch: ImportBatch) -> dict:
    from app.services.registry.importing import summary as _summary

    return _summary(batch)


SHARED_IN_BATCH = N_("The same account is registered for another beneficiary; flagged for review")


def report_lines(session: Session, batch_id: int, translate: Callable[[str], str]):
    """(row number, field, level, reason, raw cells) of every refused, flagged or duplicate row."""
    shared = set(
        session.scalars(
            text(
                "SELECT r.row_number FROM account_import_row r JOIN payment_account pa ON pa.source_batch_id = r.batch_id "
                "AND pa.beneficiary_id = r.beneficiary_id WHERE r.batch_id = :b AND pa.shared_flag = :t"
            ),
            {"b": batch_id, "t": True},
        )
    )
    kept = (
        translate(FIELD_LABELS["row"]),
        label("severity", "warning", translate),
        translate(
            N_(
                "The beneficiary already has an account (in force or waiting for verification); the VNeID "
                "account was not entered"
            )
        ),
    )
    shared_line = (
        translate(ACCOUNT_FIELD_LABELS["account_number"]),
        label("severity", "warning", translate),
        translate(SHARED_IN_BATCH),
    )

    def own_lines(row):
        if row.outcome == "kept":
            yield kept
        if row.row_number in shared:
            yield shared_line

    yield from staged_row_lines(
        session,
        AccountImportRow,
        batch_id,
        translate,
        field_labels=ACCOUNT_FIELD_LABELS,
        repeats=N_("Repeats row %(row)s of the same file (same beneficiary); not entered twice"),
        recorded=N_("This account is already recorded for the beneficiary; nothing to change"),
        own_lines=own_lines,
    )
