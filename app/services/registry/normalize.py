"""Normalisation and validation of imported beneficiary data (pure domain code).

Plain Python + stdlib + rapidfuzz only: no Flask, Flask-AppBuilder or RQ, so that the
import jobs, the CLI and the tests can use it directly.  Everything here runs once per
cell on files of up to a million rows, so regexes are precompiled, character maps use
``str.translate`` and the slow paths (legacy encodings, bank names) are cached.

User-facing problems are :class:`~app.services.messages.Problem` objects with English
msgids (translated at display time).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Any

from app.services.messages import N_, FieldError, Problem
from app.services.registry.legacy_text import (  # noqa: F401  (part of this module's interface)
    VIETNAMESE_LETTERS,
    compose,
    decode_tcvn3,
    decode_vni,
    encode_tcvn3,
    encode_vni,
    fix_legacy_encoding,
)

__all__ = [
    "CATEGORIES",
    "PROVINCE_CODES",
    "ascii_key",
    "build_cccd",
    "canonical_tone",
    "cccd_birth_info",
    "clean_text",
    "decode_tcvn3",
    "decode_vni",
    "encode_tcvn3",
    "encode_vni",
    "fix_legacy_encoding",
    "name_key",
    "parse_account_number",
    "parse_amount",
    "parse_category",
    "parse_cccd",
    "parse_cmnd",
    "parse_date",
    "parse_phone",
    "parse_sex",
    "split_name",
    "strip_tones",
    "VIETNAMESE_LETTERS",
]

# ---------------------------------------------------------------------------
# Text, tones and names
# ---------------------------------------------------------------------------

_INVISIBLE = {0x200B: None, 0x200C: None, 0x200D: None, 0x2060: None, 0xFEFF: None}
_INVISIBLE_TABLE = str.maketrans(_INVISIBLE)
_AFTER_LEGACY_TABLE = str.maketrans({"\u00d0": "Đ", "\u00f0": "đ", "\u00ad": None})
_INVISIBLE_RE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")
_AFTER_LEGACY_RE = re.compile("[\u00d0\u00f0\u00ad]")


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
    return _clean_str(_to_str(value))


# The keys of one cell clean the same text several times (name, name key, search key, sort key), and lists
# repeat names, villages and streets: remember the latest distinct texts (a pure function, bounded cache).
@lru_cache(maxsize=16384)
def _clean_str(s: str) -> str:
    if s.isascii():
        return " ".join(s.split())
    if not unicodedata.is_normalized("NFC", s):
        s = unicodedata.normalize("NFC", s)
    # str.translate looks every character up in a dict: only when one of the characters is there at all
    if _INVISIBLE_RE.search(s):
        s = s.translate(_INVISIBLE_TABLE)
    s = " ".join(s.split())  # str.split() knows NBSP & co.
    s = fix_legacy_encoding(s)[0]
    return s.translate(_AFTER_LEGACY_TABLE) if _AFTER_LEGACY_RE.search(s) else s


def _build_tone_moves() -> dict[str, str]:
    moves: dict[str, str] = {}
    for first, seconds in (("o", "ae"), ("u", "y")):
        for second in seconds:
            for tone in range(1, 6):
                for f in (first, first.upper()):
                    for s in (second, second.upper()):
                        moves[f + compose(s, tone)] = compose(f, tone) + s
    return moves


_TONE_MOVES = _build_tone_moves()
_TONE_MOVE_RE = re.compile(r"(?<![qQ])(?:" + "|".join(map(re.escape, _TONE_MOVES)) + r")(?!\w)")


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
    s = clean_text(name)
    if s.isascii():
        return " ".join(s.upper().split())
    # Folding is per character and never makes a space: fold word by word, and remember the words (a few
    # thousand syllables make every Vietnamese name and address). A lone combining mark folds to nothing.
    return " ".join([w for w in map(_ascii_word, s.split()) if w])


@lru_cache(maxsize=65536)
def _ascii_word(word: str) -> str:
    s = word.translate(_ASCII_FOLD)
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return " ".join(s.upper().split())


def strip_tones(text: Any) -> str:
    """Vietnamese text without tones or diacritics, case and spacing kept ("Đã chuyển" -> "Da chuyen"): the form
    of a text message that every phone shows in the GSM-7 alphabet."""
    s = clean_text(text).translate(_ASCII_FOLD)
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return s


def search_key(text: Any) -> str:
    """Search form of a name or address: ASCII, lower case, single spaces ("Nguyễn  Hoàng Kiên" ->
    "nguyen hoang kien"). Stored keys and the user's search input are folded by this one function."""
    return ascii_key(text).lower()


