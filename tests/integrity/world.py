"""The synthetic world of the integrity state machine: demo actors, a pool of people (never real ones),
the population registry they are matched against, import files, and the invariants as plain queries.

Everything here reads or writes through SQL or the services; nothing is mocked."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import inspect, select, text

COMMUNES = ("00001", "00004", "00037", "00040")  # Ba Đình (001): 00001, 00004; Hoàn Kiếm (002): 00037, 00040
UNIT_CODES = ("01", "001", "002") + COMMUNES
CATEGORIES = ("BTXH", "NCC", "HN")  # two stackable categories and one that is not
AMOUNTS = (500_000, 750_000, 1_000_000)
PERIOD_DATES = (
    dt.date(2025, 1, 1),
    dt.date(2025, 1, 10),
    dt.date(2025, 1, 20),
    dt.date(2025, 2, 1),
    dt.date(2025, 3, 1),
    dt.date(2025, 4, 1),
)  # mostly one month; later months pay what earlier ones left owed (back pay)
# Tables whose rows belong to a commune: what the scope fingerprint covers.
SCOPED_TABLES = ("beneficiary", "enrolment", "payment_account", "payout_line")


# --- actors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    unit_code: str
    capabilities: frozenset
    period_write: bool


def demo_actors() -> list[Actor]:
    """The demo logins (asxh seed-demo) with the capabilities of their role in the ONE role table."""
    from app.cli.common import demo_accounts
    from app.security.roles import ROLE_BY_NAME, WRITE

    out = []
    for username, role_name, code in demo_accounts():
        role = ROLE_BY_NAME[role_name]
        caps = frozenset(role.capabilities)
        out.append(Actor(username, role.key, code, caps, role.views.get("PayoutPeriod") == WRITE))
    return out


ACTORS = None


def actors() -> list[Actor]:
    global ACTORS
    if ACTORS is None:
        ACTORS = demo_actors()
    return ACTORS


def actor_names(cap: str | None = None, *, period_write: bool = False, none: bool = False) -> list[str]:
    """Usernames of the actors holding capability ``cap`` (or write access to periods; or no capability)."""
    found = []
    for a in actors():
        if none and not a.capabilities - {"unmask_record"} and not a.period_write:
            found.append(a.username)
        elif cap and cap in a.capabilities:
            found.append(a.username)
        elif period_write and a.period_write:
            found.append(a.username)
    return found


# --- people -----------------------------------------------------------------------------

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi")
MIDDLE = ("Văn", "Thị", "Đức", "Ngọc")
GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Hà",
    "Khánh",
    "Lan",
    "Minh",
    "Nga",
    "Phúc",
    "Quang",
    "Sơn",
    "Tâm",
    "Uyên",
    "Vinh",
    "Yến",
)


@dataclass(frozen=True)
class Person:
    index: int
    full_name: str
    dob: dt.date
    sex: str
    cccd: str
    home: str  # commune code
    registry: str  # alive | deceased | moved | absent (not in the population registry)
    registry_name: str  # the name the registry has (differs for a few: a mismatch)


def _people() -> list[Person]:
    out = []
    for i in range(16):
        sex = "F" if i % 2 else "M"
        dob = dt.date(1940 + i, 1 + i % 12, 1 + (i * 3) % 27)
        middle = "Thị" if sex == "F" else MIDDLE[i % 4 if i % 4 != 1 else 0]
        name = f"{FAMILY[i % 8]} {middle} {GIVEN[i]}"
        century_sex = "1" if sex == "F" else "0"
        cccd = f"001{century_sex}{dob.year % 100:02d}{900100 + i:06d}"
        registry = {5: "deceased", 10: "moved", 7: "absent", 14: "absent"}.get(i, "alive")
        registry_name = name.replace(GIVEN[i], GIVEN[(i + 1) % 16]) if i % 5 == 3 else name
        out.append(Person(i, name, dob, sex, cccd, COMMUNES[i % 4], registry, registry_name))
    return out


PEOPLE = _people()


def seed_registry(session) -> None:
    """The population registry (citizen table) for the pool; a few people are missing or differ."""
    from app.models import Citizen
    from app.services.reference import find_unit
    from app.services.registry import normalize as nz
    from app.services.registry.population import fg_key

    for p in PEOPLE:
        if p.registry == "absent":
            continue
        commune = find_unit(session, p.home, "2024")
        session.add(
            Citizen(
                cccd=p.cccd,
                full_name=p.registry_name,
                name_key=nz.name_key(p.registry_name),
                fg_key=fg_key(p.registry_name),
                date_of_birth=p.dob,
                birth_year=p.dob.year,
                sex=p.sex,
                commune_id=commune.id,
                status=p.registry if p.registry != "absent" else "alive",
                updated_at=dt.datetime.now(),
            )
        )
    session.commit()


# --- files ------------------------------------------------------------------------------

IMPORT_HEADER = ("STT", "Họ và tên", "Số CCCD", "Ngày sinh", "Giới tính", "Mã xã", "Mức trợ cấp")
ROW_VARIANTS = ("plain", "plain", "no_cccd", "listed_here")


def beneficiary_csv(rows, batch_communes: list[str]) -> bytes:
    """A beneficiary list. ``rows``: (person index, variant, amount). Variants: plain (the person's own commune:
    refused when outside the batch), no_cccd (the CCCD column left empty), listed_here (the person is listed
    under a commune of the batch, whatever their registered commune: a move, or a wrong CCCD)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(IMPORT_HEADER)
    for n, (index, variant, amount) in enumerate(rows, 1):
        p = PEOPLE[index]
        commune = p.home
        if variant == "listed_here" and p.home not in batch_communes and batch_communes:
            commune = batch_communes[index % len(batch_communes)]
        cccd = "" if variant == "no_cccd" else p.cccd
        writer.writerow(
            (n, p.full_name, cccd, p.dob.strftime("%d/%m/%Y"), "Nữ" if p.sex == "F" else "Nam", commune, amount)
        )
    return buf.getvalue().encode("utf-8")


