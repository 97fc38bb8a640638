"""The paying unit is data of the scheme: in 2024 the district pays for its communes, since 1 July 2025 the
commune pays for itself. The same tests run on both schemes (one parameter each, never a copy)."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from app.services.messages import FieldError
from tests.factories import approve_all, unit

# payer: a paying unit; communes: two communes it pays for (the same one twice when it pays for itself only);
# other_payer / other_commune: a second paying unit and a commune it pays for; below: a unit below the payer
# level, or None when the payer is itself the lowest level.
SCHEMES = {
    "2024": {"payer": "001", "communes": ("00004", "00001"), "other_payer": "002", "other_commune": "00037"},
    "2025": {"payer": "00004", "communes": ("00004", "00004"), "other_payer": "00008", "other_commune": "00008"},
}


@pytest.fixture(params=sorted(SCHEMES))
def scheme(request):
    return request.param


def test_payer_level_and_paying_unit(db_session, scheme):
    from app.services.reference import commune_level, payer_level, paying_unit

    case = SCHEMES[scheme]
    payer = unit(db_session, case["payer"], scheme)
    assert payer.level == payer_level(scheme)
    for code in case["communes"]:
        commune = unit(db_session, code, scheme)
        assert commune.level == commune_level(scheme) and paying_unit(db_session, commune).id == payer.id
    assert paying_unit(db_session, unit(db_session, "01", scheme)) is None
    assert paying_unit(db_session, unit(db_session, case["other_commune"], scheme)).code == case["other_payer"]


def test_payer_kind_per_scheme():
    from app.services.reference import PAYER_KIND, commune_level, payer_level

    assert PAYER_KIND == {"2024": "district", "2025": "commune"}
    assert payer_level("2024") < commune_level("2024") and payer_level("2025") == commune_level("2025")


def test_a_period_belongs_to_the_city_or_a_paying_unit(db_session, scheme):
    from app.services import payout
    from app.services.reference import commune_level, payer_level

    for n, code in enumerate(("01", SCHEMES[scheme]["payer"])):
        payout.create_period(
            db_session,
            name=f"Đợt {scheme} {n}",
            period_date=dt.date(2025, 8, 1),
            unit=unit(db_session, code, scheme),
            user_id=None,
        )
    if commune_level(scheme) != payer_level(scheme):  # 2024: a commune does not pay, so it has no period
        with pytest.raises(FieldError) as exc:
            payout.create_period(
                db_session,
                name="Đợt xã",
                period_date=dt.date(2025, 8, 1),
                unit=unit(db_session, SCHEMES[scheme]["communes"][0], scheme),
                user_id=None,
            )
        assert exc.value.problem.code == "period_unit_level"


def test_a_paying_unit_syncs_locks_and_exports_its_own_period(db_session, make_person, scheme):
    from app.services import payout

    case = SCHEMES[scheme]
    inside = [make_person(code, f"Người {i}", scheme=scheme) for i, code in enumerate(case["communes"])]
    make_person(case["other_commune"], "Người ngoài", scheme=scheme)  # paid by another unit: not in the period
    payer = unit(db_session, case["payer"], scheme)
    period = payout.create_period(
        db_session, name=f"Tháng 08/2025 {scheme}", period_date=dt.date(2025, 8, 1), unit=payer, user_id=None
    )
    db_session.commit()
    result = payout.sync_payout_list(db_session, period.id, payer)
    assert result["added"] == len(inside)
    approve_all(db_session, period.id)
    with pytest.raises(FieldError) as exc:  # another paying unit has no say over this period
        payout.lock_period(db_session, period.id, None, unit(db_session, case["other_payer"], scheme))
    assert exc.value.problem.code == "out_of_scope"
    payout.lock_period(db_session, period.id, None, payer)
    assert [u.id for u in payout.export_groups(db_session, period, payer)] == [payer.id]
    out = io.BytesIO()
    assert payout.write_payout_list(db_session, period.id, payer, out, lambda s: s)["lines"] == len(inside)
    rows = [[c.value for c in r] for r in load_workbook(io.BytesIO(out.getvalue())).worksheets[0].iter_rows()]
    assert rows[1][0].endswith(payer.name)


def test_a_city_period_is_exported_per_paying_unit(db_session, make_person, scheme):
    from app.services import payout

    case = SCHEMES[scheme]
    for i, code in enumerate(case["communes"] + (case["other_commune"],)):
        make_person(code, f"Người {i}", scheme=scheme)
    city = unit(db_session, "01", scheme)
    period = payout.create_period(
        db_session, name=f"Tháng 09/2025 {scheme}", period_date=dt.date(2025, 9, 1), unit=city, user_id=None
    )
    db_session.commit()
    payout.sync_payout_list(db_session, period.id, city)
    approve_all(db_session, period.id)
    payout.lock_period(db_session, period.id, None, city)
    groups = payout.export_groups(db_session, period, city)
    assert [u.code for u in groups] == sorted([case["payer"], case["other_payer"]])
    lines = {}
    for group in groups:
        lines[group.code] = payout.write_payout_list(db_session, period.id, group, io.BytesIO(), lambda s: s)["lines"]
    assert lines == {case["payer"]: len(case["communes"]), case["other_payer"]: 1}
