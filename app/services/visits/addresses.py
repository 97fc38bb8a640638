"""Address parts for ordering a round of home visits: street, ngõ, ngách, số nhà.

"Số 12, ngõ 34 phố Quán Thánh, phường Quán Thánh, quận Ba Đình" → street "Quán Thánh",
ngõ 34, số 12. Numbers compare as numbers; the street compares by an ASCII key (so "Quán Thánh"
and "Quan Thanh" go together) in which digit runs are zero-padded ("Tổ 5" before "Tổ 12").
Pure code, no database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from app.services.registry.normalize import clean_text

# The administrative tail of an address: from the first segment (not the first one) that names a unit. Matched
# on the folded start of each segment only (the longest word has 9 characters, the 10th decides ``\b``), and
# only when it begins with a letter that one of the words begins with (or one that does not fold to itself).
_UNIT_WORDS = re.compile(r"^(?:phuong|xa|thi tran|thi xa|quan|huyen|thanh pho|tp|ha noi|hn|p|q|h|x|tx|tt)(?:\b|\.|$)")
_SEGMENT_HEAD = 10
_UNIT_INITIALS = "pxtqhPXTQH"
_HOUSE = re.compile(r"(?:\b(?:so nha|nha so|so|sn)\s*[.:]?\s*|^)(\d+)\s*([a-z]?)(?:\s*/\s*(\d+))?\b")
_LANE = re.compile(r"\b(?:ngo|ng\.|hem|kiet)\s*[.:]?\s*(\d+)(?:\s*/\s*(\d+))?")
_ALLEY = re.compile(r"\b(?:ngach|ngh\.)\s*[.:]?\s*(\d+)")
_STREET_PREFIX = re.compile(r"^(?:pho|duong|p\.|d\.|đ\.)\s+", re.I)
_PUNCT_EDGE = " ,;.-–/"
_DIGITS = re.compile(r"\d+")


def _fold_char(ch: str) -> str:
    if ch in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", ch)[0]
    return base.lower() if len(base.lower()) == 1 else ch.lower()[:1] or " "


class _FoldTable(dict):
    """``str.translate`` table filled on first sight of each character: one C-level pass per text instead of
    a Unicode decomposition per character (a visit list re-parses every address of a unit)."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_char(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower-case ASCII letters, one character per input character (positions line up with ``text``)."""
    return text.lower() if text.isascii() else text.translate(_FOLD_TABLE)  # ASCII: what the table gives


class _KeyTable(dict):
    """``str.translate`` table of a folded text to its key letters: ASCII letters and digits kept, the rest dropped."""

    def __missing__(self, code: int) -> str:
        kept = self[code] = chr(code) if chr(code) in "abcdefghijklmnopqrstuvwxyz0123456789" else ""
        return kept


_KEY_TABLE = _KeyTable()


def _pad(m: re.Match[str]) -> str:
    return m.group(0).zfill(6)[-6:]


def _folded_key(folded: str) -> str:
    key = folded.translate(_KEY_TABLE)
    return key if key.isalpha() else _DIGITS.sub(_pad, key)


def street_key(street: str) -> str:
    """Comparison key of a street: ASCII letters and digits, digit runs padded to 6."""
    return _folded_key(fold(street))


@dataclass(frozen=True)
class AddressParts:
    street: str = ""
    street_key: str = ""
    lane: int = 0  # ngõ (0: none)
    alley: int = 0  # ngách (0: none)
    house: int = 0  # số nhà (0: none)
    house_suffix: str = ""  # "A" of "12A", "/3" of "12/3"

    def sort_key(self) -> tuple:
        return (self.street_key, self.lane, self.alley, self.house, self.house_suffix)


def _number(s: str | None) -> int:
    return min(int(s), 999_999) if s else 0


def _local(text: str) -> str:
    """``local_part`` of a cleaned text."""
    comma = text.find(",")
    while comma >= 0:
        start = comma + 1
        while text[start : start + 1].isspace():
            start += 1
        first = text[start : start + 1]
        if (first in _UNIT_INITIALS or not first.isascii()) and _UNIT_WORDS.match(
            fold(text[start : start + _SEGMENT_HEAD])
        ):
            text = text[:comma]
            break
        comma = text.find(",", comma + 1)
    if "," not in text:
        return text.strip()
    return ", ".join(s for s in (seg.strip() for seg in text.split(",")) if s)


def local_part(value) -> str:
    """The address without its administrative tail: "12 Hàng Chiếu, phường Đồng Xuân, quận Hoàn Kiếm" →
    "12 Hàng Chiếu" (cleaned text, from the first segment that names a unit on)."""
    return _local(clean_text(value))


def parse_address(value) -> AddressParts:
    """Split an address typed freely into the parts used to order a visit round."""
    return _parse_local(_local(clean_text(value)))


_EMPTY = AddressParts()


# Local parts repeat far more than whole addresses ("Thôn Đông", "Xóm 3", "Số 5 phố Huế" in many communes):
# a pure function of the text, its results immutable, so the latest distinct ones are remembered.
@lru_cache(maxsize=16384)
def _parse_local(text: str) -> AddressParts:
    if not text:
        return _EMPTY
    low = fold(text)
    lane = alley = house = 0
    suffix = ""
    spans: list[tuple[int, int]] = []
    m = _LANE.search(low)
    if m:
        lane = _number(m.group(1))
        if m.group(2):
            alley = _number(m.group(2))
        spans.append(m.span())
    m = _ALLEY.search(low)
    if m:
        alley = _number(m.group(1))
        spans.append(m.span())
    for m in _HOUSE.finditer(low):
        start = m.start(1)
        if spans and any(a <= start < b for a, b in spans):
            continue
        # A bare leading number counts only when something follows it ("12 Quán Thánh").
        if m.start() == 0 and not low[:start].strip() and m.end() >= len(low.rstrip()):
            continue
        house = _number(m.group(1))
        suffix = (m.group(2) or "").upper() + (f"/{m.group(3)}" if m.group(3) else "")
        spans.append(m.span())
        break
    rest = text
    for a, b in spans:  # blanked, positions kept (the spans may overlap)
        rest = rest[:a] + " " * (b - a) + rest[b:]
    # The street is the last non-empty segment of what is left (after ngõ / số nhà).
    street = ""
    for part in reversed(" ".join(rest.split()).split(",")):
        street = part.strip(_PUNCT_EDGE)
        if street:
            break
    street = _STREET_PREFIX.sub("", street).strip(_PUNCT_EDGE)
    folded = fold(street)
    if folded.startswith(("pho ", "duong ")):
        cut = street.index(" ") + 1
        street, folded = street[cut:], folded[cut:]
    return AddressParts(
        street=street[:150],
        street_key=_folded_key(folded)[:150],
        lane=lane,
        alley=alley,
        house=house,
        house_suffix=suffix[:20],
    )
