"""The review list keeps its order by status (then id), now read through the generated ``review_rank``."""

import re

from app.models.beneficiary import TO_REVIEW
from tests import factories

STATUSES = ["possible_duplicate", "mismatch", "deceased", "pending", "not_found", "moved", "matched", "needs_review"]


def _people(scheme_app, world) -> dict[int, str]:
    """Two people of each status in "commune" (and one in "other_commune"), interleaved: id → status."""
    from app.extensions import db

    made = {}
    with scheme_app.app_context():
        for n in range(2):
            for status in STATUSES:
                code = world.units["commune"] if n == 0 or status != "moved" else world.units["other_commune"]
                pid = factories.make_person(db.session, code, f"Người {status} {n}", scheme=world.scheme)
                made[pid] = status
        from app.models import Beneficiary

        for pid, status in made.items():  # written after the insert, as matching and the review do
            db.session.get(Beneficiary, pid).match_status = status
        db.session.commit()
    return made


def _listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/matchreviewview/review/(\d+)"', html)]


def test_review_rank_follows_the_status(scheme_app, world, unit_scheme):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Beneficiary

    made = _people(scheme_app, world)
    with scheme_app.app_context():
        rows = db.session.execute(
            select(Beneficiary.match_status, Beneficiary.to_review, Beneficiary.review_rank).where(
                Beneficiary.id.in_(made)
            )
        ).all()
    ranks = {status: rank for status, _to_review, rank in rows}
    assert all((rank is not None) == bool(to_review) == (status in TO_REVIEW) for status, to_review, rank in rows)
    assert sorted(TO_REVIEW, key=ranks.get) == sorted(TO_REVIEW)


def test_the_review_list_is_ordered_by_status_then_id(scheme_app, world, unit_scheme, client_for):
    made = _people(scheme_app, world)
    review = sorted((status, pid) for pid, status in made.items() if status in TO_REVIEW)
    city = client_for(world.users["city"])
    assert _listed(city.get("/matchreviewview/list/").get_data(as_text=True)) == [pid for _s, pid in review]
    desc = "/matchreviewview/list/?_oc_MatchReviewView=match_status&_od_MatchReviewView=desc"
    assert _listed(city.get(desc).get_data(as_text=True)) == [pid for _s, pid in reversed(review)]
    # a commune's police officer: the same order, over the commune's people only
    commune = factories_ids(scheme_app, world.units["commune"], world.scheme)
    police = client_for(world.users["police"]).get("/matchreviewview/list/").get_data(as_text=True)
    assert _listed(police) == [pid for _s, pid in review if pid in commune]


def factories_ids(scheme_app, code: str, scheme: str) -> set[int]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Beneficiary

    with scheme_app.app_context():
        unit_id = factories.unit_id(db.session, code, scheme)
        return set(db.session.scalars(select(Beneficiary.id).where(Beneficiary.commune_id == unit_id)))
