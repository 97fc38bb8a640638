"""Synthetic demo data: a Hanoi population and beneficiary lists drawn from it, with realistic faults.

Everything here is synthetic (see ``synthetic.SYNTHETIC_LABEL``); no real person is involved.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.demo import synthetic
from app.models import AdminUnit, Citizen
from app.models.duplicate import DUPLICATE_KINDS  # noqa: F401  (the CLI prints the pairs per kind)
from app.services.reference import FIXTURES
from app.services.registry.population import bulk_load_citizens, citizen_row

DEMO_SEED = 20240107
DEMO_DISTRICTS = ("001", "002")
# The 2025 demo: wards of the former Ba Đình and Hoàn Kiếm districts (two levels: each ward pays for itself).
DEMO_COMMUNES_2025 = ("00004", "00008", "00025", "00070")
CATEGORY_NAMES = {
    "BTXH": "Bảo trợ xã hội",
    "NCC": "Người có công",
    "HN": "Hộ nghèo",
    "HCN": "Hộ cận nghèo",
    "KHAC": "Khác",
}


def demo_communes(districts: Iterable[str] | None = DEMO_DISTRICTS, scheme: str = "2024") -> list[tuple[str, str, str]]:
    """(code, name, district) of the communes of ``districts`` (None: every Hanoi commune). In the 2025 scheme
    there are no districts: ``districts`` then names the communes themselves and the district is empty."""
    import csv as _csv

    if scheme == "2025":
        with open(FIXTURES / "hanoi_2025_units.csv", encoding="utf-8") as fh:
            rows = list(_csv.DictReader(fh))
        wanted = set(DEMO_COMMUNES_2025 if districts is DEMO_DISTRICTS else districts or ()) or None
        return [(r["ward_code"], r["ward_name"], "") for r in rows if wanted is None or r["ward_code"] in wanted]
    with open(FIXTURES / "hanoi_legacy_units.csv", encoding="utf-8") as fh:
        rows = list(_csv.DictReader(fh))
    wanted = set(districts) if districts is not None else None
    return [
        (r["ward_code"], r["ward_name"], r["district_name"])
        for r in rows
        if wanted is None or r["district_code"] in wanted
    ]


def citizen_rows(seed: int, n: int, communes, unit_ids: dict[str, int], start: int = 0):
    for cccd, cmnd, name, dob, year, sex, address, code, status, status_date in synthetic.generate_citizens(
        seed, n, communes, start_serial=start
    ):
        yield citizen_row(
            cccd,
            cmnd,
            name,
            dt.date.fromisoformat(dob) if dob else None,
            year,
            sex,
            address,
            unit_ids[code],
            status,
            dt.date.fromisoformat(status_date) if status_date else None,
        )


def seed_population(
    session: Session, n: int, *, seed: int = DEMO_SEED, districts=DEMO_DISTRICTS, scheme: str = "2024"
) -> int:
    """Load ``n`` synthetic citizens unless the registry already has people. Returns how many were added."""
    if session.scalar(select(func.count()).select_from(Citizen)):
        return 0
    communes = demo_communes(districts, scheme)
    unit_ids = dict(session.execute(select(AdminUnit.code, AdminUnit.id).where(AdminUnit.scheme == scheme)).all())
    added = bulk_load_citizens(session, citizen_rows(seed, n, communes, unit_ids))
    session.commit()
    return added


def beneficiary_list_csv(
    n_citizens: int, m: int, *, seed: int = DEMO_SEED, districts=DEMO_DISTRICTS, scheme: str = "2024"
) -> bytes:
    """A beneficiary list as a district would send it (CSV, Vietnamese headers), drawn from the same
    synthetic population as ``seed_population`` with faults injected."""
    communes = demo_communes(districts, scheme)
    citizens = list(synthetic.generate_citizens(seed, n_citizens, communes))
    by_code = {c[0]: c for c in communes}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([synthetic.SYNTHETIC_LABEL])
    writer.writerow(
        [
            "STT",
            "Họ và tên",
            "Số CCCD",
            "Ngày sinh",
            "Giới tính",
            "Địa chỉ",
            "Mã xã",
            "Loại đối tượng",
            "Mã chế độ",
            "Mức trợ cấp",
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", synthetic.SyntheticDataWarning)
        for i, row in enumerate(synthetic.draw_beneficiaries(seed, citizens, min(m, len(citizens) // 3), by_code), 1):
            born = row["date_of_birth"].strftime("%d/%m/%Y") if row["date_of_birth"] else str(row["birth_year"])
            writer.writerow(
                [
                    i,
                    row["full_name"],
                    row["cccd"] or "",
                    born,
                    "Nam" if row["sex"] == "M" else "Nữ",
                    row["address"],
                    row["commune_code"],
                    CATEGORY_NAMES[row["category"]],
                    row["policy_code"],
                    row["monthly_amount"],
                ]
            )
    writer.writerow([])
    writer.writerow(["", "Người lập biểu"])
    return out.getvalue().encode("utf-8-sig")


DEMO_OFFICER = {"2024": "canbo", "2025": "xa"}  # username prefix of the commune officer who visits
DEMO_BANKS = ("Agribank", "Vietcombank", "VietinBank", "BIDV", "NHCSXH", "Viettel Money")
DECLINE_REASONS = ("prefers_cash", "old_age", "far_from_bank", "no_phone", "fees_or_distrust")


def seed_visits(  # noqa: C901
    session: Session,
    commune_codes: Iterable[str],
    *,
    seed: int = DEMO_SEED,
    today: dt.date | None = None,
    scheme: str = "2024",
) -> dict[str, int]:
    """Synthetic home visits by each commune's officer (2024: the labour officer ``canbo.<code>``; 2025: the
    social-affairs officer ``xa.<code>``), through the real survey rules, and a second police officer verifying
    most of the accounts found (four eyes). Idempotent: people already visited are skipped."""
    import random

    from app.models import AsxhUser, Beneficiary, PaymentAccount, Visit
    from app.services.payout import accounts
    from app.services.registry import normalize
    from app.services.visits import survey

    rng = random.Random(seed)
    today = today or dt.date(2024, 1, 12)
    done = {"visits": 0, "refused": 0, "verified": 0}
    users = {u.username: u.id for u in session.scalars(select(AsxhUser))}
    visited = set(session.scalars(select(Visit.beneficiary_id)))
    for code in commune_codes:
        unit = session.scalar(select(AdminUnit).where(AdminUnit.scheme == scheme, AdminUnit.code == code))
        officer, checker = users.get(f"{DEMO_OFFICER[scheme]}.{code}"), users.get(f"congan2.{code}")
        if unit is None or officer is None:
            continue
        people = list(
            session.scalars(
                select(Beneficiary)
                .where(Beneficiary.commune_id == unit.id, Beneficiary.hold_reason.is_(None))
                .order_by(Beneficiary.id)
            )
        )
        for person in people:
            roll = rng.random()  # drawn for everyone, so a second run takes the same decisions
            answers = {
                "visit_date": (today - dt.timedelta(days=rng.randint(0, 4))).strftime("%d/%m/%Y"),
                "met": "beneficiary",
                "can_transact_alone": "yes",
                "citizen_confirmed": "yes",
            }
            if roll < 0.10:
                continue  # not visited yet
            elif roll < 0.18:
                answers = {"visit_date": answers["visit_date"], "met": "not_met", "not_met_reason": "not_home"}
            elif roll < 0.60:
                answers.update(
                    has_account="yes",
                    wants_account_payment="yes",
                    account_channel="bank",
                    account_bank=rng.choice(DEMO_BANKS[:5]),
                    account_number=str(rng.randint(10**11, 10**13)),  # drawn even when the person is skipped
                    account_holder=normalize.ascii_key(person.full_name),
                )
            elif roll < 0.75:
                answers.update(
                    has_account="no",
                    wants_account_payment="yes",
                    wants_help_opening="yes",
                    opening_bank=rng.choice(("Agribank", "NHCSXH")),
                )
            elif roll < 0.88:
                answers.update(has_account="no", wants_account_payment="no", decline_reason=rng.choice(DECLINE_REASONS))
            else:
                answers.update(
                    has_account="no",
                    wants_account_payment="no",
                    can_transact_alone="no",
                    vulnerabilities=["elderly_alone"],
                    decline_reason="old_age",
                )
                if rng.random() < 0.5:
                    answers.update(
                        support=["proxy"],
                        proxy_name="Nguyễn Thị Con",
                        proxy_relationship="con gái",
                        proxy_cccd=normalize.build_cccd("001", 1975, "F", rng.randint(0, 999999)),
                    )
                else:
                    answers.update(support=["cash_at_home"])
            if person.id in visited:
                continue
            try:
                survey.record_visit(session, person.id, answers, officer, today=today + dt.timedelta(days=5))
                session.commit()
                done["visits"] += 1
            except Exception:  # a synthetic answer the rules refuse: leave the person unvisited
                session.rollback()
                done["refused"] += 1
        if checker is None:
            continue
        pending = list(
            session.scalars(
                select(PaymentAccount).where(PaymentAccount.commune_id == unit.id, PaymentAccount.state == "pending")
            )
        )
        for account in pending:
            if account.id % 5:  # four in five verified; the rest wait for the second officer
                try:
                    accounts.verify_account(session, account.id, checker, approve=True)
                    session.commit()
                    done["verified"] += 1
                except Exception:
                    session.rollback()
    return done


DEMO_PERIOD = "Tháng 01/2024 — Quận Ba Đình (giả lập)"
# Per scheme: the demo period's name, date and paying unit (2024: a district; 2025: a ward pays for itself).
DEMO_PERIODS = {
    "2024": (DEMO_PERIOD, dt.date(2024, 1, 20), "001"),
    "2025": ("Tháng 08/2025 — Phường Ba Đình (giả lập)", dt.date(2025, 8, 20), "00004"),
}


def seed_prevalidation(session: Session, unit: AdminUnit, day: dt.date, *, user_id: int | None = None) -> int:
    """The banks' answers about the verified accounts of ``unit`` (synthetic, as from an answer file): most are
    valid, one in twelve has another holder name (masked, as banks return it), one in seventeen is closed; the
    sync then holds those lines and the period page lists them for a visit. One INSERT … SELECT. Commits."""
    from sqlalchemy import text

    from app.services import audit
    from app.services.masking import bank_masked_name
    from app.services.scope import subtree_sql

    in_scope, params = subtree_sql(unit)
    inserted = session.execute(
        text(f"""
        INSERT INTO account_check (account_id, commune_id, outcome, bank_holder_name, checked_at, source, user_id)
        SELECT pa.id, pa.commune_id,
               CASE WHEN pa.id % 12 = 0 THEN 'name_mismatch' WHEN pa.id % 17 = 0 THEN 'closed_or_unknown'
                    ELSE 'valid' END,
               CASE WHEN pa.id % 12 = 0 THEN :masked WHEN pa.id % 17 = 0 THEN NULL ELSE pa.holder_ascii END,
               :at, 'file', :u
        FROM payment_account pa
        WHERE pa.state = 'verified' AND pa.commune_id IN {in_scope}"""),
        dict(params, at=dt.datetime.combine(day, dt.time(9)), u=user_id, masked=bank_masked_name("Tran Van Hung")),
    ).rowcount
    audit.record(
        session,
        action="bulk",
        entity="account_check",
        unit_id=unit.id,
        new={"inserted": inserted},
        detail="Demo: bank answers to an account check",
    )
    session.commit()
    return inserted


def seed_payout(
    session: Session,
    *,
    payer_code: str | None = None,
    user_id: int | None = None,
    seed: int = DEMO_SEED,
    scheme: str = "2024",
) -> dict | None:
    """A payout period for one paying unit: synced, approved by every tier (``approve_as_demo``), locked, handed
    over, and a synthetic bank result file (most transfers paid, a few failed). Idempotent: nothing is done when
    the period exists."""
    import os
    import random
    import tempfile

    from app.models import PayoutLine, PayoutPeriod
    from app.services import payout

    name, day, default_payer = DEMO_PERIODS[scheme]
    if session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == name)) is not None:
        return None
    payer = session.scalar(
        select(AdminUnit).where(AdminUnit.scheme == scheme, AdminUnit.code == (payer_code or default_payer))
    )
    period = payout.create_period(session, name=name, period_date=day, unit=payer, user_id=user_id)
    session.commit()
    seed_prevalidation(session, payer, day - dt.timedelta(days=5), user_id=user_id)
    payout.sync_payout_list(session, period.id, payer, user_id=user_id)
    approve_as_demo(session, period.id)
    payout.lock_period(session, period.id, user_id, payer)
    payout.hand_over(session, period.id, user_id, payer)
    rng = random.Random(seed)
    lines = session.scalars(
        select(PayoutLine.id).where(PayoutLine.period_id == period.id, PayoutLine.channel == "account")
    ).all()
    if not lines:  # an empty result file is refused: nothing to report
        return {"rows": 0, "paid": 0, "partial": 0, "failed": 0, "reversed": 0, "skipped": 0}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã giao dịch", "Kết quả", "Lý do"])
    for line_id in lines:
        if rng.random() < 0.93:
            writer.writerow([line_id, "Thành công", ""])
        else:
            writer.writerow([line_id, "Thất bại", rng.choice(["Sai số tài khoản", "Tài khoản đã đóng"])])
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as fh:
        fh.write(out.getvalue())
        path = fh.name
    try:
        return payout.import_results(session, period.id, path, payer, user_id, filename="ket-qua-ngan-hang.csv")
    finally:
        os.unlink(path)


def seed_duplicates(session: Session, commune_codes: Iterable[str], *, scheme: str = "2024") -> dict | None:
    """A few possible duplicates to decide on the review screen, one of each kind, between demo people of two
    communes: a second person entered with someone's bank account, one phone number at two e-wallet providers,
    a copy of a person in another commune without a CCCD, and a copy in the same commune whose matching found the
    first one's CCCD, in the near-poor list. Then the finder runs. Idempotent: nothing is done when a pair exists."""
    from app.models import Beneficiary, DuplicatePair, Enrolment, PaymentAccount
    from app.services.registry import duplicates
    from app.services.registry.keys import refresh_keys
    from app.services.registry.normalize import ascii_key

    if session.scalar(select(DuplicatePair.id).limit(1)) is not None:
        return None
    units = {
        u.code: u
        for u in session.scalars(select(AdminUnit).where(AdminUnit.scheme == scheme, AdminUnit.code.in_(commune_codes)))
    }
    codes = [c for c in commune_codes if c in units]
    if len(codes) < 2:
        return None
    first, second = units[codes[0]], units[codes[-1]]

    def people(unit, n):
        return session.scalars(
            select(Beneficiary)
            .where(Beneficiary.commune_id == unit.id, Beneficiary.ended_at.is_(None), Beneficiary.cccd.is_not(None))
            .where(Beneficiary.date_of_birth.is_not(None), Beneficiary.sex.is_not(None))
            .order_by(Beneficiary.id)
            .limit(n)
        ).all()

    here, there = people(first, 4), people(second, 4)
    if len(here) < 4 or len(there) < 4:
        return None

    def account(person, bank_bin, number, channel):
        session.add(
            PaymentAccount(
                beneficiary_id=person.id,
                commune_id=person.commune_id,
                channel=channel,
                bank_bin=bank_bin,
                account_number=number,
                holder_name=person.full_name,
                holder_ascii=ascii_key(person.full_name),
                source="police",
                state="pending",
            )
        )

    def copy(person, unit, **changes):
        twin = Beneficiary(
            full_name=person.full_name,
            date_of_birth=person.date_of_birth,
            birth_year=person.birth_year,
            sex=person.sex,
            address=person.address,
            commune=unit,
            commune_id=unit.id,
            match_status="pending",
            **changes,
        )
        refresh_keys(twin)
        twin.enrolments.append(Enrolment(category="HCN", commune_id=unit.id, monthly_amount=300000))
        session.add(twin)

    account(there[0], "970436", "0019000123456", "bank")  # the same Vietcombank account as here[0]
    account(here[0], "970436", "0019000123456", "bank")
    account(here[1], "971025", "0912000111", "e_wallet")  # one phone number at MoMo and Viettel Money
    account(there[1], "971005", "0912000111", "mobile_money")
    copy(here[2], second)  # moved without the registry knowing
    copy(there[3], second, match_cccd=there[3].cccd)  # enrolled again, in a category that does not stack
    session.commit()
    return duplicates.find_duplicates(session)


