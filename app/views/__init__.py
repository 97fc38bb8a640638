"""Screens and the menu. Views are declarations plus one service call."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def register_views(appbuilder) -> None:
    from app.views.beneficiary import BeneficiaryView
    from app.views.imports import ImportBatchView
    from app.views.matching import MatchReviewView
    from app.views.reference import AdminUnitView, BankView

    appbuilder.add_view(BeneficiaryView, "Beneficiary", label=_l("Beneficiaries"), icon="fa-users",
                        category="Registry", category_label=_l("Registry"), category_icon="fa-address-book")
    appbuilder.add_view(ImportBatchView, "ImportBatch", label=_l("Imports"), icon="fa-upload",
                        category="Registry")
    appbuilder.add_view(MatchReviewView, "MatchReview", label=_l("Matching review"), icon="fa-check-square-o",
                        category="Registry")
    appbuilder.add_link("ImportUpload", href="/importbatchview/upload/", label=_l("Upload a list"), icon="fa-file-excel-o",
                        category="Registry")
    appbuilder.add_view(AdminUnitView, "AdminUnit", label=_l("Administrative units"), icon="fa-map",
                        category="Reference", category_label=_l("Reference data"), category_icon="fa-book")
    appbuilder.add_view(BankView, "Bank", label=_l("Banks"), icon="fa-university", category="Reference")

    from app.views.person import PersonView

    appbuilder.add_view_no_menu(PersonView)

    from app.views.payout import register_payout_views

    register_payout_views(appbuilder)

    from app.views.audit import register_audit_views

    register_audit_views(appbuilder)

    from app.views.visits import register_visit_views

    register_visit_views(appbuilder)
