"""Normalisation and validation of imported beneficiary data (pure domain code).

Plain Python + stdlib + rapidfuzz only: no Flask, Flask-AppBuilder or RQ, so that the
import jobs, the CLI and the tests can use it directly.  Everything here runs once per
cell on files of up to a million rows, so regexes are precompiled, character maps use
``str.translate`` and the slow paths (legacy encodings, bank names) are cached.

User-facing problems are :class:`~app.services.messages.Problem` objects with English
msgids (translated at display time).
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from app.services.messages import N_, FieldError, Problem

__all__ = [
    "ALIASES", "BankDirectory", "BankInfo", "CATEGORIES", "CONFIDENT_SCORE", "PROVINCE_CODES",
    "ascii_key", "build_cccd", "canonical_tone", "cccd_birth_info", "clean_text", "decode_tcvn3",
    "decode_vni", "encode_tcvn3", "encode_vni", "fix_legacy_encoding", "is_confident", "name_key",
    "parse_account_number", "parse_amount", "parse_category", "parse_cccd", "parse_cmnd",
    "parse_date", "parse_sex", "split_name", "VIETNAMESE_LETTERS",
]

# ---------------------------------------------------------------------------
# Vietnamese letters
# ---------------------------------------------------------------------------

_VOWEL_BASES = "aăâeêioôơuưy"
# Tone order used by every table below: none, sắc, huyền, hỏi, ngã, nặng.
_TONE_COMBINING = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")


def _compose(base: str, tone: int) -> str:
    return unicodedata.normalize("NFC", base + _TONE_COMBINING[tone])


#: (lower-case letter, base letter, tone index) for the 67 lower-case Vietnamese letters
_LETTER_INFO: list[tuple[str, str, int]] = [
    (_compose(b, t), b, t) for b in _VOWEL_BASES for t in range(6)
] + [("đ", "đ", 0)]
_LOWER_LETTERS = [x[0] for x in _LETTER_INFO]
#: The 134 Vietnamese letters beyond plain ASCII a–z (67 lower + 67 upper case).
VIETNAMESE_LETTERS: tuple[str, ...] = tuple(
    [c for c in _LOWER_LETTERS if not c.isascii()] + [c.upper() for c in _LOWER_LETTERS if not c.isascii()])
assert len(VIETNAMESE_LETTERS) == 134 and all(len(c) == 1 for c in VIETNAMESE_LETTERS)

#: lower-case toned letter -> lower-case letter without tone (keeps ă â ê ô ơ ư)
_DETONE = str.maketrans({letter: base for letter, base, tone in _LETTER_INFO if tone})
_TONED_LOWER = frozenset(letter for letter, _b, tone in _LETTER_INFO if tone)

# ---------------------------------------------------------------------------
# Legacy 8-bit encodings (TCVN3 / VNI) as they look when the file is read as Windows-1252
# ---------------------------------------------------------------------------

# TCVN3 (TCVN 5712:1993 VN3, "ABC", .VnTime fonts).  One byte per letter; the byte is
# shown here as its Latin-1 character.  Order per base: none, sắc, huyền, hỏi, ngã, nặng.
_TCVN3_ROWS = {
    "a": "a\u00b8\u00b5\u00b6\u00b7\u00b9",  # a ¸ µ ¶ · ¹
    "ă": "\u00a8\u00be\u00bb\u00bc\u00bd\u00c6",  # ¨ ¾ » ¼ ½ Æ
    "â": "\u00a9\u00ca\u00c7\u00c8\u00c9\u00cb",  # © Ê Ç È É Ë
    "e": "e\u00d0\u00cc\u00ce\u00cf\u00d1",  # e Ð Ì Î Ï Ñ
    "ê": "\u00aa\u00d5\u00d2\u00d3\u00d4\u00d6",  # ª Õ Ò Ó Ô Ö
    "i": "i\u00dd\u00d7\u00d8\u00dc\u00de",  # i Ý × Ø Ü Þ
    "o": "o\u00e3\u00df\u00e1\u00e2\u00e4",  # o ã ß á â ä
    "ô": "\u00ab\u00e8\u00e5\u00e6\u00e7\u00e9",  # « è å æ ç é
    "ơ": "\u00ac\u00ed\u00ea\u00eb\u00ec\u00ee",  # ¬ í ê ë ì î
    "u": "u\u00f3\u00ef\u00f1\u00f2\u00f4",  # u ó ï ñ ò ô
    "ư": "\u00ad\u00f8\u00f5\u00f6\u00f7\u00f9",  # (soft hyphen) ø õ ö ÷ ù
    "y": "y\u00fd\u00fa\u00fb\u00fc\u00fe",  # y ý ú û ü þ
}
# Upper-case letters with their own code in .VnTime; upper-case *toned* letters only exist
# in the .VnTimeH fonts, which reuse the lower-case codes.
_TCVN3_UPPER = {"Ă": "\u00a1", "Â": "\u00a2", "Ê": "\u00a3", "Ô": "\u00a4", "Ơ": "\u00a5",
                "Ư": "\u00a6", "Đ": "\u00a7", "đ": "\u00ae"}

_TCVN3_ENCODE: dict[str, str] = {}
for _base, _row in _TCVN3_ROWS.items():
    for _tone, _code in enumerate(_row):
        _letter = _compose(_base, _tone)
        if not _letter.isascii():  # keep identities such as "ý" -> "ý" for decoding
            _TCVN3_ENCODE[_letter] = _code
_TCVN3_ENCODE.update(_TCVN3_UPPER)
# upper-case toned letters: same code as lower case (.VnTimeH)
for _letter in list(_TCVN3_ENCODE):
    _up = _letter.upper()
    if _up not in _TCVN3_ENCODE and _up != _letter:
        _TCVN3_ENCODE[_up] = _TCVN3_ENCODE[_letter]
_TCVN3_DECODE: dict[str, str] = {}
for _letter, _code in _TCVN3_ENCODE.items():
    if _code not in _TCVN3_DECODE or _letter.islower():
        _TCVN3_DECODE[_code] = _letter
_TCVN3_ENCODE_TABLE = str.maketrans(_TCVN3_ENCODE)
_TCVN3_DECODE_TABLE = str.maketrans(_TCVN3_DECODE)
_TCVN3_NOT_DECODABLE = re.compile("[^\x00-\x7f" + re.escape("".join(_TCVN3_DECODE)) + "]")
# Codes that decode to a lower-case letter which might have been upper case (.VnTimeH)
_TCVN3_AMBIGUOUS_CASE = frozenset(c for c, letter in _TCVN3_DECODE.items()
                                  if letter.islower() and letter.upper() != letter)

# VNI (VNI-Windows / VNI-Times): ASCII base letter followed by a mark byte, or one byte.
_VNI_ROWS = {
    "a": ("a", "aù", "aø", "aû", "aõ", "aï"),
    "ă": ("aê", "aé", "aè", "aú", "aü", "aë"),
    "â": ("aâ", "aá", "aà", "aå", "aã", "aä"),
    "e": ("e", "eù", "eø", "eû", "eõ", "eï"),
    "ê": ("eâ", "eá", "eà", "eå", "eã", "eä"),
    "i": ("i", "í", "ì", "æ", "ó", "ò"),
    "o": ("o", "où", "oø", "oû", "oõ", "oï"),
    "ô": ("oâ", "oá", "oà", "oå", "oã", "oä"),
    "ơ": ("ô", "ôù", "ôø", "ôû", "ôõ", "ôï"),
    "u": ("u", "uù", "uø", "uû", "uõ", "uï"),
    "ư": ("ö", "öù", "öø", "öû", "öõ", "öï"),
    "y": ("y", "yù", "yø", "yû", "yõ", "î"),
}
_VNI_ENCODE: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
for _base, _codes in _VNI_ROWS.items():
    for _tone, _code in enumerate(_codes):
        _letter = _compose(_base, _tone)
        if not _letter.isascii():  # keep identities such as "í" -> "í" for decoding
            _VNI_ENCODE[_letter] = _code
            _VNI_ENCODE[_letter.upper()] = _code.upper()
_VNI_DECODE: dict[str, str] = {}
for _letter, _code in _VNI_ENCODE.items():
    if len(_code) == 1:
        _VNI_DECODE[_code] = _letter
    else:  # accept the mark in either case; the base letter decides the case
        _b, _m = _code
        _VNI_DECODE[_b + _m.lower()] = _letter
        _VNI_DECODE[_b + _m.upper()] = _letter
_VNI_ENCODE_TABLE = str.maketrans(_VNI_ENCODE)
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))
# VNI sequences that also occur in correctly typed Vietnamese ("Hoàng", "Toán", "Ngoãn",
# "Tô", "Hòa", "Lý Chí", ...): never evidence on their own.
_VNI_AMBIGUOUS = frozenset({"oà", "oá", "oã", "ô", "ò", "ó", "ì", "í"})
_VNI_STRONG = frozenset(k for k in _VNI_DECODE if k.lower() not in _VNI_AMBIGUOUS)
_VNI_STRONG_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_STRONG, key=len, reverse=True)))

# Latin-1 characters that are genuine Vietnamese letters (so not evidence of TCVN3);
# U+00D0 "Ð" is the common look-alike of "Đ" in Unicode text, so not evidence either.
_VIET_LATIN1 = frozenset(c for c in VIETNAMESE_LETTERS if ord(c) < 0x100) | {"Ð", "ð"}
_TCVN3_STRONG_RE = re.compile(
    "[" + re.escape("".join(c for c in _TCVN3_DECODE if c not in _VIET_LATIN1)) + "]")

# Permissive Vietnamese syllable shape (on lower case, tone removed); used to judge whether
# a conversion produced Vietnamese.  Nuclei ending in a glide (ai, ao, ..., -a diphthongs)
# take no final consonant and never carry the tone on their last letter.
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdđghklmnpqrstvx])?"
    r"(?:(?P<open>uya|uyu|uây|uôi|ươi|ươu|oai|oay|oeo|iêu|yêu|ia|ua|ưa|ai|ao|au|ay|âu|ây|eo|êu"
    r"|iu|oi|ôi|ơi|ui|ưi|ưu)"
    r"|(?:uyê|iê|yê|uô|ươ|uơ|oa|oă|oe|uê|uâ|uy|oo|[aăâeêioôơuưy])(?:ch|nh|ng|[cmnpt])?)")
_WORD_SPLIT_RE = re.compile(r"[-/]")
_EDGE_PUNCT = ".,;:()[]\"'!?"


def encode_tcvn3(text: str) -> str:
    """Unicode -> TCVN3 as seen through Windows-1252 (for tests and demo data).

    Upper-case toned letters get the lower-case code (.VnTimeH convention)."""
    return unicodedata.normalize("NFC", text).translate(_TCVN3_ENCODE_TABLE)


def encode_vni(text: str) -> str:
    """Unicode -> VNI as seen through Windows-1252 (for tests and demo data)."""
    return unicodedata.normalize("NFC", text).translate(_VNI_ENCODE_TABLE)


def decode_tcvn3(text: str) -> str:
    """Plain TCVN3 -> Unicode conversion, no detection; ambiguous case -> lower case."""
    return text.translate(_TCVN3_DECODE_TABLE)


def decode_vni(text: str) -> str:
    """Plain VNI -> Unicode conversion, no detection."""
    return _VNI_RE.sub(lambda m: _VNI_DECODE[m.group()], text)


def _syllable_ok(word: str) -> bool:
    tone_at = -1
    for i, ch in enumerate(word):
        if ch in _TONED_LOWER:
            if tone_at >= 0:
                return False
            tone_at = i
    m = _SYLLABLE_RE.fullmatch(word.translate(_DETONE))
    if m is None:
        return False
    return not (tone_at >= 0 and m.group("open") and tone_at == m.end("open") - 1)


def _word_ok(token: str) -> bool:
    token = token.strip(_EDGE_PUNCT).lower()
    if not token:
        return False
    for part in _WORD_SPLIT_RE.split(token):
        if not part or part.isdigit():
            continue
        if not _syllable_ok(part):
            return False
    return True


def _tcvn3_fix_case(original: str, converted: str) -> str:
    """Restore upper case lost by .VnTimeH codes: all-caps texts and capitalised names."""
    # all caps: no ASCII lower-case letter and an upper-case one inside a word ("NGUYÔN")
    if not any(c.isascii() and c.islower() for c in original) and any(
            original[i].isascii() and original[i].isupper() and original[i - 1].isalpha()
            for i in range(1, len(original))):
        return converted.upper()
    anchors, pending = 0, []
    for m in re.finditer(r"\S+", converted):
        i = m.start()
        if original[i] in _TCVN3_AMBIGUOUS_CASE:
            pending.append(i)
        elif converted[i].isalpha():
            if not converted[i].isupper():
                return converted  # e.g. "xã ánh sáng": lower-case text, keep it
            anchors += 1
    if not (anchors and pending):
        return converted
    chars = list(converted)
    for i in pending:
        chars[i] = chars[i].upper()
    return "".join(chars)


@lru_cache(maxsize=32768)
def _detect_legacy(text: str) -> tuple[str, str | None]:
    best: tuple[tuple[float, int], str, str] | None = None
    for name in ("TCVN3", "VNI"):
        if name == "TCVN3":
            if _TCVN3_NOT_DECODABLE.search(text):
                continue
            converted = decode_tcvn3(text)
            strong = _TCVN3_STRONG_RE.search(text) is not None
        else:
            if not _VNI_RE.sub("", text).isascii():
                continue
            converted = decode_vni(text)
            strong = _VNI_STRONG_RE.search(text) is not None
        if converted == text:
            continue
        words_o, words_c = text.split(), converted.split()
        if len(words_o) != len(words_c):
            continue
        total = ok_orig = ok_conv = gain = 0
        for wo, wc in zip(words_o, words_c):
            if wo.isascii():
                continue
            total += 1
            a, b = _word_ok(wo), _word_ok(wc)
            ok_orig += a
            ok_conv += b
            gain += b and not a
        if not total or not (strong or gain):
            continue
        if ok_conv * 2 < total or ok_conv <= ok_orig:
            continue
        rank = (ok_conv / total, int(strong))
        if best is None or rank > best[0]:
            best = (rank, name, converted)
    if best is None:
        return text, None
    _rank, name, converted = best
    if name == "TCVN3":
        converted = _tcvn3_fix_case(text, converted)
    return converted, name


def fix_legacy_encoding(text: str) -> tuple[str, str | None]:
    """Detect text typed in TCVN3 (ABC) or VNI and convert it to Unicode.

    Returns ``(text, encoding)`` where encoding is "TCVN3", "VNI" or None (unchanged).
    Conservative: only text made entirely of Latin-1 characters can be legacy text, it must
    convert completely, show evidence (a character or sequence that correct Vietnamese never
    has, or a word that becomes Vietnamese only after conversion), and the converted words
    must be Vietnamese syllables more often than the original ones.
    """
    if not text or text.isascii():
        return text, None
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return text, None
    return _detect_legacy(text)


# ---------------------------------------------------------------------------
# Text, tones and names
# ---------------------------------------------------------------------------

_INVISIBLE = {0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None}
_INVISIBLE_TABLE = str.maketrans(_INVISIBLE)
_AFTER_LEGACY_TABLE = str.maketrans({"\u00d0": "Đ", "\u00f0": "đ", "\u00ad": None})


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def clean_text(value: Any) -> str:
    """Text for storage: None -> "", numbers -> str, NFC, legacy TCVN3/VNI converted,
    look-alike Ð/ð -> Đ/đ, odd spaces and invisible characters removed, whitespace collapsed."""
    s = _to_str(value)
    if s.isascii():
        return " ".join(s.split())
    if not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    s = " ".join(s.translate(_INVISIBLE_TABLE).split())  # str.split() knows NBSP & co.
    s = fix_legacy_encoding(s)[0]
    return s.translate(_AFTER_LEGACY_TABLE)


def _build_tone_moves() -> dict[str, str]:
    moves: dict[str, str] = {}
    for first, seconds in (("o", "ae"), ("u", "y")):
        for second in seconds:
            for tone in range(1, 6):
                for f in (first, first.upper()):
                    for s in (second, second.upper()):
                        moves[f + _compose(s, tone)] = _compose(f, tone) + s
    return moves


_TONE_MOVES = _build_tone_moves()
_TONE_MOVE_RE = re.compile(
    r"(?<![qQ])(?:" + "|".join(map(re.escape, _TONE_MOVES)) + r")(?!\w)")


def canonical_tone(text: str) -> str:
    """Canonical tone placement for comparison ("Hoà" -> "Hòa", "Thuỷ" -> "Thủy").

    For the clusters oa, oe, uy at the end of a syllable, not after q, the tone mark goes
    on the first vowel; everything else is unchanged.  Case is kept.  Expects NFC."""
    if text.isascii():
        return text
    return _TONE_MOVE_RE.sub(lambda m: _TONE_MOVES[m.group()], text)


def name_key(name: Any) -> str:
    """Comparison key for names: cleaned, canonical tones, lower case."""
    return canonical_tone(clean_text(name)).lower()


def _build_ascii_fold() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in list(range(0xC0, 0x250)) + list(range(0x1E00, 0x1F00)):
        ch = chr(cp)
        stripped = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if stripped != ch and stripped.isascii() and stripped:
            table[cp] = stripped
    table.update({ord("Đ"): "D", ord("đ"): "d", 0xD0: "D", 0xF0: "d"})
    return table


_ASCII_FOLD = _build_ascii_fold()


def ascii_key(name: Any) -> str:
    """Upper-case ASCII form for bank account-holder names: "Nguyễn Văn An" -> "NGUYEN VAN AN"."""
    s = clean_text(name).translate(_ASCII_FOLD)
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return " ".join(s.upper().split())


def split_name(name: Any) -> tuple[str, str, str]:
    """(family, middle, given): first word, middle words, last word. One word -> ("", "", word)."""
    words = clean_text(name).split()
    if not words:
        return "", "", ""
    if len(words) == 1:
        return "", "", words[0]
    return words[0], " ".join(words[1:-1]), words[-1]


# ---------------------------------------------------------------------------
# Identifier digits (CCCD, CMND, account numbers)
# ---------------------------------------------------------------------------

_SCI_RE = re.compile(r"^([0-9]+)(?:[.,]([0-9]*))?[eE]\+?([0-9]+)$")
_FLOAT_TEXT_RE = re.compile(r"^([0-9]+)[.,]0+$")
_ID_SEPARATORS = str.maketrans("", "", " .-_\u00a0\t")


def _id_digits(value: Any) -> tuple[str, bool, str | None]:
    """Digits of an identifier cell -> (digits, numeric, error) where error is None,
    "chars" or "scientific".  Empty input gives ("", False, None)."""
    if value is None or value == "":
        return "", False, None
    if isinstance(value, bool):
        return "", False, "chars"
    numeric = False
    if isinstance(value, int):
        if value < 0:
            return "", False, "chars"
        digits, numeric = str(value), True
    elif isinstance(value, (float, Decimal)):
        if not math.isfinite(value) or value < 0 or value != int(value):
            return "", False, "chars"
        if value >= 1e15:  # beyond Excel's 15 significant digits: digits were lost
            return "", False, "scientific"
        digits, numeric = str(int(value)), True
    else:
        s = _to_str(value).strip().lstrip("'").strip()
        if not s:
            return "", False, None
        compact = s.replace(" ", "")
        m = _SCI_RE.match(compact)
        if m:  # "1.08501E+09", "1,085012345E+09": restore only if no digit was lost
            int_part, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
            number = Decimal(f"{int_part}.{frac or '0'}").scaleb(exp)
            if number != number.to_integral_value():
                return "", False, "scientific"
            digits = str(int(number))
            if len((int_part + frac).lstrip("0")) < len(digits):
                return "", False, "scientific"
            return digits, True, None
        m = _FLOAT_TEXT_RE.match(s)
        digits = m.group(1) if m else s.translate(_ID_SEPARATORS)
        if not (digits.isascii() and digits.isdigit()):
            return "", False, "chars"
    if numeric and len(digits) >= 9:
        significant = digits.rstrip("0")
        if len(digits) - len(significant) >= 4 and len(significant) <= 6:
            return "", False, "scientific"  # e.g. 1.08501E+09 typed back as a number
    return digits, numeric, None


def _shown_id(value: Any) -> str:
    """How a spreadsheet would show the cell, for messages (large floats as 1.23457E+12)."""
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= 1e11:
        return format(value, ".6G")
    return _to_str(value).strip()


# ---------------------------------------------------------------------------
# CCCD / CMND
# ---------------------------------------------------------------------------

#: Province codes (digits 1–3 of the CCCD: province where the birth was registered).
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh",
    "024": "Bắc Giang", "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương",
    "031": "Hải Phòng", "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định",
    "037": "Ninh Bình", "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình",
    "045": "Quảng Trị", "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam",
    "051": "Quảng Ngãi", "052": "Bình Định", "054": "Phú Yên", "056": "Khánh Hòa",
    "058": "Ninh Thuận", "060": "Bình Thuận", "062": "Kon Tum", "064": "Gia Lai", "066": "Đắk Lắk",
    "067": "Đắk Nông", "068": "Lâm Đồng", "070": "Bình Phước", "072": "Tây Ninh",
    "074": "Bình Dương", "075": "Đồng Nai", "077": "Bà Rịa-Vũng Tàu", "079": "TP Hồ Chí Minh",
    "080": "Long An", "082": "Tiền Giang", "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long",
    "087": "Đồng Tháp", "089": "An Giang", "091": "Kiên Giang", "092": "Cần Thơ",
    "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu", "096": "Cà Mau",
}
assert len(PROVINCE_CODES) == 63


def _this_year() -> int:
    return dt.date.today().year


def cccd_birth_info(cccd: str) -> tuple[int, str]:
    """(birth year, sex "M"/"F") from a 12-digit CCCD (digit 4 = century and sex)."""
    if not (isinstance(cccd, str) and len(cccd) == 12 and cccd.isascii() and cccd.isdigit()):
        raise ValueError(f"not a 12-digit CCCD: {cccd!r}")
    d = ord(cccd[3]) - 48
    return 1900 + 100 * (d // 2) + int(cccd[4:6]), ("M" if d % 2 == 0 else "F")


def build_cccd(province_code: str | int, year: int, sex: str, serial6: str | int) -> str:
    """Compose a CCCD (for synthetic demo data): province, century/sex digit, yy, serial."""
    code = str(province_code).zfill(3)
    if code not in PROVINCE_CODES:
        raise ValueError(f"unknown province code {code}")
    if not 1900 <= year <= 2399:
        raise ValueError(f"year out of range: {year}")
    if sex not in ("M", "F"):
        raise ValueError(f"sex must be 'M' or 'F', got {sex!r}")
    serial = str(serial6).zfill(6)
    if len(serial) != 6 or not serial.isdigit():
        raise ValueError(f"serial must have 6 digits: {serial6!r}")
    digit = (year // 100 - 19) * 2 + (1 if sex == "F" else 0)
    return f"{code}{digit}{year % 100:02d}{serial}"


def _cccd_plausible(cccd: str, today_year: int) -> bool:
    return cccd[:3] in PROVINCE_CODES and cccd[3] in "0123" and cccd_birth_info(cccd)[0] <= today_year


def _cccd_problem(code: str, msgid: str, severity: str = "error", **params: Any) -> Problem:
    return Problem("cccd", code, msgid, params, severity)


def parse_cccd(value: Any, *, birth_year: int | None = None, sex: str | None = None,
               today_year: int | None = None) -> tuple[str | None, list[Problem]]:
    """Read a CCCD cell -> (12-digit string or None, problems).

    The number is None when it cannot be read as 12 digits (then there is an error, or a
    ``cccd_is_cmnd`` warning: the caller keeps the value as a CMND via :func:`parse_cmnd`).
    When the digits are fine but disagree with the record (future year, year or sex
    mismatch) the number is returned *with* error problems, so it can be shown for review.
    """
    digits, _numeric, error = _id_digits(value)
    shown = _shown_id(value)
    if error == "scientific":
        return None, [_cccd_problem("cccd_scientific", N_(
            "CCCD %(value)s is in scientific notation and has lost digits; enter it as text"),
            value=shown)]
    if error:
        return None, [_cccd_problem("cccd_chars", N_("CCCD must contain only digits: %(value)s"),
                                    value=shown)]
    if not digits:
        return None, []
    today_year = today_year or _this_year()
    problems: list[Problem] = []
    n = len(digits)
    if n == 12:
        cccd = digits
    elif 9 <= n <= 11 and digits[0] != "0" and _cccd_plausible(digits.zfill(12), today_year):
        cccd = digits.zfill(12)
        problems.append(_cccd_problem("cccd_zero_restored", N_(
            "CCCD %(old)s had lost its leading zeros; restored to %(new)s"),
            "correction", old=digits, new=cccd))
    elif n == 9 or (n == 8 and digits[0] != "0"):
        return None, [_cccd_problem("cccd_is_cmnd", N_(
            "%(value)s is an old 9-digit ID card number (CMND), not a CCCD"),
            "warning", value=digits.zfill(9))]
    else:
        return None, [_cccd_problem("cccd_length", N_("CCCD must have 12 digits, got %(length)d"),
                                    length=n)]
    prefix = cccd[:3]
    if prefix not in PROVINCE_CODES:
        problems.append(_cccd_problem("cccd_prefix_unknown", N_(
            "CCCD %(value)s starts with an unknown province code %(prefix)s"),
            "warning", value=cccd, prefix=prefix))
    year, cccd_sex = cccd_birth_info(cccd)
    if year > today_year:
        problems.append(_cccd_problem("cccd_future", N_(
            "CCCD %(value)s gives birth year %(year)d, which is in the future"),
            value=cccd, year=year))
    elif birth_year is not None and int(birth_year) != year:
        problems.append(_cccd_problem("cccd_year_mismatch", N_(
            "CCCD birth year %(cccd_year)d does not match the birth year %(row_year)d"),
            cccd_year=year, row_year=int(birth_year)))
    if sex in ("M", "F") and sex != cccd_sex:
        problems.append(_cccd_problem("cccd_sex_mismatch", N_(
            "CCCD sex %(cccd_sex)s does not match the sex %(row_sex)s"),
            cccd_sex=cccd_sex, row_sex=sex))
    return cccd, problems


def parse_cmnd(value: Any) -> str | None:
    """Old ID card number: shape check only (9 or 12 digits). An 8-digit value that lost its
    leading zero in a spreadsheet is restored to 9 digits. None when not a CMND."""
    digits, _numeric, error = _id_digits(value)
    if error or not digits:
        return None
    if len(digits) in (9, 12):
        return digits
    if len(digits) == 8 and digits[0] != "0":
        return "0" + digits
    return None


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_SEP_SPACES_RE = re.compile(r"\s*([/.\-])\s*")
_TIME_SUFFIX_RE = re.compile(r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp][Mm])?)$")
_DMY_RE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})$")
_YMD_RE = re.compile(r"^(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})$")
_MY_RE = re.compile(r"^(\d{1,2})[/.\-](\d{4})$")
_VI_DATE_RE = re.compile(r"^(?:ngay\s*)?(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{4})$")
_VI_YEAR_RE = re.compile(r"^nam\s*(\d{4})$")


def _date_error(code: str, shown: str) -> FieldError:
    if code == "date_invalid":
        msgid = N_("Invalid date of birth: %(value)s")
    else:
        msgid = N_("Date of birth %(value)s is in the future or before 1900")
    return FieldError(Problem("date_of_birth", code, msgid, {"value": shown}))


def _excel_serial(serial: float, shown: str, today: dt.date) -> dt.date:
    days = int(math.floor(serial))
    if days < 1 or days > 2958465:
        raise _date_error("date_invalid", shown)
    if days == 60:  # 29.2.1900 does not exist (Lotus 1-2-3 leap-year bug)
        raise _date_error("date_invalid", shown)
    return _EXCEL_EPOCH + dt.timedelta(days=days + (1 if days < 60 else 0))


def _checked(d: dt.date | None, year: int, shown: str, today: dt.date) -> tuple[dt.date | None, int]:
    if year < 1900 or year > today.year or (d is not None and d > today):
        raise _date_error("date_out_of_range", shown)
    return d, year


def _make_date(y: int, m: int, d: int, shown: str, swap: bool = True) -> dt.date:
    if swap and m > 12 and d <= 12:  # month-first input such as 05/25/1950: unambiguous, swap
        m, d = d, m
    try:
        return dt.date(y, m, d)
    except ValueError:
        raise _date_error("date_invalid", shown) from None


def parse_date(value: Any, *, today: dt.date | None = None) -> tuple[dt.date | None, int | None]:  # noqa: C901
    """Date of birth -> (full date or None, year).  Empty -> (None, None).

    Accepts date/datetime, Excel serial numbers (1900 system), day-first strings
    (dd/mm/yyyy, d/m/yy, dd-mm-yyyy, dd.mm.yyyy), ISO yyyy-mm-dd, yyyy, mm/yyyy (year only),
    yyyymmdd / ddmmyyyy and "ngày 5 tháng 3 năm 1950".  Raises FieldError ``date_invalid`` or
    ``date_out_of_range`` (future, before 1900)."""
    today = today or dt.date.today()
    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        return _checked(value.date(), value.year, value.strftime("%d/%m/%Y"), today)
    if isinstance(value, dt.date):
        return _checked(value, value.year, value.strftime("%d/%m/%Y"), today)
    shown = _to_str(value).strip()
    if isinstance(value, bool):
        raise _date_error("date_invalid", shown)
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, float) and not math.isfinite(value):
            raise _date_error("date_invalid", shown)
        if value == int(value) and 1000 <= value <= 2200:
            # a year typed as a number (serials 1000-2200 would be births in 1902-1906)
            return _checked(None, int(value), shown, today)
        d = _excel_serial(float(value), shown, today)
        return _checked(d, d.year, d.strftime("%d/%m/%Y"), today)
    s = clean_text(value)
    if not s:
        return None, None
    s = _TIME_SUFFIX_RE.sub("", s).strip()
    s = _DATE_SEP_SPACES_RE.sub(r"\1", s)
    m = _DMY_RE.match(s)
    if m:
        day, month, ys = int(m.group(1)), int(m.group(3)), m.group(4)
        if len(ys) == 2:
            year = 2000 + int(ys)
            if month > 12 and day <= 12:
                day, month = month, day
            try:
                if dt.date(year, month, day) > today:
                    year -= 100  # two-digit years are never in the future
            except ValueError:
                raise _date_error("date_invalid", shown) from None
        else:
            year = int(ys)
        d = _make_date(year, month, day, shown)
        return _checked(d, d.year, shown, today)
    m = _YMD_RE.match(s)
    if m:
        d = _make_date(int(m.group(1)), int(m.group(3)), int(m.group(4)), shown, swap=False)
        return _checked(d, d.year, shown, today)
    m = _MY_RE.match(s)
    if m:
        if not 1 <= int(m.group(1)) <= 12:
            raise _date_error("date_invalid", shown)
        return _checked(None, int(m.group(2)), shown, today)
    if s.isascii() and s.isdigit() or _FLOAT_TEXT_RE.match(s):
        digits = s.split(".")[0].split(",")[0]
        if len(digits) == 4:
            return _checked(None, int(digits), shown, today)
        if len(digits) == 5:  # Excel serial exported as text
            d = _excel_serial(int(digits), shown, today)
            return _checked(d, d.year, shown, today)
        if len(digits) == 8:
            for y, mo, da in ((digits[:4], digits[4:6], digits[6:]), (digits[4:], digits[2:4], digits[:2])):
                try:
                    d = dt.date(int(y), int(mo), int(da))
                except ValueError:
                    continue
                return _checked(d, d.year, shown, today)
        raise _date_error("date_invalid", shown)
    low = ascii_key(s).lower()
    m = _VI_DATE_RE.match(low)
    if m:
        d = _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)), shown)
        return _checked(d, d.year, shown, today)
    m = _VI_YEAR_RE.match(low)
    if m:
        return _checked(None, int(m.group(1)), shown, today)
    raise _date_error("date_invalid", shown)


# ---------------------------------------------------------------------------
# Sex, amounts, categories
# ---------------------------------------------------------------------------

_SEX_WORDS = {
    "nam": "M", "m": "M", "male": "M", "nam gioi": "M", "gioi tinh nam": "M",
    "nu": "F", "f": "F", "female": "F", "nu gioi": "F", "gioi tinh nu": "F",
}


def parse_sex(value: Any) -> str | None:
    """"Nam"/"M"/"male" -> "M", "Nữ"/"nu"/"F"/"female" -> "F"; empty -> None.
    Anything else raises FieldError ``sex_invalid``."""
    if value is None:
        return None
    s = clean_text(value)
    if not s:
        return None
    sex = _SEX_WORDS.get(ascii_key(s).lower())
    if sex is None:
        raise FieldError(Problem("sex", "sex_invalid", N_("Invalid sex: %(value)s (use Nam or Nữ)"),
                                 {"value": s}))
    return sex


_AMOUNT_CURRENCY_RE = re.compile(r"\s*(?:vnd|vnđ|dong|đồng|đ|d|₫)\.?$")
_AMOUNT_UNIT_RE = re.compile(r"^(.*?)\s*(trieu|tr|ty|ti|nghin|ngan|k)\.?$")
_AMOUNT_TR_RE = re.compile(r"^(\d+)\s*tr(?:ieu)?\s*(\d{1,3})$")  # "1tr5" = 1,500,000
_AMOUNT_UNITS = {"trieu": 10**6, "tr": 10**6, "ty": 10**9, "ti": 10**9, "nghin": 1000,
                 "ngan": 1000, "k": 1000}
_SPACED_THOUSANDS_RE = re.compile(r"^\d{1,3}(?: \d{3})+$")
_NUMBER_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^\d+$"), "", ""),
    (re.compile(r"^\d{1,3}(?:\.\d{3})+$"), ".", ""),
    (re.compile(r"^\d{1,3}(?:,\d{3})+$"), ",", ""),
    (re.compile(r"^\d{1,3}(?:\.\d{3})+,\d+$"), ".", ","),
    (re.compile(r"^\d{1,3}(?:,\d{3})+\.\d+$"), ",", "."),
    (re.compile(r"^\d+\.\d+$"), "", "."),
    (re.compile(r"^\d+,\d+$"), "", ","),
)


def _parse_number_text(s: str) -> Decimal | None:
    if _SPACED_THOUSANDS_RE.match(s):
        s = s.replace(" ", "")
    for pattern, thousands, decimal in _NUMBER_PATTERNS:
        if pattern.match(s):
            if thousands:
                s = s.replace(thousands, "")
            if decimal:
                s = s.replace(decimal, ".")
            return Decimal(s)
    return None


def _amount_error(shown: str) -> FieldError:
    return FieldError(Problem("amount", "amount_invalid", N_("Invalid amount: %(value)s"),
                              {"value": shown}))


def parse_amount(value: Any) -> int | None:
    """Amount in đồng -> int; empty -> None.

    "1.500.000", "1,500,000", "1.500.000 đ", "1.500.000₫", "1,5 triệu", "2 tr", "1tr5",
    "500 nghìn", "500k", 1500000.0.  Groups of exactly three digits after "." or "," are
    thousands.  Negative or fractional đồng raise FieldError ``amount_invalid``."""
    if value is None:
        return None
    shown = _to_str(value).strip()
    if isinstance(value, bool):
        raise _amount_error(shown)
    if isinstance(value, int):
        if value < 0:
            raise _amount_error(shown)
        return value
    if isinstance(value, (float, Decimal)):
        if not math.isfinite(value) or value < 0:
            raise _amount_error(shown)
        rounded = round(value)
        if abs(value - rounded) > 1e-6:
            raise _amount_error(shown)
        return int(rounded)
    s = clean_text(value).lower()
    if not s:
        return None
    s = _AMOUNT_CURRENCY_RE.sub("", s)
    s = ascii_key(s).lower()
    m = _AMOUNT_TR_RE.match(s)
    if m:
        number: Decimal | None = Decimal(f"{m.group(1)}.{m.group(2)}")
        factor = 10**6
    else:
        factor = 1
        m = _AMOUNT_UNIT_RE.match(s)
        if m and m.group(1):
            s, factor = m.group(1), _AMOUNT_UNITS[m.group(2)]
        number = _parse_number_text(s.strip())
    if number is None:
        raise _amount_error(shown)
    total = number * factor
    if total != total.to_integral_value():
        raise _amount_error(shown)
    return int(total)


CATEGORIES: dict[str, str] = {
    "BTXH": "Bảo trợ xã hội", "NCC": "Người có công", "HN": "Hộ nghèo",
    "HCN": "Hộ cận nghèo", "KHAC": "Khác",
}
# Checked in this order; a matched phrase is removed before the next check, so that
# "hộ cận nghèo" is not also read as "hộ nghèo".
_CATEGORY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("HCN", re.compile(r"\b(?:ho )?can ngheo\b|\bhcn\b")),
    ("HN", re.compile(r"\b(?:ho )?ngheo\b|\bhn\b")),
    ("BTXH", re.compile(r"\bbao tro(?: xa hoi)?\b|\bbtxh\b|\btro cap xa hoi\b")),
    ("NCC", re.compile(r"\b(?:nguoi )?co cong(?: voi cach mang)?\b|\bncc\b")),
    ("KHAC", re.compile(r"\bkhac\b")),
)
_CATEGORY_NOISE_RE = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=4096)
def _category_of(key: str) -> str | None:
    found = []
    for code, pattern in _CATEGORY_PATTERNS:
        if pattern.search(key):
            found.append(code)
            key = pattern.sub(" ", key)
    return found[0] if len(found) == 1 else None


def parse_category(value: Any) -> str | None:
    """Category code (BTXH, NCC, HN, HCN, KHAC) from a code or Vietnamese name in any case,
    with or without diacritics; empty -> None; unknown or several -> FieldError."""
    s = clean_text(value)
    if not s:
        return None
    key = " ".join(_CATEGORY_NOISE_RE.sub(" ", ascii_key(s).lower()).split())
    code = _category_of(key)
    if code is None:
        raise FieldError(Problem("category", "category_invalid", N_("Unknown category: %(value)s"),
                                 {"value": s}))
    return code


# ---------------------------------------------------------------------------
# Banks
# ---------------------------------------------------------------------------

CONFIDENT_SCORE = 90.0
MIN_BANK_SCORE = 60.0

#: Well-known shorthand for banks and wallets, written as users type it -> BIN.
ALIASES: dict[str, str] = {
    # Agribank
    "Agribank": "970405", "Agri": "970405", "NH Nông nghiệp": "970405", "Nông nghiệp": "970405",
    "NN&PTNT": "970405", "NNPTNT": "970405", "NN và PTNT": "970405", "Nông nghiệp và PTNT": "970405",
    "Nông nghiệp & PTNT": "970405", "NHNo": "970405", "NHNo&PTNT": "970405", "VBARD": "970405",
    "Nông nghiệp và Phát triển Nông thôn": "970405",
    # VietinBank
    "Vietin": "970415", "Viettin": "970415", "Viettinbank": "970415", "Vietinbank": "970415",
    "Công thương": "970415", "ICB": "970415", "CTG": "970415",
    # VBSP
    "NHCSXH": "999888", "CSXH": "999888", "NHCS": "999888", "VBSP": "999888", "Chính sách": "999888",
    "Chính sách xã hội": "999888", "NH Chính sách": "999888",
    # Vietcombank
    "VCB": "970436", "Vietcom": "970436", "Ngoại thương": "970436", "Vietcombank": "970436",
    # BIDV
    "BIDV": "970418", "Đầu tư và Phát triển": "970418", "Đầu tư & Phát triển": "970418",
    "Đầu tư phát triển": "970418", "ĐT&PT": "970418",
    # LPBank
    "LienVietPostBank": "970449", "LienViet": "970449", "Liên Việt": "970449",
    "Bưu điện Liên Việt": "970449", "LienVietPost": "970449", "Lộc Phát": "970449", "LPB": "970449",
    # wallets and mobile money
    "Viettel Money": "971005", "ViettelPay": "971005", "Viettel Pay": "971005", "Viettel": "971005",
    "VNPT Money": "971011", "VNPT Pay": "971011", "VNPTPay": "971011", "VNPT": "971011",
    "MoMo": "971025", "Ví MoMo": "971025",
    # other common names
    "Techcom": "970407", "Kỹ thương": "970407", "Sacom": "970403", "MB": "970422",
    "Quân đội": "970422", "MBBank": "970422", "DongA": "970406", "Đông Á": "970406",
    "EAB": "970406", "OceanBank": "970414", "Ocean": "970414", "Đại Dương": "970414",
    "Viet Capital": "970454", "Bản Việt": "970454", "Maritime Bank": "970426", "Hàng Hải": "970426",
    "Á Châu": "970416", "Tiên Phong": "970423", "Quốc tế": "970441", "Đông Nam Á": "970440",
    "Exim": "970431", "Xuất nhập khẩu": "970431", "Sài Gòn Hà Nội": "970443",
}

_BANK_PUNCT_RE = re.compile(r"[^a-z0-9]+")
_BANK_CUT_RE = re.compile(r"\b(?:chi nhanh|cn|pgd|phong giao dich)\b.*$")
_BANK_GENERIC_RE = re.compile(
    r"\b(?:ngan hang so|ngan hang|nhtm|nh|tmcp|co phan|cp|thuong mai|tnhh|mtv|mot thanh vien"
    r"|bank|viet nam|vietnam|vn|lien doanh|vi dien tu)\b")


@dataclass(frozen=True)
class BankInfo:
    bin: str
    code: str
    short_name: str
    name_vi: str
    swift: str = ""
    kind: str = "bank"
    former_names: tuple[str, ...] = ()


def _bank_norm(text: str) -> str:
    return " ".join(_BANK_PUNCT_RE.sub(" ", ascii_key(text).lower()).split())


def _bank_forms(text: str) -> tuple[str, str, list[str], list[str]]:
    """(core, compact, strong forms, weak forms) of a bank name.

    Strong forms: normalised text, core (generic words such as "ngân hàng", "TMCP" and any
    branch suffix removed) and compact core (no spaces).  Weak forms: the same without a
    trailing "bank" ("Vietinbank" -> "vietin"), matched only when no strong form matches."""
    norm = _bank_norm(text)
    core = " ".join(_BANK_GENERIC_RE.sub(" ", _BANK_CUT_RE.sub("", norm)).split())
    compact = core.replace(" ", "")
    strong = list(dict.fromkeys(f for f in (norm, core, compact) if f))
    weak = []
    for f in (norm.replace(" ", ""), compact):
        if f.endswith("bank") and len(f) > 5 and f[:-4] not in strong and f[:-4] not in weak:
            weak.append(f[:-4])
    return core, compact, strong, weak


def _split_former(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"[;|]", value or "") if p.strip())


class BankDirectory:
    """Bank / wallet list keyed by NAPAS BIN, with loose name resolution.

    ``former_names`` in the CSV may hold several names separated by ";" or "|"."""

    def __init__(self, rows: Iterable[Mapping[str, Any]], aliases: Mapping[str, str] | None = None):
        self.banks: dict[str, BankInfo] = {}
        for row in rows:
            former = row.get("former_names") or ()
            info = BankInfo(
                bin=str(row["bin"]).strip(), code=(row.get("code") or "").strip(),
                short_name=(row.get("short_name") or "").strip(), name_vi=(row.get("name_vi") or "").strip(),
                swift=(row.get("swift") or "").strip(), kind=(row.get("kind") or "bank").strip(),
                former_names=_split_former(former) if isinstance(former, str) else tuple(former))
            self.banks[info.bin] = info
        self._exact: dict[str, list[str]] = {}
        self._weak: dict[str, list[str]] = {}
        self._contain: dict[str, list[str]] = {}
        for info in self.banks.values():
            for text in (info.code, info.short_name, info.name_vi, *info.former_names):
                if text:
                    self._add(text, info.bin)
        for alias, bin_ in (ALIASES if aliases is None else aliases).items():
            if bin_ in self.banks:
                self._add(alias, bin_, override=True)
        fuzzy = sorted({(k, b[0]) for index in (self._exact, self._weak) for k, b in index.items()
                        if len(k) >= 4 and len(b) == 1})
        self._fuzzy_keys = [k for k, _b in fuzzy]
        self._fuzzy_bins = [b for _k, b in fuzzy]
        self._contain_keys = sorted(self._contain, key=len, reverse=True)
        self._cache: dict[str, tuple[str | None, float, list[str]]] = {}

    @staticmethod
    def _put(index: dict[str, list[str]], key: str, bin_: str, override: bool) -> None:
        bins = index.setdefault(key, [])
        if override and bins and bin_ not in bins:
            bins[:] = [bin_]  # an explicit alias wins over generated forms
        elif bin_ not in bins:
            bins.append(bin_)

    def _add(self, text: str, bin_: str, override: bool = False) -> None:
        _core, _compact, strong, weak = _bank_forms(text)
        for form in strong:
            self._put(self._exact, form, bin_, override)
            if len(form.replace(" ", "")) >= 2:
                self._put(self._contain, form, bin_, override)
        for form in weak:
            self._put(self._weak, form, bin_, override)

    @classmethod
    def from_csv(cls, path: str | Path, aliases: Mapping[str, str] | None = None) -> BankDirectory:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return cls(list(csv.DictReader(fh)), aliases)

    def __contains__(self, bin_: object) -> bool:
        return bin_ in self.banks

    def __len__(self) -> int:
        return len(self.banks)

    def __iter__(self) -> Iterator[BankInfo]:
        return iter(self.banks.values())

    def get(self, bin_: str) -> BankInfo | None:
        return self.banks.get(bin_)

    def resolve(self, text: Any) -> tuple[str | None, float, list[str]]:
        """Bank name / code / BIN as typed -> (bin or None, score 0–100, candidate bins).

        100: BIN, code, name, former name or alias (exact after normalisation);
        90: a known name contained in a longer text ("Agribank Hà Nội"); 80: same but
        short or not at the start; 70: ties between banks; fuzzy matches keep their
        rapidfuzz score (capped at 85 when two banks are close).  Below 60 -> bin None.
        Use :func:`is_confident` (>= 90) to decide what goes to review."""
        s = clean_text(text)
        if not s:
            return None, 0.0, []
        hit = self._cache.get(s)
        if hit is None:
            hit = self._resolve(s)
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[s] = hit
        return hit[0], hit[1], list(hit[2])

    def _resolve(self, s: str) -> tuple[str | None, float, list[str]]:  # noqa: C901
        if s.isdigit():
            return (s, 100.0, [s]) if s in self.banks else (None, 0.0, [])
        m = re.match(r"^(\d{6})\s*[-:–]?\s*(.+)$", s)
        if m and m.group(1) in self.banks:
            bin_ = m.group(1)
            other, _score, _c = self._resolve(m.group(2))
            if other in (None, bin_):
                return bin_, 100.0, [bin_]
            return bin_, 70.0, [bin_, other]
        core, compact, strong, weak = _bank_forms(s)
        if not core:
            return None, 0.0, []
        for index, forms in ((self._exact, strong), (self._weak, weak), (self._weak, strong)):
            for form in forms:
                bins = index.get(form)
                if bins:
                    return bins[0], (100.0 if len(bins) == 1 else 70.0), list(bins)
        padded = f" {core} "
        found: list[tuple[int, bool, str]] = []
        for key in self._contain_keys:
            pos = padded.find(f" {key} ")
            if pos >= 0:
                for b in self._contain[key]:
                    found.append((len(key.replace(" ", "")), pos == 0, b))
        if found:
            found.sort(key=lambda x: (-x[0], not x[1]))
            length, at_start, best = found[0]
            ranked = list(dict.fromkeys(b for _l, _s, b in found))
            tie = any(b != best and l == length for l, _s, b in found)
            if length >= 3 or at_start:
                score = 70.0 if tie else (90.0 if (length >= 4 or (at_start and length >= 3)) else 80.0)
                return best, score, ranked
        best_by_bin: dict[str, float] = {}
        for query in dict.fromkeys((core, compact)):
            if len(query) < 3:
                continue
            for _key, score, idx in process.extract(query, self._fuzzy_keys, scorer=fuzz.ratio,
                                                    limit=10, score_cutoff=50):
                b = self._fuzzy_bins[idx]
                if score > best_by_bin.get(b, 0.0):
                    best_by_bin[b] = float(score)
        if not best_by_bin:
            return None, 0.0, []
        ranked = sorted(best_by_bin, key=lambda b: -best_by_bin[b])
        top = min(best_by_bin[ranked[0]], 99.0)
        if len(ranked) > 1 and top - best_by_bin[ranked[1]] < 5:
            top = min(top, 85.0)
        top = round(top, 1)
        return (ranked[0] if top >= MIN_BANK_SCORE else None), top, ranked[:5]


def is_confident(score: float) -> bool:
    """A bank match good enough to use without review."""
    return score >= CONFIDENT_SCORE


# ---------------------------------------------------------------------------
# Account numbers
# ---------------------------------------------------------------------------

def parse_account_number(value: Any) -> tuple[str | None, list[Problem]]:
    """Bank account number as a string of 6–19 digits (leading zeros kept; spaces, dots and
    dashes removed).  Scientific notation that lost digits is an error; lengths outside 8–16
    are a warning.  Empty -> (None, [])."""
    digits, _numeric, error = _id_digits(value)
    shown = _shown_id(value)
    if error == "scientific":
        return None, [Problem("account_number", "account_scientific", N_(
            "Account number %(value)s is in scientific notation and has lost digits; enter it as text"),
            {"value": shown})]
    if error:
        return None, [Problem("account_number", "account_chars", N_(
            "Account number must contain only digits: %(value)s"), {"value": shown})]
    if not digits:
        return None, []
    n = len(digits)
    if not 6 <= n <= 19:
        return None, [Problem("account_number", "account_length", N_(
            "Account number must have 6 to 19 digits, got %(length)d"), {"length": n})]
    if not 8 <= n <= 16:
        return digits, [Problem("account_number", "account_length_unusual", N_(
            "Account number has %(length)d digits, which is unusual; please check"),
            {"length": n}, "warning")]
    return digits, []
