"""The FAB security manager: our user model, user screens with a unit, password policy."""
from __future__ import annotations

import re

from flask_appbuilder.exceptions import PasswordComplexityValidationError
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import gettext, lazy_gettext as _l

from app.models import AsxhUser

_PASSWORD_RULES = (re.compile(r"[A-Z]"), re.compile(r"[a-z]"), re.compile(r"\d"), re.compile(r"[^A-Za-z0-9]"))


def password_policy(password: str) -> None:
    """At least 10 characters with upper case, lower case, a digit and a symbol."""
    if len(password or "") < 10 or not all(rule.search(password) for rule in _PASSWORD_RULES):
        raise PasswordComplexityValidationError(
            gettext("The password must have at least 10 characters, with upper and lower case letters, a digit and a symbol.")
        )


class AsxhUserView(UserDBModelView):
    """FAB's user screens, with the unit the account is scoped to."""

    list_columns = ["first_name", "last_name", "username", "unit", "roles", "active"]
    show_fieldsets = [
        (_l("User info"), {"fields": ["username", "active", "roles", "unit", "login_count"]}),
        (_l("Personal Info"), {"fields": ["first_name", "last_name", "email"], "expanded": True}),
        (_l("Audit Info"), {"fields": ["last_login", "fail_login_count", "created_on", "created_by", "changed_on", "changed_by"], "expanded": False}),
    ]
    add_columns = ["first_name", "last_name", "username", "active", "email", "roles", "unit", "password", "conf_password"]
    edit_columns = ["first_name", "last_name", "username", "active", "email", "roles", "unit"]
    label_columns = {"unit": _l("Unit")}


class AsxhSecurityManager(SecurityManager):
    user_model = AsxhUser
    userdbmodelview = AsxhUserView
