"""Keys of the registry: the comparison name key and the natural key of a person."""

from __future__ import annotations

import datetime as dt

from app.services.registry.normalize import COLLATION_KEY_LENGTH, name_key, name_sort_key, search_key


def natural_key(
    cccd: str | None, key: str, date_of_birth: dt.date | None, birth_year: int | None, commune_code: str
) -> str:
    """ "C:<cccd>" when the CCCD is known, else "N:<name key>|<date or year>|<commune code>"."""
    if cccd:
        return f"C:{cccd}"
    born = date_of_birth.isoformat() if date_of_birth else (str(birth_year) if birth_year else "")
    return f"N:{key}|{born}|{commune_code}"


def refresh_keys(person) -> None:
    """Recompute name_key, birth_year, natural_key and the search keys of a Beneficiary after an edit."""
    person.cccd = person.cccd or None
    person.name_key = name_key(person.full_name or "")
    if person.date_of_birth:
        person.birth_year = person.date_of_birth.year
    commune = person.commune
    code = commune.code if commune is not None else str(person.commune_id)
    person.natural_key = natural_key(person.cccd, person.name_key, person.date_of_birth, person.birth_year, code)
    fill_search_keys(person)


def search_keys(full_name: str | None, address: str | None) -> dict:
    """The stored search and sort keys of a person: ``search_key`` (name without tones, lower case),
    ``sort_key`` (Vietnamese alphabetical order of the name), ``address_key`` (address without tones)."""
    return {
        "search_key": search_key(full_name)[:150],
        "sort_key": name_sort_key(full_name)[:COLLATION_KEY_LENGTH],
        "address_key": search_key(address)[:400] or None,
    }


def fill_search_keys(person) -> None:
    """Set the search and sort keys of a Beneficiary from its name and address (every ORM write)."""
    for key, value in search_keys(person.full_name, person.address).items():
        if getattr(person, key) != value:
            setattr(person, key, value)
