"""The permission check of a page request reads the user's (permission, view) pairs in one query: the same pairs
FAB's own method gives, for every demo user of each scheme."""

from app.extensions import db
from app.models import AsxhUser


def test_permission_pairs_are_fabs(scheme_app, unit_scheme):
    sm = scheme_app.appbuilder.sm
    with scheme_app.app_context():
        users = db.session.query(AsxhUser).filter(AsxhUser.roles.any()).all()
        assert len(users) > 3
        for user in users:
            fab = {pair for perms in sm.get_user_roles_permissions(user).values() for pair in perms}
            assert fab and sm._permission_pairs(user) == fab, user.username


def test_a_user_without_roles_holds_nothing(scheme_app, unit_scheme):
    sm = scheme_app.appbuilder.sm
    with scheme_app.app_context():
        user = AsxhUser(id=-1, username="nobody")
        assert sm._permission_pairs(user) == set()