def results_csv(outcomes) -> bytes:
    """A bank result file: (line id, paid?) pairs; the receipt columns serve the lines paid in hand."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(("reference", "status", "reason", "paid_by", "paid_on", "receipt", "proxy_name"))
    for line_id, paid in outcomes:
        writer.writerow(
            (
                line_id,
                "success" if paid else "failed",
                "" if paid else "Tài khoản không tồn tại",
                "Cán bộ chi trả",
                "02/01/2025",
                f"KN-{line_id}",
                "Người nhận thay",
            )
        )
    return buf.getvalue().encode("utf-8")


def results_csv_statuses(rows) -> bytes:
    """A later bank result file: (line id, status word, amount received or None) rows (partial payments,
    reversals of lines paid earlier)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(("reference", "status", "reason", "received", "paid_by", "paid_on", "receipt", "proxy_name"))
    for line_id, status, received in rows:
        writer.writerow(
            (
                line_id,
                status,
                "" if status == "Thành công" else "Tài khoản bị phong tỏa",
                "" if received is None else received,
                "Cán bộ chi trả",
                "02/01/2025",
                f"KN-{line_id}",
                "Người nhận thay",
            )
        )
    return buf.getvalue().encode("utf-8")


def back_pay_problems(session) -> list[str]:
    """(e) paid + in payment + owed = entitled, per person, enrolment and benefit month, the entitlement computed
    here (the enrolment's monthly amount: the machine sets no coefficient), the paid and in-payment amounts from
    the lines, the owed amount from the person page's table (``payout.back_pay_table``). An enrolment whose
    amount changed after its lines were made is left out: a month paid at the amount of its time is settled."""
    from app.services import payout

    enrolments = {
        r.id: r for r in session.execute(text("SELECT id, beneficiary_id, monthly_amount, coefficient FROM enrolment"))
    }
    lines = defaultdict(list)
    for r in session.execute(
        text(
            "SELECT id, enrolment_id, beneficiary_id, benefit_month, kind, amount, carried_amount, channel, "
            "result_status, paid_amount FROM payout_line"
        )
    ).mappings():
        lines[(r["enrolment_id"], _month_key(r["benefit_month"]))].append(r)
    changed = set()
    for (e, _m), ls in lines.items():
        worth = enrolments[e].monthly_amount if e in enrolments else None
        if worth is None or enrolments[e].coefficient is not None:
            changed.add(e)
            continue
        partly = sum(int(l["paid_amount"] or 0) for l in ls if l["result_status"] == "partial")
        for l in ls:
            if l["kind"] == "regular" and l["amount"] != worth and l["amount"] != worth - partly:
                changed.add(e)
            if l["kind"] == "arrears" and not 0 < l["amount"] <= worth:
                changed.add(e)
    problems = []
    for person in sorted({r.beneficiary_id for r in enrolments.values()}):
        for row in payout.back_pay_table(session, person):
            e, m = row["enrolment_id"], _month_key(row["month"])
            if e in changed:
                continue
            worth = int(enrolments[e].monthly_amount)
            ls = lines.get((e, m), [])
            paid = sum(int(l["paid_amount"] or 0) for l in ls if l["result_status"] in ("paid", "partial"))
            in_payment = sum(
                int(l["amount"]) + int(l["carried_amount"])
                for l in ls
                if l["channel"] != "held" and l["result_status"] == "pending"
            )
            if (row["entitled"], row["paid"], row["in_payment"]) != (worth, paid, in_payment) or (
                paid + in_payment + row["owed"] != worth
            ):
                problems.append(
                    f"enrolment {e}, {m}: entitled {worth}, paid {paid}, in payment {in_payment}, "
                    f"table {row} ({[dict(l) for l in ls]})"
                )
    return problems


