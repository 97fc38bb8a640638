"""Synthetic demo data: a Hanoi population and beneficiary lists drawn from it, with realistic faults.

Everything here is synthetic (see ``synthetic.SYNTHETIC_LABEL``); no real person is involved.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import warnings
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AdminUnit, Citizen
from app.services import synthetic
from app.services.population import bulk_load_citizens, citizen_row
from app.services.reference import FIXTURES

DEMO_SEED = 20240107
DEMO_DISTRICTS = ("001", "002")
CATEGORY_NAMES = {"BTXH": "Bảo trợ xã hội", "NCC": "Người có công", "HN": "Hộ nghèo", "HCN": "Hộ cận nghèo", "KHAC": "Khác"}


def demo_communes(districts: Iterable[str] | None = DEMO_DISTRICTS) -> list[tuple[str, str, str]]:
    """(code, name, district) of the communes of ``districts`` (None: every Hanoi commune)."""
    import csv as _csv

    with open(FIXTURES / "hanoi_legacy_units.csv", encoding="utf-8") as fh:
        rows = list(_csv.DictReader(fh))
    wanted = set(districts) if districts is not None else None
    return [(r["ward_code"], r["ward_name"], r["district_name"]) for r in rows
            if wanted is None or r["district_code"] in wanted]


def citizen_rows(seed: int, n: int, communes, unit_ids: dict[str, int], start: int = 0):
    for (cccd, cmnd, name, dob, year, sex, address, code, status, status_date) in synthetic.generate_citizens(
            seed, n, communes, start_serial=start):
        yield citizen_row(cccd, cmnd, name, dt.date.fromisoformat(dob) if dob else None, year, sex, address,
                          unit_ids[code], status, dt.date.fromisoformat(status_date) if status_date else None)


def seed_population(session: Session, n: int, *, seed: int = DEMO_SEED, districts=DEMO_DISTRICTS) -> int:
    """Load ``n`` synthetic citizens unless the registry already has people. Returns how many were added."""
    if session.scalar(select(func.count()).select_from(Citizen)):
        return 0
    communes = demo_communes(districts)
    unit_ids = dict(session.execute(select(AdminUnit.code, AdminUnit.id).where(AdminUnit.scheme == "2024")).all())
    added = bulk_load_citizens(session, citizen_rows(seed, n, communes, unit_ids))
    session.commit()
    return added


def beneficiary_list_csv(n_citizens: int, m: int, *, seed: int = DEMO_SEED, districts=DEMO_DISTRICTS) -> bytes:
    """A beneficiary list as a district would send it (CSV, Vietnamese headers), drawn from the same
    synthetic population as ``seed_population`` with faults injected."""
    communes = demo_communes(districts)
    citizens = list(synthetic.generate_citizens(seed, n_citizens, communes))
    by_code = {c[0]: c for c in communes}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([synthetic.SYNTHETIC_LABEL])
    writer.writerow(["STT", "Họ và tên", "Số CCCD", "Ngày sinh", "Giới tính", "Địa chỉ", "Mã xã", "Loại đối tượng",
                     "Mã chế độ", "Mức trợ cấp"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", synthetic.SyntheticDataWarning)
        for i, row in enumerate(synthetic.draw_beneficiaries(seed, citizens, min(m, len(citizens) // 3), by_code), 1):
            born = row["date_of_birth"].strftime("%d/%m/%Y") if row["date_of_birth"] else str(row["birth_year"])
            writer.writerow([i, row["full_name"], row["cccd"] or "", born, "Nam" if row["sex"] == "M" else "Nữ",
                             row["address"], row["commune_code"], CATEGORY_NAMES[row["category"]],
                             row["policy_code"], row["monthly_amount"]])
    writer.writerow([])
    writer.writerow(["", "Người lập biểu"])
    return out.getvalue().encode("utf-8-sig")
