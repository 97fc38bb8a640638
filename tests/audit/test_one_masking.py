"""One masked form per identifier kind, on every screen, export and API (hole 8).

A commune officer (``canbo``: no ``unmask``) sees ``001******001`` for a CCCD and ``•••• 6789`` for an
account number on the case list, its .xlsx, the account list and the REST payloads; and no module other
than ``app/services/masking.py`` builds a masked string.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.services.masking import mask_account, mask_cccd

ROOT = Path(__file__).resolve().parents[2]
CCCD, ACCOUNT = "001045000001", "0123456789"
MASKED_CCCD, MASKED_ACCOUNT = mask_cccd(CCCD), mask_account(ACCOUNT)


@pytest.fixture()
def person_with_account(app, make_person, unit_id):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Bank, Beneficiary, PaymentAccount
    from app.services.audit import audit_actor

    pid = make_person(cccd=CCCD)
    with app.app_context(), audit_actor(None, "fixture", "test"):
        bank = db.session.scalars(select(Bank).order_by(Bank.bin)).first()
        db.session.add(
            PaymentAccount(
                beneficiary_id=pid,
                commune_id=unit_id("00004"),
                bank_bin=bank.bin,
                account_number=ACCOUNT,
                holder_name="Nguyễn Văn An",
                holder_ascii="NGUYEN VAN AN",
                state="verified",
                source="police",
            )
        )
        db.session.get(Beneficiary, pid).case_type = 1  # has an account
        db.session.commit()
    return pid


def test_the_two_forms():
    assert MASKED_CCCD == "001******001" and MASKED_ACCOUNT == "•••• 6789"


def test_case_list_xlsx_accounts_and_rest_show_the_same_masked_form(
    app, client_for, api_token, unit_id, person_with_account
):
    client = client_for("canbo.00004")
    unit = unit_id("00004")
    screens = {
        "case list": client.get(f"/cases/?unit={unit}&type=1").get_data(as_text=True),
        "account list": client.get("/paymentaccountview/list/").get_data(as_text=True),
    }
    response = client.get(f"/cases/export?unit={unit}&type=1")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    screens["case xlsx"] = "\n".join(
        str(c) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for c in r if c is not None
    )
    headers = api_token("canbo.00004")
    rest = app.test_client()
    screens["REST beneficiary"] = str(rest.get("/api/v1/beneficiary/", headers=headers).json)
    screens["REST account"] = str(rest.get("/api/v1/account/", headers=headers).json)
    for name, text in screens.items():
        assert CCCD not in text and ACCOUNT not in text, name
        # the account number appears nowhere in any other masked shape (012****789, 0********9, …)
        assert not re.search(r"\d[*•]+\d", text.replace(MASKED_CCCD, "")), name
    assert MASKED_CCCD in screens["case list"] and MASKED_CCCD in screens["case xlsx"]
    assert MASKED_CCCD in screens["REST beneficiary"]
    for name in ("case list", "case xlsx", "account list", "REST account"):
        assert MASKED_ACCOUNT in screens[name], name


# --- no masking logic outside app/services/masking.py -------------------------------------------------

MASK_CHARS = re.compile(r"\*{3,}|[•\u2022]")


def _python_files():
    for base in ("app", "jobs"):
        for path in sorted((ROOT / base).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() not in ("app/services/masking.py",) and "migrations" not in path.parts:
                yield path


def _docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                yield id(body[0].value)


def _masking_code(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = set(_docstrings(tree))
    found = []
    for node in ast.walk(tree):
        # a string literal with mask characters ("****", "•")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if MASK_CHARS.search(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: mask characters {node.value!r}")
        # "*" * n  /  "•" * n
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side in (node.left, node.right):
                if isinstance(side, ast.Constant) and side.value in ("*", "•", "x", "X", "#"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: repeated mask character")
        # value[:3] + … + value[-3:] (keeping the ends of an identifier)
        if isinstance(node, (ast.BinOp, ast.JoinedStr)):
            slices = [n for n in ast.walk(node) if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Slice)]
            heads = [s for s in slices if s.slice.lower is None and isinstance(s.slice.upper, ast.Constant)]
            tails = [s for s in slices if isinstance(s.slice.lower, ast.UnaryOp) and s.slice.upper is None]
            if heads and tails:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: keeps the head and tail of a value")
    return found


def test_no_masking_logic_outside_the_masking_module():
    offenders = [hit for path in _python_files() for hit in _masking_code(path)]
    templates = [
        f"{p.relative_to(ROOT)}: mask characters"
        for p in sorted((ROOT / "app" / "templates").rglob("*.html"))
        if MASK_CHARS.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders + templates == []


def test_the_detector_finds_the_old_copies(tmp_path):
    """The check above is not vacuous: it flags the shapes the removed copies had."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def a(c):\n    return f"{c[:3]}******{c[-3:]}"\n'
        'def b(n):\n    return n[:1] + "*" * (len(n) - 2) + n[-1:]\n'
        'DOT = "\\u2022"\n',
        encoding="utf-8",
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        hits = _masking_code(sample)
    finally:
        ROOT = saved
    assert len(hits) >= 4
