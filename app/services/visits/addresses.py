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

from app.services.registry.normalize import clean_text

# The administrative tail of an address: from the first segment that names a unit.
_UNIT_WORDS = re.compile(r"^(?:phuong|xa|thi tran|thi xa|quan|huyen|thanh pho|tp|ha noi|hn|p|q|h|x|tx|tt)(?:\b|\.|$)")
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
    return text.translate(_FOLD_TABLE)


def street_key(street: str) -> str:
    """Comparison key of a street: ASCII letters and digits, digit runs padded to 6."""
    key = re.sub(r"[^a-z0-9]+", "", fold(street))
    return _DIGITS.sub(lambda m: m.group(0).zfill(6)[-6:], key)


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


def local_part(value) -> str:
    """The address without its administrative tail: "12 Hàng Chiếu, phường Đồng Xuân, quận Hoàn Kiếm" →
    "12 Hàng Chiếu" (cleaned text, from the first segment that names a unit on)."""
    text = clean_text(value)
    segments = [s.strip() for s in text.split(",")]
    kept: list[str] = []
    for i, seg in enumerate(segments):
        if i > 0 and _UNIT_WORDS.match(fold(seg)):
            break
        kept.append(seg)
    return ", ".join(s for s in kept if s)


def parse_address(value) -> AddressParts:
    """Split an address typed freely into the parts used to order a visit round."""
    text = local_part(value)
    if not text:
        return AddressParts()
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
        if any(a <= m.start(1) < b for a, b in spans):
            continue
        # A bare leading number counts only when something follows it ("12 Quán Thánh").
        if m.start() == 0 and not low[: m.start(1)].strip() and m.end() >= len(low.rstrip()):
            continue
        house = _number(m.group(1))
        suffix = (m.group(2) or "").upper() + (f"/{m.group(3)}" if m.group(3) else "")
        spans.append(m.span())
        break
    rest = list(text)
    for a, b in spans:
        for i in range(a, b):
            rest[i] = " "
    street = " ".join("".join(rest).split())
    # The street is the last non-empty segment of what is left (after ngõ / số nhà).
    parts = [p.strip(_PUNCT_EDGE) for p in street.split(",")]
    parts = [p for p in parts if p]
    street = parts[-1] if parts else ""
    street = _STREET_PREFIX.sub("", street).strip(_PUNCT_EDGE)
    if fold(street).startswith(("pho ", "duong ")):
        street = street.split(" ", 1)[1]
    return AddressParts(
        street=street[:150],
        street_key=street_key(street)[:150],
        lane=lane,
        alley=alley,
        house=house,
        house_suffix=suffix[:20],
    )
