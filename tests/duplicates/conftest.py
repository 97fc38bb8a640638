"""Builders of the duplicate tests: synthetic people (never real ones) with accounts and visits, in the demo
communes of the test's scheme."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests import factories


class Planter:
    """Plants people, accounts and proxy visits in ``db_session`` (each call commits)."""

    def __init__(self, session, world):
        self.session, self.world, self.n = session, world, 0

    def person(self, where: str, name: str, *, cccd: str | None = "auto", enrol=None, **fields) -> int:
        self.n += 1
        if cccd == "auto":
            cccd = f"0010560{self.n:05d}"
        fields.setdefault("match_status", "matched")
        fields.setdefault("case_type", 1)
        return factories.make_person(
            self.session, self.world.units[where], name, scheme=self.world.scheme, enrol=enrol, cccd=cccd, **fields
        )

    def account(self, person_id: int, number: str, bank: str = "970436", *, channel: str = "bank", state="verified"):
        from app.models import Beneficiary, PaymentAccount
        from app.services.registry.normalize import ascii_key

        person = self.session.get(Beneficiary, person_id)
        self.session.add(
            PaymentAccount(
                beneficiary_id=person_id,
                commune_id=person.commune_id,
                channel=channel,
                bank_bin=bank,
                account_number=number,
                holder_name=person.full_name,
                holder_ascii=ascii_key(person.full_name),
                source="police",
                state=state,
            )
        )
        self.session.commit()

    def proxy(self, person_id: int, proxy_cccd: str, proxy_name: str = "Người Nhận Thay") -> None:
        """Register ``proxy_cccd`` as the person's proxy on a home visit."""
        from app.models import Beneficiary, Visit
        from app.services.visits.questionnaire import active_questionnaire, load_default_questionnaire

        q = active_questionnaire(self.session) or load_default_questionnaire(self.session)
        person = self.session.get(Beneficiary, person_id)
        self.session.add(
            Visit(
                beneficiary_id=person_id,
                commune_id=person.commune_id,
                questionnaire_id=q.id,
                visit_date=dt.date(2025, 1, 10),
                met=True,
                respondent="beneficiary",
                vulnerable=True,
                proxy_name=proxy_name,
                proxy_cccd=proxy_cccd,
                case_type=4,
                answers=json.dumps({}),
            )
        )
        self.session.commit()


@pytest.fixture()
def plant(db_session, world):
    return Planter(db_session, world)


def find(session):
    """Run the finder; the pairs as {(kind, frozenset(people)): status}."""
    from sqlalchemy import select

    from app.models import DuplicatePair
    from app.services.registry import duplicates

    duplicates.find_duplicates(session)
    session.expire_all()
    return {
        (p.kind, frozenset((p.person_a_id, p.person_b_id))): p.status for p in session.scalars(select(DuplicatePair))
    }
