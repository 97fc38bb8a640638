"""The FAB security manager: our user model, user screens with a unit, password policy."""

from __future__ import annotations

import re

from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.models import AsxhUser
from app.security.login import AsxhAuthDBView, AsxhSecurityApi

STAMP_CLAIM = "stamp"
SESSION_STAMP_KEY = "_asxh_stamp"
_PASSWORD_RULES = (re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"\d"), re.compile(r"[^A-Za-z0-9]"))


def password_policy(password: str) -> None:
    """At least 10 characters with upper case, lower case, a digit and a symbol."""
    if len(password or "") < 10 or not all(rule.search(password) for rule in _PASSWORD_RULES):
        raise PasswordComplexityValidationError(
            gettext(
                "The password must have at least 10 characters, with upper and lower case letters, a digit and a symbol."
            )
        )


class AsxhUserView(UserDBModelView):
    """FAB's user screens, with the unit the account is scoped to."""

    list_columns = ["first_name", "last_name", "username", "unit", "roles", "active"]
    show_fieldsets = [
        (_l("User info"), {"fields": ["username", "active", "roles", "unit", "login_count"]}),
        (_l("Personal Info"), {"fields": ["first_name", "last_name", "email"], "expanded": True}),
        (
            _l("Audit Info"),
            {
                "fields": ["last_login", "fail_login_count", "created_on", "created_by", "changed_on", "changed_by"],
                "expanded": False,
            },
        ),
    ]
    add_columns = [
        "first_name",
        "last_name",
        "username",
        "active",
        "email",
        "roles",
        "unit",
        "password",
        "conf_password",
    ]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles", "unit"]
    label_columns = {"unit": _l("Unit")}

    def _check_unit_level(self, item) -> None:
        """A user's unit must be of a level their roles sit at in the active scheme (as in ``asxh create-user``)."""
        from flask import current_app

        from app.security.roles import roles_for, wrong_level

        if item.unit is None:
            return
        roles = roles_for(current_app.config["UNIT_SCHEME"], current_app.config["CITY_DEPARTMENT_NAME"])
        refusal = wrong_level(roles, [r.name for r in item.roles], item.unit, gettext)
        if refusal:
            raise ValueError(refusal)  # FAB shows the message and saves nothing

    def pre_add(self, item):
        self._check_unit_level(item)
        super().pre_add(item)

    def pre_update(self, item):
        self._check_unit_level(item)
        super().pre_update(item)


class AsxhSecurityManager(SecurityManager):
    user_model = AsxhUser
    userdbmodelview = AsxhUserView
    # Login protection (app/security/login.py): failed sign-ins limited per username and address.
    authdbview = AsxhAuthDBView
    security_api = AsxhSecurityApi

    def create_jwt_manager(self, app):
        """FAB's JWT manager; tokens carry the account's security stamp and die when it changes."""
        jwt_manager = super().create_jwt_manager(app)
        jwt_manager.additional_claims_loader(self._jwt_claims)
        jwt_manager.token_in_blocklist_loader(self._jwt_revoked)
        return jwt_manager

    def _jwt_claims(self, identity) -> dict:
        user = self.get_user_by_id(int(identity))
        return {STAMP_CLAIM: user.security_stamp} if user is not None else {}

    def _jwt_revoked(self, _jwt_header, jwt_data) -> bool:
        """Access and refresh tokens issued before a password, role or unit change are refused (401)."""
        try:
            user = self.get_user_by_id(int(jwt_data["sub"]))
        except (KeyError, TypeError, ValueError):
            return True
        return user is None or not user.is_active or jwt_data.get(STAMP_CLAIM) != user.security_stamp

    def _has_view_access(self, user, permission_name: str, view_name: str) -> bool:
        """One query per request for the user's permissions, instead of one per menu item and button."""
        from flask import g, has_request_context

        if not has_request_context() or not getattr(user, "is_authenticated", False):
            return super()._has_view_access(user, permission_name, view_name)
        cached = getattr(g, "_asxh_permissions", None)
        if cached is None or cached[0] != user.id:
            cached = (user.id, self._permission_pairs(user))
            g._asxh_permissions = cached
        return (permission_name, view_name) in cached[1]

    def _permission_pairs(self, user) -> set[tuple[str, str]]:
        """The (permission, view) pairs of all the roles of ``user`` (its own and its groups'), in one query: what
        FAB's ``get_user_roles_permissions`` gives, without loading the roles and permission objects."""
        from flask_appbuilder.security.sqla.models import (
            Permission,
            PermissionView,
            ViewMenu,
            assoc_group_role,
            assoc_permissionview_role,
            assoc_user_group,
            assoc_user_role,
        )
        from sqlalchemy import select, union

        if self.builtin_roles:  # roles defined in the configuration, not in the database
            return {pair for perms in self.get_user_roles_permissions(user).values() for pair in perms}
        role_ids = union(
            select(assoc_user_role.c.role_id).where(assoc_user_role.c.user_id == user.id),
            select(assoc_group_role.c.role_id)
            .join(assoc_user_group, assoc_user_group.c.group_id == assoc_group_role.c.group_id)
            .where(assoc_user_group.c.user_id == user.id),
        )
        rows = self.session.execute(
            select(Permission.name, ViewMenu.name)
            .select_from(assoc_permissionview_role)
            .join(PermissionView, PermissionView.id == assoc_permissionview_role.c.permission_view_id)
            .join(Permission, Permission.id == PermissionView.permission_id)
            .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
            .where(assoc_permissionview_role.c.role_id.in_(role_ids))
        )
        return {(permission, view) for permission, view in rows}

    def auth_user_db(self, username, password):
        """FAB's password check, refused while this username/address must wait; failures counted and audited."""
        from flask import request

        from app.security.login import login_guard

        guard = login_guard()
        addr = request.remote_addr if _in_request() else None
        if guard.blocked_for(username, addr):
            return None
        user = super().auth_user_db(username, password)
        if user:
            guard.succeeded(username, addr)
        else:
            guard.failed(username, addr)
            self._audit_login("login_failed", None, username, target=self.find_user(username=username))
        return user

    def on_user_login(self, user) -> None:
        self._audit_login("login", user, user.username)

    def on_user_logout(self, user) -> None:
        self._audit_login("logout", user, getattr(user, "username", None))

    def _audit_login(self, action: str, user, username, target=None) -> None:
        """One audit record per sign-in, sign-out and failed attempt (``target``: the account tried, if any)."""
        from app.services import audit

        actor = audit.current_actor()
        if user is not None:
            actor = audit.Actor(user.id, user.username, actor.source, actor.remote_addr)
        account = user or target
        audit.record(
            self.session,
            action=action,
            entity="ab_user",
            entity_id=getattr(account, "id", None),
            unit_id=getattr(account, "unit_id", None),
            actor=actor,
            new=None if user is not None else {"username": str(username or "")[:128]},
        )
        self.session.commit()

    # Password policy on every path that sets a password: forms (FAB's validator), CLI, reset.
    def add_user(
        self,
        username,
        first_name,
        last_name,
        email,
        role=None,
        password="",
        hashed_password="",
        groups=None,
        commit=True,
    ):
        if password and not hashed_password:
            password_policy(password)
        return super().add_user(
            username,
            first_name,
            last_name,
            email,
            role=role,
            password=password,
            hashed_password=hashed_password,
            groups=groups,
            commit=commit,
        )

    def reset_password(self, userid, password):
        password_policy(password)
        return super().reset_password(userid, password)


def _in_request() -> bool:
    from flask import has_request_context

    return has_request_context()
