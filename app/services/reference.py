"""Reference data: administrative units of both schemes and the bank list, from fixtures/."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, Bank, UnitMigration
from app.models.admin_unit import CITY_CODE

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CITY_NAME = "Thành phố Hà Nội"
COMMUNE_TYPES = ("phường", "xã", "thị trấn")

# Each scheme as data: the kind of unit at each level (level 1 first), and which kind pays the allowances.
# 2024 (three levels): the district labour office pays for its communes. Since 1 July 2025 (two levels, districts
# abolished) the commune pays for itself. Code asks these functions instead of comparing levels with numbers.
SCHEME_LEVELS: dict[str, tuple[str, ...]] = {"2024": ("city", "district", "commune"), "2025": ("city", "commune")}
PAYER_KIND: dict[str, str] = {"2024": "district", "2025": "commune"}


def level_of(scheme: str, kind: str) -> int:
    """The level (1 = city) of units of ``kind`` ("city", "district", "commune") in ``scheme``."""
    return SCHEME_LEVELS[scheme].index(kind) + 1


def unit_kind(unit: AdminUnit) -> str:
    """ "city", "district" or "commune": what ``unit`` is in its scheme."""
    return SCHEME_LEVELS[unit.scheme][unit.level - 1]


def payer_level(scheme: str) -> int:
    """The level of the units that pay (one payout list each): the district in 2024, the commune in 2025."""
    return level_of(scheme, PAYER_KIND[scheme])


def commune_level(scheme: str) -> int:
    return level_of(scheme, "commune")


def is_commune(unit: AdminUnit | None) -> bool:
    """``unit`` is a commune (the lowest level of its scheme)."""
    return unit is not None and unit.level == commune_level(unit.scheme)


def commune_clause(alias=AdminUnit):
    """SQL: the unit ``alias`` (AdminUnit or an alias of it) is a commune of its scheme."""
    return or_(*(and_(alias.scheme == scheme, alias.level == commune_level(scheme)) for scheme in SCHEME_LEVELS))


def level_below(unit: AdminUnit) -> int | None:
    """The level of the units directly below ``unit`` (2024: the city's districts, a district's communes; 2025: the
    city's communes); None for a commune."""
    return None if is_commune(unit) else unit.level + 1


def units_below(session: Session, unit: AdminUnit) -> list[AdminUnit]:
    """The units directly below ``unit``, by code: what its figures break down into (the districts of the 2024
    city, the communes of the 2025 city, a district's communes; none for a commune)."""
    return list(session.scalars(select(AdminUnit).where(AdminUnit.parent_id == unit.id).order_by(AdminUnit.code)))


def kind_below(unit: AdminUnit) -> str | None:
    """ "district" or "commune": what the units directly below ``unit`` are; None for a commune."""
    level = level_below(unit)
    return None if level is None else SCHEME_LEVELS[unit.scheme][level - 1]


def paying_unit(session: Session, unit: AdminUnit) -> AdminUnit | None:
    """The unit that pays for ``unit``: itself when it is a paying unit, the paying unit above it when it lies
    below one (a commune of 2024: its district), None above the paying level (the city)."""
    level = payer_level(unit.scheme)
    if unit.level == level:
        return unit
    if unit.level < level:
        return None
    code = unit.path.split("/")[level - 1]  # path "01/001/00004/": the code at each level
    return find_unit(session, code, unit.scheme)


def _upsert_unit(
    session: Session,
    existing: dict,
    scheme: str,
    code: str,
    name: str,
    unit_type: str,
    level: int,
    parent: AdminUnit | None,
) -> AdminUnit:
    path = (parent.path if parent else "") + code + "/"
    unit = existing.get((scheme, code))
    if unit is None:
        unit = AdminUnit(scheme=scheme, code=code)
        session.add(unit)
        existing[(scheme, code)] = unit
    unit.name, unit.unit_type, unit.level, unit.parent, unit.path = name, unit_type, level, parent, path
    return unit


def load_units(session: Session, fixtures: Path = FIXTURES) -> int:
    """Create or update the units of both schemes. Idempotent; returns the number of units."""
    existing = {(u.scheme, u.code): u for u in session.scalars(select(AdminUnit))}
    count = 0
    city = _upsert_unit(session, existing, "2024", CITY_CODE, CITY_NAME, "thành phố", level_of("2024", "city"), None)
    districts: dict[str, AdminUnit] = {}
    with open(fixtures / "hanoi_legacy_units.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            d = districts.get(row["district_code"])
            if d is None:
                d = _upsert_unit(
                    session,
                    existing,
                    "2024",
                    row["district_code"],
                    row["district_name"],
                    row["district_type"],
                    level_of("2024", "district"),
                    city,
                )
                districts[row["district_code"]] = d
            _upsert_unit(
                session,
                existing,
                "2024",
                row["ward_code"],
                row["ward_name"],
                row["ward_type"],
                commune_level("2024"),
                d,
            )
            count += 1
    count += 1 + len(districts)
    city25 = _upsert_unit(session, existing, "2025", CITY_CODE, CITY_NAME, "thành phố", level_of("2025", "city"), None)
    with open(fixtures / "hanoi_2025_units.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            _upsert_unit(
                session,
                existing,
                "2025",
                row["ward_code"],
                row["ward_name"],
                row["ward_type"],
                commune_level("2025"),
                city25,
            )
            count += 1
    session.flush()
    return count + 1


def load_banks(session: Session, fixtures: Path = FIXTURES) -> int:
    """Create or update banks from banks.csv (keyed by BIN). Idempotent."""
    existing = {b.bin: b for b in session.scalars(select(Bank))}
    count = 0
    with open(fixtures / "banks.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            bank = existing.get(row["bin"]) or Bank(bin=row["bin"])
            bank.code, bank.short_name, bank.name_vi = row["code"], row["short_name"], row["name_vi"]
            bank.swift, bank.kind, bank.former_names = row["swift"] or None, row["kind"], row["former_names"] or None
            session.add(bank)
            count += 1
    session.flush()
    return count


def find_unit(session: Session, code: str, scheme: str) -> AdminUnit | None:
    """A unit by its code, read in ``scheme`` (codes are unique only within a scheme)."""
    return session.scalar(select(AdminUnit).where(AdminUnit.scheme == scheme, AdminUnit.code == code.strip()))


# The rows that live in the active scheme's units (moved by ``asxh migrate-units``: app/services/unit_migration.py). Historical rows
# (payout periods and their lines, imports, match runs, the audit trail) stay with the units they were made in.
UNIT_BOUND_COLUMNS = (
    ("ab_user", "unit_id"),
    ("citizen", "commune_id"),
    ("beneficiary", "commune_id"),
    ("enrolment", "commune_id"),
    ("payment_account", "commune_id"),
    ("work_group", "commune_id"),
    ("visit_assignment", "commune_id"),
    ("campaign", "unit_id"),
)


def retired_schemes(session: Session) -> set[str]:
    """The schemes the data was moved away from (``asxh migrate-units``, once running or done): their units keep
    only history, which is read, never written."""
    return set(session.scalars(select(UnitMigration.from_scheme).where(UnitMigration.status.in_(("running", "done")))))


def rows_of_other_schemes(session: Session, scheme: str, tables: set[str] | None = None) -> dict[str, int]:
    """{table: rows} of unit-bound rows whose unit belongs to another scheme than ``scheme`` (empty: all fit).
    ``tables``: the tables that exist (a database at an older migration lacks some); None: all of them."""
    from sqlalchemy import text

    found = {}
    for table, column in UNIT_BOUND_COLUMNS:
        if tables is not None and table not in tables:
            continue
        count = session.execute(
            text(f"SELECT count(*) FROM {table} t JOIN admin_unit u ON u.id = t.{column} WHERE u.scheme <> :scheme"),
            {"scheme": scheme},
        ).scalar()
        if count:
            found[table] = int(count)
    return found
