"""The outbox: one notice per person, event and reference; phone numbers and opt-out; the notices of a verified
account and of a whole result file (one INSERT … SELECT); the spreadsheet hand-over; both databases."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from app.services.messages import FieldError
from tests.factories import unit, user_id
from tests.payout.conftest import _lines, _result_file

AN, BINH, CUONG, EM = "Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Đỗ Văn Em"


def _notices(session, **where):
    from app.models import Notice

    session.expire_all()
    query = select(Notice).order_by(Notice.id)
    for key, value in where.items():
        query = query.where(getattr(Notice, key) == value)
    return list(session.scalars(query))


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("0912345678", "0912345678"),
        ("091 234 5678", "0912345678"),
        ("091.234.5678", "0912345678"),
        ("(091) 234-5678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("+84 91 234 5678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0084 912 345 678", "0912345678"),
        ("0321234567", "0321234567"),
        ("0561234567", "0561234567"),
        ("0701234567", "0701234567"),
        ("0861234567", "0861234567"),
        ("", None),
        (None, None),
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    from app.services.registry.normalize import parse_phone

    assert parse_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "0212345678",  # a landline prefix
        "0112345678",
        "091234567",  # 9 digits
        "09123456789",  # 11 digits
        "+85912345678",
        "8491234567",  # 84 and 8 digits
        "0912abc678",
        "001045012345",  # a CCCD typed in the phone field
    ],
)
def test_invalid_phone_numbers_are_refused(db_session, make_person, raw):
    from app.services.notices import outbox

    pid = make_person("00004", AN)
    with pytest.raises(FieldError) as exc:
        outbox.set_contact(db_session, pid, None, phone=raw, opt_out=False)
    assert exc.value.problem.code == "phone_invalid"


def test_notify_is_idempotent_and_carries_no_identifier(db_session, make_person):
    from app.services.notices import notify, outbox

    pid = make_person("00004", AN, cccd="001045099999")
    outbox.set_contact(db_session, pid, user_id(db_session, "canbo.00004"), phone="+84 912 345 678", opt_out=False)
    db_session.commit()
    assert notify(db_session, "complaint_received", pid, reference="complaint:5", number="5") == 1
    assert notify(db_session, "complaint_received", pid, reference="complaint:5", number="5") == 0
    assert notify(db_session, "complaint_resolved", pid, reference="complaint:5", number="5") == 1
    db_session.commit()
    received, resolved = _notices(db_session, beneficiary_id=pid)
    assert (received.event, received.status, received.phone, received.segments) == (
        "complaint_received",
        "queued",
        "0912345678",
        1,
    )
    assert resolved.event == "complaint_resolved" and received.commune_id == unit(db_session, "00004").id
    for notice in (received, resolved):
        assert "001045099999" not in notice.text and "Nguyen" not in notice.text and "Nguyễn" not in notice.text


def test_without_a_phone_or_after_an_opt_out_the_notice_is_skipped(db_session, make_person):
    from app.models import BeneficiaryContact
    from app.services.notices import notify, outbox

    nobody = make_person("00004", AN)
    optout = make_person("00004", BINH)
    officer = user_id(db_session, "canbo.00004")
    outbox.set_contact(db_session, optout, officer, phone="0987654321", opt_out=False)
    db_session.commit()
    notify(db_session, "complaint_received", optout, reference="complaint:1", number="1")
    notify(db_session, "complaint_received", nobody, reference="complaint:2", number="2")
    db_session.commit()
    assert [(n.status, n.skip_reason) for n in _notices(db_session, beneficiary_id=nobody)] == [("skipped", "no_phone")]
    assert [n.status for n in _notices(db_session, beneficiary_id=optout)] == ["queued"]

    outbox.set_contact(db_session, optout, officer, phone="0987654321", opt_out=True)
    db_session.commit()
    contact = db_session.get(BeneficiaryContact, optout)
    assert contact.sms_opt_out and contact.opt_out_by_id == officer and contact.opt_out_at is not None
    # the waiting notice follows the opt-out, and later ones are skipped without copying the number
    assert [(n.status, n.skip_reason, n.phone) for n in _notices(db_session, beneficiary_id=optout)] == [
        ("skipped", "opt_out", None)
    ]
    notify(db_session, "complaint_resolved", optout, reference="complaint:1", number="1")
    db_session.commit()
    assert [n.status for n in _notices(db_session, beneficiary_id=optout)] == ["skipped", "skipped"]


def test_waiting_notices_follow_a_new_or_removed_number(db_session, make_person):
    from app.services.notices import notify, outbox

    pid = make_person("00004", AN)
    outbox.set_contact(db_session, pid, None, phone="0912345678", opt_out=False)
    notify(db_session, "complaint_received", pid, reference="complaint:1", number="1")
    outbox.set_contact(db_session, pid, None, phone="0987654321", opt_out=False)
    db_session.commit()
    assert [(n.status, n.phone) for n in _notices(db_session, beneficiary_id=pid)] == [("queued", "0987654321")]
    outbox.set_contact(db_session, pid, None, phone="", opt_out=False)
    db_session.commit()
    assert [(n.status, n.skip_reason, n.phone) for n in _notices(db_session, beneficiary_id=pid)] == [
        ("skipped", "no_phone", None)
    ]


def test_the_opt_out_is_audited(db_session, make_person):
    from app.models import AuditLog
    from app.services.notices import outbox

    pid = make_person("00004", AN)
    outbox.set_contact(db_session, pid, user_id(db_session, "canbo.00004"), phone="0912345678", opt_out=True)
    db_session.commit()
    records = db_session.scalars(select(AuditLog).where(AuditLog.entity == "beneficiary_contact")).all()
    assert len(records) == 1 and "sms_opt_out" in records[0].new_values
    assert records[0].beneficiary_id == pid


def test_an_officer_cannot_record_a_phone_outside_the_scope(db_session, make_person):
    from app.services.notices import outbox
    from app.services.scope import OutOfScope

    pid = make_person("00037", AN)
    with pytest.raises(OutOfScope):
        outbox.set_contact(db_session, pid, user_id(db_session, "canbo.00004"), phone="0912345678", opt_out=True)


def test_a_verified_account_gives_one_notice(db_session, make_person, verified_account):
    from app.services.notices import outbox

    pid = make_person("00004", AN)
    outbox.set_contact(db_session, pid, None, phone="0912345678", opt_out=False)
    db_session.commit()
    account = verified_account(pid, "0011223344")
    (notice,) = _notices(db_session, beneficiary_id=pid)
    assert (notice.event, notice.ref, notice.status) == ("account_verified", f"account:{account}", "queued")
    assert "0011223344" not in notice.text and "tai khoan" in notice.text


@pytest.fixture()
def handed_over(db_session, locked_period):
    from app.services import payout

    payout.hand_over(db_session, locked_period["period"], None, unit(db_session, "001"))
    return locked_period


@pytest.mark.parametrize("encoding", ["gsm7", "ucs2"])
def test_a_result_file_gives_its_notices_in_one_statement(db_session, handed_over, tmp_path, encoding, monkeypatch):
    from app.extensions import db
    from app.services import payout
    from app.services.notices import outbox

    monkeypatch.setitem(outbox.SETTINGS, "SMS_ENCODING", encoding)

    pid = handed_over["period"]
    lines = _lines(db_session, pid)
    for line in lines.values():
        outbox.set_contact(db_session, line.beneficiary_id, None, phone="0912345678", opt_out=line.full_name == EM)
    db_session.commit()
    path = _result_file(
        tmp_path,
        [
            (lines[AN].id, "0011223344", 500000, "Thành công", ""),
            (lines[BINH].id, "1234567890", 500000, "Thất bại", "Sai số tài khoản"),
            (lines[EM].id, "0099887766", 1500000, "Thành công", ""),
        ],
    )
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO NOTICE"):
            inserts.append(executemany)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = payout.import_results(db_session, pid, path, unit(db_session, "001"), user_id(db_session, "phong.001"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert inserts == [False]  # one INSERT … SELECT, not one per line
    assert result["notices"] == 3
    by_person = {n.beneficiary_id: n for n in _notices(db_session) if n.event != "account_verified"}
    an, binh, em = (by_person[lines[k].beneficiary_id] for k in (AN, BINH, EM))
    assert (an.event, an.status, an.ref) == ("payment_sent", "queued", f"line:{lines[AN].id}")
    assert "02/2025" in an.text and "500" not in an.text
    assert (binh.event, binh.status) == ("payment_failed", "queued")
    assert ("lien he UBND" if encoding == "gsm7" else "liên hệ UBND") in binh.text
    # each notice carries its own encoding and segment count (the two texts differ in length)
    assert {(n.encoding, n.segments) for n in (an, binh)} == (
        {("gsm7", 1)} if encoding == "gsm7" else {("ucs2", 2), ("ucs2", 3)}
    )
    assert (em.event, em.status, em.skip_reason) == ("payment_sent", "skipped", "opt_out")
    assert lines[CUONG].beneficiary_id not in by_person  # no result yet: no notice

    # the money of An comes back in a later file: one more notice; the same file again adds nothing
    path2 = _result_file(tmp_path, [(lines[AN].id, "0011223344", 500000, "Hoàn trả", "Tài khoản đã đóng")], "r2.xlsx")
    assert payout.import_results(db_session, pid, path2, unit(db_session, "001"), None)["notices"] == 1
    assert outbox.notify_results(db_session, result["import_id"], dt.date(2025, 2, 1)) == 0
    db_session.commit()
    events = sorted(n.event for n in _notices(db_session, beneficiary_id=lines[AN].beneficiary_id))
    assert events == ["account_verified", "payment_failed", "payment_sent"]


def test_export_hands_over_the_waiting_notices_of_the_scope_only(db_session, make_person):
    from app.services.notices import notify, outbox

    mine = make_person("00004", AN)
    other = make_person("00037", BINH)
    silent = make_person("00004", CUONG)
    for pid in (mine, other):
        outbox.set_contact(db_session, pid, None, phone="0912345678", opt_out=False)
    db_session.commit()
    for pid in (mine, other, silent):
        notify(db_session, "complaint_received", pid, reference="complaint:9", number="9")
    db_session.commit()
    out = io.BytesIO()
    officer = user_id(db_session, "canbo.00004")
    count = outbox.export_outbox(db_session, unit(db_session, "00004"), officer, out, lambda s: s, {})
    assert count == 1
    rows = list(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("No.", "Phone number", "Message") and len(rows) == 2
    assert rows[1][1] == "0912345678" and "Nguyen" not in rows[1][2]
    (handed,) = _notices(db_session, beneficiary_id=mine)
    assert (handed.status, handed.exported_by_id) == ("exported", officer) and handed.exported_at is not None
    assert [n.status for n in _notices(db_session, beneficiary_id=other)] == ["queued"]
    assert [n.status for n in _notices(db_session, beneficiary_id=silent)] == ["skipped"]
    # nothing left to hand over in that scope
    assert outbox.export_outbox(db_session, unit(db_session, "00004"), officer, io.BytesIO(), lambda s: s, {}) == 0
