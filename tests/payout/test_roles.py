"""Who may do what in the payout screens, generated from the role table of each scheme (``roles_for``)."""

import pytest

from app.security.roles import ROLES, WRITE, roles_for
from tests.conftest import SCHEMES
from tests.web.test_role_matrix import user_of

# (url, permission class, level, capability)
ENDPOINTS = [
    ("/paymentaccountview/list/", "PaymentAccount", "read", None),
    ("/paymentaccountview/to_verify/", "PaymentAccount", "read", None),
    ("/paymentaccountview/shared/", "PaymentAccount", "read", None),
    ("/paymentaccountview/enter/", "PaymentAccount", "write", "enter_account"),
    ("/accountimportview/upload/", "PaymentAccount", "write", "enter_account"),
    ("/accountimportview/list/", "PaymentAccount", "read", None),
    ("/payoutperiodview/list/", "PayoutPeriod", "read", None),
    ("/payoutperiodview/new/", "PayoutPeriod", "write", None),
    ("/payoutlineview/list/", "PayoutPeriod", "read", None),
    ("/baselevelview/list/", "PayoutRule", "read", None),
    ("/categoryruleview/list/", "PayoutRule", "read", None),
    ("/baselevelview/add", "PayoutRule", "write", None),
]


def allowed(role, view, level, cap):
    if role.is_admin:
        return True
    has = role.views.get(view)
    ok = has is not None and (level == "read" or has == WRITE)
    return ok and (cap is None or cap in role.capabilities)


CASES = [(s, r, url, view, level, cap) for s in SCHEMES for r in roles_for(s) for url, view, level, cap in ENDPOINTS]


@pytest.mark.parametrize(
    "unit_scheme,role,url,view,level,cap",
    CASES,
    indirect=["unit_scheme"],
    ids=[f"{c[0]}-{c[1].key}-{c[2]}" for c in CASES],
)
def test_payout_matrix(client_for, unit_scheme, role, url, view, level, cap):
    response = client_for(user_of(unit_scheme, role)).get(url)
    if allowed(role, view, level, cap):
        assert response.status_code == 200, url
    else:
        assert response.status_code in (302, 403), url


def test_the_issue_roles():
    by_key = {r.key: r for r in ROLES}
    assert "enter_account" in by_key["congan"].capabilities
    assert {"verify_account"} <= by_key["congan"].capabilities & by_key["phong"].capabilities
    assert "approve_payout" in by_key["phong"].capabilities and "approve_payout" in by_key["so"].capabilities
    assert "approve_payout" not in by_key["congan"].capabilities
    assert not by_key["lanhdao"].capabilities & {"enter_account", "verify_account", "sync_payout", "approve_payout"}


def test_override_results_only_for_the_roles_that_approve_payouts():
    from app.security.roles import PERMISSION_SETS

    for role in PERMISSION_SETS.values():
        assert ("override_results" in role.capabilities) == ("approve_payout" in role.capabilities), role.key