# Vietnamese alphabetical order: a < ă < â < b < c < d < đ < e < ê < g < ... (f, j, w, z of foreign names
# in their Latin places); letters are compared first over the whole text, tones only between texts with
# the same letters: no tone < huyền < sắc < hỏi < ngã < nặng.
_VI_ALPHABET = (
    "a",
    "ă",
    "â",
    "b",
    "c",
    "d",
    "đ",
    "e",
    "ê",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "m",
    "n",
    "o",
    "ô",
    "ơ",
    "p",
    "q",
    "r",
    "s",
    "t",
    "u",
    "ư",
    "v",
    "w",
    "x",
    "y",
    "z",
)
_LETTER_CODES = {letter: f"{20 + i:02d}" for i, letter in enumerate(_VI_ALPHABET)}
_TONE_MARKS = {"\u0300": "1", "\u0301": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_KEEP_MARKS = ("\u0306", "\u0302", "\u031b")  # breve, circumflex, horn: part of the letter
_OTHER_CODE = "99"
COLLATION_KEY_LENGTH = 400


@lru_cache(maxsize=4096)
def _letter_and_tone(ch: str) -> tuple[str | None, str]:
    """(letter code or None for a character that does not sort, tone digit) of one lower-case character."""
    if ch.isdigit() and ch.isascii():
        return f"{2 + int(ch):02d}", ""
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    tone = next((_TONE_MARKS[m] for m in marks if m in _TONE_MARKS), "0")
    letter = unicodedata.normalize("NFC", base + "".join(m for m in marks if m in _KEEP_MARKS))
    if letter in _LETTER_CODES:
        return _LETTER_CODES[letter], tone
    folded = letter.translate(_ASCII_FOLD)
    if folded in _LETTER_CODES:
        return _LETTER_CODES[folded], tone
    return (_OTHER_CODE, tone) if ch.isalpha() else (None, "")


def collation_key(text: Any) -> str:
    """Sort key of a text in Vietnamese alphabetical order, made of digits only, so that plain byte order
    (any database collation) sorts as Vietnamese does. Case is ignored; punctuation does not sort; words
    are compared one by one (a shorter word first). Layout: two digits per letter or digit ("01" between
    words), "00", then one tone digit per letter."""
    return _collation_key(clean_text(text))


@lru_cache(maxsize=16384)  # family, middle and given names repeat: one key per distinct word group
def _collation_key(cleaned: str) -> str:
    letters: list[str] = []
    tones: list[str] = []
    for word in cleaned.lower().split():
        codes = []
        for ch in word:
            code, tone = _letter_and_tone(ch)
            if code is not None:
                codes.append(code)
                tones.append(tone)
        if codes:
            if letters:
                letters.append("01")
            letters.extend(codes)
    return ("".join(letters) + "00" + "".join(tones))[:COLLATION_KEY_LENGTH]


def name_sort_key(name: Any) -> str:
    """Sort key of a person's name as Vietnamese lists sort: by given name (letters, then tones), then family
    name, then middle name ("Trần Văn An" before "Lê Thị Anh" before "Đỗ Thị Ánh" before "Lê Bình")."""
    family, middle, given = split_name(name)
    return "".join(collation_key(part) for part in (given, family, middle))[:COLLATION_KEY_LENGTH]


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


def _id_digits(value: Any) -> tuple[str, bool, str | None]:  # noqa: C901
    """Digits of an identifier cell -> (digits, numeric, error) where error is None,
    "chars" or "scientific".  Empty input gives ("", False, None)."""
    if type(value) is str and value.isdigit() and value.isascii():  # the usual cell: digits typed as text
        return value, False, None
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
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa-Vũng Tàu",
    "079": "TP Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
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


def parse_cccd(
    value: Any, *, birth_year: int | None = None, sex: str | None = None, today_year: int | None = None
) -> tuple[str | None, list[Problem]]:
    """Read a CCCD cell -> (12-digit string or None, problems).

    The number is None when it cannot be read as 12 digits (then there is an error, or a
    ``cccd_is_cmnd`` warning: the caller keeps the value as a CMND via :func:`parse_cmnd`).
    When the digits are fine but disagree with the record (future year, year or sex
    mismatch) the number is returned *with* error problems, so it can be shown for review.
    """
    digits, _numeric, error = _id_digits(value)
    shown = _shown_id(value)
    if error == "scientific":
        return None, [
            _cccd_problem(
                "cccd_scientific",
                N_("CCCD %(value)s is in scientific notation and has lost digits; enter it as text"),
                value=shown,
            )
        ]
    if error:
        return None, [_cccd_problem("cccd_chars", N_("CCCD must contain only digits: %(value)s"), value=shown)]
    if not digits:
        return None, []
    today_year = today_year or _this_year()
    problems: list[Problem] = []
    n = len(digits)
    if n == 12:
        cccd = digits
    elif 9 <= n <= 11 and digits[0] != "0" and _cccd_plausible(digits.zfill(12), today_year):
        cccd = digits.zfill(12)
        problems.append(
            _cccd_problem(
                "cccd_zero_restored",
                N_("CCCD %(old)s had lost its leading zeros; restored to %(new)s"),
                "correction",
                old=digits,
                new=cccd,
            )
        )
    elif n == 9 or (n == 8 and digits[0] != "0"):
        return None, [
            _cccd_problem(
                "cccd_is_cmnd",
                N_("%(value)s is an old 9-digit ID card number (CMND), not a CCCD"),
                "warning",
                value=digits.zfill(9),
            )
        ]
    else:
        return None, [_cccd_problem("cccd_length", N_("CCCD must have 12 digits, got %(length)d"), length=n)]
    prefix = cccd[:3]
    if prefix not in PROVINCE_CODES:
        problems.append(
            _cccd_problem(
                "cccd_prefix_unknown",
                N_("CCCD %(value)s starts with an unknown province code %(prefix)s"),
                "warning",
                value=cccd,
                prefix=prefix,
            )
        )
    year, cccd_sex = cccd_birth_info(cccd)
    if year > today_year:
        problems.append(
            _cccd_problem(
                "cccd_future",
                N_("CCCD %(value)s gives birth year %(year)d, which is in the future"),
                value=cccd,
                year=year,
            )
        )
    elif birth_year is not None and int(birth_year) != year:
        problems.append(
            _cccd_problem(
                "cccd_year_mismatch",
                N_("CCCD birth year %(cccd_year)d does not match the birth year %(row_year)d"),
                cccd_year=year,
                row_year=int(birth_year),
            )
        )
    if sex in ("M", "F") and sex != cccd_sex:
        problems.append(
            _cccd_problem(
                "cccd_sex_mismatch",
                N_("CCCD sex %(cccd_sex)s does not match the sex %(row_sex)s"),
                cccd_sex=cccd_sex,
                row_sex=sex,
            )
        )
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
    "nam": "M",
    "m": "M",
    "male": "M",
    "nam gioi": "M",
    "gioi tinh nam": "M",
    "nu": "F",
    "f": "F",
    "female": "F",
    "nu gioi": "F",
    "gioi tinh nu": "F",
}


