"""Account pre-validation with the banks: the online adapter against a fake bank on loopback, the request and
answer files, the hold at sync, scope, and VNeID lists of social-benefit accounts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.services.scope import OutOfScope
from tests.factories import unit, user_id

# --- comparing names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bank,ok",
    [
        ("NGUYEN VAN AN", True),
        ("Nguyễn Văn An", True),
        ("N***** V** A*", True),  # each word's first letter and length
        ("N***** V** A**", False),  # a word of another length
        ("T***** V** A*", False),  # another first letter
        ("N***** A*", False),  # another number of words
        ("NGUYEN VAN ANH", False),
        ("", False),
    ],
)
def test_names_match_by_ascii_key_and_mask(bank, ok):
    from app.services.payout.prevalidation import names_match

    assert names_match("Nguyễn Văn An", bank) is ok


# --- the online adapter against a fake bank -------------------------------------------------------

ANSWERS = {
    "0000000001": (200, {"status": "active", "holder_name": "NGUYEN VAN AN"}),
    "0000000002": (200, {"status": "active", "holder_name": "N***** V** A*"}),
    "0000000003": (200, {"status": "active", "holder_name": "T** T*** B***"}),
    "0000000004": (200, {"status": "closed", "holder_name": None}),
    "0000000006": (503, {"error": "down"}),
    "0000000007": (200, "not json at all"),
}


class FakeBank(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        number = body["account_number"]
        if number == "0000000005":  # a bank that never answers in time
            time.sleep(1.5)
        status, payload = ANSWERS.get(number, (200, {"status": "unknown"}))
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture()
def fake_bank():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeBank)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/verify"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "number,outcome,name",
    [
        ("0000000001", "valid", "NGUYEN VAN AN"),
        ("0000000002", "valid", "N***** V** A*"),
        ("0000000003", "name_mismatch", "T** T*** B***"),
        ("0000000004", "closed_or_unknown", None),
        ("0000000005", "unavailable", None),  # time-out
        ("0000000006", "unavailable", None),  # 5xx
        ("0000000007", "unavailable", None),  # malformed answer
    ],
)
def test_http_verifier_contract(fake_bank, number, outcome, name):
    from app.services.payout.prevalidation import HttpVerifier

    result = HttpVerifier(fake_bank, timeout=0.5).verify("970436", number, "NGUYEN VAN AN")
    assert (result.outcome, result.bank_holder_name) == (outcome, name)


def test_http_verifier_is_off_by_default_and_a_closed_port_is_unavailable(app):
    from app.services.payout.prevalidation import HttpVerifier, verifier_from_settings

    assert app.config["ACCOUNT_VERIFY_URL"] is None and verifier_from_settings(app.config) is None
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert HttpVerifier(f"http://127.0.0.1:{port}/", timeout=0.5).verify("970436", "1", "A").outcome == "unavailable"


def test_online_checks_are_recorded(db_session, make_person, verified_account, fake_bank):
    from app.models import AccountCheck
    from app.services.payout import prevalidation

    a = make_person("00004", "Nguyễn Văn An")
    acc_a = verified_account(a, "0000000001")
    b = make_person("00004", "Trần Thị Bình")
    acc_b = verified_account(b, "0000000004")
    counts = prevalidation.check_online(
        db_session, prevalidation.HttpVerifier(fake_bank, timeout=1), unit(db_session, "00004"), None
    )
    assert counts == {"valid": 1, "closed_or_unknown": 1}
    got = {c.account_id: c.outcome for c in db_session.scalars(select(AccountCheck))}
    assert got == {acc_a: "valid", acc_b: "closed_or_unknown"}
    from app.models import AuditLog

    audited = db_session.scalars(select(AuditLog).where(AuditLog.entity == "account_check")).all()
    assert len(audited) == 2  # every online answer is in the audit trail
    if db_session.get_bind().dialect.name == "postgresql":  # a check is history: the database refuses a delete
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        with pytest.raises(DBAPIError):
            db_session.execute(text("DELETE FROM account_check"))
        db_session.rollback()


def test_cli_online_check(app, make_person, verified_account, fake_bank, monkeypatch):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["asxh", "accounts-verify-online", "--unit", "00004"])
    assert result.exit_code != 0 and "ACCOUNT_VERIFY_URL" in result.output  # off by default
    a = make_person("00004", "Nguyễn Văn An")
    verified_account(a, "0000000002")
    monkeypatch.setitem(app.config, "ACCOUNT_VERIFY_URL", fake_bank)
    result = runner.invoke(args=["asxh", "accounts-verify-online", "--unit", "00004"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1]) == {"valid": 1}


# --- request and answer files --------------------------------------------------------------------


def _people(make_person, verified_account):
    ids = {}
    ids["an"] = make_person("00004", "Nguyễn Văn An")
    ids["acc_an"] = verified_account(ids["an"], "0011223344")
    ids["binh"] = make_person("00004", "Trần Thị Bình")
    ids["acc_binh"] = verified_account(ids["binh"], "0022334455")
    ids["cuong"] = make_person("00004", "Lê Văn Cường")
    ids["acc_cuong"] = verified_account(ids["cuong"], "0033445566")
    ids["dung"] = make_person("00004", "Phạm Thị Dung")
    ids["acc_dung"] = verified_account(ids["dung"], "123456789", bank="Agribank")
    ids["em"] = make_person("00037", "Đỗ Văn Em")  # another district
    ids["acc_em"] = verified_account(ids["em"], "0044556677")
    return ids


def _request(session, code, bank="970436", fmt="xlsx", user=None, period_id=None):
    from flask_babel import force_locale, gettext

    from app.services.payout import prevalidation

    out = io.BytesIO()
    with force_locale("vi"):
        n = prevalidation.write_request(
            session, unit(session, code), user, bank, out, gettext, fmt=fmt, period_id=period_id
        )
    return n, out.getvalue()


def _answer(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(
        [
            "Mã tra soát",
            "Mã BIN",
            "Ngân hàng",
            "Số tài khoản",
            "Tên chủ tài khoản dự kiến",
            "Tên chủ tài khoản tại ngân hàng",
            "Tình trạng tài khoản",
        ]
    )
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _import_answer(session, content, code="00004", user=None):
    from app.models import ImportBatch
    from app.services.payout import prevalidation

    batch = prevalidation.create_answer_batch(
        session, filename="answer.xlsx", content=content, unit=unit(session, code), user_id=user
    )
    session.commit()
    prevalidation.parse_answer(session, batch.id)
    prevalidation.apply_answer(session, batch.id)
    return session.get(ImportBatch, batch.id)


def test_request_answer_round_trip(app, db_session, make_person, verified_account):
    from flask_babel import force_locale, gettext

    from app.models import AccountCheck
    from app.services.payout import prevalidation
    from app.services.registry.reports import write_error_report

    ids = _people(make_person, verified_account)
    n, content = _request(db_session, "001")
    assert n == 3  # Vietcombank accounts of the district; Agribank and the other district are not in it
    ws = load_workbook(io.BytesIO(content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("Mã tra soát", "Mã BIN", "Ngân hàng", "Số tài khoản", "Tên chủ tài khoản dự kiến")
    body = {r[0]: r for r in rows[1:]}
    assert set(body) == {ids["acc_an"], ids["acc_binh"], ids["acc_cuong"]}
    assert body[ids["acc_an"]][3] == "0011223344" and body[ids["acc_an"]][4] == "NGUYEN VAN AN"
    csv_n, csv_content = _request(db_session, "001", fmt="csv")
    csv_rows = list(csv.reader(io.StringIO(csv_content.decode("utf-8-sig"))))
    assert csv_n == 3 and csv_rows[0][0] == "Mã tra soát" and csv_rows[1][3].startswith("00")

    # the bank fills in its two columns and sends the file back (one row with each problem)
    answer = _answer(
        [
            (ids["acc_an"], "970436", "Vietcombank", "0011223344", "NGUYEN VAN AN", "N***** V** A*", "Hoạt động"),
            (ids["acc_binh"], "970436", "Vietcombank", "0022334455", "TRAN THI BINH", "H*** T** B***", "Hoạt động"),
            (ids["acc_cuong"], "970436", "Vietcombank", "0033445566", "LE VAN CUONG", "", "Đã đóng"),
            (ids["acc_em"], "970436", "Vietcombank", "0044556677", "DO VAN EM", "DO VAN EM", "Hoạt động"),
            (ids["acc_an"], "970436", "Vietcombank", "9999999999", "NGUYEN VAN AN", "NGUYEN VAN AN", "Hoạt động"),
            ("abc", "970436", "Vietcombank", "0011223344", "NGUYEN VAN AN", "NGUYEN VAN AN", "Hoạt động"),
            (ids["acc_binh"], "970436", "Vietcombank", "0022334455", "TRAN THI BINH", "", "???"),
        ]
    )
    batch = _import_answer(db_session, answer)
    assert batch.status == "applied"
    assert (batch.rows_total, batch.rows_imported, batch.rows_error) == (7, 3, 4)
    got = {c.account_id: (c.outcome, c.bank_holder_name) for c in db_session.scalars(select(AccountCheck))}
    assert got == {
        ids["acc_an"]: ("valid", "N***** V** A*"),
        ids["acc_binh"]: ("name_mismatch", "H*** T** B***"),
        ids["acc_cuong"]: ("closed_or_unknown", None),
    }
    # every refused row is in the error report, with its row number and a Vietnamese reason
    out = io.BytesIO()
    with app.test_request_context(), force_locale("vi"):
        write_error_report(db_session, batch.id, out, gettext)
    report = list(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True))[2:]
    by_row = {}
    for r in report:
        by_row.setdefault(r[0], []).append(r[3])
    assert set(by_row) >= {5, 6, 7, 8}
    assert any("Không có tài khoản" in x for x in by_row[5])  # another district's account: not ours to check
    assert any("Số tài khoản" in x for x in by_row[6])
    assert any("Mã tra soát" in x for x in by_row[7])
    assert any("tình trạng tài khoản" in x for x in by_row[8])
    assert set(by_row) == {3, 4, 5, 6, 7, 8}  # the failed accounts are listed too (to check on a visit)
    # the history of an account, newest first
    history = prevalidation.check_history(db_session, ids["acc_binh"])
    assert [c.outcome for c in history] == ["name_mismatch"]
    counts = prevalidation.prevalidation_counts(db_session, unit(db_session, "001"))
    assert counts == {"prevalidated": 1, "failed": 2, "pending": 1}


def test_the_csv_request_filled_in_by_the_bank_is_an_answer(db_session, make_person, verified_account):
    from app.models import AccountCheck
    from app.services.payout import prevalidation

    ids = _people(make_person, verified_account)
    _n, content = _request(db_session, "00004", fmt="csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    for row in rows[1:]:
        row[5], row[6] = ("N***** V** A*", "Hoạt động") if int(row[0]) == ids["acc_an"] else ("", "Đã đóng")
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    batch = prevalidation.create_answer_batch(
        db_session,
        filename="tra-loi.csv",
        content=out.getvalue().encode("utf-8-sig"),
        unit=unit(db_session, "00004"),
        user_id=None,
    )
    db_session.commit()
    prevalidation.parse_answer(db_session, batch.id)
    prevalidation.apply_answer(db_session, batch.id)
    got = {c.account_id: c.outcome for c in db_session.scalars(select(AccountCheck))}
    assert got == {
        ids["acc_an"]: "valid",
        ids["acc_binh"]: "closed_or_unknown",
        ids["acc_cuong"]: "closed_or_unknown",
    }


def test_answer_file_runs_as_a_job(app, db_session, make_person, verified_account, run_jobs):
    from app.models import AccountCheck, ImportBatch
    from app.services.payout import prevalidation
    from jobs import registry

    ids = _people(make_person, verified_account)
    batch = prevalidation.create_answer_batch(
        db_session,
        filename="answer.xlsx",
        content=_answer([(ids["acc_an"], "970436", "", "0011223344", "", "NGUYEN VAN AN", "")]),
        unit=unit(db_session, "00004"),
        user_id=user_id(db_session, "congan.00004"),
    )
    db_session.commit()
    registry.start("account_check", batch.id)
    run_jobs()
    db_session.expire_all()
    assert db_session.get(ImportBatch, batch.id).status == "applied"
    assert [c.outcome for c in db_session.scalars(select(AccountCheck))] == ["valid"]


def test_a_commune_user_cannot_export_or_import_other_units(db_session, make_person, verified_account):
    from app.services.payout import prevalidation

    ids = _people(make_person, verified_account)
    officer = user_id(db_session, "congan.00004")
    n, _content = _request(db_session, "00004", user=officer)
    assert n == 3
    with pytest.raises(OutOfScope):
        _request(db_session, "00037", user=officer)
    with pytest.raises(OutOfScope):
        _request(db_session, "001", user=officer)  # the district above is not the commune's either
    with pytest.raises(OutOfScope):
        prevalidation.create_answer_batch(
            db_session, filename="a.xlsx", content=b"x", unit=unit(db_session, "00037"), user_id=officer
        )
    # an answer about another unit's account, uploaded for the officer's own unit, records nothing for it
    batch = _import_answer(
        db_session,
        _answer([(ids["acc_em"], "970436", "", "0044556677", "", "DO VAN EM", "Hoạt động")]),
        user=officer,
    )
    assert (batch.rows_error, batch.rows_imported) == (1, 0)


# --- the hold at sync ----------------------------------------------------------------------------


def _period(session, day=dt.date(2025, 2, 1)):
    from app.services import payout

    p = payout.create_period(session, name="Tháng 02/2025", period_date=day, unit=unit(session, "001"), user_id=None)
    session.commit()
    return p.id


def _lines(session, period_id):
    from app.models import PayoutLine

    session.expire_all()
    return {l.beneficiary_id: l for l in session.scalars(select(PayoutLine).where(PayoutLine.period_id == period_id))}


def _check(session, account_id, outcome, at, name=None):
    from app.models import AccountCheck, PaymentAccount

    account = session.get(PaymentAccount, account_id)
    session.add(
        AccountCheck(
            account_id=account.id,
            commune_id=account.commune_id,
            outcome=outcome,
            bank_holder_name=name,
            checked_at=at,
            source="file",
        )
    )
    session.commit()


def test_a_failed_account_is_held_and_listed_for_a_visit(db_session, make_person, verified_account):
    from app.services import payout
    from app.services.payout.reconciliation import follow_up_lines

    ids = _people(make_person, verified_account)
    cash = make_person("00004", "Vũ Thị Giang", case_type=3)
    now = dt.datetime(2025, 1, 20, 8)
    _check(db_session, ids["acc_an"], "valid", now)
    _check(db_session, ids["acc_binh"], "name_mismatch", now, "H*** T** B***")
    _check(db_session, ids["acc_cuong"], "closed_or_unknown", now)
    _check(db_session, ids["acc_dung"], "valid", now - dt.timedelta(days=1))
    _check(db_session, ids["acc_dung"], "unavailable", now)  # no answer does not undo the last answer
    pid = _period(db_session)
    result = payout.sync_payout_list(db_session, pid, unit(db_session, "001"))
    got = _lines(db_session, pid)
    assert got[ids["an"]].channel == "account" and got[ids["dung"]].channel == "account"
    assert (got[ids["binh"]].channel, got[ids["binh"]].hold_reason) == ("held", "account_name_mismatch")
    assert (got[ids["cuong"]].channel, got[ids["cuong"]].hold_reason) == ("held", "account_closed")
    assert got[ids["binh"]].account_number is None  # never paid to the failed account
    assert got[cash].channel == "cash"
    assert result["held"] == {"account_closed": 1, "account_name_mismatch": 1}
    follow = {l.beneficiary_id for l in db_session.scalars(follow_up_lines(db_session, unit(db_session, "00004")))}
    assert follow == {ids["binh"], ids["cuong"]}
    # a later valid answer (after a visit fixed it) releases the line at the next sync
    _check(db_session, ids["acc_binh"], "valid", now + dt.timedelta(days=3))
    payout.sync_payout_list(db_session, pid, unit(db_session, "001"))
    assert _lines(db_session, pid)[ids["binh"]].channel == "account"


def test_staleness_setting_holds_accounts_not_prevalidated_recently(
    db_session, make_person, verified_account, monkeypatch
):
    from app.services import payout
    from app.services.payout import holds

    ids = _people(make_person, verified_account)
    _check(db_session, ids["acc_an"], "valid", dt.datetime(2025, 1, 25))  # 7 days before the period date
    _check(db_session, ids["acc_binh"], "valid", dt.datetime(2024, 10, 1))  # too old
    pid = _period(db_session)
    payout.sync_payout_list(db_session, pid, unit(db_session, "001"))
    assert {l.channel for l in _lines(db_session, pid).values()} == {"account"}  # not required by default
    monkeypatch.setitem(holds.SETTINGS, "PAYOUT_PREVALIDATION_MAX_AGE_DAYS", 30)
    payout.sync_payout_list(db_session, pid, unit(db_session, "001"))
    got = _lines(db_session, pid)
    assert got[ids["an"]].channel == "account"
    for key in ("binh", "cuong", "dung"):
        assert (got[ids[key]].channel, got[ids[key]].hold_reason) == ("held", "account_not_prevalidated")
    # the period's request file names the held accounts: they are the ones to check
    n, content = _request(db_session, "001", period_id=pid)
    refs = {r[0] for r in list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))[1:]}
    assert n == 3 and refs == {ids["acc_an"], ids["acc_binh"], ids["acc_cuong"]}  # Vietcombank; Dung's is Agribank
    n, _content = _request(db_session, "001", bank="970405", period_id=pid)
    assert n == 1


def test_hold_labels_are_vietnamese(app):
    from flask_babel import force_locale, gettext

    from app.services.labels import label

    with app.test_request_context(), force_locale("vi"):
        for code in ("account_name_mismatch", "account_closed", "account_not_prevalidated"):
            text = label("hold_reason", code, gettext)
            assert text and text != code and "account" not in text


# --- VNeID lists -----------------------------------------------------------------------------------


def _vneid(rows) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Số CCCD", "Mã BIN", "Số tài khoản", "Ngày liên kết"])
    for r in rows:
        w.writerow(r)
    return out.getvalue().encode("utf-8")


def test_vneid_list_prefills_accounts_that_still_need_four_eyes(db_session, make_person, verified_account):
    from app.models import ImportBatch, PaymentAccount
    from app.services.messages import FieldError
    from app.services.payout import account_import, accounts

    new = make_person("00004", "Nguyễn Văn An", cccd="001045000101")
    has = make_person("00004", "Trần Thị Bình", cccd="001045000102")
    verified_account(has, "0099887766")
    other = make_person("00037", "Đỗ Văn Em", cccd="001045000103")
    officer = user_id(db_session, "congan.00004")
    content = _vneid(
        [
            ("001045000101", "970436", "0123456789", "15/01/2025"),
            ("001045000102", "970405", "1111222233", "15/01/2025"),  # already has an account: kept out
            ("001045000103", "970436", "5555666677", "15/01/2025"),  # another district: not found in the unit
            ("001045000999", "970436", "5555666688", "15/01/2025"),  # nobody
        ]
    )
    with pytest.raises(OutOfScope):
        account_import.create_batch(
            db_session, filename="v.csv", content=content, unit=unit(db_session, "00037"), user_id=officer, kind="vneid"
        )
    batch = account_import.create_batch(
        db_session, filename="v.csv", content=content, unit=unit(db_session, "00004"), user_id=officer, kind="vneid"
    )
    db_session.commit()
    account_import.parse_batch(db_session, batch.id)
    account_import.apply_batch(db_session, batch.id)
    batch = db_session.get(ImportBatch, batch.id)
    assert (batch.status, batch.rows_imported, batch.rows_duplicate, batch.rows_error) == ("applied", 1, 1, 2)
    entry = db_session.scalars(select(PaymentAccount).where(PaymentAccount.beneficiary_id == new)).one()
    assert (entry.source, entry.state, entry.bank_bin, entry.account_number, entry.holder_ascii) == (
        "vneid",
        "pending",
        "970436",
        "0123456789",
        "NGUYEN VAN AN",
    )
    assert accounts.account_in_force(db_session, new) is None  # not paid to before a second person verifies it
    assert db_session.scalars(select(PaymentAccount).where(PaymentAccount.beneficiary_id == other)).all() == []
    assert {
        a.account_number for a in db_session.scalars(select(PaymentAccount).where(PaymentAccount.beneficiary_id == has))
    } == {"0099887766"}
    # the entry form of the person is pre-filled from it
    assert accounts.prefill_for(db_session, new) == {
        "bank": "970436",
        "account_number": "0123456789",
        "holder_name": "Nguyễn Văn An",
        "source": "vneid",
    }
    assert accounts.prefill_for(db_session, has) is None
    # four eyes: the importer cannot verify it, a second person can
    with pytest.raises(FieldError):
        accounts.verify_account(db_session, entry.id, officer, approve=True)
    db_session.rollback()
    accounts.verify_account(db_session, entry.id, user_id(db_session, "congan2.00004"), approve=True)
    db_session.commit()
    assert accounts.account_in_force(db_session, new).id == entry.id


# --- both unit schemes ------------------------------------------------------------------------------


@pytest.mark.parametrize("unit_scheme", ["2024", "2025"], indirect=True)
def test_both_schemes_request_answer_and_hold(db_session, world, unit_scheme):
    """2024: the district pays for its communes; 2025: the commune pays for itself. The police of the commune
    exchange the files for their commune; the payer's sync holds the failed account."""
    from app.models import ImportBatch
    from app.services import payout
    from app.services.payout import accounts, prevalidation
    from tests.factories import make_person

    scheme = world.scheme
    police, police2 = user_id(db_session, world.users["police"]), user_id(db_session, world.users["police2"])
    ids = {}
    for key, name, number in (("an", "Nguyễn Văn An", "0011223344"), ("binh", "Trần Thị Bình", "0022334455")):
        ids[key] = make_person(
            db_session,
            world.units["commune"],
            name,
            scheme=scheme,
            cccd=f"00104500{len(ids):04d}",
            match_status="matched",
            case_type=1,
        )
        account, _ = accounts.enter_account(
            db_session,
            beneficiary_id=ids[key],
            channel=None,
            bank="970436",
            account_number=number,
            holder_name=name,
            source="police",
            user_id=police,
        )
        accounts.verify_account(db_session, account.id, police2, approve=True)
        db_session.commit()
        ids[f"acc_{key}"] = account.id
    commune = unit(db_session, world.units["commune"], scheme)
    with pytest.raises(OutOfScope):
        prevalidation.request_banks(db_session, commune, user_id(db_session, world.users["other_police"]))
    n, _content = _request_in(db_session, commune, police)
    assert n == 2
    batch = prevalidation.create_answer_batch(
        db_session,
        filename="answer.xlsx",
        content=_answer(
            [
                (ids["acc_an"], "970436", "", "0011223344", "", "NGUYEN VAN AN", "Hoạt động"),
                (ids["acc_binh"], "970436", "", "0022334455", "", "", "Đã đóng"),
            ]
        ),
        unit=commune,
        user_id=police,
    )
    db_session.commit()
    prevalidation.parse_answer(db_session, batch.id)
    prevalidation.apply_answer(db_session, batch.id)
    assert db_session.get(ImportBatch, batch.id).rows_imported == 2
    payer = unit(db_session, world.units["payer"], scheme)
    period = payout.create_period(
        db_session, name=f"Tháng 08/2025 {scheme}", period_date=dt.date(2025, 8, 1), unit=payer, user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, period.id, payer)
    got = _lines(db_session, period.id)
    assert got[ids["an"]].channel == "account"
    assert (got[ids["binh"]].channel, got[ids["binh"]].hold_reason) == ("held", "account_closed")


def _request_in(session, unit_, user):
    from app.services.payout import prevalidation

    out = io.BytesIO()
    n = prevalidation.write_request(session, unit_, user, "970436", out, lambda s: s)
    return n, out.getvalue()
