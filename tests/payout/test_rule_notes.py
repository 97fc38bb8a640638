"""The category rules' notes are Vietnamese: seeded so, and the English notes of older databases are replaced."""

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = "Social assistance may be paid together with meritorious-service allowances"


def _flask_db(tmp_path, *args):
    env = {
        "ASXH_ENV": "test",
        "ASXH_INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/m.db",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "run", "db", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_seeded_notes_are_vietnamese():
    from app.services.payout.rules import CATEGORY_RULE_SEED

    notes = [note for _c, _s, note in CATEGORY_RULE_SEED if note]
    assert notes and all(" may " not in note and "benefit" not in note for note in notes)


def test_the_migration_translates_the_seeded_english_notes_only(tmp_path):
    _flask_db(tmp_path, "upgrade", "0013_payout_line_person_month")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("INSERT INTO category_rule (category, stackable, note) VALUES ('BTXH', 1, ?)", (ENGLISH,))
        conn.execute("INSERT INTO category_rule (category, stackable, note) VALUES ('NCC', 1, 'Ghi chú riêng')")
    _flask_db(tmp_path, "upgrade")
    with sqlite3.connect(tmp_path / "m.db") as conn:
        notes = dict(conn.execute("SELECT category, note FROM category_rule"))
    assert notes == {"BTXH": "Trợ cấp bảo trợ xã hội được hưởng cùng với trợ cấp người có công", "NCC": "Ghi chú riêng"}
