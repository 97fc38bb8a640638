"""Domain normalisation (app.services.registry.normalize) and problem messages (app.services.messages).

All names and numbers below are synthetic."""

from __future__ import annotations

import ast
import datetime as dt
import random
import sys
import unicodedata
from pathlib import Path

import pytest

from app.services.messages import N_, FieldError, Problem, has_errors
from app.services.payout import banks as bankdir
from app.services.registry import normalize as nz

ROOT = Path(__file__).resolve().parents[2]
BANKS_CSV = ROOT / "fixtures" / "banks.csv"
TODAY = dt.date(2025, 6, 1)

NAMES = [
    "Nguyễn Văn An",
    "Trần Thị Bích Ngọc",
    "Lê Hoàng Phúc",
    "Phạm Thị Hương",
    "Đặng Văn Ánh",
    "Vũ Đức Thắng",
    "Hoàng Thị Thu Hà",
    "Bùi Quang Vinh",
    "Đỗ Thị Mỹ Linh",
    "Ngô Quốc Việt",
    "Dương Văn Trường",
    "Lý Thị Yến",
    "Hồ Ngọc Ẩn",
    "Trịnh Văn Ước",
    "Đinh Thị Ổn",
    "Nguyễn Thị Hoà",
    "Quách Thị Thuỷ",
    "Nguyễn Văn Khuyến",
    "Hứa Văn Ưng",
    "Ông Văn Ích",
    "Lương Thế Vinh",
    "Tạ Thị Ỷ",
    "Phùng Thị Ửng",
    "Khổng Minh Đức",
    "Mai Thị Ngoãn",
]
UPPER_NAMES = ["NGUYỄN THỊ HƯỜNG", "TRẦN VĂN QUYẾT", "ĐẶNG THỊ ẤN"]


# ---------------------------------------------------------------------------
# messages
# ---------------------------------------------------------------------------


def test_n_marks_without_translating():
    assert N_("Invalid amount: %(value)s") == "Invalid amount: %(value)s"


def test_problem_render_uses_gettext_and_params():
    p = Problem("amount", "amount_invalid", "Invalid amount: %(value)s", {"value": "abc"})
    assert p.render() == "Invalid amount: abc"
    assert p.render(lambda s: s.replace("Invalid amount", "Số tiền không hợp lệ")) == "Số tiền không hợp lệ: abc"
    assert p.severity == "error" and p.is_error
    assert Problem("x", "c", "No params").params == {}


def test_problem_dict_round_trip_and_has_errors():
    p = Problem("cccd", "cccd_prefix_unknown", "x %(prefix)s", {"prefix": "003"}, "warning")
    assert Problem.from_dict(p.to_dict()) == p
    assert not has_errors([p])
    assert has_errors([p, Problem("cccd", "cccd_length", "y")])


def test_field_error_carries_problem():
    p = Problem("sex", "sex_invalid", "Invalid sex: %(value)s", {"value": "x"})
    err = FieldError(p)
    assert isinstance(err, ValueError)
    assert err.problem is p
    assert str(err) == "Invalid sex: x"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", ["normalize.py", "legacy_text.py", "sheets.py"])
def test_modules_are_framework_free(module):
    imported = _imports(ROOT / "app" / "services" / "registry" / module)
    allowed_third_party = {"rapidfuzz", "app", "python_calamine", "openpyxl", "xlrd"}
    for name in imported:
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top in allowed_third_party or top == "__future__", name
        if top == "app":
            assert name in ("app.services.messages", "app.services.registry.legacy_text"), name


# ---------------------------------------------------------------------------
# clean_text and legacy encodings
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ""),
        ("", ""),
        ("  Nguyễn   Văn\tAn \n", "Nguyễn Văn An"),
        ("Nguyễn\u00a0Văn\u202fAn", "Nguyễn Văn An"),
        ("Nguy\u200bễn Văn An\ufeff", "Nguyễn Văn An"),
        (12, "12"),
        (12.0, "12"),
        (1.5, "1.5"),
        ("\u00d0ặng Văn Ánh", "Đặng Văn Ánh"),
        ("\u00f0ào", "đào"),
        ("ÐINH THU HÀ", "ĐINH THU HÀ"),
    ],
)
def test_clean_text(value, expected):
    assert nz.clean_text(value) == expected


def test_clean_text_nfc():
    nfd = unicodedata.normalize("NFD", "Nguyễn Thị Hòa")
    assert nfd != "Nguyễn Thị Hòa"
    out = nz.clean_text(nfd)
    assert out == "Nguyễn Thị Hòa"
    assert unicodedata.is_normalized("NFC", out)


def test_legacy_examples_from_brief():
    assert nz.fix_legacy_encoding("NguyÔn V¨n An") == ("Nguyễn Văn An", "TCVN3")
    assert nz.fix_legacy_encoding("Nguyeãn Vaên An") == ("Nguyễn Văn An", "VNI")
    assert nz.clean_text("NguyÔn V¨n An") == "Nguyễn Văn An"
    assert nz.clean_text("  Nguyeãn   Vaên An ") == "Nguyễn Văn An"


