"""Reference data of payout: the statutory base levels and which categories stack."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    BaseLevel,
    CategoryRule,
)

# --- reference data: base levels and category rules ----------------------------------------

#: Seed of the base levels (the statutory base amounts). Stored as data; edit the table, not this list.
BASE_LEVEL_SEED = (
    ("BTXH", 360_000, dt.date(2021, 7, 1), "VN", "Nghị định 20/2021/NĐ-CP"),
    ("BTXH", 500_000, dt.date(2024, 7, 1), "VN", "Nghị định 76/2024/NĐ-CP"),
    ("BTXH", 650_000, dt.date(2026, 1, 1), "01", "Nghị quyết 63/2025/NQ-HĐND (Hà Nội)"),
    ("NCC", 2_789_000, dt.date(2024, 7, 1), "VN", "Nghị định 77/2024/NĐ-CP"),
)
#: Which categories may be paid together with another category to the same person (notes are data, in Vietnamese).
CATEGORY_RULE_SEED = (
    ("BTXH", True, "Trợ cấp bảo trợ xã hội được hưởng cùng với trợ cấp người có công"),
    ("NCC", True, "Trợ cấp người có công được hưởng cùng với trợ cấp bảo trợ xã hội"),
    ("HN", False, "Hỗ trợ hộ nghèo: chỉ hưởng mức cao hơn khi người đó thuộc nhóm đối tượng khác"),
    ("HCN", False, "Hỗ trợ hộ cận nghèo: chỉ hưởng mức cao hơn khi người đó thuộc nhóm đối tượng khác"),
    ("KHAC", False, None),
)


def load_payout_rules(session: Session) -> int:
    """Insert the seed base levels and category rules that are missing. Idempotent; never overwrites."""
    count = 0
    have = {(b.category, b.effective_from, b.jurisdiction) for b in session.scalars(select(BaseLevel))}
    for category, amount, start, juris, basis in BASE_LEVEL_SEED:
        if (category, start, juris) not in have:
            session.add(
                BaseLevel(category=category, amount=amount, effective_from=start, jurisdiction=juris, legal_basis=basis)
            )
            count += 1
    rules = {r.category for r in session.scalars(select(CategoryRule))}
    for category, stackable, note in CATEGORY_RULE_SEED:
        if category not in rules:
            session.add(CategoryRule(category=category, stackable=stackable, note=note))
            count += 1
    session.flush()
    return count


def base_levels_at(session: Session, day: dt.date) -> dict[str, int]:
    """Category → base level in force on ``day`` (the latest start on or before it; a local level wins a tie)."""
    levels: dict[str, tuple] = {}
    for b in session.scalars(select(BaseLevel).where(BaseLevel.effective_from <= day)):
        key = (b.effective_from, b.jurisdiction != "VN")
        if b.category not in levels or key > levels[b.category][0]:
            levels[b.category] = (key, int(b.amount))
    return {c: v[1] for c, v in levels.items()}


def stackable_categories(session: Session) -> set[str]:
    return set(session.scalars(select(CategoryRule.category).where(CategoryRule.stackable.is_(True))))