def parse_sex(value: Any) -> str | None:
    """ "Nam"/"M"/"male" -> "M", "Nữ"/"nu"/"F"/"female" -> "F"; empty -> None.
    Anything else raises FieldError ``sex_invalid``."""
    if value is None:
        return None
    s = clean_text(value)
    if not s:
        return None
    sex = _SEX_WORDS.get(ascii_key(s).lower())
    if sex is None:
        raise FieldError(Problem("sex", "sex_invalid", N_("Invalid sex: %(value)s (use Nam or Nữ)"), {"value": s}))
    return sex


_AMOUNT_CURRENCY_RE = re.compile(r"\s*(?:vnd|vnđ|dong|đồng|đ|d|₫)\.?$")
_AMOUNT_UNIT_RE = re.compile(r"^(.*?)\s*(trieu|tr|ty|ti|nghin|ngan|k)\.?$")
_AMOUNT_TR_RE = re.compile(r"^(\d+)\s*tr(?:ieu)?\s*(\d{1,3})$")  # "1tr5" = 1,500,000
_AMOUNT_UNITS = {"trieu": 10**6, "tr": 10**6, "ty": 10**9, "ti": 10**9, "nghin": 1000, "ngan": 1000, "k": 1000}
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
    return FieldError(Problem("amount", "amount_invalid", N_("Invalid amount: %(value)s"), {"value": shown}))