def test_tcvn3_table_covers_all_letters():
    assert len(nz.VIETNAMESE_LETTERS) == 134
    for letter in nz.VIETNAMESE_LETTERS:
        code = nz.encode_tcvn3(letter)
        assert len(code) == 1 and ord(code) < 0x100, letter
        back = nz.decode_tcvn3(code)
        # upper-case toned letters share the lower-case code (.VnTimeH): decoded as lower case
        assert back in (letter, letter.lower()), letter
    for letter in "ĂÂÊÔƠƯĐăâêôơưđ":
        assert nz.decode_tcvn3(nz.encode_tcvn3(letter)) == letter
    lower_codes = {nz.encode_tcvn3(c) for c in nz.VIETNAMESE_LETTERS if c.islower()}
    assert len(lower_codes) == 67  # one distinct code per lower-case letter


def test_vni_table_covers_all_letters():
    codes = set()
    for letter in nz.VIETNAMESE_LETTERS:
        code = nz.encode_vni(letter)
        assert len(code) in (1, 2) and code.encode("latin-1"), letter
        assert nz.decode_vni(code) == letter, (letter, code)
        codes.add(code)
    assert len(codes) == 134


def test_known_table_entries():
    assert nz.encode_tcvn3("ễ") == "Ô" and nz.encode_tcvn3("ă") == "¨" and nz.encode_tcvn3("ư") == "\u00ad"
    assert nz.encode_tcvn3("Đ") == "§" and nz.encode_tcvn3("đ") == "®" and nz.encode_tcvn3("ờ") == "ê"
    assert nz.encode_vni("ễ") == "eã" and nz.encode_vni("ă") == "aê" and nz.encode_vni("ị") == "ò"
    assert nz.encode_vni("Đ") == "Ñ" and nz.encode_vni("ơ") == "ô" and nz.encode_vni("ư") == "ö"
    assert nz.encode_vni("Ỵ") == "Î" and nz.encode_vni("Ấ") == "AÁ"


@pytest.mark.parametrize("name", NAMES + UPPER_NAMES)
def test_vni_round_trip_names(name):
    legacy = nz.encode_vni(name)
    assert legacy != name
    assert nz.fix_legacy_encoding(legacy) == (name, "VNI")
    assert nz.clean_text(legacy) == name


@pytest.mark.parametrize("name", NAMES + UPPER_NAMES)
def test_tcvn3_round_trip_names(name):
    legacy = nz.encode_tcvn3(name)
    assert legacy != name
    # capitalised names and all-caps names get their case back (.VnTimeH has no upper case)
    assert nz.fix_legacy_encoding(legacy) == (name, "TCVN3")


def test_tcvn3_keeps_lower_case_text_lower():
    assert nz.fix_legacy_encoding("x· ¸nh S¸ng") == ("xã ánh Sáng", "TCVN3")


def test_legacy_in_address_with_numbers():
    text = "Sè 12 ngâ 34 phè Hµng B¹c"
    assert nz.clean_text(text) == "Số 12 ngõ 34 phố Hàng Bạc"


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Thị Hòa",
        "Đặng Văn Ánh",
        "Lê Ngọc Ý",
        "Trần Thủy",
        "Nguyễn Thị Hoà",
        "Quách Thị Thuỷ",
        # Latin-1-only Vietnamese, the dangerous cases (ò/ó/ô/í are VNI codes, à/á look like marks)
        "Hoàng Tô",
        "Hà Thu Hà",
        "Lò Mai Chí",
        "Tô Hoài",
        "Mã Hoàng Tú",
        "HOÀNG THU HÀ",
        "Toán",
        "Khoá",
        "Ngoãn",
        "Lý Tú",
        "Chu Hoàng Yên",
        "Hoà",
        "Tú Hoà",
        "Vi Thu Hà",
        "Lò Thò",
        "Nguyen Van An",
        "José Müller",
        "123 Phố Huế",
        "Ðinh Văn Tú",
    ],
)
def test_proper_unicode_is_never_converted(text):
    nfc = unicodedata.normalize("NFC", text)
    assert nz.fix_legacy_encoding(nfc) == (nfc, None)


