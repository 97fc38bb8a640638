"""Accounts under four-eyes control: entry checks, self-approval refused, versions, shared-account flags."""

import pytest

from app.services.messages import FieldError
from tests.factories import user_id


def _enter(
    session, person_id, number="0123456789", bank="Vietcombank", holder="Nguyễn Văn An", user="congan.00004", **kw
):
    from app.services.payout import accounts

    return accounts.enter_account(
        session,
        beneficiary_id=person_id,
        channel=kw.pop("channel", None),
        bank=bank,
        account_number=number,
        holder_name=holder,
        source=kw.pop("source", "police"),
        user_id=user_id(session, user) if user else None,
        **kw,
    )


def test_entry_is_pending_and_self_approval_is_refused(db_session, make_person):
    from app.services.payout import accounts

    pid = make_person("00004", "Nguyễn Văn An")
    account, problems = _enter(db_session, pid, holder="NGUYEN VAN AN")
    assert account.state == "pending" and account.bank_bin == "970436" and account.account_number == "0123456789"
    assert account.holder_ascii == "NGUYEN VAN AN" and account.channel == "bank" and problems == []
    assert accounts.account_in_force(db_session, pid) is None
    with pytest.raises(FieldError) as exc:
        accounts.verify_account(db_session, account.id, user_id(db_session, "congan.00004"), approve=True)
    assert exc.value.problem.code == "self_verification"
    assert exc.value.problem.msgid == "You cannot verify an account you entered yourself"
    accounts.verify_account(db_session, account.id, user_id(db_session, "congan2.00004"), approve=True)
    assert account.state == "verified" and account.verified_by_id == user_id(db_session, "congan2.00004")
    assert accounts.account_in_force(db_session, pid).id == account.id


def test_change_keeps_the_old_account_in_force_until_verified(db_session, make_person):
    from app.services.payout import accounts

    pid = make_person("00004", "Nguyễn Văn An")
    first, _ = _enter(db_session, pid)
    accounts.verify_account(db_session, first.id, user_id(db_session, "phong.001"), approve=True)
    second, problems = _enter(db_session, pid, number="9876543210", bank="Agribank")
    assert second.state == "pending" and second.supersedes_id == first.id
    assert any(p.code == "account_change_pending" for p in problems)
    assert accounts.account_in_force(db_session, pid).id == first.id
    # A rejection needs a reason and leaves the old account in force.
    with pytest.raises(FieldError) as exc:
        accounts.verify_account(db_session, second.id, user_id(db_session, "congan2.00004"), approve=False)
    assert exc.value.problem.code == "reason_missing"
    accounts.verify_account(
        db_session, second.id, user_id(db_session, "congan2.00004"), approve=False, reason="Sai số tài khoản"
    )
    assert second.state == "rejected" and accounts.account_in_force(db_session, pid).id == first.id
    third, _ = _enter(db_session, pid, number="5555666677", bank="BIDV")
    accounts.verify_account(db_session, third.id, user_id(db_session, "congan2.00004"), approve=True)
    db_session.flush()
    db_session.refresh(first)
    assert first.state == "superseded" and third.state == "verified"
    assert accounts.account_in_force(db_session, pid).id == third.id


def test_the_same_account_again_creates_nothing(db_session, make_person):
    pid = make_person("00004", "Nguyễn Văn An")
    first, _ = _enter(db_session, pid)
    again, problems = _enter(db_session, pid, number="0123 456 789")
    assert again.id == first.id and [p.code for p in problems] == ["account_unchanged"]


def test_holder_name_must_match_or_carry_a_reason(db_session, make_person):
    pid = make_person("00004", "Nguyễn Văn An")
    pid2 = make_person("00004", "Trần Thị Thủy")
    with pytest.raises(FieldError) as exc:
        _enter(db_session, pid, holder="Nguyễn Văn Anh")
    assert exc.value.problem.code == "holder_mismatch" and exc.value.problem.field == "holder_name"
    account, problems = _enter(db_session, pid, holder="Nguyễn Văn Anh", mismatch_reason="Tên ngân hàng ghi sai dấu")
    assert account.name_mismatch_reason == "Tên ngân hàng ghi sai dấu"
    assert [p.code for p in problems] == ["holder_mismatch_accepted"]
    # Case, tone marks and spacing do not matter.
    account, problems = _enter(db_session, pid2, number="1111222233", holder="  tran thi THUY ")
    assert account.holder_ascii == "TRAN THI THUY" and account.name_mismatch_reason is None


def test_holder_may_be_the_registered_proxy(db_session, make_person):
    import datetime as dt
    import json

    from app.models import Questionnaire, Visit

    pid = make_person("00004", "Nguyễn Văn An", case_type=4)
    q = Questionnaire(version=9901, title="test", definition="{}", active=False)
    db_session.add(q)
    db_session.flush()
    person = db_session.get(__import__("app.models", fromlist=["Beneficiary"]).Beneficiary, pid)
    db_session.add(
        Visit(
            beneficiary_id=pid,
            commune_id=person.commune_id,
            questionnaire_id=q.id,
            visit_date=dt.date(2024, 1, 12),
            met=True,
            respondent="family",
            vulnerable=True,
            support="proxy",
            proxy_name="Nguyễn Thị Hoa",
            proxy_cccd="001190000123",
            case_type=4,
            answers=json.dumps({}),
        )
    )
    db_session.flush()
    try:
        account, problems = _enter(db_session, pid, holder="NGUYEN THI HOA")
        assert account.name_mismatch_reason is None and problems == []
    finally:
        db_session.rollback()
        from sqlalchemy import delete

        db_session.execute(delete(Visit).where(Visit.beneficiary_id == pid))
        db_session.execute(delete(Questionnaire).where(Questionnaire.version == 9901))
        db_session.commit()


