"""Synthetic population (app.demo.synthetic): reproducibility, CCCD rules,
name structure, statuses and beneficiary faults."""

from __future__ import annotations

import ast
import collections
import datetime as dt
import re
import unicodedata
import warnings
from pathlib import Path

import pytest

from app.demo import synthetic as syn

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "fixtures" / "hanoi_legacy_units.csv"
N_BIG = 200_000
PREFIXES = {p[0] for p in syn.PROVINCES}
CMND_CODES = {p[3] for p in syn.PROVINCES}
ROW_RE = re.compile(r"^\d{12}$")


@pytest.fixture(scope="module")
def communes():
    return syn.load_legacy_communes(UNITS)


@pytest.fixture(scope="module")
def communes_by_code(communes):
    return {c[0]: c for c in communes}


@pytest.fixture(scope="module")
def big(communes):
    return list(syn.generate_citizens(20240101, N_BIG, communes))


@pytest.fixture(scope="module")
def by_cccd(big):
    return {r[0]: r for r in big}


@pytest.fixture(scope="module")
def beneficiaries(big, communes_by_code):
    with warnings.catch_warnings():
        warnings.simplefilter("error", syn.SyntheticDataWarning)
        return list(syn.draw_beneficiaries(7, big, 20_000, communes_by_code))


def _table(name):
    return syn.load_name_table(name)


# ------------------------------------------------------------------ module


