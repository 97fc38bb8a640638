"""The similarity of a candidate weighs every part of the name and the whole date of birth (no app needed)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from app.services.registry import matching
from app.services.registry.normalize import name_key

D = dt.date


def person(name, dob=None, year=None, sex="M"):
    return SimpleNamespace(
        full_name=name,
        name_key=name_key(name),
        date_of_birth=dob,
        birth_year=year or (dob.year if dob else None),
        sex=sex,
    )


REF = person("Nguyễn Văn An", D(1945, 3, 2))


def sim(other):
    return matching.similarity(other, REF)


def test_the_same_person_is_100_and_only_then():
    assert sim(person("Nguyễn Văn An", D(1945, 3, 2))) == 100
    assert sim(person("NGUYỄN  VĂN AN", D(1945, 3, 2))) == 100  # case and spaces do not count
    assert sim(person("Nguyen Van An", D(1945, 3, 2))) < 100  # without diacritics: very close, not certain
    assert sim(person("Nguyen Van An", D(1945, 3, 2))) >= 95


def test_a_different_given_name_is_clearly_lower():
    same = sim(person("Nguyễn Văn An", D(1945, 3, 2)))
    other = sim(person("Nguyễn Văn Bình", D(1945, 3, 2)))
    assert other <= same - 20
    assert other < matching.MIN_CANDIDATE_SCORE


def test_the_family_and_the_middle_name_count():
    assert sim(person("Trần Văn An", D(1945, 3, 2))) < 100 - 10
    assert sim(person("Nguyễn Đức An", D(1945, 3, 2))) < 100 - 10
    assert sim(person("Nguyễn An", D(1945, 3, 2))) < 100  # the middle name left out


def test_a_different_day_of_birth_is_lower():
    exact = sim(person("Nguyễn Văn An", D(1945, 3, 2)))
    day = sim(person("Nguyễn Văn An", D(1945, 3, 12)))
    month = sim(person("Nguyễn Văn An", D(1945, 9, 2)))
    swapped = sim(person("Nguyễn Văn An", D(1945, 2, 3)))
    assert exact > swapped > day > month
    assert day <= 80 and day >= matching.MIN_CANDIDATE_SCORE  # a wrong day is still worth a review
    assert sim(person("Nguyễn Văn An", year=1945)) < exact  # only the year known


def test_diacritics_matter_when_both_names_have_them():
    # "Lan" and "Lân" are two names; without any diacritics on one side they are the same letters.
    ref = person("Nguyễn Thị Lan", D(1950, 1, 1), sex="F")
    assert matching.similarity(person("Nguyen Thi Lan", D(1950, 1, 1), sex="F"), ref) >= 95
    assert matching.similarity(person("Nguyễn Thị Lân", D(1950, 1, 1), sex="F"), ref) < 90


def test_a_different_sex_is_lower():
    assert sim(person("Nguyễn Văn An", D(1945, 3, 2), sex="F")) < 100 - 15


def test_a_namesake_below_the_threshold_is_not_proposed():
    from app.services.registry.population import CitizenRecord, fg_key

    def record(cccd, name, dob):
        return CitizenRecord(cccd, name, name_key(name), fg_key(name), dob, dob.year, "F", 1, "alive", None)

    pool = [
        record("001160000001", "Trịnh Thị Nga", D(1960, 3, 5)),
        record("001160000002", "Trịnh Thu Nga", D(1960, 11, 20)),
    ]
    b = SimpleNamespace(id=1, commune_id=1, **vars(person("Trịnh Thị Nga", D(1960, 3, 15), sex="F")))
    result = matching.match_one(b, None, pool, {1: 100}, {1: "Phường Trúc Bạch"})
    assert result.status == "needs_review"
    assert [c["cccd"] for c in result.candidates] == ["001160000001"]  # the other namesake is below the threshold
    assert result.candidates[0]["score"] < 100
    alone = SimpleNamespace(id=2, commune_id=1, **vars(person("Trịnh Văn Nga", D(1960, 7, 9), sex="F")))
    assert matching.match_one(alone, None, pool, {1: 100}, {1: "Phường Trúc Bạch"}).status == "not_found"