def seed_aftercare(session: Session, *, scheme: str = "2024", seed: int = DEMO_SEED) -> dict | None:
    """After the demo payout: the payments in hand recorded, the period closed, a verification sample drawn with
    some answers (those not confirmed open complaints) and a complaint an officer recorded weeks ago, now past its
    deadline. Idempotent: nothing is done once the period has a sample."""
    from app.models import Complaint, PayoutLine, PayoutPeriod, VerificationSample, VerificationTask
    from app.services import payout
    from app.services.formatting import local_today
    from app.services.payout import complaints, verification

    name, _day, _payer = DEMO_PERIODS[scheme]
    period = session.scalar(select(PayoutPeriod).where(PayoutPeriod.name == name))
    if period is None or session.scalar(select(VerificationSample.id).where(VerificationSample.period_id == period.id)):
        return None
    payer = period.unit
    if period.status == "handed_over":
        hand = session.scalars(
            select(PayoutLine.id).where(
                PayoutLine.period_id == period.id,
                PayoutLine.channel.in_(("cash", "proxy")),
                PayoutLine.result_status == "pending",
            )
        ).all()
        if hand:
            payout.record_hand_results(
                session,
                period.id,
                payer,
                None,
                list(hand),
                status="paid",
                paid_by="Cán bộ chi trả (giả lập)",
                paid_on=period.period_date,
                receipt_ref="KN-GL",
            )
        payout.close_period(session, period.id, None, payer)
    sample = verification.create_sample(session, period.id, payer, None, confidence=90, margin=10, seed=seed)
    verification.draw_sample(session, sample.id)
    tasks = session.scalars(
        select(VerificationTask).where(VerificationTask.sample_id == sample.id).order_by(VerificationTask.id)
    ).all()
    answers = ["full"] * 8 + ["none", "partly", "someone_else"]
    for task, answer in zip(tasks, answers, strict=False):
        verification.record_answer(
            session,
            task.id,
            None,
            None,
            answer=answer,
            received_by="Hàng xóm (giả lập)" if answer == "someone_else" else None,
            received_on=period.period_date if answer != "none" else None,
            note="Dữ liệu giả lập",
        )
    late = tasks[-1] if tasks else None
    if late is not None and not session.scalar(select(Complaint.id).where(Complaint.channel == "in_person")):
        complaints.open_complaint(
            session,
            beneficiary_id=late.beneficiary_id,
            category="wrong_amount",
            channel="in_person",
            actor_unit=None,
            user_id=None,
            description="Người hưởng cho rằng số tiền nhận thấp hơn mức được hưởng (giả lập)",
            line_id=late.line_id,
            received_on=local_today() - dt.timedelta(days=40),
        )
        session.commit()
    return {"sample": sample.id, "tasks": len(tasks), "answered": min(len(tasks), len(answers))}


