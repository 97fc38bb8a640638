"""Masking of personal identifiers for roles that do not need them (pure functions).

Whether to mask is decided in ``app/security/masking.py`` from the role table (capability
``unmask``); these functions only know how.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

_T = TypeVar("_T")

ACCOUNT_DOT = "\u2022"  # •


#: The characters banks hide letters with when they return an account holder's name ("N**** V** A*").
BANK_NAME_MASKS = "*" + ACCOUNT_DOT + "#"


def is_masked_word(word: str) -> bool:
    """Does a word of a name returned by a bank hide some of its letters?"""
    return any(c in BANK_NAME_MASKS for c in word)


def fits_masked_word(masked: str, word: str) -> bool:
    """A bank's masked word against ours: the same length, every letter the bank shows in its place."""
    return len(masked) == len(word) and all(m in BANK_NAME_MASKS or m == w for m, w in zip(masked, word, strict=True))


def bank_masked_name(name: str) -> str:
    """A name as a bank's name enquiry returns it: each word's first letter, the rest hidden ("T*** V** H***")."""
    return " ".join(w[0] + "*" * (len(w) - 1) for w in name.split())


def mask_cccd(value: object) -> str | None:
    """``001085012345`` → ``001******345``; an old 9-digit CMND ``012345678`` → ``012***678``.

    Keeps the first three characters (the birth province, not identifying) and the last three.
    Short or odd values are masked whole except the last character or two.
    """
    if value is None:
        return None
    return _mask_id(str(value).strip())


def _mask_id(s: str) -> str:
    if not s:
        return s
    if len(s) >= 8:
        return s[:3] + "*" * (len(s) - 6) + s[-3:]
    if len(s) >= 4:
        return "*" * (len(s) - 2) + s[-2:]
    return "*" * len(s)


def mask_account(value: object) -> str | None:
    """``0123456789`` → ``•••• 6789``: only the last four digits, never the length."""
    if value is None:
        return None
    s = re.sub(r"[\s.\-]", "", str(value))
    if not s:
        return s
    if len(s) <= 4:
        return ACCOUNT_DOT * 4
    return f"{ACCOUNT_DOT * 4} {s[-4:]}"


MASKERS: dict[str, Callable[[object], str | None]] = {"cccd": mask_cccd, "account": mask_account}

# Runs of digits in free text (reasons, details) that look like a CCCD / CMND.
_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{12}|\d{9})(?!\d)")


@overload
def mask_ids_in_text(text: str) -> str: ...
@overload
def mask_ids_in_text(text: _T) -> _T: ...
def mask_ids_in_text(text: object) -> object:
    """Mask every 12- or 9-digit run (a CCCD or CMND) inside a message; other values are returned as they are."""
    if not isinstance(text, str):
        return text
    return _ID_IN_TEXT.sub(lambda m: _mask_id(m.group(1)), text)


def mask_mapping(data: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """Mask, in place, the keys of ``data`` named in ``kinds`` ({"cccd": "cccd", "account_number": "account"})."""
    for key, kind in kinds.items():
        if key in data and data[key] is not None:
            data[key] = MASKERS[kind](data[key])
    return data


# Field names of the import staging / report that carry identifiers.
IDENTIFIER_FIELDS = {
    "cccd": "cccd",
    "cmnd": "cccd",
    "match_cccd": "cccd",
    "proxy_cccd": "cccd",
    "recipient_cccd": "cccd",
    "account_number": "account",
}


def mask_cells(cells: Sequence[object], fields: Sequence[str | None]) -> list[object]:
    """Mask the cells of a raw sheet row whose column maps to an identifier field; mask ids in other text cells."""
    out: list[object] = []
    for i, value in enumerate(cells):
        field = fields[i] if i < len(fields) else None
        kind = IDENTIFIER_FIELDS.get(field) if field else None
        if kind and value not in (None, ""):
            out.append(MASKERS[kind](value))
        else:
            out.append(mask_ids_in_text(value))
    return out
