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
        account = PaymentAccount(beneficiary_id=pid, commune_id=unit_id("00004"), bank_bin=bank.bin,
                                 account_number=ACCOUNT, holder_name="Nguyễn Văn An", holder_ascii="NGUYEN VAN AN",
                                 state="pending", source="police")
        person = db.session.get(Beneficiary, pid)
        person.case_type, person.match_status = 1, "mismatch"
        batches = [ImportBatch(kind=kind, filename=f"{kind}.xlsx", file_hash=hashlib.sha256(kind.encode()).hexdigest(),
                               file_content=b"x", unit_id=unit_id("00004"), status="parsed") for kind in
                   ("beneficiary", "account")]
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
        "account import preview": (f"/accountimportview/detail/{world['account_batch']}", "import_batch",
                                   str(world["account_batch"]), []),
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
    for url, entity_id, ids in (("/api/v1/account/", None, [aid]), (f"/api/v1/account/{aid}", str(aid), [aid]),
                                ("/api/v1/beneficiary/", None, [pid])):
        wipe_audit_log(app)
        assert rest.get(url, headers=headers).status_code == 200
        rows = [r for r in _views(app, username) if r["action"] == "view"]
        assert len(rows) == 1 and rows[0]["entity_id"] == entity_id and rows[0]["new"]["ids"] == ids, url


def test_the_account_import_report_download_is_logged(app, client_for, world):
    client = client_for("congan.00004")
    response = client.get(f"/accountimportview/report/{world['account_batch']}")
    assert response.status_code == 200
    rows = [r for r in audit_rows(app, action="export") if r["entity"] == "account_import_report"]
    assert len(rows) == 1 and rows[0]["entity_id"] == str(world["account_batch"]) and rows[0]["username"] == "congan.00004"
