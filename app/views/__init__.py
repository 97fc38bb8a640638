"""Screens and the menu. Views are declarations plus one service call.

The menu is the five steps of the scheme, then reports and administration (``MENU_CATEGORIES``); which
category a view or link sits in is ``menu_category`` of ``app/security/roles.py``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.security.roles import MENU_CATEGORIES, menu_category


def _prepare_categories(appbuilder) -> None:
    """Create the categories with their labels (FAB made "Security" already: relabel it)."""
    for name, label, icon in MENU_CATEGORIES:
        item = appbuilder.menu.find(name)
        if item is None:
            appbuilder.menu.add_category(name, icon=icon, label=label)
        else:
            item.label, item.icon = label, icon


def _order_categories(appbuilder) -> None:
    """Our categories first, in step order; anything else (an add-on's) after them."""
    order = {name: i for i, (name, _label, _icon) in enumerate(MENU_CATEGORIES)}
    appbuilder.menu.menu.sort(key=lambda item: order.get(item.name, len(order)))


def register_views(appbuilder) -> None:
    from app.views.beneficiary import BeneficiaryView
    from app.views.imports import ImportBatchView
    from app.views.matching import MatchReviewView
    from app.views.reference import AdminUnitView, BankView

    _prepare_categories(appbuilder)
    appbuilder.add_view(
        ImportBatchView, "ImportBatch", label=_l("Imports"), icon="fa-upload", category=menu_category("ImportBatch")
    )
    appbuilder.add_link(
        "ImportUpload",
        href="/importbatchview/upload/",
        label=_l("Upload a list"),
        icon="fa-file-excel-o",
        category=menu_category("ImportUpload"),
    )
    appbuilder.add_view(
        MatchReviewView,
        "MatchReview",
        label=_l("Matching review"),
        icon="fa-check-square-o",
        category=menu_category("MatchReview"),
    )
    from app.views.duplicates import DuplicateView

    appbuilder.add_view(
        DuplicateView,
        "DuplicatePair",
        label=_l("Possible duplicates"),
        icon="fa-clone",
        category=menu_category("DuplicatePair"),
    )
    appbuilder.add_view(
        BeneficiaryView,
        "Beneficiary",
        label=_l("Beneficiaries"),
        icon="fa-users",
        category=menu_category("Beneficiary"),
    )
    appbuilder.add_view(
        AdminUnitView, "AdminUnit", label=_l("Administrative units"), icon="fa-map", category=menu_category("AdminUnit")
    )
    appbuilder.add_view(BankView, "Bank", label=_l("Banks"), icon="fa-university", category=menu_category("Bank"))

    from app.views.person import PersonView

    appbuilder.add_view_no_menu(PersonView)

    from app.views.payout import register_payout_views

    register_payout_views(appbuilder)

    from app.views.notices import register_notice_views

    register_notice_views(appbuilder)
    from app.views.aftercare import register_aftercare_views

    register_aftercare_views(appbuilder)

    from app.views.audit import register_audit_views

    register_audit_views(appbuilder)

    from app.views.visits import register_visit_views

    register_visit_views(appbuilder)

    from app.views.jobs import JobsView

    appbuilder.add_view(JobsView, "Jobs", label=_l("Background jobs"), icon="fa-tasks", category=menu_category("Jobs"))
    appbuilder.add_link(
        "ProgressExport",
        href="HomeView.export",
        label=_l("Progress by unit (.xlsx)"),
        icon="fa-file-excel-o",
        category=menu_category("ProgressExport"),
    )
    _order_categories(appbuilder)