def owed_after_back_pay(session, period_id: int, unit) -> list[str]:
    """Right after a sync of ``period_id`` for ``unit``: a person of the scope paid now (a line of the period
    that is not held) is owed nothing for any month up to the period's (the category rule aside: people with
    two benefits that do not stack are left out of this check)."""
    from app.services import payout

    ids = scope_unit_ids(session, unit)
    stack = payout.stackable_categories(session)
    month = session.execute(text("SELECT period_date FROM payout_period WHERE id = :p"), {"p": period_id}).scalar()
    month_key = _month_key(month)
    payable = defaultdict(set)
    for b, e in session.execute(
        text("SELECT beneficiary_id, enrolment_id FROM payout_line WHERE period_id = :p AND channel <> 'held'"),
        {"p": period_id},
    ):
        payable[b].add(e)
    categories = defaultdict(set)
    for b, c in session.execute(text("SELECT beneficiary_id, category FROM enrolment WHERE ended_at IS NULL")):
        categories[b].add(c)
    # a held line of a period not locked yet stands for its month until that period's sync decides; a line of
    # another period in payment makes its month wait too: what came back of the month (a partial payment
    # reversed while its rest is in payment) is paid after the rest's result, never as a second line in payment
    waiting = {
        (e, _month_key(m))
        for e, m in session.execute(
            text(
                "SELECT l.enrolment_id, l.benefit_month FROM payout_line l JOIN payout_period p ON p.id = l.period_id "
                "WHERE ((l.channel = 'held' AND p.status IN ('draft', 'synced')) OR l.channel <> 'held') "
                "AND l.result_status = 'pending' AND p.id <> :p"
            ),
            {"p": period_id},
        )
    }
    problems = []
    for person, enrolled in payable.items():
        if len(categories[person]) > 1 and not categories[person] <= stack:
            continue
        for row in payout.back_pay_table(session, person):
            key = (row["enrolment_id"], _month_key(row["month"]))
            if row["enrolment_id"] in enrolled and key[1] <= month_key and row["owed"] > 0 and key not in waiting:
                commune = session.execute(
                    text("SELECT commune_id FROM enrolment WHERE id = :e"), {"e": row["enrolment_id"]}
                ).scalar()
                if commune in ids:
                    problems.append(f"person {person} still owed after the sync of period {period_id}: {row}")
    return problems


# --- scope ------------------------------------------------------------------------------


def scope_unit_ids(session, unit) -> set[int]:
    """Ids of ``unit`` and every unit below it (empty for None)."""
    if unit is None:
        return set()
    return set(
        session.scalars(
            text("SELECT id FROM admin_unit WHERE scheme = :s AND path LIKE :p"),
            {"s": unit.scheme, "p": unit.path + "%"},
        )
    )


