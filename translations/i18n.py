"""Extract, update and compile the Vietnamese catalog (our strings and Flask-AppBuilder's).

FAB ships no Vietnamese, so its own strings are extracted together with ours.
Usage: python translations/i18n.py extract|compile
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"
KEYWORDS = ["-k", "lazy_gettext", "-k", "_l", "-k", "_", "-k", "__", "-k", "N_", "-k", "gettext", "-k", "ngettext:1,2"]


def _run(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def extract() -> None:
    import flask_appbuilder

    fab = Path(flask_appbuilder.__file__).parent
    _run(
        "extract",
        "-F",
        str(TRANSLATIONS / "babel.cfg"),
        *KEYWORDS,
        "--no-location",
        "--sort-output",
        "--project",
        "ASXH",
        "-o",
        str(POT),
        "app",
        "jobs",
        str(fab),
    )
    if PO.exists():
        _run("update", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", "vi", "--no-fuzzy-matching", "--ignore-obsolete")
    else:
        _run("init", "-i", str(POT), "-d", str(TRANSLATIONS), "-l", "vi")


def compile_catalog() -> None:
    _run("compile", "-d", str(TRANSLATIONS), "-l", "vi", "--statistics")


if __name__ == "__main__":
    {"extract": extract, "compile": compile_catalog}[sys.argv[1]]()
