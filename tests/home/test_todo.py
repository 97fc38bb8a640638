"""The home page's to-do list: per demo role exactly the work it can do, counted within its scope, each item a
link to the filtered list where the work is done (synthetic people: DỮ LIỆU GIẢ LẬP)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.visits.conftest import make_person, units  # noqa: F401  (fixtures)

USERS = ("admin", "so.ldtbxh", "phong.001", "congan.00004", "canbo.00004", "lanhdao")
TODO = re.compile(r'href="([^"]+)" data-todo="(\w+)" data-count="(\d+)"')


@pytest.fixture()
def seeded(app, make_person):  # noqa: F811
    """People, accounts, opening tasks, periods and lines in Ba Đình (00001, 00004) and Hoàn Kiếm (00037).
    Period B waits for its first approval tier, F is approved and waits for the lock."""
    from app.extensions import db
    from app.models import (
        AccountCheck,
        AccountOpeningTask,
        AsxhUser,
        Enrolment,
        PaymentAccount,
        PayoutLine,
        PayoutPeriod,
    )
    from app.services.reference import find_unit
    from app.services.visits.survey import record_visit

    p = {
        "p1": make_person("00004", "Người Cần Xem Một", match_status="needs_review"),
        "p2": make_person("00004", "Người Đã Thăm Hai"),
        "p3": make_person("00004", "Người Chưa Thăm Ba"),
        "p4": make_person("00004", "Người Đã Thôi Bốn"),
        "p5": make_person("00037", "Người Hoàn Kiếm Năm", match_status="mismatch"),
        "p6": make_person("00001", "Người Phúc Xá Sáu", match_status="possible_duplicate"),
    }
    with app.app_context():
        s = db.session
        user = {u.username: u.id for u in s.query(AsxhUser)}
        unit = {code: find_unit(s, code, "2024").id for code in ("01", "001", "002", "00001", "00004", "00037")}
        from app.models import Beneficiary

        s.get(Beneficiary, p["p4"]).ended_at = dt.datetime(2024, 1, 2)
        record_visit(s, p["p2"], {"visit_date": "2024-01-12", "met": "not_met"}, None, today=dt.date(2024, 1, 14))
        old = dt.datetime.now() - dt.timedelta(days=30)

        def account(pid, commune, number, entered_by, state="pending"):
            row = PaymentAccount(
                beneficiary_id=pid,
                commune_id=unit[commune],
                bank_bin="970405",
                account_number=number,
                holder_name="X",
                holder_ascii="X",
                state=state,
                entered_by_id=user.get(entered_by),
            )
            s.add(row)
            return row

        account(p["p2"], "00004", "1000000001", "congan.00004")
        account(p["p3"], "00004", "1000000002", "canbo.00004")
        account(p["p6"], "00001", "1000000003", "phong.001")
        account(p["p5"], "00037", "1000000004", None)
        # verified accounts: p1's failed at the bank, p5's not checked with the bank yet
        failed = account(p["p1"], "00004", "1000000005", None, "verified")
        account(p["p5"], "00037", "1000000006", None, "verified")
        s.flush()
        s.add(
            AccountCheck(
                account_id=failed.id,
                commune_id=unit["00004"],
                outcome="name_mismatch",
                checked_at=dt.datetime(2024, 1, 10),
                source="file",
            )
        )
        for pid, commune, state, at in (
            (p["p3"], "00004", "requested", old),
            (p["p1"], "00004", "requested", None),
            (p["p5"], "00037", "opened", old),
            (p["p6"], "00001", "entered", old),
        ):
            task = AccountOpeningTask(beneficiary_id=pid, commune_id=unit[commune], state=state)
            if at:
                task.requested_at = at
            s.add(task)
        periods = {}
        for name, code, status in (
            ("Kỳ A thành phố", "01", "draft"),
            ("Kỳ B Ba Đình", "001", "synced"),
            ("Kỳ C Ba Đình", "001", "locked"),
            ("Kỳ D Hoàn Kiếm", "002", "locked"),
            ("Kỳ E Hoàn Kiếm", "002", "draft"),
            ("Kỳ F Ba Đình", "001", "approved"),
        ):
            period = PayoutPeriod(name=name, period_date=dt.date(2024, 1, 20), unit_id=unit[code], status=status)
            s.add(period)
            s.flush()
            periods[name[:4]] = period.id
        enrol = {e.beneficiary_id: e for e in s.query(Enrolment)}
        for key, period, commune, result in (
            ("p2", "Kỳ B", "00004", "failed"),
            ("p5", "Kỳ D", "00037", "failed"),
            ("p3", "Kỳ B", "00004", "paid"),
        ):
            e = enrol[p[key]]
            s.add(
                PayoutLine(
                    period_id=periods[period],
                    enrolment_id=e.id,
                    benefit_month=dt.date(2024, 1, 1),
                    beneficiary_id=p[key],
                    commune_id=unit[commune],
                    full_name=f"Dòng {key}",
                    category="BTXH",
                    amount=540000,
                    channel="account",
                    result_status=result,
                )
            )
        s.commit()
    return p


# Counted by hand from the seeded above: who may do what (roles.py) and who sees which unit.
EXPECTED = {
    "admin": {
        "match_review": 3,
        "accounts_to_verify": 4,
        "not_visited": 4,
        "opening_overdue": 2,
        "periods_to_sync": 2,
        "periods_to_verify": 0,  # tier 1 of a city-wide period: none is synced
        "periods_to_head_approve": 0,
        "periods_to_lock": 1,
        "periods_to_hand_over": 2,
        "follow_ups": 2,
        "duplicates_to_decide": 0,
        "accounts_failed_check": 1,
        "accounts_not_checked": 1,
        "complaints_overdue": 0,
    },
    "so.ldtbxh": {
        "match_review": 3,
        "periods_to_sync": 2,
        "periods_to_lock": 1,
        "periods_to_hand_over": 2,
        "follow_ups": 2,
        "duplicates_to_decide": 0,
        "complaints_overdue": 0,
    },
    # Ba Đình: p1, p6 to review; accounts of p2, p3 (p6's is their own entry); period A above, B, C its own.
    "phong.001": {
        "match_review": 2,
        "accounts_to_verify": 2,
        "periods_to_sync": 1,
        "periods_to_lock": 1,
        "periods_to_hand_over": 1,
        "follow_ups": 1,
        "duplicates_to_decide": 0,
        "accounts_failed_check": 1,
        "complaints_overdue": 0,
    },
    # Trúc Bạch: p1 to review; p3's account (p2's is their own); p1 and p3 not visited (p4 ended); p3's old task.
    "congan.00004": {
        "match_review": 1,
        "accounts_to_verify": 1,
        "not_visited": 2,
        "opening_overdue": 1,
        "periods_to_sync": 1,
        "periods_to_verify": 1,  # B: the district's period, its police verify first
        "follow_ups": 1,
        "duplicates_to_decide": 0,
        "accounts_failed_check": 1,
        "accounts_not_checked": 0,
        "complaints_overdue": 0,
    },
    "canbo.00004": {"not_visited": 2, "opening_overdue": 1, "complaints_overdue": 0},
    "lanhdao": {"periods_to_head_approve": 0},  # the city's head signs city-wide periods only
}


def _todos(html: str) -> dict:
    return {key: (int(n), url.replace("&amp;", "&")) for url, key, n in TODO.findall(html)}


@pytest.mark.parametrize("username", USERS)
def test_home_shows_exactly_the_roles_work_with_its_counts(app, client_for, seeded, username):
    client = client_for(username)
    html = client.get("/").get_data(as_text=True)
    todos = _todos(html)
    assert {k: n for k, (n, _url) in todos.items()} == EXPECTED[username]
    if not EXPECTED[username]:
        assert 'id="todo"' not in html
    for key, (_n, url) in todos.items():
        assert client.get(url).status_code == 200, (username, key, url)


def test_the_links_open_the_lists_of_exactly_that_work(app, client_for, seeded):
    client = client_for("congan.00004")
    todos = _todos(client.get("/").get_data(as_text=True))

    visits = client.get(todos["not_visited"][1]).get_data(as_text=True)
    assert re.search(r'id="visit-total">[^<]*<strong>2</strong>', visits)
    assert "Người Cần Xem Một" in visits and "Người Chưa Thăm Ba" in visits
    assert "Người Đã Thăm Hai" not in visits and "Người Đã Thôi Bốn" not in visits

    tasks = client.get(todos["opening_overdue"][1]).get_data(as_text=True)
    assert len(re.findall(r'data-task="\d+"', tasks)) == 1 and "Người Chưa Thăm Ba" in tasks

    verify = client.get(todos["accounts_to_verify"][1]).get_data(as_text=True)
    assert "Người Chưa Thăm Ba" in verify and "Người Đã Thăm Hai" not in verify  # four eyes

    review = client.get(todos["match_review"][1]).get_data(as_text=True)
    assert "Người Cần Xem Một" in review
    assert "Người Hoàn Kiếm Năm" not in review and "Người Phúc Xá Sáu" not in review  # other communes

    follow = client.get(todos["follow_ups"][1]).get_data(as_text=True)
    assert "Dòng p2" in follow and "Dòng p5" not in follow and "Dòng p3" not in follow

    phong = client_for("phong.001")
    todos = _todos(phong.get("/").get_data(as_text=True))
    for key, shown, hidden in (
        ("periods_to_sync", {"Kỳ A"}, {"Kỳ B", "Kỳ C", "Kỳ D", "Kỳ E"}),
        ("periods_to_lock", {"Kỳ F"}, {"Kỳ A", "Kỳ B", "Kỳ C", "Kỳ D", "Kỳ E"}),
        ("periods_to_hand_over", {"Kỳ C"}, {"Kỳ A", "Kỳ B", "Kỳ D", "Kỳ E", "Kỳ F"}),
    ):
        page = phong.get(todos[key][1]).get_data(as_text=True)
        assert all(name in page for name in shown), key
        assert not any(name in page for name in hidden), key


def test_todo_counts_service_is_one_query_over_the_scope(app, seeded):
    """The service on its own: capabilities decide the items; one statement whatever the number of units."""
    from sqlalchemy import event

    from app.extensions import db
    from app.services import todo
    from app.services.reference import find_unit

    with app.app_context():
        city = find_unit(db.session, "01", "2024")
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            out = todo.todo_counts(db.session, city, frozenset({"match", "write:Visit"}), user_id=None)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert [(item.key, n) for item, n in out] == [("match_review", 3), ("not_visited", 4)]
        assert len(statements) == 1
        assert todo.todo_counts(db.session, None, todo.TODO_NEEDS, user_id=None) == []
        assert todo.todo_counts(db.session, city, frozenset(), user_id=None) == []


def test_a_city_user_picks_a_commune_and_keeps_the_not_visited_filter(app, client_for, seeded, units):
    client = client_for("admin")
    url = _todos(client.get("/").get_data(as_text=True))["not_visited"][1]
    chooser = client.get(url).get_data(as_text=True)
    assert 'name="not_visited" value="1"' in chooser
    page = client.get(f"/visits/?not_visited=1&commune={units['00004']}").get_data(as_text=True)
    assert re.search(r'id="visit-total">[^<]*<strong>2</strong>', page)
