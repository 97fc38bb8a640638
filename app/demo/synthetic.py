"""Seeded, reproducible synthetic population of Hà Nội for demos and benchmarks.

DỮ LIỆU GIẢ LẬP — không phải người thật.  Every person, CCCD/CMND number,
date of birth, address and beneficiary record produced by this module is
*synthetic*: names are drawn independently (family, middle and given name)
from frequency tables in ``fixtures/names/``, numbers are generated, and
addresses combine a generic list of Hà Nội street / village names with the
administrative units the caller passes.  Any resemblance to a real person is
coincidental.  Mark data loaded from here with :data:`SYNTHETIC_LABEL`.

Pure module: stdlib only (no Flask, no numpy, no Faker).

Public API
----------
``SYNTHETIC_LABEL``
    Label to show wherever this data is displayed or exported.
``load_legacy_communes(path) -> list[(commune_code, commune_name, district_name)]``
    Reads ``fixtures/hanoi_legacy_units.csv``.
``generate_citizens(seed, n, communes, *, start_serial=0) -> Iterator[tuple]``
    Rows ``(cccd, cmnd, full_name, date_of_birth_iso|None, birth_year, sex,
    address, commune_code, status, status_date_iso|None)``.
``draw_beneficiaries(seed, citizens, m, communes_by_code) -> Iterator[dict]``
    A beneficiary list drawn from a citizen sample, with injected faults.
``strip_diacritics(name)``, ``tone_variant(name)``
    Name helpers used for the faults.

Design notes (citizens)
-----------------------
* The stream of a seed is cut into batches of :data:`BATCH_ROWS` rows; batch
  ``b`` has its own ``random.Random`` seeded from ``(seed, b)``, so
  ``generate_citizens(seed, n, c, start_serial=s)`` yields exactly rows
  ``s .. s+n-1`` of the same stream (chunked generation equals one long run)
  and costs O(n), not O(s+n).
* CCCD uniqueness: digits 1-6 are the bucket (province prefix, century/sex
  digit, 2-digit year).  Inside a bucket, batch ``b`` owns the serial slots
  ``b*SLOTS_PER_BATCH .. b*SLOTS_PER_BATCH+SLOTS_PER_BATCH-1``; slot ``x`` is
  written as the 6 digits ``(A_k*x + B_k) mod 10**6`` with a seeded per-bucket
  ``A_k`` coprime to 10 (a bijection).  So CCCDs are unique over the whole
  stream of one seed, also across chunks.  A bucket that would need more than
  ``SLOTS_PER_BATCH`` rows in one batch (practically impossible with the
  built-in weights, ~12 expected) spills to the next province prefix.
  Capacity: :data:`MAX_ROWS` rows per seed (32,000,000).  Different seeds are
  NOT guaranteed disjoint: to add people to an existing population use the
  same seed and ``start_serial`` = number of rows already generated.
* CMND (9 digits, old-style province code + 7 digits) for about 30 % of people
  born before 1990, derived from a bijection of the running row index: unique
  per province code while the stream stays under 10,000,000 rows.
* Weighted draws use 16-bit lookup tables (one ``randbytes`` per batch); the
  quantisation (1/65536) is far below any weight used here.  Output depends on
  the seed, the name CSV files and the ``communes`` list (order included).
"""

from __future__ import annotations

import array
import csv
import datetime as _dt
import gc
import math
import random
import sys
import unicodedata
import warnings
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

__all__ = [
    "SYNTHETIC_LABEL",
    "BATCH_ROWS",
    "SLOTS_PER_BATCH",
    "MAX_ROWS",
    "PROVINCES",
    "CATEGORY_SHARES",
    "FAULT_SHARES",
    "POLICIES",
    "SyntheticDataWarning",
    "load_legacy_communes",
    "load_name_table",
    "generate_citizens",
    "draw_beneficiaries",
    "strip_diacritics",
    "tone_variant",
]

SYNTHETIC_LABEL = "DỮ LIỆU GIẢ LẬP — không phải người thật"

NAMES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "names"

