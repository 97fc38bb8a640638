"""Does the signed-in user hold a capability? The one check behind every button, row action and endpoint.

Capabilities (``import``, ``match``, ``verify_account``, ...) are FAB permissions ``can_<name>`` on the view
``ASXH``, given to roles by the table in ``app/security/roles.py``."""

from __future__ import annotations

import functools

from flask import current_app, g
from werkzeug.exceptions import Forbidden

from app.security.roles import capability


def has_capability(name: str) -> bool:
    """True when the current user is signed in and one of their roles holds capability ``name``."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(current_app.appbuilder.sm.has_access(*capability(name)))


def holds(names) -> frozenset[str]:
    """Which of ``names`` the current user holds: capability names, or ``write:<permission class>`` for write
    access to a permission class (the work a service's to-do list or page offers by these names)."""
    held = set()
    for name in names:
        if name.startswith("write:"):
            user = getattr(g, "user", None)
            if (
                user is not None
                and getattr(user, "is_authenticated", False)
                and current_app.appbuilder.sm.has_access("can_write", name.removeprefix("write:"))
            ):
                held.add(name)
        elif has_capability(name):
            held.add(name)
    return frozenset(held)


def capabilities_of(user) -> frozenset[str]:
    """The capability names ``user``'s roles hold, read from the database (the command line, where no request
    and no ``g.user`` exist): FAB's permissions ``can_<name>`` on the view ``ASXH``."""
    view = capability("x")[1]
    return frozenset(
        pv.permission.name.removeprefix("can_")
        for role in getattr(user, "roles", None) or []
        for pv in role.permissions
        if pv.view_menu.name == view
    )


def is_admin() -> bool:
    """True when the signed-in user holds the administrator role (technical details are shown to them only)."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    admin = current_app.appbuilder.sm.auth_role_admin
    return any(role.name == admin for role in getattr(user, "roles", []) or [])


def requires(name: str):
    """Decorator for a view or API method: 403 unless the user holds capability ``name`` (an API answers with
    its own JSON 403, a page with the HTML one)."""

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            if not has_capability(name):
                if hasattr(self, "response_403"):
                    return self.response_403()
                raise Forbidden()
            return method(self, *args, **kwargs)

        return wrapper

    return decorate
