"""Every page or response that shows identifiers is logged once, naming the records shown (hole 12)."""

from __future__ import annotations

import hashlib

import pytest

from tests.audit.conftest import audit_rows, wipe_audit_log

CCCD, ACCOUNT = "001045000001", "0123456789"


@pytest.fixture()
def world(app, make_person, unit_id):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Bank, Beneficiary, ImportBatch, PaymentAccount
    from app.services.audit import audit_actor

    pid = make_person(cccd=CCCD)
    with app.app_context(), audit_actor(None, "fixture", "test"):
        bank = db.session.scalars(select(Bank).order_by(Bank.bin)).first()
        account = PaymentAccount(
            beneficiary_id=pid,
            commune_id=unit_id("00004"),
            bank_bin=bank.bin,
            account_number=ACCOUNT,
            holder_name="Nguyễn Văn An",
            holder_ascii="NGUYEN VAN AN",
            state="pending",
            source="police",
        )
        person = db.session.get(Beneficiary, pid)
        person.case_type, person.match_status = 1, "mismatch"
        batches = [
            ImportBatch(
                kind=kind,
                filename=f"{kind}.xlsx",
                file_hash=hashlib.sha256(kind.encode()).hexdigest(),
                file_content=b"x",
                unit_id=unit_id("00004"),
                status="parsed",
            )
            for kind in ("beneficiary", "account")
        ]
        db.session.add_all([account, *batches])
        db.session.commit()
        ids = {"person": pid, "account": account.id, "batch": batches[0].id, "account_batch": batches[1].id}
    wipe_audit_log(app)
    return ids


def _views(app, username):
    return [r for r in audit_rows(app) if r["username"] == username]


@pytest.mark.parametrize("username", ["canbo.00004", "congan.00004"])
def test_lists_and_pages_with_identifiers_are_logged_once_each(app, client_for, api_token, world, unit_id, username):
    client = client_for(username)
    commune = unit_id("00004")
    pid, aid = world["person"], world["account"]
    masked = username.startswith("canbo")
    pages = {
        "visit list": (f"/visits/?commune={commune}", "beneficiary", None, [pid]),
        "case list": (f"/cases/?unit={commune}&type=1", "beneficiary", None, [pid]),
        "account list": ("/paymentaccountview/list/", "payment_account", None, [aid]),
        "account show": (f"/paymentaccountview/show/{aid}", "payment_account", str(aid), None),
        "accounts to verify": ("/paymentaccountview/to_verify/", "payment_account", None, [aid]),
        "match list": ("/matchreviewview/list/", "beneficiary", None, [pid]),
        "match review": (f"/matchreviewview/review/{pid}", "beneficiary", str(pid), None),
        "import preview": (f"/importbatchview/detail/{world['batch']}", "import_batch", str(world["batch"]), []),
        "account import preview": (
            f"/accountimportview/detail/{world['account_batch']}",
            "import_batch",
            str(world["account_batch"]),
            [],
        ),
    }
    for name, (url, entity, entity_id, ids) in pages.items():
        wipe_audit_log(app)
        response = client.get(url)
        if masked and name == "import preview":
            assert response.status_code == 403  # the commune officer does not see imports at all
            continue
        assert response.status_code == 200, name
        rows = [r for r in _views(app, username) if r["action"] == "view"]
        assert len(rows) == 1, (name, rows)
        row = rows[0]
        assert (row["entity"], row["entity_id"]) == (entity, entity_id), name
        assert row["new"]["masked"] is masked, name
        if ids is not None:
            assert row["new"]["ids"] == ids, name
    # REST: one record per response
    rest = app.test_client()
    headers = api_token(username)
    for url, entity_id, ids in (
        ("/api/v1/account/", None, [aid]),
        (f"/api/v1/account/{aid}", str(aid), [aid]),
        ("/api/v1/beneficiary/", None, [pid]),
        ("/api/v1/visit/list", None, [pid]),
    ):
        wipe_audit_log(app)
        assert rest.get(url, headers=headers).status_code == 200
        rows = [r for r in _views(app, username) if r["action"] == "view"]
        assert len(rows) == 1 and rows[0]["entity_id"] == entity_id and rows[0]["new"]["ids"] == ids, url


def test_the_account_import_report_download_is_logged(app, client_for, world):
    client = client_for("congan.00004")
    response = client.get(f"/accountimportview/report/{world['account_batch']}")
    assert response.status_code == 200
    rows = [r for r in audit_rows(app, action="export") if r["entity"] == "account_import_report"]
    assert (
        len(rows) == 1 and rows[0]["entity_id"] == str(world["account_batch"]) and rows[0]["username"] == "congan.00004"
    )


def test_payout_line_list_and_show_are_logged_and_masked(app, client_for, world, unit_id):
    import datetime as dt

    from app.extensions import db
    from app.models import Enrolment, PayoutLine, PayoutPeriod
    from app.services.audit import audit_actor
    from app.services.masking import mask_account, mask_cccd

    with app.app_context(), audit_actor(None, "fixture", "test"):
        period = PayoutPeriod(name="Tháng 02/2025 Ba Đình", period_date=dt.date(2025, 2, 1), unit_id=unit_id("001"))
        db.session.add(period)
        db.session.flush()
        enrolment = db.session.query(Enrolment).filter_by(beneficiary_id=world["person"]).first()
        line = PayoutLine(
            period_id=period.id,
            enrolment_id=enrolment.id,
            benefit_month=dt.date(2025, 2, 1),
            beneficiary_id=world["person"],
            commune_id=unit_id("00004"),
            sequence=1,
            full_name="Nguyễn Văn An",
            cccd=CCCD,
            category="BTXH",
            amount=540000,
            channel="bank",
            account_number=ACCOUNT,
            proxy_cccd="001180012345",
        )
        db.session.add(line)
        db.session.commit()
        line_id = line.id
    wipe_audit_log(app)
    client = client_for("canbo.00004")
    listing = client.get("/payoutlineview/list/").get_data(as_text=True)
    show = client.get(f"/payoutlineview/show/{line_id}").get_data(as_text=True)
    for page in (listing, show):
        assert CCCD not in page and ACCOUNT not in page
        assert mask_cccd(CCCD) in page and mask_account(ACCOUNT) in page
    assert mask_cccd("001180012345") in show
    views = [r for r in audit_rows(app, action="view")]
    assert [(v["entity"], v["entity_id"], v["beneficiary_id"]) for v in views] == [
        ("payout_line", None, None),
        ("payout_line", str(line_id), world["person"]),
    ]
    assert views[0]["new"]["ids"] == [line_id] and all(v["new"]["masked"] for v in views)