BATCH_ROWS = 2048
SLOTS_PER_BATCH = 64
_SERIAL_SPACE = 1_000_000
MAX_ROWS = (_SERIAL_SPACE // SLOTS_PER_BATCH) * BATCH_ROWS

_U16 = 65536
_DATE_SLOTS = 1024  # per birth year; slots map to a day or to None
_ADDR_SLOTS = 16384  # per commune type
_WORDS_PER_ROW = 10  # 16-bit random words per citizen row

FIRST_YEAR = 1920
LAST_YEAR = 2023
_YEARS = tuple(range(FIRST_YEAR, LAST_YEAR + 1))


class SyntheticDataWarning(UserWarning):
    """A requested feature of the synthetic data could not be produced."""


# --------------------------------------------------------------------------
# Static data
# --------------------------------------------------------------------------

# (CCCD prefix, province, weight %, old CMND 2-digit code).  ~75 % Hà Nội;
# the rest are mostly the provinces around Hà Nội and the north-central coast.
PROVINCES: tuple[tuple[str, str, float, str], ...] = (
    ("001", "Hà Nội", 75.0, "01"),
    ("034", "Thái Bình", 3.0, "15"),
    ("036", "Nam Định", 3.0, "16"),
    ("038", "Thanh Hóa", 2.4, "17"),
    ("040", "Nghệ An", 2.2, "18"),
    ("035", "Hà Nam", 1.5, "16"),
    ("033", "Hưng Yên", 1.5, "14"),
    ("030", "Hải Dương", 1.5, "14"),
    ("037", "Ninh Bình", 1.0, "16"),
    ("027", "Bắc Ninh", 1.0, "12"),
    ("026", "Vĩnh Phúc", 1.0, "13"),
    ("025", "Phú Thọ", 1.0, "13"),
    ("017", "Hòa Bình", 0.8, "11"),
    ("024", "Bắc Giang", 0.8, "12"),
    ("042", "Hà Tĩnh", 0.7, "18"),
    ("019", "Thái Nguyên", 0.5, "09"),
    ("031", "Hải Phòng", 0.5, "03"),
    ("022", "Quảng Ninh", 0.3, "10"),
    ("079", "Hồ Chí Minh", 0.3, "02"),
    ("044", "Quảng Bình", 0.2, "19"),
    ("046", "Thừa Thiên Huế", 0.2, "19"),
    ("020", "Lạng Sơn", 0.2, "08"),
    ("008", "Tuyên Quang", 0.2, "07"),
    ("015", "Yên Bái", 0.2, "06"),
    ("014", "Sơn La", 0.2, "05"),
    ("048", "Đà Nẵng", 0.1, "20"),
    ("010", "Lào Cai", 0.1, "06"),
    ("002", "Hà Giang", 0.1, "07"),
    ("004", "Cao Bằng", 0.1, "08"),
    ("011", "Điện Biên", 0.1, "04"),
)

_FEMALE_ONLY_FAMILY = frozenset({"Tôn Nữ"})
_MALE_ONLY_FAMILY = frozenset({"Tôn Thất"})

# Share of the traditional middle name by birth cohort (<=1959, 1960-89, >=1990).
_TRADITIONAL_MIDDLE = {"M": ("Văn", (0.70, 0.45, 0.12)), "F": ("Thị", (0.85, 0.60, 0.25))}

_STREETS = (
    "phố Quán Thánh",
    "phố Hàng Bông",
    "phố Hàng Bạc",
    "phố Hàng Gai",
    "phố Huế",
    "phố Bà Triệu",
    "phố Lò Đúc",
    "phố Kim Mã",
    "phố Đội Cấn",
    "phố Văn Cao",
    "phố Đào Tấn",
    "đường Nguyễn Chí Thanh",
    "đường Láng",
    "đường Giải Phóng",
    "đường Trường Chinh",
    "phố Tây Sơn",
    "phố Chùa Bộc",
    "phố Thái Hà",
    "phố Xã Đàn",
    "đường Nguyễn Trãi",
    "đường Lê Văn Lương",
    "phố Hoàng Quốc Việt",
    "đường Phạm Văn Đồng",
    "phố Trần Duy Hưng",
    "phố Nguyễn Khánh Toàn",
    "phố Cầu Giấy",
    "phố Xuân Thủy",
    "phố Hồ Tùng Mậu",
    "đường Minh Khai",
    "phố Bạch Mai",
    "phố Đại La",
    "phố Trương Định",
    "đường Tam Trinh",
    "đường Lĩnh Nam",
    "đường Nguyễn Văn Cừ",
    "phố Ngọc Lâm",
    "đường Ngọc Thụy",
    "phố Hồng Hà",
    "đường Âu Cơ",
    "phố Lạc Long Quân",
    "phố Thụy Khuê",
    "phố Hoàng Hoa Thám",
    "phố Đặng Thai Mai",
    "đường Quang Trung",
    "phố Tô Hiệu",
    "phố Lê Trọng Tấn",
    "đường Nguyễn Xiển",
    "đường Khuất Duy Tiến",
    "phố Vũ Trọng Phụng",
    "phố Kim Ngưu",
    "phố Lạc Trung",
    "phố Hàng Buồm",
    "phố Lý Thường Kiệt",
    "phố Hai Bà Trưng",
    "phố Tràng Thi",
    "phố Đinh Tiên Hoàng",
    "phố Phan Đình Phùng",
    "phố Nguyễn Thái Học",
    "phố Sơn Tây",
    "phố Giảng Võ",
    "phố Láng Hạ",
    "phố Huỳnh Thúc Kháng",
    "phố Nguyễn Lương Bằng",
    "phố Khâm Thiên",
)
_ESTATES = (
    "khu đô thị Linh Đàm",
    "khu đô thị Định Công",
    "khu đô thị Trung Hòa - Nhân Chính",
    "khu đô thị Mỹ Đình",
    "khu đô thị Văn Quán",
    "khu đô thị Việt Hưng",
    "khu đô thị Xa La",
    "khu đô thị Pháp Vân - Tứ Hiệp",
    "khu đô thị Cầu Bươu",
)
_COLLECTIVES = (
    "khu tập thể Thành Công",
    "khu tập thể Kim Liên",
    "khu tập thể Nghĩa Tân",
    "khu tập thể Giảng Võ",
    "khu tập thể Thanh Xuân Bắc",
    "khu tập thể Văn Chương",
    "khu tập thể Trung Tự",
    "khu tập thể Quỳnh Mai",
)
_VILLAGES = (
    "Đông",
    "Đoài",
    "Nam",
    "Bắc",
    "Thượng",
    "Hạ",
    "Trung",
    "Tiền",
    "Hậu",
    "Đình",
    "Chùa",
    "Yên Lạc",
    "Phú Mỹ",
    "An Lạc",
    "Đại Đồng",
    "Đông Lai",
    "Tây Xá",
    "Phúc Lộc",
    "Hòa Bình",
    "Thống Nhất",
    "Quyết Tiến",
    "Cầu",
    "Cổ Điển",
    "Lương Nỗ",
    "Đồng Nhân",
    "Vĩnh Thanh",
    "Hậu Dưỡng",
    "Mạch Tràng",
    "Văn Tinh",
    "Thái Bình",
    "Đông Hội",
    "Xuân Trạch",
    "Phương Trạch",
    "Thụy Lôi",
    "Kim Quy",
    "Mai Châu",
    "Yên Hà",
    "Bến",
    "Giữa",
    "Ngoài",
    "Trong",
    "Mới",
    "Phú Thụy",
    "Thọ Đa",
    "Đa Hội",
    "Nhạn Tái",
)

# Beneficiary categories and faults.
CATEGORY_SHARES: dict[str, float] = {"BTXH": 60.0, "NCC": 25.0, "HN": 7.0, "HCN": 5.0, "KHAC": 3.0}
FAULT_SHARES: dict[str | None, float] = {
    None: 70.0,
    "cccd_wrong_digit": 5.0,
    "cccd_missing": 4.0,
    "name_no_diacritics": 5.0,
    "name_tone_variant": 3.0,
    "wrong_birth_day": 4.0,
    "deceased": 3.0,
    "moved": 4.0,
    "duplicate_category": 2.0,
}

# policy_code -> (category, description).  Coefficients of Nghị định 20/2021
# (BTXH) depend on age, see _btxh_policy().
POLICIES: dict[str, tuple[str, str]] = {
    "BTXH-NCT80": ("BTXH", "Người từ đủ 80 tuổi không có lương hưu (hệ số 1,0)"),
    "BTXH-NCTN": ("BTXH", "Người cao tuổi hộ nghèo không có người phụng dưỡng (1,5; từ 80 tuổi 2,0)"),
    "BTXH-KTDBN": ("BTXH", "Người khuyết tật đặc biệt nặng (2,0; trẻ em/người cao tuổi 2,5)"),
    "BTXH-KTN": ("BTXH", "Người khuyết tật nặng (1,5; trẻ em/người cao tuổi 2,0)"),
    "BTXH-TE": ("BTXH", "Trẻ em không có nguồn nuôi dưỡng (dưới 4 tuổi 2,5; từ 4 tuổi 1,5)"),
    "BTXH-DT": ("BTXH", "Người đơn thân nghèo đang nuôi con (1,0)"),
    "BTXH-HIV": ("BTXH", "Người nhiễm HIV/AIDS thuộc hộ nghèo (1,5)"),
    "NCC-TB": ("NCC", "Thương binh"),
    "NCC-BB": ("NCC", "Bệnh binh"),
    "NCC-LS": ("NCC", "Thân nhân liệt sĩ"),
    "NCC-CDHH": ("NCC", "Người hoạt động kháng chiến bị nhiễm chất độc hóa học"),
    "NCC-HDKC": ("NCC", "Người hoạt động kháng chiến"),
    "NCC-BMVNAH": ("NCC", "Bà mẹ Việt Nam anh hùng"),
    "HN-DS": ("HN", "Hộ nghèo (danh sách, không trợ cấp tiền mặt hằng tháng)"),
    "HN-DIEN": ("HN", "Hộ nghèo - hỗ trợ tiền điện"),
    "HCN-DS": ("HCN", "Hộ cận nghèo (danh sách)"),
    "KHAC-DP": ("KHAC", "Chính sách hỗ trợ của địa phương"),
}


# --------------------------------------------------------------------------
# Name helpers
# --------------------------------------------------------------------------

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_TONE_PAIRS = ("oa", "oe", "uy")


def strip_diacritics(name: str) -> str:
    """``"Nguyễn Thị Hòa"`` -> ``"Nguyen Thi Hoa"`` (case kept, spaces collapsed)."""
    s = unicodedata.normalize("NFC", name)
    s = s.replace("Đ", "D").replace("đ", "d").replace("\u00d0", "D").replace("\u00f0", "d")
    s = "".join(ch for ch in unicodedata.normalize("NFD", s) if not unicodedata.combining(ch))
    return " ".join(s.split())


def _move_tone(word: str, to_old: bool) -> str:
    clusters: list[list[str]] = []
    for ch in unicodedata.normalize("NFD", word):
        if clusters and unicodedata.combining(ch):
            clusters[-1].append(ch)
        else:
            clusters.append([ch])
    if len(clusters) < 2:
        return word
    bases = "".join(c[0] for c in clusters).lower()
    if bases[-2:] not in _TONE_PAIRS:
        return word
    if bases[-2:] == "uy" and len(bases) >= 3 and bases[-3] == "q":
        return word  # "quý": u belongs to qu-, the mark is on y in both styles
    first, last = clusters[-2], clusters[-1]
    if any(m not in _TONE_MARKS for m in first[1:] + last[1:]):
        return word  # other diacritics (ô, ơ, ư, ă, â, ê): not an oa/oe/uy rhyme
    src, dst = (first, last) if to_old else (last, first)
    marks = [m for m in src[1:] if m in _TONE_MARKS]
    if not marks:
        return word
    src[1:] = [m for m in src[1:] if m not in _TONE_MARKS]
    dst.extend(marks)
    return unicodedata.normalize("NFC", "".join("".join(c) for c in clusters))


def tone_variant(name: str) -> str:
    """Old-style tone placement: ``Hòa -> Hoà``, ``Thủy -> Thuỷ``, ``Khỏe -> Khoẻ``.

    Only open syllables ending in ``oa``/``oe``/``uy`` (not after ``q``) change;
    other names are returned unchanged (NFC)."""
    return " ".join(_move_tone(w, True) for w in unicodedata.normalize("NFC", name).split())


def _new_style(name: str) -> str:
    """Inverse of :func:`tone_variant` (``Hoà -> Hòa``)."""
    return " ".join(_move_tone(w, False) for w in unicodedata.normalize("NFC", name).split())


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def load_legacy_communes(path: str | Path) -> list[tuple[str, str, str]]:
    """``(commune_code, commune_name, district_name)`` from hanoi_legacy_units.csv."""
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            out.append(
                (
                    row["ward_code"].strip(),
                    unicodedata.normalize("NFC", row["ward_name"].strip()),
                    unicodedata.normalize("NFC", row["district_name"].strip()),
                )
            )
    return out


def load_name_table(filename: str, names_dir: str | Path | None = None) -> list[tuple[str, float]]:
    """``[(name, weight)]`` from a CSV in ``fixtures/names`` (NFC)."""
    path = Path(names_dir or NAMES_DIR) / filename
    out = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            name = " ".join(unicodedata.normalize("NFC", row["name"]).split())
            weight = float(row["weight"])
            if name and weight > 0:
                out.append((name, weight))
    if not out:
        raise ValueError(f"empty name table {path}")
    return out


# --------------------------------------------------------------------------
# Lookup tables
# --------------------------------------------------------------------------


def _expand(items: Sequence, weights: Sequence[float], size: int = _U16) -> list:
    """A list of ``size`` entries in which each item occupies a share of
    slots proportional to its weight (largest remainder, at least 1 slot)."""
    total = float(sum(weights))
    exact = [w * size / total for w in weights]
    counts = [max(1, int(e)) if w > 0 else 0 for e, w in zip(exact, weights, strict=True)]
    diff = size - sum(counts)
    order = sorted(range(len(items)), key=lambda i: exact[i] - counts[i], reverse=(diff > 0))
    i = 0
    while diff:
        k = order[i % len(order)]
        if diff > 0:
            counts[k] += 1
            diff -= 1
        elif counts[k] > 1:
            counts[k] -= 1
            diff += 1
        i += 1
    out: list = []
    for item, c in zip(items, counts, strict=True):
        out.extend([item] * c)
    return out


def _year_weight(y: int) -> float:
    if y < 1930:
        return 0.05 + 0.03 * (y - 1920)  # 0.05 .. 0.32 (the very old)
    if y < 1946:
        return 1.375
    if y < 1966:
        return 1.5
    if y < 1991:
        return 1.0
    return 0.606


def _female_share(y: int) -> float:
    if y < 1950:
        return 0.58
    if y < 1970:
        return 0.53
    return 0.49


def _name_cohort(y: int) -> int:
    return 0 if y < 1960 else (1 if y < 1990 else 2)


def _status_cohort(y: int) -> int:
    return 0 if y < 1945 else (1 if y < 1965 else 2)


def _year_only_share(y: int) -> float:
    if y < 1945:
        return 0.22
    if y < 1960:
        return 0.08
    if y < 1980:
        return 0.04
    return 0.01


_STATUS_SHARES = ((0.016, 0.003), (0.003, 0.005), (0.0005, 0.0065))  # (deceased, moved)
_STATUS_FIRST = _dt.date(2023, 1, 1)
_STATUS_DAYS = 731  # 2023-01-01 .. 2024-12-31


@lru_cache(maxsize=4)
def _static_tables(names_dir: str) -> dict:
    """Seed-independent tables (cached)."""
    t: dict = {}
    # joint (sex, year) index j = 2*year_index + (1 if F)
    jw = []
    jinfo_base = []
    for y in _YEARS:
        f = _female_share(y)
        w = _year_weight(y)
        jw += [w * (1 - f), w * f]
        jinfo_base += [("M", y), ("F", y)]
    t["NJ"] = nj = len(jw)
    t["JT"] = _expand(list(range(nj)), jw)
    t["J_WEIGHTS"] = jw

    # names
    fam = load_name_table("family_names.csv", names_dir)
    fam_tables = []
    for sex in ("M", "F"):
        excl = _MALE_ONLY_FAMILY if sex == "F" else _FEMALE_ONLY_FAMILY
        items = [(n + " ") for n, _ in fam if n not in excl]
        ws = [w for n, w in fam if n not in excl]
        fam_tables += _expand(items, ws)
    t["FAM"] = fam_tables
    t["FAMILY_NAMES"] = [n for n, _ in fam]

    mid_tables: list = []
    giv_tables: list = []
    for sex, mfile, gfile in (
        ("M", "middle_male.csv", "given_male.csv"),
        ("F", "middle_female.csv", "given_female.csv"),
    ):
        mid = load_name_table(mfile, names_dir)
        trad, shares = _TRADITIONAL_MIDDLE[sex]
        rest = [(n, w) for n, w in mid if n != trad]
        rest_total = sum(w for _, w in rest)
        for share in shares:
            items = [trad + " "] + [n + " " for n, _ in rest]
            ws = [share] + [(1 - share) * w / rest_total for _, w in rest]
            mid_tables += _expand(items, ws)
        giv = load_name_table(gfile, names_dir)
        giv_tables += _expand([n for n, _ in giv], [w for _, w in giv])
    t["MID"] = mid_tables
    t["GIV"] = giv_tables

    # dates of birth: per year 1024 slots -> "YYYY-MM-DD" or None
    dates: list = []
    for y in _YEARS:
        first = _dt.date(y, 1, 1)
        ndays = (_dt.date(y + 1, 1, 1) - first).days
        days = [(first + _dt.timedelta(d)).isoformat() for d in range(ndays)]
        n_none = round(_year_only_share(y) * _DATE_SLOTS)
        n_jan1 = 60 if y < 1945 else 10  # "01/01" when the day was unknown
        rest = _DATE_SLOTS - n_none - n_jan1
        slots = [None] * n_none + [days[0]] * n_jan1
        for d in range(ndays):
            slots += [days[d]] * ((d + 1) * rest // ndays - d * rest // ndays)
        assert len(slots) == _DATE_SLOTS
        dates += slots
    t["DATES"] = dates

    # status per status cohort: ("alive", None) / ("deceased", date) / ("moved", date)
    stat: list = []
    alive = ("alive", None)
    for p_dec, p_mov in _STATUS_SHARES:
        n_dec = round(p_dec * _U16)
        n_mov = round(p_mov * _U16)
        tab = [alive] * (_U16 - n_dec - n_mov)
        for label, cnt in (("deceased", n_dec), ("moved", n_mov)):
            for i in range(cnt):
                d = _STATUS_FIRST + _dt.timedelta(i * _STATUS_DAYS // cnt)
                tab.append((label, d.isoformat()))
        stat += tab
    t["STAT"] = stat

    # per-j info tuple
    jinfo = []
    for sex, y in jinfo_base:
        si = 0 if sex == "M" else 1
        yi = y - FIRST_YEAR
        jinfo.append(
            (
                sex,
                y,
                si * _U16,  # family
                (si * 3 + _name_cohort(y)) * _U16,  # middle
                si * _U16,  # given
                yi * _DATE_SLOTS,  # dates
                int(0.30 * _U16) if y < 1990 else 0,  # cmnd threshold
                _status_cohort(y) * _U16,  # status
            )
        )
    t["JINFO"] = jinfo

    # provinces
    np_ = len(PROVINCES)
    t["NP"] = np_
    t["PK"] = _expand([p * nj for p in range(np_)], [p[2] for p in PROVINCES])
    kfmt = []
    cmfmt = []
    for code, _name, _w, cm in PROVINCES:
        for sex, y in jinfo_base:
            digit = (0 if y < 2000 else 2) + (1 if sex == "F" else 0)
            kfmt.append(f"{code}{digit}{y % 100:02d}%06d")
            cmfmt.append(f"{cm}%07d")
    t["KFMT"] = kfmt
    t["CMFMT"] = cmfmt

    # street parts per commune type (0 phường, 1 xã, 2 thị trấn); fixed seed
    rng = random.Random("asxh-synthetic-addresses-v1")
    addr: list = []
    for kind in range(3):
        for _ in range(_ADDR_SLOTS):
            addr.append(_street_part(rng, kind))
    t["ADDR"] = addr
    return t


def _house(rng: random.Random) -> int:
    return rng.choice((rng.randint(1, 30), rng.randint(1, 120), rng.randint(1, 400)))


def _street_part(rng: random.Random, kind: int) -> str:
    x = rng.random()
    if kind == 0:  # phường
        st = rng.choice(_STREETS)
        if x < 0.30:
            return f"Số {_house(rng)} {st}"
        if x < 0.65:
            return f"Số {_house(rng)}, ngõ {rng.randint(1, 300)} {st}"
        if x < 0.80:
            return f"Số {rng.randint(1, 60)}, ngách {rng.randint(1, 80)}, ngõ {rng.randint(1, 300)} {st}"
        if x < 0.90:
            return (
                f"Căn hộ {rng.randint(2, 35)}{rng.randint(1, 20):02d}, "
                f"tòa {rng.choice('ABCDE')}{rng.randint(1, 9)}, {rng.choice(_ESTATES)}"
            )
        return (
            f"Phòng {rng.randint(1, 5)}{rng.randint(1, 20):02d}, nhà "
            f"{rng.choice('ABCDEGHK')}{rng.randint(1, 20)}, {rng.choice(_COLLECTIVES)}"
        )
    if kind == 1:  # xã
        v = rng.choice(_VILLAGES)
        if x < 0.45:
            return f"Thôn {v}"
        if x < 0.60:
            return f"Xóm {rng.choice(_VILLAGES)}, thôn {v}"
        if x < 0.75:
            return f"Xóm {rng.randint(1, 15)}"
        if x < 0.85:
            return f"Số {rng.randint(1, 250)}, thôn {v}"
        return f"Đội {rng.randint(1, 12)}, thôn {v}"
    # thị trấn
    if x < 0.30:
        return f"Tổ dân phố {rng.randint(1, 25)}"
    if x < 0.50:
        return f"Số {_house(rng)}, tổ dân phố {rng.randint(1, 25)}"
    if x < 0.80:
        return f"Số {_house(rng)} {rng.choice(_STREETS)}"
    return f"Khu {rng.choice(_VILLAGES)}"


def _commune_kind(name: str) -> int:
    low = name.lower()
    if low.startswith("xã"):
        return 1
    if low.startswith("thị trấn"):
        return 2
    return 0


def _tail(name: str, district: str) -> str:
    return f", {name}, {district}, Hà Nội" if district else f", {name}, Hà Nội"


# --------------------------------------------------------------------------
# Citizens
# --------------------------------------------------------------------------


def _affine(seed: int, nk: int) -> tuple[list[int], list[int]]:
    rng = random.Random(f"asxh-cccd-serial:{seed}")
    a_list, b_list = [], []
    for _ in range(nk):
        a = rng.randrange(1, _SERIAL_SPACE, 2)
        if a % 5 == 0:
            a += 2
        a_list.append(a % _SERIAL_SPACE)
        b_list.append(rng.randrange(_SERIAL_SPACE))
    return a_list, b_list


def generate_citizens(
    seed: int,
    n: int,
    communes: Sequence[tuple[str, str, str]],
    *,
    start_serial: int = 0,
    names_dir: str | Path | None = None,
) -> Iterator[tuple]:
    """Yield ``n`` synthetic citizens (rows ``start_serial .. start_serial+n-1``
    of the stream of ``seed``).

    Row: ``(cccd, cmnd, full_name, date_of_birth_iso_or_None, birth_year,
    sex, address, commune_code, status, status_date_iso_or_None)`` with
    ``sex`` in ``'M'/'F'`` and ``status`` in ``alive/deceased/moved``.
    ``communes``: ``(commune_code, commune_name, district_name)`` tuples.
    """
    if n < 0 or start_serial < 0:
        raise ValueError("n and start_serial must be >= 0")
    if start_serial + n > MAX_ROWS:
        raise ValueError(f"at most {MAX_ROWS} rows per seed (CCCD serial space)")
    if not communes:
        raise ValueError("communes must not be empty")
    return _citizen_rows(int(seed), n, list(communes), start_serial, str(Path(names_dir or NAMES_DIR).resolve()))


def _citizen_rows(seed, n, communes, start_serial, names_dir):
    t = _static_tables(names_dir)
    JT, JINFO, PK = t["JT"], t["JINFO"], t["PK"]
    FAM, MID, GIV, DATES, STAT, ADDR = t["FAM"], t["MID"], t["GIV"], t["DATES"], t["STAT"], t["ADDR"]
    KFMT, CMFMT = t["KFMT"], t["CMFMT"]
    NJ, NP = t["NJ"], t["NP"]
    AK, BK = _affine(seed, len(KFMT))
    Q = SLOTS_PER_BATCH
    B = BATCH_ROWS
    SER = _SERIAL_SPACE

    nc = len(communes)
    CT = [(u * nc) >> 16 for u in range(_U16)]
    CODES = [c[0] for c in communes]
    TAIL = [_tail(c[1], c[2]) for c in communes]
    SOFF = [_commune_kind(c[1]) * _ADDR_SLOTS for c in communes]
    AMASK = _ADDR_SLOTS - 1
    DMASK = _DATE_SLOTS - 1
    crng = random.Random(f"asxh-cmnd:{seed}")
    CA = crng.randrange(1, 10_000_000, 2)
    if CA % 5 == 0:
        CA += 2
    CB = crng.randrange(10_000_000)
    big_endian = sys.byteorder == "big"
    K = _WORDS_PER_ROW

    def spill(k: int, cnt: dict) -> tuple[int, int]:
        j = k % NJ
        p = k // NJ
        for step in range(1, NP):
            k2 = ((p + step) % NP) * NJ + j
            r2 = cnt.get(k2, 0)
            if r2 < Q:
                return k2, r2
        raise RuntimeError("CCCD serial space exhausted for one (sex, year)")

    end = start_serial + n
    b = start_serial // B
    while b * B < end:
        rng = random.Random(f"asxh-citizens:{seed}:{b}")
        words = array.array("H")
        words.frombytes(rng.randbytes(2 * K * B))
        if big_endian:
            words.byteswap()
        cnt: dict = {}
        get = cnt.get
        base = b * Q
        i = b * B
        rows: list = []
        append = rows.append
        it = iter(words)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the rows are acyclic; avoids collector passes while building a batch
        try:
            for u0, u1, u2, u3, u4, u5, u6, u7, u8, u9 in zip(it, it, it, it, it, it, it, it, it, it, strict=True):
                j = JT[u0]
                sex, year, foff, moff, goff, doff, cthr, toff = JINFO[j]
                k = PK[u5] + j
                r = get(k, 0)
                if r >= Q:
                    k, r = spill(k, cnt)
                cnt[k] = r + 1
                ci = CT[u7]
                st, sd = STAT[toff + u9]
                append(
                    (
                        KFMT[k] % ((AK[k] * (base + r) + BK[k]) % SER),
                        CMFMT[k] % ((i * CA + CB) % 10_000_000) if u6 < cthr else None,
                        FAM[foff + u1] + MID[moff + u2] + GIV[goff + u3],
                        DATES[doff + (u4 & DMASK)],
                        year,
                        sex,
                        ADDR[SOFF[ci] + (u8 & AMASK)] + TAIL[ci],
                        CODES[ci],
                        st,
                        sd,
                    )
                )
                i += 1
        finally:
            if gc_was_enabled:
                gc.enable()
        lo = max(start_serial - b * B, 0)
        hi = min(end - b * B, B)
        if lo == 0 and hi == B:
            yield from rows
        else:
            yield from rows[lo:hi]
        b += 1


# --------------------------------------------------------------------------
# Beneficiaries
# --------------------------------------------------------------------------

_REFERENCE_YEAR = 2024


def _btxh_policy(rng: random.Random, age: int) -> tuple[str, float]:
    x = rng.random()
    if age >= 80:
        if x < 0.60:
            return "BTXH-NCT80", 1.0
        if x < 0.70:
            return "BTXH-NCTN", 2.0
        if x < 0.80:
            return "BTXH-KTDBN", 2.5
        return "BTXH-KTN", 2.0
    if age >= 60:
        if x < 0.40:
            return "BTXH-NCTN", 1.5
        if x < 0.60:
            return "BTXH-KTDBN", 2.5
        return "BTXH-KTN", 2.0
    if age >= 16:
        if x < 0.35:
            return "BTXH-KTDBN", 2.0
        if x < 0.80:
            return "BTXH-KTN", 1.5
        if x < 0.95:
            return "BTXH-DT", 1.0
        return "BTXH-HIV", 1.5
    if x < 0.40:
        return "BTXH-TE", (2.5 if age < 4 else 1.5)
    if x < 0.70:
        return "BTXH-KTDBN", 2.5
    return "BTXH-KTN", 2.0


def _ncc_policy(rng: random.Random, age: int, sex: str) -> str:
    if sex == "F" and age >= 84 and rng.random() < 0.15:
        return "NCC-BMVNAH"
    x = rng.random()
    if age >= 60:
        if x < 0.35:
            return "NCC-TB"
        if x < 0.45:
            return "NCC-BB"
        if x < 0.65:
            return "NCC-LS"
        if x < 0.85:
            return "NCC-CDHH"
        return "NCC-HDKC"
    if age < 34:  # born after the wars: children affected by Agent Orange
        return "NCC-CDHH"
    if x < 0.45:
        return "NCC-LS"
    if x < 0.75:
        return "NCC-CDHH"
    return "NCC-TB"


def _policy(rng: random.Random, category: str, age: int, sex: str, btxh_base: int) -> tuple[str, int]:
    if category == "BTXH":
        code, coef = _btxh_policy(rng, age)
        return code, int(round(btxh_base * coef))
    if category == "NCC":
        return _ncc_policy(rng, age, sex), rng.randrange(1500, 5001) * 1000
    if category == "HN":
        return ("HN-DIEN", 54_000) if rng.random() < 0.4 else ("HN-DS", 0)
    if category == "HCN":
        return "HCN-DS", 0
    return "KHAC-DP", rng.choice((0, 200_000, 300_000, 500_000))


def _wrong_day(d: _dt.date, rng: random.Random) -> _dt.date:
    if d.day <= 12 and d.day != d.month:
        return d.replace(month=d.day, day=d.month)  # day/month swapped
    while True:
        shift = rng.choice((-9, -3, -2, -1, 1, 2, 3, 9, 10))
        day = d.day + shift
        try:
            nd = d.replace(day=day)
        except ValueError:
            continue
        if nd != d:
            return nd


def _wrong_digit(cccd: str, rng: random.Random) -> str:
    pos = rng.randrange(len(cccd))
    old = cccd[pos]
    new = rng.choice([c for c in "0123456789" if c != old])
    return cccd[:pos] + new + cccd[pos + 1 :]


def _commune_parts(value) -> tuple[str, str]:
    if isinstance(value, str):
        return value, ""
    value = tuple(value)
    if len(value) >= 3:
        return value[1], value[2]
    if len(value) == 2:
        return value[0], value[1]
    return value[0], ""


def draw_beneficiaries(  # noqa: C901
    seed: int,
    citizens: Sequence[tuple],
    m: int,
    communes_by_code: Mapping[str, tuple],
    *,
    btxh_base: int = 360_000,
    reference_year: int = _REFERENCE_YEAR,
) -> Iterator[dict]:
    """Draw ``m`` beneficiary-list rows from a citizen sample.

    ``citizens`` uses the :func:`generate_citizens` tuple layout;
    ``communes_by_code`` maps commune_code -> ``(code, name, district)``.
    People are drawn without replacement, weighted towards age >= 60 (x4) and
    >= 80 (x6).  Each row is the *list's* version of the person: a fault from
    :data:`FAULT_SHARES` (``fault`` key, None when clean) has been applied,
    and ``source_cccd`` holds the citizen's true CCCD.

    If the sample cannot supply a fault (no deceased / no tone-variable name /
    not enough people), the affected rows are emitted clean and a
    :class:`SyntheticDataWarning` is issued.  Planning happens eagerly (errors
    and warnings are raised at call time); dicts are built lazily.
    """
    if m < 0:
        raise ValueError("m must be >= 0")
    rng = random.Random(f"asxh-beneficiaries:{int(seed)}")
    cit = list(citizens)
    N = len(cit)
    ref = reference_year

    # weighted random order of the alive people (Efraimidis-Spirakis keys)
    keys = []
    for idx, c in enumerate(cit):
        if c[8] != "alive":
            continue
        age = ref - c[4]
        w = 6.0 if age >= 80 else 4.0 if age >= 60 else 1.0 if age >= 16 else 0.7
        keys.append((-math.log(1.0 - rng.random()) / w, idx))
    keys.sort()
    order = [idx for _, idx in keys]
    if m > len(order):
        raise ValueError(f"m={m} exceeds the {len(order)} alive citizens in the sample")

    deceased = [i for i in range(N) if cit[i][8] == "deceased"]
    moved_pool = [i for i in range(N) if cit[i][8] == "moved"]
    rng.shuffle(deceased)
    rng.shuffle(moved_pool)

    codes = list(communes_by_code)
    by_district: dict[str, list[str]] = {}
    for code in codes:
        by_district.setdefault(_commune_parts(communes_by_code[code])[1], []).append(code)

    names = list(FAULT_SHARES)
    faults = rng.choices(names, weights=[FAULT_SHARES[f] for f in names], k=m)
    cats = list(CATEGORY_SHARES)
    cat_w = [CATEGORY_SHARES[c] for c in cats]

    used: set[int] = set()
    cursor = {"general": 0}
    special_iters: dict = {}  # predicate -> its own walk through `order`

    def take(pred=None) -> int | None:
        if pred is None:
            pos = cursor["general"]
            while pos < len(order) and order[pos] in used:
                pos += 1
            cursor["general"] = pos + 1
            if pos >= len(order):
                return None
            used.add(order[pos])
            return order[pos]
        for idx in special_iters.setdefault(pred, iter(order)):
            if idx not in used and pred(cit[idx]):
                used.add(idx)
                return idx
        return None

    def tone_ok(c) -> bool:
        return tone_variant(c[2]) != c[2]

    def strip_ok(c) -> bool:
        return strip_diacritics(c[2]) != c[2]

    def dob_ok(c) -> bool:
        return c[3] is not None

    def cccd_ok(c) -> bool:
        return bool(c[0])

    pred_for = {
        "name_tone_variant": tone_ok,
        "name_no_diacritics": strip_ok,
        "wrong_birth_day": dob_ok,
        "cccd_wrong_digit": cccd_ok,
        "cccd_missing": cccd_ok,
    }
    shortage: dict[str, int] = {}
    plan: list[tuple] = []  # (citizen_idx, fault, category, old_commune|None)
    clean_rows: list[int] = []  # plan positions of clean rows (for duplicates)
    dec_iter = iter(deceased)
    mov_iter = iter(moved_pool)

    for fault in faults:
        idx = None
        old_commune = None
        category = rng.choices(cats, weights=cat_w)[0]
        if fault == "duplicate_category":
            if clean_rows:
                pick = rng.randrange(len(clean_rows))
                clean_rows[pick], clean_rows[-1] = clean_rows[-1], clean_rows[pick]
                src = plan[clean_rows.pop()]  # each person is duplicated at most once
                idx = src[0]
                category = rng.choice([c for c in cats if c != src[2]])
            else:
                shortage[fault] = shortage.get(fault, 0) + 1
                fault = None
        elif fault == "deceased":
            idx = next(dec_iter, None)
            if idx is None:
                shortage[fault] = shortage.get(fault, 0) + 1
                fault = None
        elif fault == "moved":
            idx = next(mov_iter, None)
            if idx is None:
                idx = take()
            if idx is not None:
                cur = cit[idx][7]
                district = _commune_parts(communes_by_code[cur])[1] if cur in communes_by_code else None
                choices = [c for c in by_district.get(district, ()) if c != cur] if district is not None else []
                if not choices:
                    choices = [c for c in codes if c != cur]
                if choices:
                    old_commune = rng.choice(choices)
                else:
                    shortage[fault] = shortage.get(fault, 0) + 1
                    fault = None
        elif fault in pred_for:
            idx = take(pred_for[fault])
            if idx is None:
                shortage[fault] = shortage.get(fault, 0) + 1
                fault = None
        if idx is None:
            idx = take()
            if idx is None:
                raise ValueError("the citizen sample is too small for m beneficiaries")
        if fault is None:
            clean_rows.append(len(plan))
        plan.append((idx, fault, category, old_commune))

    if shortage:
        warnings.warn(
            "synthetic beneficiaries: the citizen sample could not supply these faults, "
            f"rows emitted clean instead: {shortage}",
            SyntheticDataWarning,
            stacklevel=2,
        )

    return _beneficiary_rows(int(seed), cit, plan, communes_by_code, btxh_base, ref)


def _beneficiary_rows(seed, cit, plan, communes_by_code, btxh_base, ref):
    rng = random.Random(f"asxh-beneficiary-rows:{seed}")
    for idx, fault, category, old_commune in plan:
        cccd, cmnd, name, dob, year, sex, address, commune, _st, _sd = cit[idx][:10]
        age = ref - year
        dob_d = _dt.date.fromisoformat(dob) if dob else None
        row_cccd, row_name, row_dob, row_addr, row_commune = cccd, name, dob_d, address, commune
        if fault == "cccd_wrong_digit":
            row_cccd = _wrong_digit(cccd, rng)
        elif fault == "cccd_missing":
            row_cccd = None
        elif fault == "name_no_diacritics":
            row_name = strip_diacritics(name)
        elif fault == "name_tone_variant":
            row_name = tone_variant(name)
        elif fault == "wrong_birth_day":
            row_dob = _wrong_day(dob_d, rng)
        elif fault == "moved":
            row_commune = old_commune
            cname, district = _commune_parts(communes_by_code[old_commune])
            street = address
            if commune in communes_by_code:
                tail = _tail(*_commune_parts(communes_by_code[commune]))
                if address.endswith(tail):
                    street = address[: -len(tail)]
            row_addr = street + _tail(cname, district)
        policy, amount = _policy(rng, category, age, sex, btxh_base)
        yield {
            "full_name": row_name,
            "cccd": row_cccd,
            "cmnd": cmnd,
            "date_of_birth": row_dob,
            "birth_year": year,
            "sex": sex,
            "address": row_addr,
            "commune_code": row_commune,
            "category": category,
            "policy_code": policy,
            "monthly_amount": amount,
            "fault": fault,
            "source_cccd": cccd,
        }
