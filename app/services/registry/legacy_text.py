"""Vietnamese letters and the legacy 8-bit encodings (TCVN3, VNI) as they look when a file is read as
Windows-1252: the one table of each, used by the value rules (``normalize.clean_text``) and by the header
search of hand-made spreadsheets (``sheets``). Pure stdlib."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# ---------------------------------------------------------------------------
# Vietnamese letters
# ---------------------------------------------------------------------------

_VOWEL_BASES = "aăâeêioôơuưy"
# Tone order used by every table below: none, sắc, huyền, hỏi, ngã, nặng.
_TONE_COMBINING = ("", "\u0301", "\u0300", "\u0309", "\u0303", "\u0323")


def compose(base: str, tone: int) -> str:
    return unicodedata.normalize("NFC", base + _TONE_COMBINING[tone])


#: (lower-case letter, base letter, tone index) for the 67 lower-case Vietnamese letters
_LETTER_INFO: list[tuple[str, str, int]] = [(compose(b, t), b, t) for b in _VOWEL_BASES for t in range(6)] + [
    ("đ", "đ", 0)
]
_LOWER_LETTERS = [x[0] for x in _LETTER_INFO]
#: The 134 Vietnamese letters beyond plain ASCII a–z (67 lower + 67 upper case).
VIETNAMESE_LETTERS: tuple[str, ...] = tuple(
    [c for c in _LOWER_LETTERS if not c.isascii()] + [c.upper() for c in _LOWER_LETTERS if not c.isascii()]
)
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
_TCVN3_UPPER = {
    "Ă": "\u00a1",
    "Â": "\u00a2",
    "Ê": "\u00a3",
    "Ô": "\u00a4",
    "Ơ": "\u00a5",
    "Ư": "\u00a6",
    "Đ": "\u00a7",
    "đ": "\u00ae",
}

_TCVN3_ENCODE: dict[str, str] = {}
for _base, _row in _TCVN3_ROWS.items():
    for _tone, _code in enumerate(_row):
        _letter = compose(_base, _tone)
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
_TCVN3_AMBIGUOUS_CASE = frozenset(
    c for c, letter in _TCVN3_DECODE.items() if letter.islower() and letter.upper() != letter
)

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
        _letter = compose(_base, _tone)
        if not _letter.isascii():  # keep identities such as "í" -> "í" for decoding
            _VNI_ENCODE[_letter] = _code
            _VNI_ENCODE[_letter.upper()] = _code.upper()
_VNI_DECODE: dict[str, str] = {}
for _letter, _code in _VNI_ENCODE.items():
    if len(_code) == 1:
        _VNI_DECODE[_code] = _letter
    else:  # accept the mark in either case; the base letter decides the case
        _b, _m = _code[0], _code[1:]
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
_TCVN3_STRONG_RE = re.compile("[" + re.escape("".join(c for c in _TCVN3_DECODE if c not in _VIET_LATIN1)) + "]")

# Permissive Vietnamese syllable shape (on lower case, tone removed); used to judge whether
# a conversion produced Vietnamese.  Nuclei ending in a glide (ai, ao, ..., -a diphthongs)
# take no final consonant and never carry the tone on their last letter.
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdđghklmnpqrstvx])?"
    r"(?:(?P<open>uya|uyu|uây|uôi|ươi|ươu|oai|oay|oeo|iêu|yêu|ia|ua|ưa|ai|ao|au|ay|âu|ây|eo|êu"
    r"|iu|oi|ôi|ơi|ui|ưi|ưu)"
    r"|(?:uyê|iê|yê|uô|ươ|uơ|oa|oă|oe|uê|uâ|uy|oo|[aăâeêioôơuưy])(?:ch|nh|ng|[cmnpt])?)"
)
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
        original[i].isascii() and original[i].isupper() and original[i - 1].isalpha() for i in range(1, len(original))
    ):
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
        for wo, wc in zip(words_o, words_c, strict=True):
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