def test_label_and_pure_module():
    assert syn.SYNTHETIC_LABEL == "DỮ LIỆU GIẢ LẬP — không phải người thật"
    tree = ast.parse(Path(syn.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"flask", "flask_appbuilder", "rq", "numpy", "faker", "app"}
    assert "DỮ LIỆU GIẢ LẬP" in syn.__doc__


def test_load_legacy_communes(communes):
    assert len(communes) == 526
    assert ("00004", "Phường Trúc Bạch", "Quận Ba Đình") in communes


# ------------------------------------------------------------------ name data


def test_name_tables_content():
    fam = dict(_table("family_names.csv"))
    assert len(fam) >= 54
    for n in (
        "Nguyễn",
        "Trần",
        "Lê",
        "Phạm",
        "Hoàng",
        "Huỳnh",
        "Phan",
        "Vũ",
        "Võ",
        "Đặng",
        "Bùi",
        "Đỗ",
        "Hồ",
        "Ngô",
        "Dương",
        "Lý",
        "Đào",
        "Đinh",
        "Lâm",
        "Mai",
        "Trịnh",
        "Đoàn",
        "Lương",
        "Tạ",
        "Cao",
        "Chu",
        "Kiều",
        "Khúc",
        "Quách",
        "Tô",
        "Tăng",
        "Hà",
        "Vương",
        "Phùng",
        "Nghiêm",
        "Lưu",
        "Triệu",
        "Văn",
        "Thái",
        "Kim",
        "Lại",
        "Nông",
        "Âu",
        "Tôn Nữ",
        "Âu Dương",
    ):
        assert n in fam, n
    total = sum(fam.values())
    assert 0.36 < fam["Nguyễn"] / total < 0.40
    assert 0.10 < fam["Trần"] / total < 0.12
    gm, gf = dict(_table("given_male.csv")), dict(_table("given_female.csv"))
    assert len(gm) >= 80 and len(gf) >= 80
    for n in ("Hòa", "Khỏe", "Hoàng", "Toàn", "Khoa", "Thụy"):
        assert n in gm, n
    for n in ("Thủy", "Thúy", "Thùy", "Xuyến", "Tuyết", "Loan", "Thoa", "Hòa"):
        assert n in gf, n
    mm, mf = dict(_table("middle_male.csv")), dict(_table("middle_female.csv"))
    for n in ("Văn", "Đức", "Hữu", "Minh", "Quang", "Công", "Xuân", "Ngọc", "Đình", "Thanh", "Quốc", "Mạnh", "Tiến"):
        assert n in mm, n
    for n in ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Hồng", "Phương", "Kim", "Bích", "Thúy"):
        assert n in mf, n


def test_name_files_are_nfc_new_style():
    for f in ("family_names.csv", "middle_male.csv", "middle_female.csv", "given_male.csv", "given_female.csv"):
        raw = (syn.NAMES_DIR / f).read_text(encoding="utf-8")
        assert unicodedata.normalize("NFC", raw) == raw, f
        for name, weight in _table(f):
            assert weight > 0
            assert syn._new_style(name) == name, (f, name)


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize(
    "new, old",
    [
        ("Hòa", "Hoà"),
        ("Thủy", "Thuỷ"),
        ("Thúy", "Thuý"),
        ("Khỏe", "Khoẻ"),
        ("Thụy", "Thuỵ"),
        ("Thùy", "Thuỳ"),
        ("Hòe", "Hoè"),
        ("Nguyễn Thị Hòa", "Nguyễn Thị Hoà"),
        ("HÒA", "HOÀ"),
        ("Quý", "Quý"),
        ("Hoàng", "Hoàng"),
        ("Xuyến", "Xuyến"),
        ("Tuyết", "Tuyết"),
        ("Toàn", "Toàn"),
        ("Thoa", "Thoa"),
        ("Quỳnh", "Quỳnh"),
        ("Khuê", "Khuê"),
    ],
)
def test_tone_variant(new, old):
    assert syn.tone_variant(new) == old
    assert syn.tone_variant(old) == old
    assert syn._new_style(old) == new


def test_strip_diacritics():
    assert syn.strip_diacritics("Đặng  Thị Hòa") == "Dang Thi Hoa"
    assert syn.strip_diacritics("Nguyễn Văn Ðức") == "Nguyen Van Duc"
    assert syn.strip_diacritics(unicodedata.normalize("NFD", "Trần Thủy")) == "Tran Thuy"


# ------------------------------------------------------------------ citizens


def test_reproducible(communes):
    a = list(syn.generate_citizens(1, 3000, communes))
    b = list(syn.generate_citizens(1, 3000, communes))
    c = list(syn.generate_citizens(2, 3000, communes))
    assert a == b
    assert len(a) == 3000
    assert sum(x != y for x, y in zip(a, c, strict=True)) > 2900


def test_chunks_equal_one_run(communes):
    whole = list(syn.generate_citizens(5, 6000, communes))
    parts = (
        list(syn.generate_citizens(5, 1000, communes))
        + list(syn.generate_citizens(5, 2500, communes, start_serial=1000))
        + list(syn.generate_citizens(5, 2500, communes, start_serial=3500))
    )
    assert parts == whole
    assert list(syn.generate_citizens(5, 0, communes)) == []


def test_argument_checks(communes):
    with pytest.raises(ValueError):
        syn.generate_citizens(1, -1, communes)
    with pytest.raises(ValueError):
        syn.generate_citizens(1, 10, [])
    with pytest.raises(ValueError):
        syn.generate_citizens(1, syn.MAX_ROWS + 1, communes)


def _check_cccd(row):
    cccd, _cmnd, _name, _dob, year, sex = row[:6]
    assert ROW_RE.match(cccd), cccd
    assert cccd[:3] in PREFIXES
    digit = int(cccd[3])
    assert digit == (year // 100 - 19) * 2 + (1 if sex == "F" else 0)
    assert cccd[4:6] == f"{year % 100:02d}"


def test_cccd_valid_and_unique(big):
    assert len(big) == N_BIG
    for row in big:
        _check_cccd(row)
    assert len({r[0] for r in big}) == N_BIG
    share_hn = sum(r[0].startswith("001") for r in big) / N_BIG
    assert 0.72 < share_hn < 0.78
    assert len({r[0][:3] for r in big}) >= 20


def test_cmnd(big):
    cmnds = [r[1] for r in big if r[1] is not None]
    assert all(r[4] < 1990 for r in big if r[1] is not None)
    assert all(len(c) == 9 and c.isdigit() and c[:2] in CMND_CODES for c in cmnds)
    assert len(set(cmnds)) == len(cmnds)
    old = sum(1 for r in big if r[4] < 1990)
    assert 0.27 < len(cmnds) / old < 0.33


def test_spill_keeps_cccd_unique(communes, monkeypatch):
    monkeypatch.setattr(syn, "SLOTS_PER_BATCH", 2)
    rows = list(syn.generate_citizens(3, 20_000, communes))
    assert len({r[0] for r in rows}) == len(rows)
    for row in rows:
        _check_cccd(row)
    # with 2 slots per bucket and batch most Hà Nội people spill to other prefixes
    assert sum(r[0].startswith("001") for r in rows) / len(rows) < 0.5


def test_row_layout_and_dates(big, communes):
    codes = {c[0]: c for c in communes}
    none_dob = 0
    for row in big[:50_000]:
        assert len(row) == 10
        cccd, cmnd, name, dob, year, sex, address, code, status, sdate = row
        assert sex in ("M", "F")
        assert syn.FIRST_YEAR <= year <= syn.LAST_YEAR
        if dob is None:
            none_dob += 1
        else:
            assert dt.date.fromisoformat(dob).year == year
        _, cname, district = codes[code]
        assert address.endswith(f", {cname}, {district}, Hà Nội")
        if cname.startswith("Xã "):
            assert address.split(" ")[0] in ("Thôn", "Xóm", "Số", "Đội")
    assert 0.06 < none_dob / 50_000 < 0.10
    years = [r[4] for r in big]
    assert sum(1930 <= y <= 1965 for y in years) / len(years) > 0.45
    assert max(years) >= 2020


def test_statuses(big):
    counts = collections.Counter(r[8] for r in big)
    assert set(counts) == {"alive", "deceased", "moved"}
    assert 0.003 < counts["deceased"] / N_BIG < 0.008
    assert 0.003 < counts["moved"] / N_BIG < 0.008
    for r in big:
        if r[8] == "alive":
            assert r[9] is None
        else:
            assert "2023-01-01" <= r[9] <= "2024-12-31"
    dead = [r for r in big if r[8] == "deceased"]
    assert sum(r[4] < 1965 for r in dead) / len(dead) > 0.8


def test_names(big):
    fam = [n for n, _ in _table("family_names.csv")]
    compound = sorted((f for f in fam if " " in f), key=len, reverse=True)
    single = {f for f in fam if " " not in f}
    gm = {n for n, _ in _table("given_male.csv")}
    gf = {n for n, _ in _table("given_female.csv")}
    four = 0
    for r in big:
        name, sex = r[2], r[5]
        words = name.split(" ")
        assert len(words) >= 3
        assert unicodedata.normalize("NFC", name) == name
        if not any(name.startswith(c + " ") for c in compound):
            assert words[0] in single, name
        assert words[-1] in (gm if sex == "M" else gf), name
        four += len(words) >= 4
    assert 0.015 < four / N_BIG < 0.05
    assert any(r[2].startswith("Tôn Nữ ") for r in big)
    assert not any(r[2].startswith("Tôn Nữ ") for r in big if r[5] == "M")
    old_f = [r for r in big if r[5] == "F" and r[4] < 1960]
    old_m = [r for r in big if r[5] == "M" and r[4] < 1960]
    young_f = [r for r in big if r[5] == "F" and r[4] >= 1990]
    thi = sum(r[2].split(" ")[1] == "Thị" for r in old_f) / len(old_f)
    assert thi > 0.8
    assert sum(r[2].split(" ")[1] == "Văn" for r in old_m) / len(old_m) > 0.6
    assert sum(r[2].split(" ")[1] == "Thị" for r in young_f) / len(young_f) < thi - 0.3
    nguyen = sum(r[2].startswith("Nguyễn ") for r in big) / N_BIG
    assert 0.36 < nguyen < 0.40
    assert sum(r[5] == "F" for r in old_f + old_m) / len(old_f + old_m) > 0.5


# ------------------------------------------------------------------ beneficiaries

KEYS = {
    "full_name",
    "cccd",
    "cmnd",
    "date_of_birth",
    "birth_year",
    "sex",
    "address",
    "commune_code",
    "category",
    "policy_code",
    "monthly_amount",
    "fault",
    "source_cccd",
}


def test_beneficiaries_reproducible(big, communes_by_code, beneficiaries):
    again = list(syn.draw_beneficiaries(7, big, 20_000, communes_by_code))
    assert again == beneficiaries
    other = list(syn.draw_beneficiaries(8, big, 2_000, communes_by_code))
    assert [r["source_cccd"] for r in other] != [r["source_cccd"] for r in beneficiaries[:2000]]


def test_beneficiary_shape_and_shares(beneficiaries, by_cccd):
    assert len(beneficiaries) == 20_000
    m = len(beneficiaries)
    for r in beneficiaries:
        assert set(r) == KEYS
        assert r["source_cccd"] in by_cccd
        assert r["date_of_birth"] is None or isinstance(r["date_of_birth"], dt.date)
        assert r["policy_code"] in syn.POLICIES
        assert syn.POLICIES[r["policy_code"]][0] == r["category"]
        assert isinstance(r["monthly_amount"], int)
        if r["category"] == "BTXH":
            assert r["monthly_amount"] in (360_000, 540_000, 720_000, 900_000)
        elif r["category"] == "NCC":
            assert 1_500_000 <= r["monthly_amount"] <= 5_000_000
            assert r["monthly_amount"] % 1000 == 0
        elif r["category"] in ("HN", "HCN"):
            assert r["monthly_amount"] < 100_000
        if r["policy_code"] == "BTXH-NCT80":
            assert 2024 - r["birth_year"] >= 80
    cats = collections.Counter(r["category"] for r in beneficiaries)
    for cat, share in syn.CATEGORY_SHARES.items():
        assert abs(cats[cat] / m - share / 100) < 0.02, cat
    faults = collections.Counter(r["fault"] for r in beneficiaries)
    assert 0.66 < faults[None] / m < 0.74
    for fault, share in syn.FAULT_SHARES.items():
        if fault is not None:
            assert 0.6 * share / 100 < faults[fault] / m < 1.4 * share / 100, fault
    elderly = sum(2024 - r["birth_year"] >= 60 for r in beneficiaries) / m
    assert elderly > 0.7


def test_beneficiary_faults_detectable(beneficiaries, by_cccd):
    seen = collections.defaultdict(set)
    for r in beneficiaries:
        seen[r["source_cccd"]].add(r["category"])
    people = collections.Counter(r["source_cccd"] for r in beneficiaries)
    for r in beneficiaries:
        c = by_cccd[r["source_cccd"]]
        cccd, cmnd, name, dob, year, sex, address, code, status, _ = c
        f = r["fault"]
        dob_d = dt.date.fromisoformat(dob) if dob else None
        assert r["cmnd"] == cmnd and r["birth_year"] == year and r["sex"] == sex
        if f != "deceased":
            assert status != "deceased"
        if f == "cccd_wrong_digit":
            assert r["cccd"] != cccd and len(r["cccd"]) == 12
            assert sum(a != b for a, b in zip(r["cccd"], cccd, strict=True)) == 1
        else:
            assert r["cccd"] == (None if f == "cccd_missing" else cccd)
        if f == "name_no_diacritics":
            assert r["full_name"] == syn.strip_diacritics(name) != name
            assert r["full_name"].isascii()
        elif f == "name_tone_variant":
            assert r["full_name"] == syn.tone_variant(name) != name
            assert syn._new_style(r["full_name"]) == name
        else:
            assert r["full_name"] == name
        if f == "wrong_birth_day":
            assert dob_d is not None and r["date_of_birth"] != dob_d
            assert r["date_of_birth"].year == year
        else:
            assert r["date_of_birth"] == dob_d
        if f == "moved":
            assert r["commune_code"] != code
            assert r["address"] != address
        else:
            assert r["commune_code"] == code and r["address"] == address
        if f == "deceased":
            assert status == "deceased"
        if f == "duplicate_category":
            assert people[cccd] == 2 and len(seen[cccd]) == 2
        else:
            assert people[cccd] == 1 or len(seen[cccd]) == 2
    moved = [r for r in beneficiaries if r["fault"] == "moved"]
    assert any(by_cccd[r["source_cccd"]][8] == "moved" for r in moved)


def test_beneficiaries_warn_without_deceased(big, communes_by_code):
    alive = [r for r in big[:30_000] if r[8] != "deceased"]
    with pytest.warns(syn.SyntheticDataWarning, match="deceased"):
        rows = list(syn.draw_beneficiaries(1, alive, 2000, communes_by_code))
    assert len(rows) == 2000
    assert not any(r["fault"] == "deceased" for r in rows)


def test_beneficiaries_too_many(big, communes_by_code):
    with pytest.raises(ValueError):
        syn.draw_beneficiaries(1, big[:100], 1000, communes_by_code)
