"""Progress over time: the daily counts of people visited, with a verified account and paid to an account equal
counts computed here independently from the seeded facts, per scope and per unit below; the chart is drawn on
the home page of leaders and the city department, not on a commune officer's (synthetic people)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.visits.conftest import make_person, units  # noqa: F401  (fixtures)

D = dt.date
T = dt.datetime

# Facts: person → commune; visits; accounts (verified at, ended at, state); paid/failed account lines by period date.
PEOPLE = {"p1": "00004", "p2": "00004", "p3": "00004", "p4": "00001", "p5": "00037", "p6": "00037"}
VISITS = [
    ("p1", D(2024, 1, 5)),
    ("p1", D(2024, 1, 3)),
    ("p2", D(2024, 1, 8)),
    ("p5", D(2024, 1, 6)),
    ("p4", D(2024, 1, 8)),
]
ACCOUNTS = [
    ("p1", T(2024, 1, 7, 10), None, "verified"),
    ("p2", T(2024, 1, 9, 9), T(2024, 1, 11, 8), "ended"),
    ("p2", T(2024, 1, 14, 9), None, "verified"),
    ("p5", T(2024, 1, 8, 15), None, "superseded"),
    ("p5", T(2024, 1, 12, 15), None, "verified"),
    ("p6", None, None, "pending"),
]
LINES = [
    ("p1", D(2024, 1, 10), "paid", "account", D(2024, 1, 1)),
    ("p1", D(2024, 1, 15), "paid", "account", D(2024, 2, 1)),
    ("p5", D(2024, 1, 15), "paid", "account", D(2024, 2, 1)),
    ("p2", D(2024, 1, 10), "failed", "account", D(2024, 1, 1)),
    ("p4", D(2024, 1, 10), "paid", "cash", D(2024, 1, 1)),
]
DAYS = [D(2024, 1, 1) + dt.timedelta(days=i) for i in range(20)]


def expected(day: dt.date, people: set[str]) -> dict[str, int]:
    """Counted person by person, day by day, from the facts above."""

    def verified(p):
        accounts = sorted((a for a in ACCOUNTS if a[0] == p and a[1] is not None), key=lambda a: a[1])
        for i, (_, at, ended, _state) in enumerate(accounts):
            end = ended or (accounts[i + 1][1] if i + 1 < len(accounts) else None)
            if at.date() <= day and (end is None or end.date() > day):
                return True
        return False

    return {
        "visited": sum(1 for p in people if any(v[0] == p and v[1] <= day for v in VISITS)),
        "verified_account": sum(1 for p in people if verified(p)),
        "paid_to_account": sum(
            1
            for p in people
            if any(line[0] == p and line[1] <= day and line[2] == "paid" and line[3] == "account" for line in LINES)
        ),
    }


@pytest.fixture()
def seeded(app, make_person):  # noqa: F811
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Bank, Enrolment, PaymentAccount, PayoutLine, PayoutPeriod, Questionnaire, Visit
    from app.services.reference import find_unit

    ids = {p: make_person(code, f"Người Giả Lập {p}") for p, code in PEOPLE.items()}
    with app.app_context():
        s = db.session
        unit = {code: find_unit(s, code, "2024").id for code in ("001", "002", *set(PEOPLE.values()))}
        q = s.scalars(select(Questionnaire).order_by(Questionnaire.id)).first()
        for p, day in VISITS:
            s.add(
                Visit(
                    beneficiary_id=ids[p],
                    commune_id=unit[PEOPLE[p]],
                    questionnaire_id=q.id,
                    visit_date=day,
                    met=True,
                    respondent="self",
                    case_type=4,
                    answers=json.dumps({}),
                )
            )
        bank = s.scalars(select(Bank).order_by(Bank.bin)).first()
        for n, (p, at, ended, state) in enumerate(ACCOUNTS):
            s.add(
                PaymentAccount(
                    beneficiary_id=ids[p],
                    commune_id=unit[PEOPLE[p]],
                    bank_bin=bank.bin,
                    account_number=f"10000000{n:02d}",
                    holder_name="X",
                    holder_ascii="X",
                    state=state,
                    verified_at=at,
                    ended_at=ended,
                )
            )
            s.flush()
        enrol = {e.beneficiary_id: e.id for e in s.scalars(select(Enrolment))}
        periods: dict = {}
        for p, day, result, channel, month in LINES:
            district = "001" if PEOPLE[p] in ("00001", "00004") else "002"
            if (district, day) not in periods:
                period = PayoutPeriod(
                    name=f"Kỳ {district} {day}", period_date=day, unit_id=unit[district], status="paid"
                )
                s.add(period)
                s.flush()
                periods[district, day] = period.id
            s.add(
                PayoutLine(
                    period_id=periods[district, day],
                    enrolment_id=enrol[ids[p]],
                    benefit_month=month,
                    beneficiary_id=ids[p],
                    commune_id=unit[PEOPLE[p]],
                    full_name=p,
                    category="BTXH",
                    amount=540000,
                    channel=channel,
                    result_status=result,
                )
            )
        s.commit()
    return ids


def test_daily_counts_equal_independent_counts(app, seeded):
    from app.extensions import db
    from app.services import progress
    from app.services.reference import find_unit

    with app.app_context():
        s = db.session
        city = find_unit(s, "01", "2024")
        data = progress.progress_over_time(s, city, start=DAYS[0], end=DAYS[-1], today=DAYS[-1])
        assert data["days"] == DAYS
        assert data["total"]["beneficiaries"] == len(PEOPLE)
        for measure in progress.MEASURES:
            assert data["total"]["counts"][measure] == [expected(d, set(PEOPLE))[measure] for d in DAYS], measure
        by_code = {u["code"]: u for u in data["units"]}
        assert set(by_code) == {"001", "002"}
        for code, communes in (("001", {"00001", "00004"}), ("002", {"00037"})):
            mine = {p for p, c in PEOPLE.items() if c in communes}
            assert by_code[code]["beneficiaries"] == len(mine)
            for measure in progress.MEASURES:
                assert by_code[code]["counts"][measure] == [expected(d, mine)[measure] for d in DAYS], (code, measure)
        shares = data["total"]["shares"]["visited"]
        assert shares[-1] == round(expected(DAYS[-1], set(PEOPLE))["visited"] / len(PEOPLE), 4)
        # A district sees its own people only.
        district = progress.progress_over_time(
            s, find_unit(s, "002", "2024"), start=DAYS[0], end=DAYS[-1], today=DAYS[-1]
        )
        assert district["total"]["counts"]["verified_account"] == [
            expected(d, {"p5", "p6"})["verified_account"] for d in DAYS
        ]


def test_the_cached_figures_equal_the_computed_ones(app, seeded):
    from app.extensions import db
    from app.services import progress
    from app.services.reference import find_unit

    class Cache(dict):
        def set(self, key, value):
            self[key] = value

    cache = Cache()
    with app.app_context():
        city = find_unit(db.session, "01", "2024")
        fresh = progress.progress_over_time(db.session, city, start=DAYS[0], end=DAYS[-1], today=DAYS[-1], cache=cache)
        assert len(cache) == 2  # the people per commune and their daily changes
        cached = progress.progress_over_time(db.session, city, start=DAYS[0], end=DAYS[-1], today=DAYS[-1], cache=cache)
        assert cached["total"] == fresh["total"] and cached["units"] == fresh["units"]


def test_days_after_today_carry_no_figure(app, seeded):
    from app.extensions import db
    from app.services import progress
    from app.services.reference import find_unit

    with app.app_context():
        data = progress.progress_over_time(
            db.session, find_unit(db.session, "01", "2024"), start=DAYS[0], end=DAYS[-1], today=DAYS[9]
        )
        assert len(data["days"]) == len(DAYS)
        assert len(data["total"]["counts"]["visited"]) == 10


def test_chart_draws_each_deadline():
    from app.services import progress

    svg = progress.line_chart_svg(
        DAYS,
        {"visited": [0.5] * len(DAYS)},
        {"visited": "Đã thăm"},
        [(3, "Thăm hộ", D(2024, 1, 10)), (5, "Sau kỳ", D(2024, 3, 1))],
    )
    assert svg.startswith("<svg") and 'data-measure="visited"' in svg
    assert 'data-step="3"' in svg and 'data-step="5"' not in svg  # only the deadlines inside the days


def test_chart_on_the_home_page_of_leaders_and_city_department_only(app, client_for, seeded):
    from app.extensions import db
    from app.services.reference import find_unit
    from app.services.visits import campaigns

    with app.app_context():
        campaigns.create_campaign(
            db.session,
            name="Đợt thử",
            year=dt.date.today().year,
            unit_id=find_unit(db.session, "01", "2024").id,
            user_id=None,
        )
        db.session.commit()
    for username in ("lanhdao", "so.ldtbxh"):
        page = client_for(username).get("/").get_data(as_text=True)
        assert 'id="chart-progress"' in page, username
        chart = page.split('id="chart-progress"', 1)[1].split("</svg>", 1)[0]
        assert "<polyline" in chart and "data-step=" in chart
    page = client_for("canbo.00004").get("/").get_data(as_text=True)
    assert 'id="chart-progress"' not in page and "asxh-progress" not in page
