"""The search key (tones and case ignored) and the Vietnamese sort key of names."""

from __future__ import annotations

import unicodedata

from app.services.registry import normalize as nz
from app.services.registry.keys import search_keys


def test_search_key_folds_tones_case_and_spaces():
    expected = "nguyen hoang kien"
    for text in (
        "Nguyễn Hoàng Kiên",
        "NGUYỄN HOÀNG KIÊN",
        "nguyen hoang kien",
        " Nguyễn  Hoàng\u00a0Kiên ",
        unicodedata.normalize("NFD", "Nguyễn Hoàng Kiên"),
    ):
        assert nz.search_key(text) == expected
    assert nz.search_key("Đặng Thị Đào") == "dang thi dao"
    assert nz.search_key(None) == ""


def test_letters_sort_in_vietnamese_order():
    alphabet = [
        "a",
        "ă",
        "â",
        "b",
        "c",
        "d",
        "đ",
        "e",
        "ê",
        "g",
        "h",
        "i",
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
        "x",
        "y",
    ]
    assert sorted(reversed(alphabet), key=nz.collation_key) == alphabet
    # Byte order of the text puts "đ" after "z" and "â" after "b": the key does not.
    assert sorted(["đ", "z", "â", "b"]) != sorted(["đ", "z", "â", "b"], key=nz.collation_key)


def test_tones_count_only_after_the_letters():
    assert sorted(["ạ", "ã", "ả", "á", "à", "a"], key=nz.collation_key) == ["a", "à", "á", "ả", "ã", "ạ"]
    # Letters first over the whole text: "Án" < "An B" although the tone of the first word differs.
    assert nz.collation_key("Án") < nz.collation_key("An B")
    assert nz.collation_key("an") < nz.collation_key("anh") < nz.collation_key("ăn")
    assert nz.collation_key("An") == nz.collation_key("AN")


def test_names_sort_by_given_name_then_family_name():
    names = [
        "Nguyễn Hoàng Kiên",
        "Trần Văn An",
        "Đỗ Thị Ánh",
        "Lê Thị Anh",
        "Bùi Văn Đức",
        "Phạm Dũng",
        "Hồ Ân",
        "Vũ Ăn",
    ]
    assert sorted(names, key=nz.name_sort_key) == [
        "Trần Văn An",
        "Lê Thị Anh",
        "Đỗ Thị Ánh",
        "Vũ Ăn",
        "Hồ Ân",
        "Phạm Dũng",
        "Bùi Văn Đức",
        "Nguyễn Hoàng Kiên",
    ]


def test_sort_key_is_digits_only_so_any_collation_agrees():
    key = nz.name_sort_key("Nguyễn Thị Hòa Đặng-Anh")
    assert key.isdigit() and len(key) <= nz.COLLATION_KEY_LENGTH


def test_search_keys_of_a_person():
    keys = search_keys("Nguyễn Hoàng Kiên", "Số 5, phố Hàng Bông")
    assert keys["search_key"] == "nguyen hoang kien"
    assert keys["address_key"] == "so 5, pho hang bong"
    assert keys["sort_key"] == nz.name_sort_key("Nguyễn Hoàng Kiên")
    assert search_keys("An", None)["address_key"] is None
