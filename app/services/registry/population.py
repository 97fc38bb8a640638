"""The population registry (CSDL quốc gia về dân cư) behind one small interface, and its extract import.

``PopulationRegistry`` is what matching needs: batched look-ups by CCCD and by
blocking key. ``LocalPopulationRegistry`` answers from the ``citizen`` table,
filled from extract files; a connector to the real registry service can replace
it without touching the matcher.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from app.models import AdminUnit, Citizen, ImportBatch, PopulationRow
from app.services.formatting import utc_now
from app.services.messages import N_, FieldError, Problem
from app.services.registry import normalize as nz
from app.services.registry.staging import copy_rows, count_outcomes, stage_file, staging_fields

CHUNK = 5000
STATUS_WORDS = {
    "alive": "alive",
    "song": "alive",
    "con song": "alive",
    "": "alive",
    "deceased": "deceased",
    "dead": "deceased",
    "da chet": "deceased",
    "chet": "deceased",
    "da mat": "deceased",
    "moved": "moved",
    "chuyen di": "moved",
    "da chuyen di": "moved",
}
POPULATION_ALIASES = {
    "cccd": ["cccd", "so cccd", "so dinh danh", "so dinh danh ca nhan"],
    "cmnd": ["cmnd", "so cmnd"],
    "full_name": ["full_name", "ho va ten", "ho ten"],
    "date_of_birth": ["date_of_birth", "ngay sinh", "ngay thang nam sinh", "nam sinh"],
    "sex": ["sex", "gioi tinh"],
    "address": ["address", "dia chi", "noi thuong tru"],
    "commune_code": ["commune_code", "ma xa", "ma don vi"],
    "status": ["status", "trang thai"],
    "status_date": ["status_date", "ngay trang thai"],
}


@dataclass(frozen=True)
class CitizenRecord:
    cccd: str
    full_name: str
    name_key: str
    fg_key: str
    date_of_birth: dt.date | None
    birth_year: int | None
    sex: str | None
    commune_id: int | None
    status: str
    status_date: dt.date | None
    address: str | None = None


def fg_key(name: str) -> str:
    """Blocking key: ASCII family name + given name, lower case ("nguyen an")."""
    family, _middle, given = nz.split_name(nz.ascii_key(name).lower())
    return f"{family} {given}".strip()


class PopulationRegistry(ABC):
    """What the matcher asks of the population registry. Every call is batched."""

    @abstractmethod
    def by_cccd(self, cccds: Iterable[str]) -> dict[str, CitizenRecord]:
        """The records of the given CCCDs that exist."""

    @abstractmethod
    def by_blocking_key(self, keys: Iterable[tuple[str, int | None]]) -> list[CitizenRecord]:
        """Every record whose (fg_key, birth_year) is among ``keys`` (birth year None: any year)."""


class LocalPopulationRegistry(PopulationRegistry):
    def __init__(self, session: Session):
        self.session = session

    _COLUMNS = (
        Citizen.cccd,
        Citizen.full_name,
        Citizen.name_key,
        Citizen.fg_key,
        Citizen.date_of_birth,
        Citizen.birth_year,
        Citizen.sex,
        Citizen.commune_id,
        Citizen.status,
        Citizen.status_date,
        Citizen.address,
    )

    def by_cccd(self, cccds):
        cccds = list({c for c in cccds if c})
        found: dict[str, CitizenRecord] = {}
        for i in range(0, len(cccds), 5000):
            for row in self.session.execute(select(*self._COLUMNS).where(Citizen.cccd.in_(cccds[i : i + 5000]))):
                found[row.cccd] = CitizenRecord(*row)
        return found

    def by_blocking_key(self, keys):
        keys = list(set(keys))
        with_year = [k for k in keys if k[1] is not None]
        without_year = list({k[0] for k in keys if k[1] is None})
        out: list[CitizenRecord] = []
        for i in range(0, len(with_year), 500):
            part = with_year[i : i + 500]
            out += [
                CitizenRecord(*r)
                for r in self.session.execute(
                    select(*self._COLUMNS).where(tuple_(Citizen.fg_key, Citizen.birth_year).in_(part))
                )
            ]
        for i in range(0, len(without_year), 500):
            out += [
                CitizenRecord(*r)
                for r in self.session.execute(
                    select(*self._COLUMNS).where(Citizen.fg_key.in_(without_year[i : i + 500]))
                )
            ]
        return out


# --- extract import ------------------------------------------------------------------


def bulk_load_citizens(session: Session, rows: Iterable[dict], batch_id: int | None = None) -> int:
    """Insert citizens (new CCCDs only) set-based; used by the demo generator and benchmarks."""
    count = 0
    chunk: list[dict] = []
    now = utc_now()
    for r in rows:
        chunk.append(dict(r, source_batch_id=batch_id, updated_at=now))
        if len(chunk) >= 20000:
            copy_rows(session, Citizen.__table__, chunk)
            count += len(chunk)
            chunk = []
    copy_rows(session, Citizen.__table__, chunk)
    return count + len(chunk)


def citizen_row(cccd, cmnd, full_name, dob, year, sex, address, commune_id, status, status_date) -> dict:
    return {
        "cccd": cccd,
        "cmnd": cmnd,
        "full_name": full_name,
        "name_key": nz.name_key(full_name),
        "fg_key": fg_key(full_name),
        "date_of_birth": dob,
        "birth_year": year,
        "sex": sex,
        "address": address,
        "commune_id": commune_id,
        "status": status,
        "status_date": status_date,
    }


def _validate(values: dict, units: dict[str, int]) -> tuple[dict, list[Problem]]:
    problems: list[Problem] = []
    name = nz.clean_text(values.get("full_name"))
    if not name:
        problems.append(Problem("full_name", "name_missing", N_("The full name is missing")))
    sex = None
    try:
        sex = nz.parse_sex(values.get("sex")) if values.get("sex") not in (None, "") else None
    except FieldError as exc:
        problems.append(exc.problem)
    dob = year = None
    try:
        if values.get("date_of_birth") not in (None, ""):
            dob, year = nz.parse_date(values.get("date_of_birth"))
    except FieldError as exc:
        problems.append(exc.problem)
    cccd, found = nz.parse_cccd(values.get("cccd"), birth_year=year, sex=sex)
    problems += found
    if cccd is None and not any(p.field == "cccd" and p.severity == "error" for p in problems):
        problems.append(Problem("cccd", "cccd_missing", N_("The CCCD is missing")))
    code = nz.clean_text(values.get("commune_code"))
    if code.isdigit():
        code = code.zfill(5)
    commune_id = units.get(code)
    if commune_id is None:
        problems.append(Problem("commune", "unit_unknown", N_("Unknown unit code: %(value)s"), {"value": code}))
    status = STATUS_WORDS.get(nz.ascii_key(nz.clean_text(values.get("status"))).lower())
    if status is None:
        problems.append(
            Problem(
                "status",
                "status_invalid",
                N_("Unknown status %(value)s (alive, deceased or moved)"),
                {"value": values.get("status")},
            )
        )
    status_date = None
    if values.get("status_date") not in (None, ""):
        try:
            status_date = nz.parse_date(values.get("status_date"))[0]
        except FieldError as exc:
            problems.append(Problem("status_date", exc.problem.code, exc.problem.msgid, exc.problem.params))
    rec = citizen_row(
        cccd,
        nz.parse_cmnd(values.get("cmnd")) if values.get("cmnd") not in (None, "") else None,
        name[:150] or None,
        dob,
        year,
        sex,
        nz.clean_text(values.get("address"))[:400] or None,
        commune_id,
        status or "alive",
        status_date,
    )
    if not name:
        rec["name_key"] = rec["fg_key"] = None
    return rec, problems


def parse_population(session: Session, batch_id: int, progress: Callable | None = None) -> ImportBatch:
    """Stage and validate an extract; resumable per chunk like the beneficiary import."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in ("uploaded", "parsing"):
        return batch
    batch.status = "parsing"
    session.commit()
    scheme = session.get(AdminUnit, batch.unit_id).scheme
    units = dict(session.execute(select(AdminUnit.code, AdminUnit.id).where(AdminUnit.scheme == scheme)).all())

    def build(row):
        rec, problems = _validate(row.values, units)
        rec.pop("fg_key", None)  # computed when applied
        rec.update(staging_fields(batch.id, row, problems))
        return rec

    stage_file(
        session,
        batch,
        model=PopulationRow,
        aliases=POPULATION_ALIASES,
        required=("full_name", "cccd"),
        build_row=build,
        progress=progress,
    )
    session.execute(
        text(
            """
        UPDATE population_row SET outcome = 'dup_file', duplicate_of_row = f.first_row
        FROM (SELECT cccd, min(row_number) AS first_row FROM population_row
              WHERE batch_id = :b AND has_error = :f AND cccd IS NOT NULL GROUP BY cccd HAVING count(*) > 1) AS f
        WHERE population_row.batch_id = :b AND population_row.has_error = :f AND population_row.cccd = f.cccd
          AND population_row.row_number > f.first_row
        """
        ),
        {"b": batch.id, "f": False},
    )
    batch.status = "parsed"
    count_outcomes(session, PopulationRow, batch, flags=False)
    session.commit()
    return batch