def outside_rows(session, scope_ids: set[int]) -> dict[str, dict[int, tuple]]:
    """The scope fingerprint: table → {id: every column} of the rows whose commune lies OUTSIDE ``scope_ids``."""
    out = {}
    for table in SCOPED_TABLES:
        rows = {}
        for row in session.execute(text(f"SELECT * FROM {table}")).mappings():
            if row["commune_id"] not in scope_ids:
                rows[row["id"]] = dict(row)
        out[table] = rows
    return out


# --- invariants -------------------------------------------------------------------------


def has_benefit_month(session) -> bool:
    return "benefit_month" in {c["name"] for c in inspect(session.get_bind()).get_columns("payout_line")}


#: A line in payment: not held, waiting for its result (at most one per enrolment and month).
IN_PAYMENT = "l.channel <> 'held' AND l.result_status = 'pending'"
#: A line that paid or pays its month, in full or in part (a failed or reversed one paid nothing).
PAYING = "l.channel <> 'held' AND l.result_status IN ('pending', 'paid', 'partial')"


def double_payable(session) -> list[dict]:
    """(a) Enrolments in payment more than once for one benefit month, across all periods (``IN_PAYMENT`` lines
    with an amount; that no month is paid beyond its worth is (e)). The benefit month is ``payout_line.benefit_month`` when that column exists, else the month of the
    period date (what defined it before)."""
    month = "l.benefit_month" if has_benefit_month(session) else "p.period_date"
    rows = session.execute(
        text(
            f"""SELECT l.id, l.enrolment_id, l.period_id, p.name, p.unit_id, {month} AS month, l.channel, l.amount,
                   l.result_status
            FROM payout_line l JOIN payout_period p ON p.id = l.period_id
            WHERE {IN_PAYMENT} AND l.amount > 0"""
        )
    ).mappings()
    groups = defaultdict(list)
    for r in rows:
        groups[(r["enrolment_id"], _month_key(r["month"]))].append(dict(r))
    return [{"enrolment_id": e, "month": m, "lines": v} for (e, m), v in groups.items() if len(v) > 1]


def person_paid_twice(session) -> list[dict]:
    """(a') People paid two benefits for one month that the category rule does not let stack, across periods
    (within a period the sync applies the rule; across periods it must too)."""
    from app.services.payout import stackable_categories

    stack = stackable_categories(session)
    month = "l.benefit_month" if has_benefit_month(session) else "p.period_date"
    groups = defaultdict(list)
    for r in session.execute(
        text(
            f"""SELECT l.id, l.beneficiary_id, l.enrolment_id, l.category, l.period_id, {month} AS month
                FROM payout_line l JOIN payout_period p ON p.id = l.period_id
                WHERE {PAYING} AND l.amount > 0"""
        )
    ).mappings():
        groups[(r["beneficiary_id"], _month_key(r["month"]))].append(dict(r))
    return [
        {"beneficiary_id": b, "month": m, "lines": v}
        for (b, m), v in groups.items()
        if len({l["enrolment_id"] for l in v}) > 1 and not all(l["category"] in stack for l in v)
    ]


def _month_key(value) -> str:
    return value.strftime("%Y-%m") if isinstance(value, (dt.date, dt.datetime)) else str(value)[:7]


def _active_lines_by_month(session) -> dict[tuple[int, str], set[int]]:
    """(enrolment id, benefit month) → ids of the periods with a line that stands for the month: one that paid
    or pays it (in full or in part), or a held line of a period not locked yet (it stands for the month until
    that period's sync decides; held in a locked period, the month is owed: back pay)."""
    month = "l.benefit_month" if has_benefit_month(session) else "p.period_date"
    found = defaultdict(set)
    for enrolment_id, period_id, m in session.execute(
        text(
            f"SELECT l.enrolment_id, l.period_id, {month} FROM payout_line l JOIN payout_period p ON p.id = l.period_id "
            f"WHERE ({PAYING}) OR l.result_status = 'carried' "
            f"OR (l.channel = 'held' AND l.result_status = 'pending' AND p.status IN ('draft', 'synced'))"
        )
    ):
        found[(enrolment_id, _month_key(m))].add(period_id)
    return found