def test_no_false_positive_on_latin1_syllables():
    """Every Latin-1-only Vietnamese syllable, alone and in random multi-word names."""
    inits = [
        "",
        "b",
        "c",
        "ch",
        "d",
        "g",
        "gi",
        "h",
        "k",
        "kh",
        "l",
        "m",
        "n",
        "ng",
        "nh",
        "ph",
        "qu",
        "s",
        "t",
        "th",
        "tr",
        "v",
        "x",
    ]
    nuclei = [
        "a",
        "â",
        "e",
        "ê",
        "i",
        "o",
        "ô",
        "u",
        "y",
        "ai",
        "ao",
        "au",
        "ay",
        "âu",
        "ây",
        "eo",
        "êu",
        "ia",
        "iê",
        "iu",
        "oa",
        "oe",
        "oi",
        "ôi",
        "ua",
        "uâ",
        "uê",
        "ui",
        "uô",
        "uy",
        "yê",
        "oai",
        "oay",
        "uây",
        "uôi",
        "iêu",
        "yêu",
    ]
    finals = ["", "c", "ch", "m", "n", "ng", "nh", "p", "t"]
    tones = ["", "\u0301", "\u0300", "\u0303"]  # the tones that exist in Latin-1
    # nuclei ending in a glide take no final and never carry the tone on the glide
    gliding = {
        "ai",
        "ao",
        "au",
        "ay",
        "âu",
        "ây",
        "eo",
        "êu",
        "ia",
        "iu",
        "oi",
        "ôi",
        "ua",
        "ui",
        "oai",
        "oay",
        "uây",
        "uôi",
        "iêu",
        "yêu",
    }
    syllables = set()
    for i in inits:
        for n in nuclei:
            for f in finals:
                if n in gliding and f:
                    continue
                for pos in range(len(n) - 1 if n in gliding else len(n)):
                    for t in tones:
                        w = unicodedata.normalize("NFC", i + n[: pos + 1] + t + n[pos + 1 :] + f)
                        try:
                            w.encode("latin-1")
                        except UnicodeEncodeError:
                            continue
                        syllables.add(w)
    syllables = sorted(syllables)
    assert len(syllables) > 3000
    for w in syllables:
        for form in (w, w.capitalize(), w.upper()):
            assert nz.fix_legacy_encoding(form)[1] is None, form
    rng = random.Random(6)
    for _ in range(20000):
        text = " ".join(rng.choice(syllables).capitalize() for _ in range(rng.randint(2, 4)))
        assert nz.fix_legacy_encoding(text)[1] is None, text


def test_legacy_fast_paths():
    assert nz.fix_legacy_encoding("") == ("", None)
    assert nz.fix_legacy_encoding("Nguyen Van An") == ("Nguyen Van An", None)


# ---------------------------------------------------------------------------
# tones, keys, names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        ("Hoà", "Hòa"),
        ("Thuỷ", "Thủy"),
        ("Khoẻ", "Khỏe"),
        ("Toả", "Tỏa"),
        ("Thuý", "Thúy"),
        ("Luỹ", "Lũy"),
        ("HOÀ", "HÒA"),
        ("THUỶ", "THỦY"),
        ("Nguyễn Thị Hoà", "Nguyễn Thị Hòa"),
        ("Hoá Thuỵ", "Hóa Thụy"),
        ("Xoè", "Xòe"),
    ],
)
def test_canonical_tone_moves_mark_to_first_vowel(old, new):
    assert nz.canonical_tone(old) == new
    assert nz.canonical_tone(new) == new


@pytest.mark.parametrize(
    "word", ["Quý", "Quỳnh", "Quá", "Hoàng", "Khoái", "Huỳnh", "Thuyết", "Toàn", "Khuỷu", "Nguyễn", "An", "Hòa"]
)
def test_canonical_tone_leaves_other_words(word):
    assert nz.canonical_tone(word) == word


def test_name_key_equalities():
    keys = {
        nz.name_key("Nguyễn Thị Hoà"),
        nz.name_key("NGUYỄN THỊ HÒA"),
        nz.name_key(unicodedata.normalize("NFD", "Nguyễn  Thị Hòa ")),
        nz.name_key("NguyÔn ThÞ Hoµ"),  # TCVN3
    }
    assert keys == {"nguyễn thị hòa"}
    assert nz.name_key("Quách Thị Thuỷ") == nz.name_key("quách thị thủy")
    assert nz.name_key("Nguyễn Văn An") != nz.name_key("Nguyễn Văn Anh")
    assert nz.name_key(None) == ""


@pytest.mark.parametrize(
    "name, key",
    [
        ("Nguyễn Văn An", "NGUYEN VAN AN"),
        ("Đặng Thị Ánh", "DANG THI ANH"),
        ("\u00d0ỗ  Văn  Ðức", "DO VAN DUC"),
        (unicodedata.normalize("NFD", "Trần Thủy"), "TRAN THUY"),
        ("Lê Ngọc Ý", "LE NGOC Y"),
        ("Phùng Thị Ửng", "PHUNG THI UNG"),
        ("", ""),
    ],
)
def test_ascii_key(name, key):
    assert nz.ascii_key(name) == key


def test_ascii_key_all_letters_are_ascii():
    assert nz.ascii_key(" ".join(nz.VIETNAMESE_LETTERS)).isascii()


@pytest.mark.parametrize(
    "name, parts",
    [
        ("Nguyễn Văn An", ("Nguyễn", "Văn", "An")),
        ("Trần Thị Bích Ngọc", ("Trần", "Thị Bích", "Ngọc")),
        ("Lê Hùng", ("Lê", "", "Hùng")),
        ("Hùng", ("", "", "Hùng")),
        ("  Tôn   Nữ Thị  Hà ", ("Tôn", "Nữ Thị", "Hà")),
        ("", ("", "", "")),
    ],
)
def test_split_name(name, parts):
    assert nz.split_name(name) == parts


# ---------------------------------------------------------------------------
# CCCD / CMND
# ---------------------------------------------------------------------------


def _codes(problems):
    return [p.code for p in problems]


