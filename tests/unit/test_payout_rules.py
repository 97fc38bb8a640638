"""Small payout rules without a database: how a bank's result cell reads (``parse_result_status``) and who
sees a payout period (``period_visible``)."""

from __future__ import annotations

import pytest

from app.models.admin_unit import AdminUnit
from app.models.payout import PayoutPeriod
from app.services.payout.periods import period_visible
from app.services.payout.reconciliation import parse_result_status


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        # paid: Vietnamese with or without diacritics, any case, English, bank codes
        ("Thành công", "paid"),
        ("THÀNH CÔNG", "paid"),
        ("thanh cong", "paid"),
        ("  Thành   công ", "paid"),  # spaces around and inside
        ("Đã chi trả", "paid"),
        ("đã chi", "paid"),
        ("Đã thanh toán", "paid"),
        ("Thanh toán thành công", "paid"),
        ("Success", "paid"),
        ("OK", "paid"),
        ("Paid", "paid"),
        ("S", "paid"),
        ("00", "paid"),
        ("1", "paid"),
        (1, "paid"),  # a number cell
        (1.0, "paid"),  # the same cell as a spreadsheet float
        # failed
        ("Thất bại", "failed"),
        ("Không thành công", "failed"),
        ("Từ chối", "failed"),
        ("Lỗi", "failed"),
        ("chưa chi", "failed"),
        ("Rejected", "failed"),
        ("FAILED", "failed"),
        ("f", "failed"),
        ("0", "failed"),
        (0, "failed"),
        # anything else is neither: the line stays as it was and the row is reported
        ("", None),
        (None, None),
        ("pending", None),
        ("Thành công!", None),
        ("01", None),
        ("thành", None),
    ],
)
def test_parse_result_status(cell, expected):
    assert parse_result_status(cell) == expected


def _unit(scheme: str, path: str) -> AdminUnit:
    return AdminUnit(scheme=scheme, path=path)


CITY = _unit("2024", "01/")
BA_DINH = _unit("2024", "01/001/")
TRUC_BACH = _unit("2024", "01/001/00004/")  # in Ba Đình
HOAN_KIEM = _unit("2024", "01/002/")
PHUC_TAN = _unit("2024", "01/002/00037/")  # in Hoàn Kiếm
CITY_2025 = _unit("2025", "01/")
WARD_2025 = _unit("2025", "01/00004/")


@pytest.mark.parametrize(
    ("period_unit", "user_unit", "expected"),
    [
        (BA_DINH, BA_DINH, True),  # their own period
        (BA_DINH, TRUC_BACH, True),  # a commune sees the district's period (its lines of it)
        (BA_DINH, CITY, True),  # the city sees every period inside it
        (TRUC_BACH, BA_DINH, True),  # a commune's period, inside the district
        (CITY, PHUC_TAN, True),  # a city-wide period covers every commune
        (BA_DINH, HOAN_KIEM, False),  # a sibling district
        (BA_DINH, PHUC_TAN, False),  # a commune of another district
        (TRUC_BACH, PHUC_TAN, False),
        (CITY, WARD_2025, False),  # the schemes never mix, although both cities are "01/"
        (CITY_2025, TRUC_BACH, False),
        (CITY_2025, WARD_2025, True),
    ],
)
def test_period_visible(period_unit, user_unit, expected):
    assert period_visible(PayoutPeriod(unit=period_unit), user_unit) is expected


def test_no_unit_or_no_period_sees_nothing():
    assert period_visible(PayoutPeriod(unit=BA_DINH), None) is False
    assert period_visible(None, CITY) is False
