"""REST API under /api/v1 (FAB JWT login at /api/v1/security/login)."""

from __future__ import annotations

API_PREFIX = "/api/"


def is_api_request() -> bool:
    """True inside a request to the REST API (JSON answers, JWT or cookie), False for a page."""
    from flask import request

    return request.path.split("/", 2)[1:2] == ["api"]


def register_apis(appbuilder) -> None:
    from app.api.beneficiary import BeneficiaryApi
    from app.api.imports import ImportApi
    from app.api.matching import MatchApi

    appbuilder.add_api(BeneficiaryApi)
    appbuilder.add_api(ImportApi)
    appbuilder.add_api(MatchApi)

    from app.api.payout import AccountApi, PayoutApi

    appbuilder.add_api(AccountApi)
    appbuilder.add_api(PayoutApi)

    from app.api.visits import VisitApi

    appbuilder.add_api(VisitApi)