def test_province_codes_table():
    assert len(nz.PROVINCE_CODES) == 63
    assert nz.PROVINCE_CODES["001"] == "Hà Nội"
    assert nz.PROVINCE_CODES["079"] == "TP Hồ Chí Minh"
    assert nz.PROVINCE_CODES["096"] == "Cà Mau"
    assert "003" not in nz.PROVINCE_CODES


@pytest.mark.parametrize(
    "value",
    [
        "001085012345",
        "001 085 012 345",
        "001.085.012.345",
        "001-085-012-345",
        " 001085012345 ",
        "'001085012345",
        "1,085012345E+09",
        "1.085012345e9",
    ],
)
def test_parse_cccd_accepts_formats(value):
    cccd, problems = nz.parse_cccd(value, today_year=2025)
    assert cccd == "001085012345"
    assert not has_errors(problems)


@pytest.mark.parametrize("value", [1085012345, 1085012345.0, "1085012345", "1085012345.0"])
def test_parse_cccd_restores_lost_zeros(value):
    cccd, problems = nz.parse_cccd(value, today_year=2025)
    assert cccd == "001085012345"
    assert _codes(problems) == ["cccd_zero_restored"]
    p = problems[0]
    assert p.severity == "correction" and p.params == {"old": "1085012345", "new": "001085012345"}
    assert "001085012345" in p.render()


def test_parse_cccd_restores_eleven_digits():
    cccd, problems = nz.parse_cccd(79303000001, today_year=2025)
    assert cccd == "079303000001" and _codes(problems) == ["cccd_zero_restored"]


def test_parse_cccd_zero_restore_needs_valid_result():
    # "003" is not a province code: not restorable -> length error
    cccd, problems = nz.parse_cccd(3085012345, today_year=2025)
    assert cccd is None and _codes(problems) == ["cccd_length"]
    # century digit 4 (born 2100s) is in the future: not restorable
    cccd, problems = nz.parse_cccd(1485012345, today_year=2025)
    assert cccd is None and _codes(problems) == ["cccd_length"]
    # a text value that kept its leading zero but lacks a digit is a typo, not lost zeros
    cccd, problems = nz.parse_cccd("01085012345", today_year=2025)
    assert cccd is None and _codes(problems) == ["cccd_length"]
    assert problems[0].params == {"length": 11}


@pytest.mark.parametrize("value", ["1.08501E+09", "1,08501E+11", "1,085012345E+11", 1085010000, 1085010000.0])
def test_parse_cccd_scientific_lost_digits(value):
    cccd, problems = nz.parse_cccd(value, today_year=2025)
    assert cccd is None
    assert _codes(problems) == ["cccd_scientific"]
    assert problems[0].severity == "error"


@pytest.mark.parametrize(
    "value, cmnd",
    [(123456789, "123456789"), ("012345678", "012345678"), ("012 345 678", "012345678"), (12345678, "012345678")],
)
def test_parse_cccd_cmnd(value, cmnd):
    cccd, problems = nz.parse_cccd(value, today_year=2025)
    assert cccd is None
    assert _codes(problems) == ["cccd_is_cmnd"]
    assert problems[0].severity == "warning" and problems[0].params == {"value": cmnd}
    assert nz.parse_cmnd(value) == cmnd


@pytest.mark.parametrize("value, length", [("12345", 5), ("1234567890123", 13), ("0012345678", 10)])
def test_parse_cccd_length(value, length):
    cccd, problems = nz.parse_cccd(value, today_year=2025)
    assert cccd is None and _codes(problems) == ["cccd_length"]
    assert problems[0].params == {"length": length}
    assert problems[0].render() == f"CCCD must have 12 digits, got {length}"


@pytest.mark.parametrize("value", ["00108501234A", "CCCD 001085012345", "001085/012345", -1085012345, 1.5, True])
def test_parse_cccd_chars(value):
    cccd, problems = nz.parse_cccd(value, today_year=2025)
    assert cccd is None and _codes(problems) == ["cccd_chars"]


def test_parse_cccd_empty():
    assert nz.parse_cccd(None) == (None, [])
    assert nz.parse_cccd("") == (None, [])
    assert nz.parse_cccd("   ") == (None, [])


def test_parse_cccd_future_and_prefix():
    cccd, problems = nz.parse_cccd("001230012345", today_year=2025)  # born 2030
    assert cccd == "001230012345" and _codes(problems) == ["cccd_future"]
    assert problems[0].params["year"] == 2030
    cccd, problems = nz.parse_cccd("003085012345", today_year=2025)
    assert cccd == "003085012345" and _codes(problems) == ["cccd_prefix_unknown"]
    assert problems[0].severity == "warning" and problems[0].params["prefix"] == "003"