_CITIZEN_COLS = (
    "cmnd",
    "full_name",
    "name_key",
    "date_of_birth",
    "birth_year",
    "sex",
    "address",
    "commune_id",
    "status",
    "status_date",
)


def apply_population(session: Session, batch_id: int, progress: Callable | None = None) -> ImportBatch:
    """Upsert the staged extract into ``citizen`` in one transaction (re-imports update in place)."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.status not in ("parsed", "applying"):
        return batch
    batch.status = "applying"
    session.commit()
    d = session.get_bind().dialect.name
    same = " AND ".join(
        (f"c.{c} IS r.{c}" if d == "sqlite" else f"c.{c} IS NOT DISTINCT FROM r.{c}") for c in _CITIZEN_COLS
    )
    p = {"b": batch.id, "f": False, "now": utc_now()}
    session.execute(
        text(
            f"""
        UPDATE population_row SET outcome = CASE
            WHEN NOT EXISTS (SELECT 1 FROM citizen c WHERE c.cccd = population_row.cccd) THEN 'imported'
            WHEN EXISTS (SELECT 1 FROM citizen c, population_row r WHERE r.id = population_row.id
                         AND c.cccd = r.cccd AND {same}) THEN 'duplicate'
            ELSE 'updated' END
        WHERE batch_id = :b AND has_error = :f AND (outcome IS NULL OR outcome <> 'dup_file')
        """
        ),
        p,
    )
    cols = ", ".join(_CITIZEN_COLS)
    sets = ", ".join(f"{c} = excluded.{c}" for c in _CITIZEN_COLS + ("fg_key", "updated_at", "source_batch_id"))
    # fg_key needs Python (ASCII folding), so upsert per chunk from the staged rows.
    last = 0
    while True:
        rows = (
            session.execute(
                select(PopulationRow)
                .where(
                    PopulationRow.batch_id == batch.id,
                    PopulationRow.outcome.in_(("imported", "updated")),
                    PopulationRow.id > last,
                )
                .order_by(PopulationRow.id)
                .limit(CHUNK)
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        last = rows[-1].id
        values = [
            dict(
                {c: getattr(r, c) for c in _CITIZEN_COLS},
                cccd=r.cccd,
                fg_key=fg_key(r.full_name),
                updated_at=p["now"],
                source_batch_id=batch.id,
            )
            for r in rows
        ]
        session.execute(
            text(
                f"""INSERT INTO citizen (cccd, {cols}, fg_key, updated_at, source_batch_id)
                VALUES (:cccd, {", ".join(":" + c for c in _CITIZEN_COLS)}, :fg_key, :updated_at, :source_batch_id)
                ON CONFLICT (cccd) DO UPDATE SET {sets}"""
            ),
            values,
        )
        session.expunge_all()
        if progress:
            progress(stage="apply", rows=last)
    batch = session.get(ImportBatch, batch_id)
    count_outcomes(session, PopulationRow, batch, flags=False)
    batch.status = "applied"
    batch.finished_at = p["now"]
    session.commit()
    return batch