#: Who signs each approval tier in the demo (``app/services/payout/tiers.py``): the demo logins whose roles hold
#: the tier's capability in ``app/security/roles.py`` — the commune police, then the head of the paying unit.
DEMO_TIER_SIGNERS = {"verify": ("congan.", "congan2."), "head": ("lanhdao.",)}


def approve_as_demo(session: Session, period_id: int, *, tiers_to_sign: int | None = None) -> None:
    """Approve a synced period with the demo logins of each tier (``tiers_to_sign``: only the first tiers, so
    the period waits for the next one). A tier without enough demo signers stays waiting."""
    from app.models import AsxhUser, PayoutPeriod
    from app.services.payout import approvals, tiers

    period = session.get(PayoutPeriod, period_id)
    users = session.scalars(select(AsxhUser).where(AsxhUser.unit_id.is_not(None)).order_by(AsxhUser.username)).all()
    for tier in tiers.tiers_of(period)[:tiers_to_sign]:
        signers = [
            u
            for u in users
            if u.username.startswith(DEMO_TIER_SIGNERS[tier.key]) and tiers.sits_for(tier, period, u.unit)
        ]
        for signer in signers[: tiers.required(tier)]:
            approvals.approve(
                session,
                period_id,
                user_id=signer.id,
                unit=signer.unit,
                abilities=frozenset({tier.capability}),
                tier=tier.number,
            )