_MONTH_RE = re.compile(
    r"^(?:ngay\s*)?(?:(\d{1,2})\s*[/.\-]\s*)?(?:thang\s*)?(\d{1,2})\s*(?:[/.\-]|\s*nam\s*)\s*(\d{4})$"
)
_ISO_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[ t].*)?$")


def parse_month(value: Any) -> dt.date | None:
    """A benefit start month -> its first day. Empty -> None. Accepts dates, mm/yyyy, m-yyyy, dd/mm/yyyy,
    "tháng 3/2025", "tháng 3 năm 2025", yyyy-mm(-dd). Raises FieldError ``month_invalid`` (also for a year
    outside 2000-2100: a decision the programme cannot have taken)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    shown = _to_str(value).strip()
    month = None
    if isinstance(value, dt.date):
        month = value.replace(day=1)
    else:
        key = ascii_key(shown).lower().strip()
        m = _MONTH_RE.match(key)
        iso = _ISO_MONTH_RE.match(key)
        try:
            if m:
                month = dt.date(int(m.group(3)), int(m.group(2)), 1)
                if m.group(1):
                    dt.date(month.year, month.month, int(m.group(1)))  # the day must exist too
            elif iso:
                month = dt.date(int(iso.group(1)), int(iso.group(2)), 1)
        except ValueError:
            month = None
    if month is None or not 2000 <= month.year <= 2100:
        raise FieldError(
            Problem(
                "start_month",
                "month_invalid",
                N_("Invalid start month: %(value)s (write mm/yyyy)"),
                {"value": shown},
            )
        )
    return month


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
        if not -1e-6 <= value - rounded <= 1e-6:
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
    "BTXH": "Bảo trợ xã hội",
    "NCC": "Người có công",
    "HN": "Hộ nghèo",
    "HCN": "Hộ cận nghèo",
    "KHAC": "Khác",
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
        raise FieldError(Problem("category", "category_invalid", N_("Unknown category: %(value)s"), {"value": s}))
    return code


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
        return None, [
            Problem(
                "account_number",
                "account_scientific",
                N_("Account number %(value)s is in scientific notation and has lost digits; enter it as text"),
                {"value": shown},
            )
        ]
    if error:
        return None, [
            Problem(
                "account_number",
                "account_chars",
                N_("Account number must contain only digits: %(value)s"),
                {"value": shown},
            )
        ]
    if not digits:
        return None, []
    n = len(digits)
    if not 6 <= n <= 19:
        return None, [
            Problem(
                "account_number",
                "account_length",
                N_("Account number must have 6 to 19 digits, got %(length)d"),
                {"length": n},
            )
        ]
    if not 8 <= n <= 16:
        return digits, [
            Problem(
                "account_number",
                "account_length_unusual",
                N_("Account number has %(length)d digits, which is unusual; please check"),
                {"length": n},
                "warning",
            )
        ]
    return digits, []


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")
_PHONE = re.compile(r"0[35789]\d{8}")


def parse_phone(value: Any, field: str = "phone") -> str | None:
    """A Vietnamese mobile number as its 10 digits (03/05/07/08/09…); "+84", "0084" or "84" in front stands for
    the leading 0, and spaces, dots, dashes and brackets are ignored. Empty -> None; anything else raises
    FieldError."""
    shown = clean_text(value)
    if not shown:
        return None
    digits = _PHONE_SEPARATORS.sub("", shown)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):  # the international call prefix dialled from Vietnam
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _PHONE.fullmatch(digits):
        raise FieldError(
            Problem(
                field,
                "phone_invalid",
                N_(
                    "%(value)s is not a Vietnamese phone number: 10 digits starting with 03, 05, 07, 08 or 09 "
                    "(+84 accepted)"
                ),
                {"value": shown},
            )
        )
    return digits
