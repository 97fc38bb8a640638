"""Fixtures of the person tests: people with addresses and accounts, made through the ORM."""

from __future__ import annotations

import pytest


@pytest.fixture()
def make_person(app):
    """make_person(name, commune_code, cccd, address) → id of a new beneficiary with one BTXH enrolment."""
    from app.extensions import db
    from app.models import Beneficiary, Enrolment
    from app.services.audit import audit_actor
    from app.services.reference import find_unit
    from app.services.registry.keys import refresh_keys

    def make(name, code="00004", cccd=None, address=None, birth_year=1950):
        with app.app_context(), audit_actor(None, "fixture", "test"):
            unit = find_unit(db.session, code, "2024")
            person = Beneficiary(
                full_name=name,
                cccd=cccd,
                birth_year=birth_year,
                sex="M",
                address=address,
                commune=unit,
                commune_id=unit.id,
                match_status="pending",
            )
            refresh_keys(person)
            person.enrolments.append(Enrolment(category="BTXH", commune_id=unit.id, monthly_amount=540000))
            db.session.add(person)
            db.session.commit()
            return person.id

    return make


@pytest.fixture()
def add_account(app):
    """add_account(beneficiary_id, number) → id of a verified bank account of that person."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Bank, Beneficiary, PaymentAccount
    from app.services.audit import audit_actor

    def add(beneficiary_id, number, state="verified"):
        with app.app_context(), audit_actor(None, "fixture", "test"):
            person = db.session.get(Beneficiary, beneficiary_id)
            bank = db.session.scalars(select(Bank).order_by(Bank.bin)).first()
            account = PaymentAccount(
                beneficiary_id=person.id,
                commune_id=person.commune_id,
                bank_bin=bank.bin,
                account_number=number,
                holder_name=person.full_name,
                holder_ascii=person.search_key.upper(),
                state=state,
                source="police",
            )
            db.session.add(account)
            db.session.commit()
            return account.id

    return add
