"""The Vietnamese catalog: complete, not fuzzy, placeholders intact, compiles, in sync with the sources.

Regenerate and translate with ``python translations/i18n.py extract`` then edit
``translations/vi/LC_MESSAGES/messages.po``; compile with ``python translations/i18n.py compile``.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "translations"
PO = TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"

# Same keywords as translations/i18n.py (None = first argument is the msgid).
KEYWORDS = {"lazy_gettext": None, "_l": None, "_": None, "__": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
METHOD_MAP = [("**.py", "python"), ("**/templates/**.html", "jinja2")]

# %(name)s / %(name)d / %(name)r ..., bare %s / %d / %r ..., {name} / {0} / {}; "%%" is a literal percent.
NAMED_PERCENT = re.compile(r"%\([^)]+\)[#0 +-]*\d*(?:\.\d+)?[sdifreEgGxXoc]")
BARE_PERCENT = re.compile(r"%(?!\()[#0 +-]*\d*(?:\.\d+)?[sdifreEgGxXoc]")
BRACES = re.compile(r"(?<!\{)\{[A-Za-z0-9_.\[\]]*(?:![rsa])?(?::[^{}]*)?\}(?!\})")
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _load():
    with PO.open("rb") as f:
        return read_po(f, locale="vi")


@pytest.fixture(scope="module")
def catalog():
    return _load()


def _entries(catalog):
    return [m for m in catalog if m.id]


def _forms(message) -> list[str]:
    if isinstance(message.string, (list, tuple)):
        return list(message.string)
    return [message.string]


def _placeholders(text: str) -> Counter:
    text = text.replace("%%", "")
    found = NAMED_PERCENT.findall(text) + BRACES.findall(text) + HTML_TAG.findall(text)
    # bare %s are positional: keep their order
    found.append("bare:" + "".join(BARE_PERCENT.findall(text)))
    return Counter(found)


def test_header(catalog):
    assert str(catalog.locale) == "vi"
    assert catalog.plural_forms == "nplurals=1; plural=0;"
    assert catalog.num_plurals == 1


def test_catalog_is_not_empty(catalog):
    assert len(_entries(catalog)) > 200


def test_every_entry_translated_and_not_fuzzy(catalog):
    problems = []
    for m in _entries(catalog):
        if m.fuzzy:
            problems.append(f"fuzzy: {m.id!r}")
        forms = _forms(m)
        if isinstance(m.id, (list, tuple)) and len(forms) != catalog.num_plurals:
            problems.append(f"wrong number of plural forms ({len(forms)}): {m.id!r}")
        if not forms or any(not (s or "").strip() for s in forms):
            problems.append(f"untranslated: {m.id!r}")
    assert not problems, "\n".join(problems)


def test_no_obsolete_fuzzy_header(catalog):
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    assert "#, fuzzy" not in PO.read_text(encoding="utf-8")


def test_placeholders_preserved(catalog):
    problems = []
    for m in _entries(catalog):
        if isinstance(m.id, (list, tuple)):
            # with one plural form, msgstr[0] serves every n: it must carry the plural's placeholders
            expected = _placeholders(m.id[1])
        else:
            expected = _placeholders(m.id)
        for s in _forms(m):
            if s and _placeholders(s) != expected:
                problems.append(
                    f"{m.id!r} -> {s!r}: expected {sorted(expected.elements())}, "
                    f"got {sorted(_placeholders(s).elements())}"
                )
    assert not problems, "\n".join(problems)


def test_leading_and_trailing_spaces_kept(catalog):
    """Strings like "Sign In with " are concatenated in templates: keep the edge whitespace."""
    problems = []
    for m in _entries(catalog):
        ids = m.id if isinstance(m.id, (list, tuple)) else [m.id]
        for s in _forms(m):
            if not s:
                continue
            if (ids[0][:1].isspace(), ids[0][-1:].isspace()) != (s[:1].isspace(), s[-1:].isspace()):
                problems.append(f"{m.id!r} -> {s!r}")
    assert not problems, "\n".join(problems)


def test_babel_checks_pass(catalog):
    """Babel's own checkers (python-format compatibility, plural count)."""
    problems = [f"{m.id!r}: {[str(e) for e in errors]}" for m, errors in catalog.check()]
    assert not problems, "\n".join(problems)


def test_compiles_and_translates(catalog, tmp_path):
    mo = tmp_path / "messages.mo"
    with mo.open("wb") as f:
        write_mo(f, catalog)
    with mo.open("rb") as f:
        t = Translations(f)
    assert t.gettext("Login") == "Đăng nhập"
    assert t.gettext("List") == "Danh sách"
    assert t.gettext("Search") == "Tìm kiếm"
    assert t.gettext("Beneficiaries") == "Đối tượng ASXH"
    assert t.gettext("This field is required.") != "This field is required."
    # WTForms' plural messages are one plural entry with msgstr[0] for every n
    for n in (1, 5):
        got = t.ngettext(
            "Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long.", n
        )
        assert "%(min)d" in got and "Field must" not in got


@pytest.mark.parametrize(
    "msgid",
    [
        "This field is required.",  # WTForms, shown through FAB's {{ _(error) }}
        "Login",
        "List",
        "Logout",
        "Add",
        "Edit",
        "Delete",
        "Show",
        "Save",
        "Back",
        "Search",
        "No records found",
        "Are you sure you want to delete this item?",
        "Invalid login. Please try again.",
        "The CSRF token is missing.",
        "The CSRF token has expired.",
        "Not a valid integer value.",
        "Invalid email address.",
    ],
)
def test_fab_and_wtforms_strings_present_and_translated(catalog, msgid):
    m = catalog.get(msgid)
    assert m is not None, f"{msgid!r} is missing from the catalog (run translations/i18n.py extract)"
    assert m.string and m.string != msgid and not m.fuzzy, f"{msgid!r} is not translated"


def test_catalog_covers_our_sources(catalog):
    """Every string marked in app/ and jobs/ is in the catalog (i.e. extract was re-run after adding it)."""
    missing = set()
    for folder in ("app", "jobs"):
        for _filename, _lineno, msgid, _comments, _context in extract_from_dir(
            str(ROOT / folder), method_map=METHOD_MAP, keywords=KEYWORDS, strip_comment_tags=True
        ):
            key = msgid[0] if isinstance(msgid, (list, tuple)) else msgid
            if key and catalog.get(key) is None:
                missing.add(key)
    assert not missing, "not in the catalog, run `python translations/i18n.py extract` and translate:\n" + "\n".join(
        sorted(map(repr, missing))
    )
