"""record_visit enforces the article's rules; every refusal comes with its exact message (English msgid,
shown in Vietnamese by the screens and the API)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext

from tests.visits.conftest import TODAY, answers


def _record(app, person_id, data, user_id=None):
    from app.extensions import db
    from app.services.visits.survey import record_visit

    with app.app_context():
        visit = record_visit(db.session, person_id, data, user_id, today=TODAY)
        db.session.commit()
        return {
            "id": visit.id,
            "case_type": visit.case_type,
            "warnings": [p.code for p in visit.warnings],
            "account_id": visit.account_id,
            "task": visit.task.id if visit.task is not None else None,
        }


def _refused(app, person_id, data, user_id=None):
    from app.extensions import db
    from app.services.visits.survey import SurveyInvalid, record_visit

    with app.app_context():
        with pytest.raises(SurveyInvalid) as info:
            record_visit(db.session, person_id, data, user_id, today=TODAY)
        db.session.rollback()
        from app.models import Visit

        assert db.session.query(Visit).filter_by(beneficiary_id=person_id).count() == 0, "a refused visit was stored"
        return {(p.field, p.code): p for p in info.value.problems}


DECLINE = "A citizen who declines an account must confirm it and give a specific reason"
DECLINE_VI = "Người dân không nhận qua tài khoản phải xác nhận và nêu lý do cụ thể"
VULNERABLE = "A vulnerable person needs a support arrangement"
PROXY = "An authorised proxy needs a name, a CCCD and the relationship to the citizen"


def test_declining_needs_confirmation_and_reason(app, people):
    found = _refused(app, people["an"], answers(wants_account_payment="no", citizen_confirmed=None))
    assert set(found) == {("citizen_confirmed", "decline_unconfirmed"), ("decline_reason", "decline_reason_missing")}
    assert all(p.msgid == DECLINE for p in found.values())
    # Confirmation alone is not enough.
    found = _refused(app, people["an"], answers(wants_account_payment="no", citizen_confirmed="yes"))
    assert set(found) == {("decline_reason", "decline_reason_missing")}
    assert found[("decline_reason", "decline_reason_missing")].msgid == DECLINE
    # A reason alone is not enough either.
    found = _refused(
        app, people["an"], answers(wants_account_payment="no", citizen_confirmed=None, decline_reason="prefers_cash")
    )
    assert set(found) == {("citizen_confirmed", "decline_unconfirmed")}
    assert found[("citizen_confirmed", "decline_unconfirmed")].msgid == DECLINE


def test_other_reason_needs_text(app, people):
    found = _refused(app, people["an"], answers(wants_account_payment="no", decline_reason="other"))
    assert set(found) == {("decline_reason_other", "decline_reason_other_missing")}
    assert (
        found[("decline_reason_other", "decline_reason_other_missing")].msgid
        == "Describe the reason when it is “other”"
    )
    result = _record(
        app,
        people["an"],
        answers(
            wants_account_payment="no", decline_reason="other", decline_reason_other="Con cháu nhận hộ bằng tiền mặt"
        ),
    )
    assert result["case_type"] == 3


def test_declining_with_confirmation_and_reason_is_case_3(app, people):
    result = _record(app, people["an"], answers(wants_account_payment="no", decline_reason="prefers_cash"))
    assert result["case_type"] == 3 and result["task"] is None


def test_vulnerable_person_needs_support(app, people):
    found = _refused(app, people["an"], answers(vulnerabilities=["elderly_alone"]))
    assert set(found) == {("support", "support_missing")} and found[("support", "support_missing")].msgid == VULNERABLE
    # Cannot transact alone counts as vulnerable too.
    found = _refused(app, people["an"], answers(can_transact_alone="no"))
    assert set(found) == {("support", "support_missing")}
    # "other" support needs a description.
    found = _refused(app, people["an"], answers(vulnerabilities=["no_phone"], support=["other"]))
    assert set(found) == {("support_other", "support_other_missing")}
    assert (
        found[("support_other", "support_other_missing")].msgid == "Describe the support arrangement when it is “other”"
    )
    result = _record(app, people["an"], answers(vulnerabilities=["severe_disability"], support=["cash_at_home"]))
    assert result["case_type"] == 4


def test_proxy_needs_name_cccd_and_relationship(app, people):
    found = _refused(app, people["an"], answers(vulnerabilities=["illness"], support=["proxy"]))
    assert set(found) == {
        ("proxy_name", "proxy_name_missing"),
        ("proxy_cccd", "proxy_cccd_missing"),
        ("proxy_relationship", "proxy_relationship_missing"),
    }
    assert all(p.msgid == PROXY for p in found.values())
    # The CCCD is validated with normalize.parse_cccd.
    found = _refused(
        app,
        people["an"],
        answers(
            vulnerabilities=["illness"],
            support=["proxy"],
            proxy_name="Nguyễn Văn Bình",
            proxy_cccd="12345",
            proxy_relationship="con trai",
        ),
    )
    assert set(found) == {("proxy_cccd", "cccd_length")}
    assert found[("proxy_cccd", "cccd_length")].msgid == "CCCD must have 12 digits, got %(length)d"
    assert found[("proxy_cccd", "cccd_length")].params == {"length": 5}
    found = _refused(
        app,
        people["an"],
        answers(
            vulnerabilities=["illness"],
            support=["proxy"],
            proxy_name="Nguyễn Văn Bình",
            proxy_cccd="012345678",
            proxy_relationship="con trai",
        ),
    )
    assert set(found) == {("proxy_cccd", "proxy_cccd_is_cmnd")}
    found = _refused(
        app,
        people["an"],
        answers(
            vulnerabilities=["illness"],
            support=["proxy"],
            proxy_name="Nguyễn Văn Bình",
            proxy_cccd="001399000123",
            proxy_relationship="con trai",
        ),
    )
    assert set(found) == {("proxy_cccd", "cccd_future")}
    # A valid proxy (CCCD with spaces is normalised).
    result = _record(
        app,
        people["an"],
        answers(
            vulnerabilities=["illness"],
            support=["proxy"],
            proxy_name="Nguyễn Văn Bình",
            proxy_cccd="001 080 012 345",
            proxy_relationship="con trai",
        ),
    )
    assert result["case_type"] == 4
    from app.extensions import db
    from app.models import Visit

    with app.app_context():
        visit = db.session.get(Visit, result["id"])
        assert (visit.proxy_name, visit.proxy_cccd, visit.proxy_relationship) == (
            "Nguyễn Văn Bình",
            "001080012345",
            "con trai",
        )


def test_account_number_and_bank_are_validated(app, people):
    base = dict(
        has_account="yes",
        account_channel="bank",
        account_holder="Nguyễn Văn An",
        wants_help_opening=None,
        opening_bank=None,
    )
    found = _refused(app, people["an"], answers(**base, account_bank="Vietcombank", account_number="12-34"))
    assert set(found) == {("account_number", "account_length")}
    assert (
        found[("account_number", "account_length")].msgid == "Account number must have 6 to 19 digits, got %(length)d"
    )
    found = _refused(
        app, people["an"], answers(**base, account_bank="Vietcombank", account_number="01234567890123456789")
    )
    assert set(found) == {("account_number", "account_length")}
    found = _refused(app, people["an"], answers(**base, account_bank="Vietcombank", account_number="0123abc456"))
    assert set(found) == {("account_number", "account_chars")}
    # An unknown bank is refused; a loose name that cannot be resolved with confidence too.
    found = _refused(app, people["an"], answers(**base, account_bank="Ngân hàng Á", account_number="0123456789"))
    assert set(found) == {("account_bank", "bank_unknown")}
    assert found[("account_bank", "bank_unknown")].params == {"value": "Ngân hàng Á"}
    for loose in ("Dong", "Ngân hàng Sao Hỏa"):
        found = _refused(app, people["an"], answers(**base, account_bank=loose, account_number="0123456789"))
        assert set(found) == {("account_bank", "bank_uncertain")}, loose
    # Loosely typed names that resolve with confidence are accepted (checked, not stored, here).
    from app.extensions import db
    from app.services.visits.survey import check_rules

    with app.app_context():
        for loose, bin_ in (
            ("NH Công Thương", "970415"),
            ("Vietin", "970415"),
            ("NHCSXH", "999888"),
            ("Agribank Hà Nội", "970405"),
        ):
            derived, errors, _w = check_rules(
                db.session,
                {"met": "beneficiary", "has_account": "yes", "account_bank": loose, "account_number": "0123456789"},
            )
            assert errors == [] and derived["account_bin"] == bin_, loose
    found = _refused(app, people["an"], answers(**base, account_bank="999999", account_number="0123456789"))
    assert set(found) == {("account_bank", "bank_unknown")}
    # Missing answers are asked for, by the question's (Vietnamese) label.
    found = _refused(app, people["an"], answers(**base, account_bank=None, account_number=None))
    assert set(found) == {("account_bank", "required"), ("account_number", "required")}
    assert found[("account_bank", "required")].msgid == "Answer the question “%(label)s”"
    assert found[("account_bank", "required")].params == {"label": "Ngân hàng / nhà cung cấp"}


def test_existing_account_creates_a_pending_payment_account(app, people, user_ids):
    from app.extensions import db
    from app.models import PaymentAccount

    result = _record(
        app,
        people["an"],
        answers(
            has_account="yes",
            account_channel="bank",
            account_bank="NH Ngoại thương Vietcombank",
            account_number="0011 0023 4567",
            account_holder="NGUYEN VAN AN",
        ),
        user_id=user_ids["congan.00004"],
    )
    assert result["case_type"] == 1 and result["account_id"]
    with app.app_context():
        account = db.session.get(PaymentAccount, result["account_id"])
        assert (account.state, account.source, account.bank_bin, account.account_number) == (
            "pending",
            "survey",
            "970436",
            "001100234567",
        )
        assert account.entered_by_id == user_ids["congan.00004"]


def test_account_holder_mismatch_is_refused_and_nothing_is_stored(app, people):
    from app.extensions import db
    from app.models import PaymentAccount

    found = _refused(
        app,
        people["an"],
        answers(
            has_account="yes",
            account_channel="bank",
            account_bank="970436",
            account_number="0011002345678",
            account_holder="TRAN VAN KHAC",
        ),
    )
    assert set(found) == {("account_holder", "holder_mismatch")}
    with app.app_context():
        assert db.session.query(PaymentAccount).count() == 0


def test_not_met_visit_needs_only_the_date_and_can_be_repeated(app, people):
    result = _record(
        app,
        people["an"],
        {
            "visit_date": "2024-01-10",
            "met": "not_met",
            # answers of questions that are not asked are dropped
            "wants_account_payment": "no",
            "support": ["proxy"],
        },
    )
    assert result["case_type"] == 5
    found = _refused(app, people["binh"], {"met": "not_met"})
    assert set(found) == {("visit_date", "required")}
    second = _record(app, people["an"], answers(visit_date="2024-01-13"))
    assert second["case_type"] == 2 and second["task"]
    from app.extensions import db
    from app.models import Beneficiary, Visit

    with app.app_context():
        visits = db.session.query(Visit).filter_by(beneficiary_id=people["an"]).order_by(Visit.id).all()
        assert [v.met for v in visits] == [False, True]
        assert visits[0].answer_dict == {"visit_date": "2024-01-10", "met": "not_met"}
        assert db.session.get(Beneficiary, people["an"]).case_type == 2


def test_basic_answers_are_checked(app, people):
    found = _refused(app, people["an"], {"visit_date": "2024-02-30", "met": "maybe"})
    assert set(found) == {("visit_date", "date_invalid"), ("met", "invalid_choice")}
    found = _refused(app, people["an"], answers(visit_date="2024-01-20"))
    assert set(found) == {("visit_date", "date_future")}
    assert found[("visit_date", "date_future")].msgid == "The visit date cannot be in the future"
    found = _refused(app, people["an"], answers(has_account=None, wants_account_payment="perhaps"))
    assert set(found) == {("has_account", "required"), ("wants_account_payment", "invalid_yes_no")}


def test_every_problem_is_collected_in_one_exception(app, people):
    found = _refused(
        app,
        people["an"],
        answers(
            wants_account_payment="no",
            citizen_confirmed=None,
            vulnerabilities=["elderly_alone"],
            support=["proxy"],
            proxy_cccd="1",
        ),
    )
    assert set(found) == {
        ("citizen_confirmed", "decline_unconfirmed"),
        ("decline_reason", "decline_reason_missing"),
        ("proxy_name", "proxy_name_missing"),
        ("proxy_cccd", "cccd_length"),
        ("proxy_relationship", "proxy_relationship_missing"),
    }


def test_messages_render_through_the_catalog(app, people):
    """The problems of a refused visit render, through the catalog, as the Vietnamese text users read."""
    found = _refused(app, people["an"], answers(wants_account_payment="no", citizen_confirmed=None))
    with app.test_request_context(), force_locale("vi"):
        rendered = {key: problem.render(gettext) for key, problem in found.items()}
    assert rendered == {
        ("citizen_confirmed", "decline_unconfirmed"): DECLINE_VI,
        ("decline_reason", "decline_reason_missing"): DECLINE_VI,
    }


def test_out_of_scope_and_unknown_beneficiary(app, people, user_ids):
    found = _refused(app, people["cuong"], answers(), user_id=user_ids["congan.00004"])
    assert set(found) == {("beneficiary_id", "out_of_scope")}
    from app.extensions import db
    from app.services.visits.survey import SurveyInvalid, record_visit

    with app.app_context():
        with pytest.raises(SurveyInvalid) as info:
            record_visit(db.session, 987654321, answers(), None, today=TODAY)
        assert [p.code for p in info.value.problems] == ["beneficiary_unknown"]
