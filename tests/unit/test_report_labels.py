"""Every field an import can report a problem on has a Vietnamese label in the error table and report."""

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
IMPORT_MODULES = [
    "registry/normalize.py",
    "registry/people.py",
    "registry/importing.py",
    "registry/population.py",
    "registry/staging.py",
    "payout/account_import.py",
    "payout/accounts.py",
]


def test_every_reported_field_has_a_translated_label():
    from app.services.payout.account_import import ACCOUNT_FIELD_LABELS

    fields = set()
    for module in IMPORT_MODULES:
        fields |= set(re.findall(r'Problem\("([a-z_]+)"', (ROOT / "app" / "services" / module).read_text()))
    assert "amount" in fields
    assert sorted(fields - set(ACCOUNT_FIELD_LABELS)) == []
    with open(ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    assert [
        f for f in fields if not catalog.get(ACCOUNT_FIELD_LABELS[f]) or not catalog.get(ACCOUNT_FIELD_LABELS[f]).string
    ] == []
