"""The one table of roles: who may read or write what, and which capabilities they hold.

Views and APIs name a permission class (``class_permission_name``) and map their
methods onto ``can_read`` / ``can_write``. Capabilities are permissions on the
pseudo view ``ASXH`` and guard actions that are not plain CRUD (import, match, …).
``sync_roles`` makes the database match this table; it runs in ``asxh init``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask_babel import lazy_gettext as _l

from app.services.messages import N_

READ, WRITE = "read", "write"
CAPABILITY_VIEW = "ASXH"

# The menu: the five steps of the scheme, then reports and administration, in this order. A category's name is
# the FAB view menu its ``menu_access`` permission names ("Security" is FAB's own, holding users and roles).
STEP1, STEP2, STEP3, STEP4, STEP5 = "Step1", "Step2", "Step3", "Step4", "Step5"
REPORTS, ADMINISTRATION = "Reports", "Security"
MENU_CATEGORIES: tuple[tuple[str, object, str], ...] = (
    (STEP1, _l("Step 1 – Lists and matching"), "fa-address-book"),
    (STEP2, _l("Step 2 – Working groups"), "fa-users"),
    (STEP3, _l("Step 3 – Home visits"), "fa-home"),
    (STEP4, _l("Step 4 – Classification"), "fa-list-ol"),
    (STEP5, _l("Step 5 – Accounts and payout"), "fa-money"),
    (REPORTS, _l("Reports"), "fa-bar-chart"),
    (ADMINISTRATION, _l("Administration"), "fa-cogs"),
)

# Permission classes of our views, and the menu category each one sits in.
VIEW_CATEGORIES: dict[str, str] = {
    "Beneficiary": STEP1,
    "ImportBatch": STEP1,
    "MatchReview": STEP1,
    "DuplicatePair": STEP1,
    "WorkGroup": STEP2,
    "Visit": STEP3,
    "Questionnaire": STEP3,
    "CaseList": STEP4,
    "OpeningTask": STEP5,
    "PaymentAccount": STEP5,
    "PayoutPeriod": STEP5,
    "Notice": STEP5,
    "Verification": STEP5,
    "Complaint": STEP5,
    "Campaign": REPORTS,
    "CampaignProgress": REPORTS,
    "AdminUnit": ADMINISTRATION,
    "Bank": ADMINISTRATION,
    "PayoutRule": ADMINISTRATION,
    "AuditLog": ADMINISTRATION,
    "Jobs": ADMINISTRATION,
}
# Reference data is read by everyone (pick lists, labels) but is a menu entry only for those who maintain it.
MENU_NEEDS_WRITE = frozenset({"AdminUnit", "Bank", "PayoutRule"})

# Menu entries that are not a permission class of their own: (category, what grants the entry). The grant is
# ("capability", name) or ("view", permission class, level).
MENU_LINKS: dict[str, tuple[str, tuple]] = {
    "ImportUpload": (STEP1, ("capability", "import")),
    "AccountsToVerify": (STEP5, ("capability", "verify_account")),
    "SharedAccounts": (STEP5, ("capability", "verify_account")),
    "AccountUpload": (STEP5, ("capability", "enter_account")),
    "VneidUpload": (STEP5, ("capability", "enter_account")),
    "AccountCheck": (STEP5, ("capability", "enter_account")),
    "FollowUps": (STEP5, ("view", "PayoutPeriod", "read")),
    "VerificationTasks": (STEP5, ("view", "Verification", "read")),
    "CategoryRules": (ADMINISTRATION, ("view", "PayoutRule", "write")),
    "ProgressExport": (REPORTS, ("view", "Beneficiary", "read")),
}


def menu_category(name: str) -> str:
    """The menu category of a view (by permission class) or link (by menu name): the one place that says."""
    return VIEW_CATEGORIES[name] if name in VIEW_CATEGORIES else MENU_LINKS[name][0]


# Capabilities (permission "can_<name>" on view ASXH).
CAPABILITIES = {
    "import": _l("Import beneficiary lists"),
    "match": _l("Match and clean against the population registry"),
    "unmask": _l("See full CCCD and account numbers"),
    "unmask_record": _l("Reveal the full numbers of one record on request (logged)"),
    "enter_account": _l("Enter or change payment accounts"),
    "verify_account": _l("Verify payment accounts entered by someone else"),
    "restore_account": _l("Restore payment accounts that were ended"),
    "sync_payout": _l("Sync payout lists"),
    "approve_payout": _l("Lock, approve, hand over and reconcile payout periods"),
    "export_payout": _l("Export payout lists and bank transfer files"),
    # The approval tiers of a payout period (app/services/payout/tiers.py: which tier each one signs).
    "verify_payout_list": _l("Verify a payout list before it is approved (first approval tier)"),
    "head_approve_payout": _l("Approve a payout list as the head of the paying unit (second approval tier)"),
    "override_results": _l("Apply the valid rows of a refused bank result file, with a reason (audited)"),
    "reinstate": _l("Reinstate ended beneficiaries and enrolments (higher units)"),
    "progress_chart": _l("See the progress over time against the campaign's deadlines"),
    "decide_duplicates": _l("Decide on possible duplicate people and search for them again"),
    "sensitive_complaints": _l("See the sensitive complaints assigned to your unit (leaders)"),
}


@dataclass(frozen=True)
class RoleDef:
    key: str
    name: str  # shown in the UI and used on the command line
    label: object
    views: dict[str, str] = field(default_factory=dict)
    capabilities: frozenset[str] = frozenset()
    is_admin: bool = False
    # The unit kinds ("city", "district", "commune") a user of this role may be scoped to; set per scheme.
    kinds: tuple[str, ...] = ()


ROLES: tuple[RoleDef, ...] = (
    RoleDef(
        "admin",
        "Quản trị hệ thống",
        _l("System administrator"),
        is_admin=True,
        views={
            "DuplicatePair": WRITE,
            "Notice": WRITE,
            "MatchReview": WRITE,
            "Beneficiary": WRITE,
            "ImportBatch": WRITE,
            "AdminUnit": WRITE,
            "Bank": WRITE,
            "PaymentAccount": WRITE,
            "PayoutPeriod": WRITE,
            "PayoutRule": WRITE,
            "AuditLog": READ,
            "WorkGroup": WRITE,
            "Visit": WRITE,
            "OpeningTask": WRITE,
            "CaseList": WRITE,
            "Campaign": WRITE,
            "CampaignProgress": WRITE,
            "Verification": WRITE,
            "Complaint": WRITE,
            "Questionnaire": WRITE,
            "Jobs": WRITE,
        },
        capabilities=frozenset(CAPABILITIES),
    ),
    RoleDef(
        "so",
        "Sở LĐTBXH",
        _l("City labour department"),
        views={
            "DuplicatePair": WRITE,
            "Notice": READ,
            "MatchReview": WRITE,
            "Beneficiary": WRITE,
            "ImportBatch": WRITE,
            "AdminUnit": READ,
            "Bank": READ,
            "PaymentAccount": READ,
            "PayoutPeriod": WRITE,
            "PayoutRule": WRITE,
            "AuditLog": READ,
            "WorkGroup": READ,
            "Visit": READ,
            "OpeningTask": READ,
            "CaseList": READ,
            "Campaign": WRITE,
            "CampaignProgress": WRITE,
            "Verification": WRITE,
            "Complaint": WRITE,
            "Questionnaire": WRITE,
        },
        capabilities=frozenset(
            {
                "import",
                "match",
                "unmask",
                "sync_payout",
                "approve_payout",
                "override_results",
                "export_payout",
                "restore_account",
                "reinstate",
                "progress_chart",
                "decide_duplicates",
            }
        ),
    ),
    RoleDef(
        "phong",
        "Phòng LĐTBXH",
        _l("District labour office"),
        views={
            "DuplicatePair": WRITE,
            "Notice": WRITE,
            "MatchReview": WRITE,
            "Beneficiary": READ,
            "ImportBatch": WRITE,
            "AdminUnit": READ,
            "Bank": READ,
            "PaymentAccount": READ,
            "PayoutPeriod": WRITE,
            "PayoutRule": READ,
            "WorkGroup": READ,
            "Visit": READ,
            "OpeningTask": READ,
            "CaseList": READ,
            "Campaign": READ,
            "CampaignProgress": READ,
            "Verification": WRITE,
            "Complaint": WRITE,
            "Questionnaire": READ,
        },
        capabilities=frozenset(
            {
                "import",
                "match",
                "unmask",
                "verify_account",
                "sync_payout",
                "approve_payout",
                "override_results",
                "export_payout",
                "restore_account",
                "reinstate",
                "decide_duplicates",
            }
        ),
    ),
    RoleDef(
        "congan",
        "Công an xã",
        _l("Commune police"),
        views={
            "DuplicatePair": WRITE,
            "Notice": READ,
            "MatchReview": WRITE,
            "Beneficiary": WRITE,
            "ImportBatch": READ,
            "AdminUnit": READ,
            "Bank": READ,
            "PaymentAccount": WRITE,
            "PayoutPeriod": READ,
            "WorkGroup": WRITE,
            "Visit": WRITE,
            "OpeningTask": WRITE,
            "CaseList": WRITE,
            "Campaign": READ,
            "CampaignProgress": WRITE,
            "Verification": WRITE,
            "Complaint": WRITE,
            "Questionnaire": READ,
        },
        capabilities=frozenset(
            {
                "match",
                "unmask",
                "enter_account",
                "verify_account",
                "sync_payout",
                "decide_duplicates",
                "verify_payout_list",
            }
        ),
    ),
    RoleDef(
        "canbo",
        "Cán bộ LĐTBXH xã",
        _l("Commune labour officer"),
        views={
            "DuplicatePair": READ,
            "Notice": WRITE,
            "MatchReview": READ,
            "Beneficiary": READ,
            "AdminUnit": READ,
            "Bank": READ,
            "PaymentAccount": READ,
            "PayoutPeriod": READ,
            "WorkGroup": WRITE,
            "Visit": WRITE,
            "OpeningTask": WRITE,
            "CaseList": WRITE,
            "Campaign": READ,
            "CampaignProgress": WRITE,
            "Verification": WRITE,
            "Complaint": WRITE,
            "Questionnaire": READ,
        },
        capabilities=frozenset({"unmask_record"}),
    ),
    RoleDef(
        "lanhdao",
        "Lãnh đạo",
        _l("Leadership (read-only)"),
        views={
            "DuplicatePair": READ,
            "Notice": READ,
            "MatchReview": READ,
            "Beneficiary": READ,
            "ImportBatch": READ,
            "AdminUnit": READ,
            "Bank": READ,
            "PaymentAccount": READ,
            "PayoutPeriod": READ,
            "PayoutRule": READ,
            "WorkGroup": READ,
            "Visit": READ,
            "OpeningTask": READ,
            "CaseList": READ,
            "Campaign": READ,
            "CampaignProgress": READ,
            "Verification": READ,
            "Complaint": READ,
            "Questionnaire": READ,
        },
        # Leaders change no data; the head of the paying unit signs its payout lists (the second approval tier).
        capabilities=frozenset({"progress_chart", "sensitive_complaints", "head_approve_payout"}),
    ),
)

ROLE_BY_NAME = {r.name: r for r in ROLES}
ROLE_BY_KEY = {r.key: r for r in ROLES}


def _union(key: str, name: str, label, *parts: RoleDef) -> RoleDef:
    """A permission set holding everything ``parts`` hold (write wins over read)."""
    views: dict[str, str] = {}
    for part in parts:
        for view, level in part.views.items():
            views[view] = WRITE if WRITE in (level, views.get(view)) else level
    return RoleDef(key, name, label, views=views, capabilities=frozenset().union(*(p.capabilities for p in parts)))


# Since 1 July 2025 the commune's social-affairs officer prepares, verifies and hands over the payments that the
# district office made before, besides the home visits of the commune labour officer: both permission sets.
XA = _union(
    "xa", "Cán bộ Văn hóa - Xã hội xã", _l("Commune social-affairs officer"), ROLE_BY_KEY["phong"], ROLE_BY_KEY["canbo"]
)
PERMISSION_SETS = {**ROLE_BY_KEY, XA.key: XA}

# Per scheme: which permission sets exist, what they are called (None: the set's own name) and at which unit kinds
# their users sit. In 2025 the city department's name comes from configuration (CITY_DEPARTMENT_NAME).
CITY_DEPARTMENT = "city_department"
SCHEME_ROLES: dict[str, tuple[tuple[str, str | None, tuple[str, ...]], ...]] = {
    "2024": (
        ("admin", None, ("city",)),
        ("so", None, ("city",)),
        ("phong", None, ("district",)),
        ("congan", None, ("commune",)),
        ("canbo", None, ("commune",)),
        ("lanhdao", None, ("city", "district", "commune")),
    ),
    "2025": (
        ("admin", None, ("city",)),
        ("so", CITY_DEPARTMENT, ("city",)),
        ("xa", None, ("commune",)),
        ("congan", None, ("commune",)),
        ("lanhdao", None, ("city", "commune")),
    ),
}
SCHEME_LABELS = {("2025", "so"): _l("City social-protection department")}
KIND_MSGIDS = {"city": N_("city"), "district": N_("district"), "commune": N_("commune")}


def roles_for(scheme: str, city_department: str = "Sở quản lý an sinh") -> tuple[RoleDef, ...]:
    """The roles of ``scheme``: the permission sets of this table, named and placed as the scheme says."""
    out = []
    for key, name, kinds in SCHEME_ROLES[scheme]:
        base = PERMISSION_SETS[key]
        name = city_department if name == CITY_DEPARTMENT else (name or base.name)
        out.append(replace(base, name=name, label=SCHEME_LABELS.get((scheme, key), base.label), kinds=kinds))
    return tuple(out)


def role_allows_kind(role: RoleDef, kind: str) -> bool:
    """A user of ``role`` may be scoped to a unit of ``kind`` (a role without kinds sits anywhere)."""
    return not role.kinds or kind in role.kinds


WRONG_LEVEL = N_("The role %(role)s sits at the %(kinds)s level in the %(scheme)s scheme; %(unit)s is a %(kind)s")


def wrong_level(roles: tuple[RoleDef, ...], role_names, unit, translate) -> str | None:
    """The (translated) refusal when one of ``role_names`` may not sit at ``unit`` in the active scheme's
    ``roles``; None when every role fits. Used by ``asxh create-user`` and the user screens."""
    from app.services.reference import unit_kind

    by_name = {r.name: r for r in roles}
    kind = unit_kind(unit)
    for name in role_names:
        role = by_name.get(name)
        if role is not None and not role_allows_kind(role, kind):
            return translate(WRONG_LEVEL) % {
                "role": name,
                "kinds": ", ".join(translate(str(KIND_MSGIDS[k])) for k in role.kinds),
                "scheme": unit.scheme,
                "unit": unit.name,
                "kind": translate(KIND_MSGIDS[kind]),
            }
    return None


# What every signed-in user may do with their own account.
SELF_SERVICE = (
    ("can_userinfo", "AsxhUserView"),
    ("resetmypassword", "AsxhUserView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("menu_access", "Home"),
)


def _link_granted(role: RoleDef, grant: tuple) -> bool:
    if grant[0] == "capability":
        return grant[1] in role.capabilities
    _kind, view, level = grant
    return view in role.views and (level == READ or role.views[view] == WRITE)


def permissions_for(role: RoleDef) -> set[tuple[str, str]]:
    """The (permission, view menu) pairs a role holds, menus included: a category's menu entry comes with any
    entry of it the role sees."""
    pairs: set[tuple[str, str]] = set(SELF_SERVICE)
    for view, level in role.views.items():
        pairs.add(("can_read", view))
        if level == WRITE:
            pairs.add(("can_write", view))
        if view in MENU_NEEDS_WRITE and level != WRITE:
            continue
        pairs.add(("menu_access", view))
        pairs.add(("menu_access", VIEW_CATEGORIES[view]))
    for cap in role.capabilities:
        pairs.add((f"can_{cap}", CAPABILITY_VIEW))
    for menu, (category, grant) in MENU_LINKS.items():
        if _link_granted(role, grant):
            pairs.add(("menu_access", menu))
            pairs.add(("menu_access", category))
    return pairs


def sync_roles(sm, roles: tuple[RoleDef, ...] = ROLES) -> None:
    """Create or update every role (of the active scheme: ``roles_for``) so its permissions are exactly those of
    the table.

    The admin role additionally receives every permission FAB knows (users, roles, …).
    Idempotent.
    """
    session = sm.session
    all_pvs = session.query(sm.permissionview_model).all()
    by_pair = {(pv.permission.name, pv.view_menu.name): pv for pv in all_pvs}
    for role_def in roles:
        role = sm.find_role(role_def.name) or sm.add_role(role_def.name)
        wanted = permissions_for(role_def)
        pvs = []
        for pair in sorted(wanted):
            pv = by_pair.get(pair) or sm.add_permission_view_menu(*pair)
            by_pair[pair] = pv
            pvs.append(pv)
        if role_def.is_admin:
            pvs = list({pv.id: pv for pv in pvs + session.query(sm.permissionview_model).all()}.values())
        role.permissions = pvs
    session.commit()


def capability(name: str) -> tuple[str, str]:
    return f"can_{name}", CAPABILITY_VIEW


# FAB method → permission maps, so each view needs only can_read / can_write.
VIEW_METHODS = {
    "list": "read",
    "show": "read",
    "download": "read",
    "api": "read",
    "api_read": "read",
    "api_get": "read",
    "api_column_add": "write",
    "api_column_edit": "write",
    "api_readvalues": "read",
    "add": "write",
    "edit": "write",
    "delete": "write",
    "api_create": "write",
    "api_update": "write",
    "api_delete": "write",
    "action": "write",
    "action_post": "write",
}
API_METHODS = {
    "get": "read",
    "get_list": "read",
    "info": "read",
    "post": "write",
    "put": "write",
    "delete": "write",
}