#: A second demo period per scheme, synced and verified by the commune police, waiting for the head's approval.
DEMO_WAITING_PERIODS = {
    "2024": ("Tháng 02/2024 — Quận Ba Đình (giả lập)", dt.date(2024, 2, 20), "001"),
    "2025": ("Tháng 09/2025 — Phường Ba Đình (giả lập)", dt.date(2025, 9, 20), "00004"),
}


def seed_waiting_approval(session: Session, *, scheme: str = "2024") -> int | None:
    """The period of ``DEMO_WAITING_PERIODS``: synced, its first tier signed, waiting for the head of the paying
    unit. Idempotent: None when it exists; else its id."""
    from app.models import PayoutPeriod
    from app.services import payout

    name, day, payer_code = DEMO_WAITING_PERIODS[scheme]
    if session.scalar(select(PayoutPeriod.id).where(PayoutPeriod.name == name)) is not None:
        return None
    payer = session.scalar(select(AdminUnit).where(AdminUnit.scheme == scheme, AdminUnit.code == payer_code))
    period = payout.create_period(session, name=name, period_date=day, unit=payer, user_id=None)
    session.commit()
    payout.sync_payout_list(session, period.id, payer)
    approve_as_demo(session, period.id, tiers_to_sign=1)
    return period.id