def test_parse_cccd_consistency_with_record():
    cccd, problems = nz.parse_cccd("001085012345", birth_year=1985, sex="M", today_year=2025)
    assert cccd == "001085012345" and problems == []
    cccd, problems = nz.parse_cccd("001185012345", birth_year=1985, sex="F", today_year=2025)
    assert problems == []
    cccd, problems = nz.parse_cccd("001085012345", birth_year=1986, sex="F", today_year=2025)
    assert cccd == "001085012345"
    assert _codes(problems) == ["cccd_year_mismatch", "cccd_sex_mismatch"]
    assert problems[0].params == {"cccd_year": 1985, "row_year": 1986}
    assert problems[1].params == {"cccd_sex": "M", "row_sex": "F"}
    assert all(p.severity == "error" for p in problems)
    cccd, problems = nz.parse_cccd("001305012345", birth_year=2005, sex="F", today_year=2025)
    assert problems == []


def test_cccd_birth_info_and_build():
    assert nz.cccd_birth_info("001085012345") == (1985, "M")
    assert nz.cccd_birth_info("001185012345") == (1985, "F")
    assert nz.cccd_birth_info("079203000001") == (2003, "M")
    assert nz.cccd_birth_info("079303000001") == (2003, "F")
    assert nz.build_cccd("001", 1985, "M", 12345) == "001085012345"
    assert nz.build_cccd(79, 2003, "F", "000001") == "079303000001"
    rng = random.Random(3)
    for _ in range(200):
        code = rng.choice(list(nz.PROVINCE_CODES))
        year, sex = rng.randint(1920, 2024), rng.choice("MF")
        cccd = nz.build_cccd(code, year, sex, rng.randint(0, 999999))
        assert nz.cccd_birth_info(cccd) == (year, sex)
        assert nz.parse_cccd(cccd, birth_year=year, sex=sex, today_year=2025) == (cccd, [])
    with pytest.raises(ValueError):
        nz.build_cccd("003", 1985, "M", 1)
    with pytest.raises(ValueError):
        nz.build_cccd("001", 1985, "X", 1)
    with pytest.raises(ValueError):
        nz.cccd_birth_info("12345")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("012345678", "012345678"),
        (123456789, "123456789"),
        ("001085012345", "001085012345"),
        ("12345678", "012345678"),
        ("1234", None),
        ("12345678901", None),
        ("abc", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_cmnd(value, expected):
    assert nz.parse_cmnd(value) == expected


# ---------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (dt.date(1950, 5, 12), (dt.date(1950, 5, 12), 1950)),
        (dt.datetime(1950, 5, 12, 8, 30), (dt.date(1950, 5, 12), 1950)),
        (18395, (dt.date(1950, 5, 12), 1950)),  # Excel serial
        (18395.0, (dt.date(1950, 5, 12), 1950)),
        (18395.75, (dt.date(1950, 5, 12), 1950)),
        (61, (dt.date(1900, 3, 1), 1900)),
        ("12/05/1950", (dt.date(1950, 5, 12), 1950)),
        ("1/5/1950", (dt.date(1950, 5, 1), 1950)),
        ("12-05-1950", (dt.date(1950, 5, 12), 1950)),
        ("12.05.1950", (dt.date(1950, 5, 12), 1950)),
        ("1950-05-12", (dt.date(1950, 5, 12), 1950)),
        (" 12 / 05 / 1950 ", (dt.date(1950, 5, 12), 1950)),
        ("12/05/1950 00:00:00", (dt.date(1950, 5, 12), 1950)),
        ("1950-05-12T00:00:00", (dt.date(1950, 5, 12), 1950)),
        ("05/25/1950", (dt.date(1950, 5, 25), 1950)),  # month first, unambiguous
        ("1/5/50", (dt.date(1950, 5, 1), 1950)),
        ("1/5/15", (dt.date(2015, 5, 1), 2015)),
        ("1/5/30", (dt.date(1930, 5, 1), 1930)),  # 2030 would be in the future
        ("1/7/25", (dt.date(1925, 7, 1), 1925)),  # 1.7.2025 is after "today" (1.6.2025)
        ("1950", (None, 1950)),
        (1950, (None, 1950)),
        (1950.0, (None, 1950)),
        ("05/1950", (None, 1950)),
        ("5/1950", (None, 1950)),
        ("ngày 12 tháng 5 năm 1950", (dt.date(1950, 5, 12), 1950)),
        ("năm 1950", (None, 1950)),
        ("19500512", (dt.date(1950, 5, 12), 1950)),
        ("12051950", (dt.date(1950, 5, 12), 1950)),
        ("18395", (dt.date(1950, 5, 12), 1950)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_parse_date(value, expected):
    assert nz.parse_date(value, today=TODAY) == expected


@pytest.mark.parametrize(
    "value",
    [
        "31/02/1950",
        "abc",
        "13/13/1950",
        "00/01/1950",
        "13/1950",
        "1/1/19501",
        0,
        -5,
        True,
        3000000,
        "12/05",
        "1950/13/01",
    ],
)
def test_parse_date_invalid(value):
    with pytest.raises(FieldError) as info:
        nz.parse_date(value, today=TODAY)
    p = info.value.problem
    assert (p.field, p.code, p.severity) == ("date_of_birth", "date_invalid", "error")
    assert p.render().startswith("Invalid date of birth: ")


@pytest.mark.parametrize(
    "value",
    ["1/1/2030", "2/6/2025", "1/1/1899", "1899", 2030, "12/2030", 99999, dt.date(2026, 1, 1), dt.date(1899, 12, 31)],
)
def test_parse_date_out_of_range(value):
    with pytest.raises(FieldError) as info:
        nz.parse_date(value, today=TODAY)
    assert info.value.problem.code == "date_out_of_range"


def test_parse_date_today_is_allowed():
    assert nz.parse_date("01/06/2025", today=TODAY) == (TODAY, 2025)
    assert nz.parse_date(dt.date.today())[1] == dt.date.today().year


# ---------------------------------------------------------------------------
# sex, amounts, categories
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, sex",
    [
        ("Nam", "M"),
        ("nam", "M"),
        ("NAM", "M"),
        ("M", "M"),
        ("m", "M"),
        ("male", "M"),
        ("Male", "M"),
        ("Nữ", "F"),
        ("nữ", "F"),
        ("NỮ", "F"),
        ("nu", "F"),
        ("F", "F"),
        ("female", "F"),
        (unicodedata.normalize("NFD", "Nữ"), "F"),
        (" Nữ ", "F"),
        ("N÷", "F"),  # TCVN3
        ("", None),
        (None, None),
    ],
)
def test_parse_sex(value, sex):
    assert nz.parse_sex(value) == sex


@pytest.mark.parametrize("value", ["x", "X", "1", "0", "Nam Nữ", "khác", "abc"])
def test_parse_sex_invalid(value):
    with pytest.raises(FieldError) as info:
        nz.parse_sex(value)
    assert info.value.problem.code == "sex_invalid" and info.value.problem.field == "sex"


@pytest.mark.parametrize(
    "value, amount",
    [
        ("1.500.000", 1500000),
        ("1,500,000", 1500000),
        ("1500000", 1500000),
        ("1.500.000 đ", 1500000),
        ("1.500.000₫", 1500000),
        ("1.500.000 VNĐ", 1500000),
        ("1.500.000 đồng", 1500000),
        ("1.5 triệu", 1500000),
        ("1,5 triệu", 1500000),
        ("2 tr", 2000000),
        ("2tr", 2000000),
        ("1tr5", 1500000),
        ("2,5tr", 2500000),
        ("500 nghìn", 500000),
        ("500 ngàn", 500000),
        ("500k", 500000),
        ("360.000", 360000),
        ("2.789.000", 2789000),
        ("1 500 000", 1500000),
        ("1,500,000.00", 1500000),
        ("1.500.000,00", 1500000),
        ("1500000.0", 1500000),
        ("0", 0),
        (1500000, 1500000),
        (1500000.0, 1500000),
        (539999.99999999994, 540000),
        ("", None),
        (None, None),
        ("  ", None),
    ],
)
def test_parse_amount(value, amount):
    assert nz.parse_amount(value) == amount


@pytest.mark.parametrize(
    "value", [-5, "-1.500.000", "1500.5", "1.500.000,5", "abc", 1.5, "0,5", "1.5", "1.2.3", float("nan"), True, "1,5"]
)
def test_parse_amount_invalid(value):
    with pytest.raises(FieldError) as info:
        nz.parse_amount(value)
    assert info.value.problem.code == "amount_invalid" and info.value.problem.field == "amount"


@pytest.mark.parametrize(
    "value, code",
    [
        ("BTXH", "BTXH"),
        ("btxh", "BTXH"),
        ("Bảo trợ xã hội", "BTXH"),
        ("bao tro xa hoi", "BTXH"),
        ("BẢO TRỢ XÃ HỘI", "BTXH"),
        ("Đối tượng BTXH", "BTXH"),
        ("NCC", "NCC"),
        ("Người có công", "NCC"),
        ("Người có công với cách mạng", "NCC"),
        ("nguoi co cong", "NCC"),
        ("HN", "HN"),
        ("Hộ nghèo", "HN"),
        ("ho ngheo", "HN"),
        ("HCN", "HCN"),
        ("Hộ cận nghèo", "HCN"),
        ("ho can ngheo", "HCN"),
        ("HỘ CẬN NGHÈO", "HCN"),
        ("Khác", "KHAC"),
        ("khác", "KHAC"),
        ("KHAC", "KHAC"),
        ("", None),
        (None, None),
    ],
)
def test_parse_category(value, code):
    assert nz.parse_category(value) == code


@pytest.mark.parametrize("value", ["xyz", "BTXH, NCC", "Hộ nghèo và người có công", "123"])
def test_parse_category_invalid(value):
    with pytest.raises(FieldError) as info:
        nz.parse_category(value)
    assert info.value.problem.code == "category_invalid"


def test_categories_table():
    assert set(nz.CATEGORIES) == {"BTXH", "NCC", "HN", "HCN", "KHAC"}
    for code, name in nz.CATEGORIES.items():
        assert nz.parse_category(name) == code
        assert nz.parse_category(code) == code


# ---------------------------------------------------------------------------
# banks
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def banks():
    return bankdir.BankDirectory.from_csv(BANKS_CSV)


def test_bank_directory_loads_csv(banks):
    assert len(banks) >= 60
    assert "970436" in banks
    vcb = banks.get("970436")
    assert vcb.code == "VCB" and vcb.short_name == "Vietcombank"
    assert banks.get("970449").former_names == ("LienVietPostBank",)
    assert banks.get("971025").kind == "e_wallet"
    assert all(len(b.bin) == 6 for b in banks)


@pytest.mark.parametrize(
    "text, bin_",
    [
        ("NH Nông nghiệp", "970405"),
        ("Agribank", "970405"),
        ("NN&PTNT", "970405"),
        ("Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam", "970405"),
        ("NHNo&PTNT", "970405"),
        ("Vietin", "970415"),
        ("Viettinbank", "970415"),
        ("VietinBank", "970415"),
        ("CTG", "970415"),
        ("NHCSXH", "999888"),
        ("Ngân hàng Chính sách", "999888"),
        ("CSXH", "999888"),
        ("Ngân hàng Chính sách Xã hội", "999888"),
        ("VBSP", "999888"),
        ("VCB", "970436"),
        ("Ngoại thương", "970436"),
        ("Vietcombank", "970436"),
        ("Vietcom bank", "970436"),
        ("Ngân hàng TMCP Ngoại Thương Việt Nam", "970436"),
        ("ngan hang ngoai thuong", "970436"),
        ("BIDV", "970418"),
        ("Đầu tư và Phát triển", "970418"),
        ("BIDV CN Thăng Long", "970418"),
        ("LienVietPostBank", "970449"),
        ("Liên Việt Post Bank", "970449"),
        ("LPBank", "970449"),
        ("Viettel Money", "971005"),
        ("MoMo", "971025"),
        ("Ví MoMo", "971025"),
        ("VNPT Money", "971011"),
        ("DongA Bank", "970406"),
        ("Ocean Bank", "970414"),
        ("Viet Capital Bank", "970454"),
        ("Techcombank", "970407"),
        ("MB Bank", "970422"),
        ("VP Bank", "970432"),
        ("970436", "970436"),
        ("Agribank chi nhánh Hoàn Kiếm", "970405"),
        ("Ngân hàng TNHH MTV HSBC (Việt Nam)", "458761"),
        ("Ngân hàng Công nghiệp Hàn Quốc - Chi nhánh Hà Nội", "970455"),
    ],
)
def test_bank_resolve_exact(banks, text, bin_):
    got, score, candidates = banks.resolve(text)
    assert (got, score) == (bin_, 100.0)
    assert candidates == [bin_]
    assert bankdir.is_confident(score)


@pytest.mark.parametrize(
    "text, bin_",
    [
        ("Agribank Hà Nội", "970405"),
        ("Vietcombank Hà Nội", "970436"),
        ("NH NN&PTNT Ba Đình", "970405"),
    ],
)
def test_bank_resolve_contained(banks, text, bin_):
    got, score, candidates = banks.resolve(text)
    assert got == bin_ and score == 90.0 and candidates[0] == bin_


@pytest.mark.parametrize("text, bin_", [("Agribak", "970405"), ("Vietcombak", "970436"), ("Techcombak", "970407")])
def test_bank_resolve_fuzzy_typos(banks, text, bin_):
    got, score, candidates = banks.resolve(text)
    assert got == bin_ and 90 <= score < 100 and candidates[0] == bin_


def test_bank_resolve_uncertain_goes_to_review(banks):
    got, score, candidates = banks.resolve("Kookmin")  # two branches share the name
    assert not bankdir.is_confident(score)
    assert set(candidates) == {"970462", "970463"} and got in candidates
    got, score, candidates = banks.resolve("IBK")
    assert not bankdir.is_confident(score)
    assert {"970455", "970456"} <= set(candidates)


@pytest.mark.parametrize("text", ["", None, "Ngân hàng", "abc xyz", "123456"])
def test_bank_resolve_nothing(banks, text):
    got, score, _candidates = banks.resolve(text)
    assert got is None and not bankdir.is_confident(score)


def test_bank_resolve_bin_with_name(banks):
    assert banks.resolve("970436 - Vietcombank") == ("970436", 100.0, ["970436"])
    got, score, candidates = banks.resolve("970436 - BIDV")
    assert got == "970436" and score < 90 and candidates == ["970436", "970418"]


def test_bank_aliases_point_at_known_bins(banks):
    assert all(bin_ in banks for bin_ in bankdir.ALIASES.values())
    for alias, bin_ in bankdir.ALIASES.items():
        assert banks.resolve(alias)[0] == bin_, alias


def test_bank_directory_from_rows_and_former_name_delimiters():
    d = bankdir.BankDirectory(
        [
            {
                "bin": "970406",
                "code": "VIKKI",
                "short_name": "Vikki Bank",
                "name_vi": "Ngân hàng TNHH MTV Số Vikki",
                "swift": "",
                "kind": "bank",
                "former_names": "DongA Bank; Ngân hàng Đông Á",
            },
            {
                "bin": "970414",
                "code": "MBV",
                "short_name": "MBV",
                "name_vi": "Ngân hàng TNHH MTV Việt Nam Hiện Đại",
                "swift": "",
                "kind": "bank",
                "former_names": "Ocean Bank|OceanBank",
            },
        ],
        aliases={},
    )
    assert d.get("970406").former_names == ("DongA Bank", "Ngân hàng Đông Á")
    assert d.resolve("Ngân hàng Đông Á")[:2] == ("970406", 100.0)
    assert d.resolve("OceanBank")[:2] == ("970414", 100.0)


def test_is_confident():
    assert bankdir.is_confident(90) and bankdir.is_confident(100)
    assert not bankdir.is_confident(89.9)


# ---------------------------------------------------------------------------
# account numbers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, number",
    [
        ("0123456789", "0123456789"),
        ("0123 456 789", "0123456789"),
        ("0123.456.789", "0123456789"),
        ("0123-456-789", "0123456789"),
        (" '0011223344 ", "0011223344"),
        (123456789, "123456789"),
        (123456789012.0, "123456789012"),
        ("1,23456789012E+11", "123456789012"),
        ("1234567890.0", "1234567890"),
    ],
)
def test_parse_account_number(value, number):
    assert nz.parse_account_number(value) == (number, [])


