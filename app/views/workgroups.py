"""Working groups (Tổ công tác Đề án 06) of a commune, and their members."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, Forbidden

from app.extensions import db
from app.models import AdminUnit, WorkGroup, WorkGroupMember
from app.security.roles import VIEW_METHODS
from app.security.scope import ScopedMixin, check_current, current_scope_ids
from app.services.messages import FieldError
from app.services.reference import commune_clause, is_commune
from app.services.visits import workgroups
from app.views.landing import LandOnNewRowMixin
from app.views.params import id_arg
from app.views.visit_common import has


def _communes_in_scope():
    return select(AdminUnit.id).where(AdminUnit.id.in_(current_scope_ids()), commune_clause())


class WorkGroupView(LandOnNewRowMixin, ScopedMixin, ModelView):
    datamodel = SQLAInterface(WorkGroup)
    class_permission_name = "WorkGroup"
    method_permission_name = dict(
        VIEW_METHODS, members="read", add_member="write", remove_member="write", make_leader="write"
    )
    scope_relation = "commune"
    include_route_methods = {
        "list",
        "show",
        "add",
        "edit",
        "delete",
        "members",
        "add_member",
        "remove_member",
        "make_leader",
    }
    added_endpoint = "members"  # a new group's next step: its members
    list_title = _l("Working groups")
    add_title = _l("New working group")
    edit_title = _l("Edit the working group")
    list_columns = ["name", "commune", "leader_name", "member_count", "active"]
    add_columns = edit_columns = ["name", "commune", "note", "active"]
    search_columns = ["name", "commune", "active"]
    base_order = ("name", "asc")
    label_columns = {
        "name": _l("Name"),
        "commune": _l("Commune"),
        "leader_name": _l("Leader"),
        "member_count": _l("Members"),
        "active": _l("Active"),
        "note": _l("Note"),
    }
    add_form_query_rel_fields = edit_form_query_rel_fields = {"commune": [["id", FilterInFunction, _communes_in_scope]]}
    search_form_query_rel_fields = add_form_query_rel_fields

    def pre_add(self, item):
        if item.commune is None or not is_commune(item.commune):
            raise BadRequest(gettext("A working group belongs to a commune"))
        item.commune_id = item.commune.id  # the form sets the relation only
        super().pre_add(item)
        item.created_by_id = g.user.id

    def pre_update(self, item):
        if item.commune is None or not is_commune(item.commune):
            raise BadRequest(gettext("A working group belongs to a commune"))
        moved = item.commune_id is not None and item.commune_id != item.commune.id
        super().pre_update(item)
        if moved:  # the old commune's people are no longer this group's
            workgroups.release_group(db.session, item.id)
            for m in item.members:
                m.commune_id = item.commune.id
        item.commune_id = item.commune.id

    def post_add(self, item):
        super().post_add(item)
        flash(gettext("Now add the members of the group."), "info")

    def pre_delete(self, item):
        super().pre_delete(item)
        workgroups.release_group(db.session, item.id)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for(".members", pk=pk))

    @expose("/members/<int:pk>")
    @has_access
    def members(self, pk):
        group = self.in_scope_or_404(pk)
        return self.render_template(
            "workgroup_members.html",
            group=group,
            users=workgroups.candidate_users(db.session, group.commune_id),
            can_write=has("can_write", "WorkGroup"),
            title=gettext("Working group") + " — " + group.name,
        )

    def _done(self, pk, action):
        try:
            action()
        except FieldError as exc:
            db.session.rollback()
            flash(exc.problem.render(gettext), "danger")
        else:
            db.session.commit()
            flash(gettext("Saved."), "success")
        return redirect(url_for(".members", pk=pk))

    @expose("/members/<int:pk>/add", methods=["POST"])
    @has_access
    def add_member(self, pk):
        group = self.in_scope_or_404(pk)
        check_current(group.commune_id, exc=Forbidden)
        member_user_id = id_arg("user_id", source=request.form)
        return self._done(
            pk,
            lambda: workgroups.add_member(
                db.session,
                group,
                user_id=g.user.id,
                member_user_id=member_user_id,
                name=request.form.get("name"),
                role_text=request.form.get("role_text"),
                phone=request.form.get("phone"),
                is_leader=request.form.get("is_leader") == "1",
            ),
        )

    def _member_or_404(self, group: WorkGroup, member_id: int) -> WorkGroupMember:
        member = db.session.get(WorkGroupMember, member_id)
        if member is None or member.group_id != group.id:
            abort(404)
        return member

    @expose("/members/<int:pk>/remove/<int:member_id>", methods=["POST"])
    @has_access
    def remove_member(self, pk, member_id):
        group = self.in_scope_or_404(pk)
        check_current(group.commune_id, exc=Forbidden)
        member = self._member_or_404(group, member_id)
        return self._done(pk, lambda: workgroups.remove_member(db.session, member, user_id=g.user.id))

    @expose("/members/<int:pk>/leader/<int:member_id>", methods=["POST"])
    @has_access
    def make_leader(self, pk, member_id):
        group = self.in_scope_or_404(pk)
        check_current(group.commune_id, exc=Forbidden)
        member = self._member_or_404(group, member_id)
        return self._done(pk, lambda: workgroups.set_leader(db.session, member, user_id=g.user.id))