@pytest.mark.parametrize(
    "bank,bin_",
    [
        ("NH Nông nghiệp", "970405"),
        ("Vietin", "970415"),
        ("NHCSXH", "999888"),
        ("970436", "970436"),
        ("LienVietPostBank", "970449"),
        ("MoMo", "971025"),
    ],
)
def test_loose_bank_names_resolve(db_session, make_person, bank, bin_):
    pid = make_person("00004", "Nguyễn Văn An")
    account, _ = _enter(db_session, pid, bank=bank)
    assert account.bank_bin == bin_
    if bin_ == "971025":
        assert account.channel == "e_wallet"


@pytest.mark.parametrize(
    "bank,code", [("Ngân hàng Xyz", "bank_unknown"), ("", "bank_missing"), ("123", "bank_unknown")]
)
def test_unknown_bank_is_refused(db_session, make_person, bank, code):
    pid = make_person("00004", "Nguyễn Văn An")
    with pytest.raises(FieldError) as exc:
        _enter(db_session, pid, bank=bank)
    assert exc.value.problem.field == "bank"


@pytest.mark.parametrize(
    "number,code",
    [
        ("12a45678", "account_chars"),
        ("123", "account_length"),
        ("", "account_missing"),
        ("1.23457E+11", "account_scientific"),
    ],
)
def test_bad_account_numbers_are_refused(db_session, make_person, number, code):
    pid = make_person("00004", "Nguyễn Văn An")
    with pytest.raises(FieldError) as exc:
        _enter(db_session, pid, number=number)
    assert exc.value.problem.code == code


def test_leading_zeros_are_kept(db_session, make_person):
    pid = make_person("00004", "Nguyễn Văn An")
    account, _ = _enter(db_session, pid, number="0001-2345-678")
    assert account.account_number == "00012345678"


def test_shared_account_flags_both_people(db_session, make_person):
    a = make_person("00004", "Nguyễn Văn An")
    b = make_person("00004", "Lê Thị Bình")
    c = make_person("00004", "Phạm Văn Cường")
    first, problems = _enter(db_session, a, holder="Nguyễn Văn An")
    assert not first.shared_flag and problems == []
    second, problems = _enter(db_session, b, holder="Nguyễn Văn An", mismatch_reason="Con trai nhận hộ")
    assert second.shared_flag and first.shared_flag
    assert "account_shared" in [p.code for p in problems]
    # Same number at another bank is not the same account.
    third, problems = _enter(db_session, c, bank="BIDV", holder="Phạm Văn Cường")
    assert not third.shared_flag


def test_out_of_scope_entry_and_verification_are_refused(db_session, make_person):
    from app.services.payout import accounts

    pid = make_person("00037", "Trần Thị Bình")
    with pytest.raises(FieldError) as exc:
        _enter(db_session, pid, holder="Trần Thị Bình", user="congan.00004")
    assert exc.value.problem.code == "out_of_scope"
    account, _ = _enter(db_session, pid, holder="Trần Thị Bình", user="congan.00037")
    for outsider in ("congan2.00004", "phong.001"):
        with pytest.raises(FieldError) as exc:
            accounts.verify_account(db_session, account.id, user_id(db_session, outsider), approve=True)
        assert exc.value.problem.code == "out_of_scope"
    accounts.verify_account(db_session, account.id, user_id(db_session, "phong.002"), approve=True)
    assert account.state == "verified"


def test_one_account_in_force_is_enforced_by_the_database(db_session, make_person):
    from sqlalchemy.exc import IntegrityError

    from app.models import PaymentAccount

    pid = make_person("00004", "Nguyễn Văn An")
    person_commune = db_session.get(__import__("app.models", fromlist=["Beneficiary"]).Beneficiary, pid).commune_id
    for number in ("11112222", "33334444"):
        db_session.add(
            PaymentAccount(
                beneficiary_id=pid,
                commune_id=person_commune,
                channel="bank",
                bank_bin="970436",
                account_number=number,
                holder_name="X",
                holder_ascii="X",
                state="verified",
            )
        )
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()


@pytest.mark.parametrize("bank,code", [("Ngân hàng", "bank_unknown"), ("Kookmin", "bank_uncertain")])
def test_an_imported_bank_offers_real_suggestions_or_none(db_session, bank, code):
    from app.services.payout import account_import
    from app.services.reference import find_unit

    people = account_import._People(db_session, find_unit(db_session, "00004", "2024"))
    _rec, problems = account_import.validate_row(
        db_session, {"full_name": "Nguyễn Văn An", "bank": bank, "account_number": "0123456789"}, people
    )
    found = [p for p in problems if p.field == "bank"]
    assert [p.code for p in found] == [code]
    if code == "bank_uncertain":  # the names of the banks it could be, never a placeholder
        assert found[0].params["candidates"].startswith("Kookmin")
    else:
        assert "candidates" not in found[0].params
