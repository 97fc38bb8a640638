"""Helpers for the payout tests: synthetic beneficiaries (never real people) in the demo communes."""
from __future__ import annotations

import datetime as dt

import pytest

from tests import factories
from tests.factories import user_id


@pytest.fixture()
def make_person(app):
    """make_person("00004", "Nguyễn Văn An", cccd=..., case_type=1, enrol={"BTXH": 500000}) → Beneficiary id.

    Works in its own app context (a test that holds one would share ``g`` between test clients)."""
    from app.extensions import db

    counter = {"n": 0}

    def make(code: str, name: str, *, cccd: str | None = None, case_type: int | None = 1,
             enrol: dict | None = None, coefficient: dict | None = None, hold_reason: str | None = None,
             dob: dt.date = dt.date(1945, 5, 1), payment_method: str | None = None, scheme: str = "2024") -> int:
        with app.app_context():
            return _make(db.session, code, name, cccd=cccd, case_type=case_type, enrol=enrol, coefficient=coefficient,
                         hold_reason=hold_reason, dob=dob, payment_method=payment_method, scheme=scheme)

    def _make(db_session, code, name, *, cccd, case_type, enrol, coefficient, hold_reason, dob, payment_method,
              scheme):
        counter["n"] += 1
        if cccd is None:
            cccd = f"0010450{counter['n']:05d}"
        return factories.make_person(db_session, code, name, scheme=scheme, enrol=enrol, coefficient=coefficient or {},
                                     cccd=cccd, date_of_birth=dob, birth_year=dob.year, sex="M", match_status="matched",
                                     case_type=case_type, hold_reason=hold_reason, payment_method=payment_method)
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
            db_session, beneficiary_id=person_id, channel=None, bank=bank, account_number=number,
            holder_name=holder or person.full_name, source="police", user_id=user_id(db_session, f"congan.{code}"))
        accounts.verify_account(db_session, account.id, user_id(db_session, f"congan2.{code}"), approve=True)
        db_session.commit()
        return account.id
    return make
