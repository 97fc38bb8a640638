"""The pure masking functions (app/services/masking.py)."""

import pytest

from app.services.masking import mask_account, mask_cccd, mask_cells, mask_ids_in_text, mask_mapping


@pytest.mark.parametrize(
    "value,expected",
    [
        ("001085012345", "001******345"),
        ("012345678", "012***678"),
        ("12345", "***45"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_cccd(value, expected):
    assert mask_cccd(value) == expected


@pytest.mark.parametrize(
    "value,expected",
    [
        ("0123456789", "•••• 6789"),
        ("0001 2345 6789 012", "•••• 9012"),
        ("123", "••••"),
        (None, None),
    ],
)
def test_mask_account(value, expected):
    assert mask_account(value) == expected


def test_mask_account_does_not_reveal_the_length():
    assert mask_account("9876543210126789") == mask_account("126789") == "•••• 6789"


def test_mask_ids_in_text_and_cells():
    text = "CCCD 001085012345 khác 1085012345 (số tiền 1.500.000) CMND 012345678"
    assert mask_ids_in_text(text) == "CCCD 001******345 khác 1085012345 (số tiền 1.500.000) CMND 012***678"
    cells = mask_cells(
        ["Nguyễn Văn An", "1085012345", "0123456789", "Số 1 phố Huế"],
        ["full_name", "cccd", "account_number", "address"],
    )
    assert cells == ["Nguyễn Văn An", "108****345", "•••• 6789", "Số 1 phố Huế"]
    data = {"cccd": "001085012345", "account_number": "0123456789", "full_name": "An"}
    assert mask_mapping(data, {"cccd": "cccd", "account_number": "account"}) == {
        "cccd": "001******345",
        "account_number": "•••• 6789",
        "full_name": "An",
    }