@pytest.mark.parametrize("value", [1.23e12, "1.23E+12", "1,23457E+12", 1e16, 1234570000000.0])
def test_parse_account_scientific(value):
    number, problems = nz.parse_account_number(value)
    assert number is None and [p.code for p in problems] == ["account_scientific"]
    assert problems[0].field == "account_number" and problems[0].severity == "error"
    assert "E+" in problems[0].params["value"]


@pytest.mark.parametrize("value, length", [("12345", 5), (12345, 5), ("123456789012345678901", 21)])
def test_parse_account_length(value, length):
    number, problems = nz.parse_account_number(value)
    assert number is None and [p.code for p in problems] == ["account_length"]
    assert problems[0].params == {"length": length}


@pytest.mark.parametrize("value", ["1234567", "123456", "12345678901234567", "1234567890123456789"])
def test_parse_account_unusual_length_is_warning(value):
    number, problems = nz.parse_account_number(value)
    assert number == value
    assert [(p.code, p.severity) for p in problems] == [("account_length_unusual", "warning")]


@pytest.mark.parametrize("value", ["12ab56789", "0123/456/789", -123456789, 12345678.5])
def test_parse_account_chars(value):
    number, problems = nz.parse_account_number(value)
    assert number is None and [p.code for p in problems] == ["account_chars"]


