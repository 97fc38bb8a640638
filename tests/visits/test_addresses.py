"""Address parts for ordering a visit round: street, ngõ, ngách, số nhà (numbers compare as numbers)."""

import pytest

from app.services.visits.addresses import parse_address


@pytest.mark.parametrize(
    "text,street,lane,alley,house,suffix",
    [
        ("Số 12, ngõ 34 phố Quán Thánh", "Quán Thánh", 34, 0, 12, ""),
        ("Số 12, ngõ 34 phố Quán Thánh, phường Quán Thánh, quận Ba Đình, Hà Nội", "Quán Thánh", 34, 0, 12, ""),
        ("SN 5 ng. 7 Quan Thanh", "Quan Thanh", 7, 0, 5, ""),
        ("12 Hàng Bông", "Hàng Bông", 0, 0, 12, ""),
        ("Số 3, ngách 8, ngõ 120 đường Láng", "Láng", 120, 8, 3, ""),
        ("số 12A phố Huế", "Huế", 0, 0, 12, "A"),
        ("Thôn Đông, xã Kim Chung", "Thôn Đông", 0, 0, 0, ""),
        ("Tổ dân phố 5", "Tổ dân phố 5", 0, 0, 0, ""),
        ("", "", 0, 0, 0, ""),
        (None, "", 0, 0, 0, ""),
    ],
)
def test_parse(text, street, lane, alley, house, suffix):
    p = parse_address(text)
    assert (p.street, p.lane, p.alley, p.house, p.house_suffix) == (street, lane, alley, house, suffix)


def test_order_is_numeric_and_ignores_diacritics():
    addresses = [
        "Số 12, ngõ 34 phố Quán Thánh",
        "Số 2, ngõ 34 phố Quán Thánh",
        "Số 5 phố Quan Thanh",
        "Số 1, ngõ 4 Quán Thánh",
        "Số 100 phố Hàng Bông",
        "Số 9 phố Hàng Bông",
        "Tổ dân phố 12",
        "Tổ dân phố 5",
    ]
    ordered = sorted(addresses, key=lambda a: parse_address(a).sort_key())
    assert ordered == [
        "Số 9 phố Hàng Bông",
        "Số 100 phố Hàng Bông",
        "Số 5 phố Quan Thanh",
        "Số 1, ngõ 4 Quán Thánh",
        "Số 2, ngõ 34 phố Quán Thánh",
        "Số 12, ngõ 34 phố Quán Thánh",
        "Tổ dân phố 5",
        "Tổ dân phố 12",
    ]