def sync_coverage_problems(session, period_id: int, unit) -> list[str]:
    """(b) After a sync of ``period_id`` for ``unit`` (no registry change since): every enrolment in the unit's
    scope is on a line of the period (held lines carry their reason), or left out for a stated reason:
    - the category rule: another enrolment of the same person, not stackable with it, is on a line of the period
      or on an active line of another period for the same month;
    - another period already pays it for the same benefit month (it has a line there that is neither carried
      nor cancelled).
    A line is held exactly when it has a hold reason; no line of the scope stays for an enrolment that is gone
    or outside it (except a line kept for an amount carried in from an earlier period)."""
    from app.services.payout import stackable_categories

    ids = scope_unit_ids(session, unit)
    stack = stackable_categories(session)
    period_month = _month_key(
        session.execute(text("SELECT period_date FROM payout_period WHERE id = :p"), {"p": period_id}).scalar()
    )
    elsewhere = _active_lines_by_month(session)
    enrolments = {
        r.id: r for r in session.execute(text("SELECT id, beneficiary_id, category, commune_id FROM enrolment"))
    }
    # benefits each person is already paid for the month by other periods (enrolment id, category)
    paid_other = defaultdict(set)
    for (enrolment_id, month), periods in elsewhere.items():
        e = enrolments.get(enrolment_id)
        if month == period_month and periods - {period_id} and e is not None:
            paid_other[e.beneficiary_id].add((enrolment_id, e.category))
    lines = list(
        session.execute(
            text(
                "SELECT id, enrolment_id, beneficiary_id, category, channel, hold_reason, carried_amount, commune_id "
                "FROM payout_line WHERE period_id = :p"
            ),
            {"p": period_id},
        )
    )
    on_line = {l.enrolment_id for l in lines}
    by_person = defaultdict(list)
    for l in lines:
        by_person[l.beneficiary_id].append(l)
    problems = []
    for e in enrolments.values():
        if e.commune_id not in ids or e.id in on_line:
            continue
        if elsewhere.get((e.id, period_month), set()) - {period_id}:
            continue
        reason = [
            l
            for l in by_person.get(e.beneficiary_id, ())
            if l.enrolment_id != e.id and not (e.category in stack and l.category in stack)
        ]
        reason += [
            o
            for o in paid_other.get(e.beneficiary_id, ())
            if o[0] != e.id and not (e.category in stack and o[1] in stack)
        ]
        if not reason:
            problems.append(
                f"enrolment {e.id} ({e.category}, person {e.beneficiary_id}) of the scope is on no line "
                f"of period {period_id}, no other period pays it for {period_month} and no other "
                f"category of the person replaces it"
            )
    for l in lines:
        if l.commune_id not in ids:
            continue
        if (l.channel == "held") != (l.hold_reason is not None):
            problems.append(f"line {l.id}: channel {l.channel} with hold reason {l.hold_reason!r}")
        if not l.carried_amount:
            e = enrolments.get(l.enrolment_id)
            if e is None or e.commune_id not in ids:
                problems.append(
                    f"line {l.id} of period {period_id} stays for enrolment {l.enrolment_id}, "
                    f"which is gone or outside the synced scope"
                )
    return problems


def held_without_reason(session) -> list[int]:
    """Part of (b) that holds at any time: a line is held exactly when it carries a hold reason."""
    return list(
        session.scalars(
            text(
                "SELECT id FROM payout_line WHERE (channel = 'held' AND hold_reason IS NULL) "
                "OR (channel <> 'held' AND hold_reason IS NOT NULL)"
            )
        )
    )


def chain_report(session):
    from app.services.audit import verify_chain

    return verify_chain(session)


def clear_data(session) -> None:
    from tests.conftest import purge_data

    purge_data(session)


def user_ids(session) -> dict[str, int]:
    from app.models import AsxhUser

    return {u.username: u.id for u in session.scalars(select(AsxhUser))}
