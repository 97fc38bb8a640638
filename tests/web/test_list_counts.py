"""List pages count their rows exactly up to LIST_EXACT_COUNT_LIMIT and, on PostgreSQL, show the planner's
estimate above it ("khoảng …"), on both schemes; the rows shown stay those of the user's scope."""

import pytest
from sqlalchemy import select

from app.models import Beneficiary
from app.services.counting import EstimatedCount, count_rows, rounded
from tests import factories
from tests.conftest import SCHEMES


def test_estimates_are_rounded_to_two_digits():
    assert rounded(1_034_567) == 1_000_000
    assert rounded(12_560) == 13_000
    assert rounded(98) == 98


def _people(session, world, n: int, where: str = "commune") -> None:
    for i in range(n):
        factories.make_person(session, world.units[where], f"Người Thứ {i}", scheme=world.scheme, birth_year=1950)


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_count_rows_exact_up_to_the_limit(db_session, world, unit_scheme):
    _people(db_session, world, 5)
    stmt = select(Beneficiary)
    exact = count_rows(db_session, stmt, limit=10)
    assert exact == 5 and not isinstance(exact, EstimatedCount)
    assert count_rows(db_session, stmt, limit=0) == 5
    above = count_rows(db_session, stmt, limit=2)
    if db_session.get_bind().dialect.name == "postgresql":
        assert isinstance(above, EstimatedCount) and above >= 3
    else:  # no planner estimate on SQLite: the exact count
        assert above == 5 and not isinstance(above, EstimatedCount)


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_list_page_shows_about_n_above_the_limit(scheme_app, client_for, world, unit_scheme):
    from app.extensions import db

    with scheme_app.app_context():
        _people(db.session, world, 4)
        _people(db.session, world, 2, where="other_commune")
        postgres = db.session.get_bind().dialect.name == "postgresql"
    city = client_for(world.users["city"])
    page = city.get("/beneficiaryview/list/").get_data(as_text=True)
    assert "khoảng" not in page and "Người Thứ 3" in page
    old = scheme_app.config["LIST_EXACT_COUNT_LIMIT"]
    scheme_app.config["LIST_EXACT_COUNT_LIMIT"] = 3
    try:
        page = city.get("/beneficiaryview/list/").get_data(as_text=True)
        assert ("khoảng" in page) is postgres
        assert "Người Thứ 3" in page
        # A paying unit's user: the limit does not widen the scope; their 4 rows are above it too.
        payer = client_for(world.users["payer"]).get("/beneficiaryview/list/").get_data(as_text=True)
        assert "Người Thứ 0" in payer
        assert ("khoảng" in payer) is postgres
    finally:
        scheme_app.config["LIST_EXACT_COUNT_LIMIT"] = old


@pytest.mark.parametrize("unit_scheme", SCHEMES, indirect=True)
def test_list_page_queries_do_not_grow_with_its_rows(scheme_app, client_for, world, unit_scheme):
    """Logging the page's ids commits; the rows already loaded are rendered as loaded, not fetched again one
    by one with their enrolments."""
    from sqlalchemy import event

    from app.extensions import db

    with scheme_app.app_context():
        _people(db.session, world, 30)
        engine = db.engine
    client = client_for(world.users["city"])
    client.get("/beneficiaryview/list/")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get("/beneficiaryview/list/").get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.count("Người Thứ") >= 25
    per_row = [s for s in statements if s.lstrip().upper().startswith(("SELECT ENROLMENT", "SELECT BENEFICIARY"))]
    assert len(per_row) <= 3, per_row
