"""Helpers for the payout tests: synthetic beneficiaries (never real people) in the demo communes."""

from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from tests import factories
from tests.factories import unit, user_id


@pytest.fixture()
def make_person(app):
    """make_person("00004", "Nguyễn Văn An", cccd=..., case_type=1, enrol={"BTXH": 500000}) → Beneficiary id.

    Works in its own app context (a test that holds one would share ``g`` between test clients)."""
    from app.extensions import db

    counter = {"n": 0}

    def make(
        code: str,
        name: str,
        *,
        cccd: str | None = None,
        case_type: int | None = 1,
        enrol: dict | None = None,
        coefficient: dict | None = None,
        hold_reason: str | None = None,
        dob: dt.date = dt.date(1945, 5, 1),
        payment_method: str | None = None,
        scheme: str = "2024",
    ) -> int:
        with app.app_context():
            return _make(
                db.session,
                code,
                name,
                cccd=cccd,
                case_type=case_type,
                enrol=enrol,
                coefficient=coefficient,
                hold_reason=hold_reason,
                dob=dob,
                payment_method=payment_method,
                scheme=scheme,
            )

    def _make(db_session, code, name, *, cccd, case_type, enrol, coefficient, hold_reason, dob, payment_method, scheme):
        counter["n"] += 1
        if cccd is None:
            cccd = f"0010450{counter['n']:05d}"
        return factories.make_person(
            db_session,
            code,
            name,
            scheme=scheme,
            enrol=enrol,
            coefficient=coefficient or {},
            cccd=cccd,
            date_of_birth=dob,
            birth_year=dob.year,
            sex="M",
            match_status="matched",
            case_type=case_type,
            hold_reason=hold_reason,
            payment_method=payment_method,
        )

    return make


@pytest.fixture()
def verified_account(app):
    """verified_account(person_id, number, bank="Vietcombank") → account id, entered by congan, verified by congan2."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.payout import accounts

    def make(person_id: int, number: str, bank: str = "970436", holder: str | None = None) -> int:
        with app.app_context():
            return _make(db.session, person_id, number, bank, holder)

    def _make(db_session, person_id, number, bank, holder):
        person = db_session.get(Beneficiary, person_id)
        code = person.commune.code
        account, _ = accounts.enter_account(
            db_session,
            beneficiary_id=person_id,
            channel=None,
            bank=bank,
            account_number=number,
            holder_name=holder or person.full_name,
            source="police",
            user_id=user_id(db_session, f"congan.{code}"),
        )
        accounts.verify_account(db_session, account.id, user_id(db_session, f"congan2.{code}"), approve=True)
        db_session.commit()
        return account.id

    return make


def build_locked_period(session, make_person, verified_account) -> dict:
    """District 001, Feb 2025: An (account, Vietcombank), Bình (account, Agribank), Cường (cash), Dung (held),
    Em in 00001 (account, Vietcombank, 1,500,000). Approved by every tier, locked by phong.001."""
    from app.services import payout

    ids = {}
    ids["an"] = make_person("00004", "Nguyễn Văn An", case_type=1, dob=dt.date(1945, 3, 7))
    verified_account(ids["an"], "0011223344")
    ids["binh"] = make_person("00004", "Lê Thị Bình", case_type=1)
    verified_account(ids["binh"], "1234567890", bank="Agribank")
    ids["cuong"] = make_person("00004", "Phạm Văn Cường", case_type=3)
    ids["dung"] = make_person("00004", "Hoàng Thị Dung", case_type=1, hold_reason="deceased")
    ids["em"] = make_person("00001", "Đỗ Văn Em", case_type=1, enrol={"NCC": 1500000})
    verified_account(ids["em"], "0099887766")
    period = payout.create_period(
        session, name="Tháng 02/2025", period_date=dt.date(2025, 2, 1), unit=unit(session, "001"), user_id=None
    )
    session.commit()
    payout.sync_payout_list(session, period.id, unit(session, "001"))
    factories.approve_all(session, period.id)
    payout.lock_period(session, period.id, user_id(session, "phong.001"), unit(session, "001"))
    ids["period"] = period.id
    return ids


@pytest.fixture()
def locked_period(db_session, make_person, verified_account):
    """The period of :func:`build_locked_period`, locked."""
    return build_locked_period(db_session, make_person, verified_account)


def _lines(session, period_id, kind="regular"):
    """name → the line of the period's own month (``kind="arrears"``: the back-pay line, one month per person)."""
    from app.models import PayoutLine

    session.expire_all()
    return {
        l.full_name: l
        for l in session.scalars(select(PayoutLine).where(PayoutLine.period_id == period_id, PayoutLine.kind == kind))
    }


RECEIPT_COLUMNS = ("Số tiền thực nhận", "Người chi", "Ngày chi", "Ký nhận", "Người nhận thay")


def _result_file(tmp_path, rows, name="ket-qua.xlsx", extra=()):
    """A result file as a bank writes it: a title, then STT, reference, account, amount, status, reason and the
    ``extra`` columns (e.g. RECEIPT_COLUMNS)."""
    wb = Workbook()
    ws = wb.active
    ws.append(["Kết quả chi trả - Vietcombank"])
    ws.append(["STT", "Mã giao dịch", "Số tài khoản", "Số tiền", "Trạng thái", "Lý do", *extra])
    for i, r in enumerate(rows, 1):
        ws.append([i, *r])
    path = tmp_path / name
    wb.save(path)
    return str(path)
