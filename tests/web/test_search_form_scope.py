"""Search forms offer only what the user may see: a list's filter by a related record (a payout period, a person,
a work group…) lists the records of the user's units, never every record in the database."""

import datetime as dt

from flask_appbuilder import ModelView

from tests import factories

# Tables everyone reads whatever their unit (units are offered from the user's scope by the unit field).
REFERENCE_MODELS = {"AdminUnit", "Bank", "Role", "Group"}


def _search_views(app):
    for view in app.appbuilder.baseviews:
        if isinstance(view, ModelView) and view.search_columns:
            yield view


def test_every_related_search_column_is_scoped(app):
    """A many-to-one search column renders the related table as a choice list: unless it is a unit (offered from the
    user's scope by the unit field) or a reference table, it needs a filter in ``search_form_query_rel_fields``."""
    unscoped = []
    for view in _search_views(app):
        rules = view.search_form_query_rel_fields or {}
        for column in view.search_columns:
            if not view.datamodel.is_relation(column) or type(view).__module__.startswith("flask_appbuilder"):
                continue  # FAB's own security screens are the administrator's
            if view.datamodel.get_related_model(column).__name__ in REFERENCE_MODELS:
                continue
            if not rules.get(column):
                unscoped.append((type(view).__name__, column))
    assert unscoped == [], unscoped


def test_verification_search_offers_only_periods_the_user_sees(scheme_app, world, client_for):
    from app.extensions import db

    with scheme_app.app_context():
        names = {}
        for where in ("payer", "other_payer"):
            period = factories.make_paid_period(
                db.session, world.units[where], [], scheme=world.scheme, name=f"Kỳ kiểm tra {where} {world.scheme}"
            )
            period.period_date = dt.date(2025, 4, 1)
            names[where] = period.name
        db.session.commit()
    page = client_for(world.users["payer"]).get("/verification/list/").get_data(as_text=True)
    assert names["payer"] in page
    assert names["other_payer"] not in page
