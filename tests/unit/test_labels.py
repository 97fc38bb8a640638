"""One label map per code set, next to its codes, complete, translated, and not copied elsewhere.

Before: about twelve maps across views, services and templates had drifted (the case list labelled
three hold reasons of ten, and "mismatch" differently from the payout list; the audit view labelled an
action the action codes lacked).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.services import labels
from app.services.labels import CODE_SETS

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


@pytest.mark.parametrize("code_set", sorted(CODE_SETS))
def test_every_code_has_a_label_and_every_label_is_a_code(code_set):
    codes, names = CODE_SETS[code_set]
    assert len(set(codes)) == len(codes)
    assert [c for c in codes if c not in names] == [], "codes without a label"
    assert [c for c in names if c not in codes] == [], "labels of no code"
    assert all(isinstance(m, str) and m.strip() for m in names.values())


def test_match_holds_map_match_statuses_to_hold_reasons():
    from app.models.beneficiary import MATCH_STATUSES
    from app.models.payout import HOLD_REASONS
    from app.services.payout import MATCH_HOLDS

    assert set(MATCH_HOLDS) <= set(MATCH_STATUSES) - {"matched"}
    assert set(MATCH_HOLDS.values()) <= set(HOLD_REASONS)


def test_every_label_is_translated_in_the_vietnamese_catalog():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="vi")
    missing = []
    for code_set, (_codes, names) in sorted(CODE_SETS.items()):
        for code, msgid in names.items():
            message = catalog.get(msgid)
            if message is None or not message.string or message.fuzzy:
                missing.append(f"{code_set}.{code}: {msgid}")
    assert missing == []


def test_the_accessor():
    assert labels.label("hold_reason", "mismatch") == "Registry mismatch"
    assert labels.label("hold_reason", "mismatch", lambda s: s.upper()) == "REGISTRY MISMATCH"
    assert labels.label("category", "XYZ") == "XYZ"  # an unknown code is shown as stored
    assert labels.label("category", None) == "" and labels.label("case_type", 3).startswith("Declines")
    assert list(labels.labels("line_channel")) == ["account", "cash", "proxy", "held"]


def test_the_web_accessor_translates_when_shown(app):
    from flask_babel import force_locale

    from app.views.labels import label

    with app.test_request_context():
        with force_locale("vi"):
            vi = label("period_status", "locked")
        with force_locale("en"):
            en = label("period_status", "locked")
    assert en == "Locked and approved" and vi != en


# --- no other label map ----------------------------------------------------------------------------

LABEL_HOMES = {"app/services/messages.py"} | {f"app/models/{p.name}" for p in (ROOT / "app" / "models").glob("*.py")}
MARKERS = {"N_", "_l", "_", "gettext", "lazy_gettext"}


def _label_maps(path: Path):
    """Dict literals whose keys are codes of a code set and whose values are marked messages."""
    all_codes = {code_set: set(codes) for code_set, (codes, _n) in CODE_SETS.items()}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict) or len(node.keys) < 2:
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        marked = all(
            isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in MARKERS for v in node.values
        )
        for code_set, codes in all_codes.items():
            if marked and len(keys) >= 2 and keys <= codes:
                yield f"{path.relative_to(ROOT)}:{node.lineno}: a copy of the {code_set} labels"


def test_no_label_map_outside_the_code_modules():
    files = [
        p
        for base in ("app", "jobs")
        for p in sorted((ROOT / base).rglob("*.py"))
        if p.relative_to(ROOT).as_posix() not in LABEL_HOMES and "migrations" not in p.parts
    ]
    assert [hit for path in files for hit in _label_maps(path)] == []