def test_parse_account_empty():
    assert nz.parse_account_number(None) == (None, [])
    assert nz.parse_account_number("") == (None, [])


# ---------------------------------------------------------------------------
# messages of every rule
# ---------------------------------------------------------------------------


def test_every_problem_renders_its_params():
    cases = [
        nz.parse_cccd("12345")[1],
        nz.parse_cccd("1.08501E+09")[1],
        nz.parse_cccd(1085012345, today_year=2025)[1],
        nz.parse_cccd(123456789)[1],
        nz.parse_cccd("003085012345", today_year=2025)[1],
        nz.parse_cccd("001230012345", today_year=2025)[1],
        nz.parse_cccd("001085012345", birth_year=1986, sex="F", today_year=2025)[1],
        nz.parse_cccd("abc")[1],
        nz.parse_account_number("1.2E+12")[1],
        nz.parse_account_number("12")[1],
        nz.parse_account_number("1234567")[1],
        nz.parse_account_number("12a4567")[1],
    ]
    for fn, bad in (
        (nz.parse_date, "abc"),
        (nz.parse_date, "1/1/2099"),
        (nz.parse_sex, "x"),
        (nz.parse_amount, "abc"),
        (nz.parse_category, "xyz"),
    ):
        with pytest.raises(FieldError) as info:
            fn(bad)
        cases.append([info.value.problem])
    problems = [p for found in cases for p in found]
    assert len(problems) >= 17
    for p in problems:
        text = p.render()
        assert "%(" not in text and text.strip()
        assert p.severity in ("error", "warning", "correction")


@pytest.mark.parametrize(
    "value,expected",
    [
        ("0912345678", "0912345678"),
        ("091 234 5678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84912345678", "0912345678"),
        ("0389.123.456", "0389123456"),
        ("(070) 123-4567", "0701234567"),
        ("", None),
        (None, None),
    ],
)
def test_parse_phone_accepts_vietnamese_mobile_numbers(value, expected):
    assert nz.parse_phone(value) == expected


@pytest.mark.parametrize(
    "value",
    ["091234567", "09123456789", "0212345678", "0112345678", "+1 912 345 678", "84-91234567", "abc", "0912 345 67x"],
)
def test_parse_phone_refuses_other_numbers(value):
    with pytest.raises(FieldError) as exc:
        nz.parse_phone(value)
    assert (exc.value.problem.field, exc.value.problem.code) == ("phone", "phone_invalid")


def test_bank_suggestions_are_names_of_known_banks(banks):
    _got, _score, candidates = banks.resolve("Kookmin")
    assert banks.suggestions(candidates) and all("Kookmin" in n for n in banks.suggestions(candidates))
    assert banks.suggestions([]) == [] and banks.suggestions(["000000"]) == []
