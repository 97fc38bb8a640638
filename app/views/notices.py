"""Notices to beneficiaries: the outbox list (scoped, filtered by status and notice), the hand-over of the waiting
notices as .xlsx, starting the sending job when a gateway is configured, and the phone number / opt-out form of
the person page. The data comes from ``app/services/notices/outbox.py``."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.security.access import holds
from app.security.audit import log_export, log_page
from app.security.roles import menu_category
from app.security.scope import current_unit
from app.services.formatting import local_today
from app.services.messages import FieldError
from app.services.notices import outbox
from app.views.downloads import XLSX
from app.views.labels import label, labels
from app.views.params import int_arg
from app.views.problems import raise_refusal, render_problem
from jobs import registry


class NoticeView(BaseView):
    route_base = "/notices"
    default_view = "index"
    class_permission_name = "Notice"
    method_permission_name = {"index": "read", "export": "write", "send": "write", "contact": "write"}

    @expose("/")
    @has_access
    def index(self):
        unit = current_unit()
        status, event = request.args.get("status") or None, request.args.get("event") or None
        data = outbox.outbox_page(db.session, unit, status=status, event=event, page=int_arg("page", 1) or 1)
        if data["rows"]:
            log_page("notice", [n.id for n, _name in data["rows"]], detail="notice outbox")
        return self.render_template(
            "notices.html",
            title=gettext("Notices to beneficiaries"),
            data=data,
            status=status,
            event=event,
            status_labels=labels("notice_status"),
            event_labels=labels("notice_event"),
            label=label,
            can_write="write:Notice" in holds(["write:Notice"]),
            gateway=bool(current_app.config.get("SMS_GATEWAY_URL")),
        )

    @expose("/export/", methods=["POST"])
    @has_access
    def export(self):
        """Every waiting notice of the user's scope as .xlsx, marked handed over (the office sends them). Not with a
        gateway: a notice the gateway is sending must not also be handed over."""
        if current_app.config.get("SMS_GATEWAY_URL"):
            abort(404)
        unit = current_unit()
        out = io.BytesIO()
        with force_locale("vi"):
            count = outbox.export_outbox(db.session, unit, g.user.id, out, gettext, labels("notice_event"))
        if not count:
            flash(gettext("No notice is waiting to be handed over."), "info")
            return redirect(url_for(".index"))
        log_export("notice_outbox", count=count, unit_id=unit.id if unit else None, detail="Notices handed over")
        out.seek(0)
        name = f"tin-nhan-{unit.code if unit else 'all'}-{local_today():%Y%m%d}.xlsx"
        return send_file(out, as_attachment=True, download_name=name, mimetype=XLSX)

    @expose("/send/", methods=["POST"])
    @has_access
    def send(self):
        """Start the sending job of the user's unit (a fixed id: started twice, it runs once)."""
        unit = current_unit()
        if unit is None or not current_app.config.get("SMS_GATEWAY_URL"):
            abort(404)
        registry.start("send_notices", unit.id)
        flash(gettext("The notices are being sent."), "info")
        return redirect(url_for(".index"))

    @expose("/contact/<int:beneficiary_id>", methods=["POST"])
    @has_access
    def contact(self, beneficiary_id):
        """The person page's form: phone number and opt-out (scope checked by the service)."""
        try:
            outbox.set_contact(
                db.session,
                beneficiary_id,
                g.user.id,
                phone=request.form.get("phone"),
                opt_out=request.form.get("opt_out") == "1",
            )
        except FieldError as exc:
            db.session.rollback()
            raise_refusal(exc)
            flash(render_problem(exc.problem), "danger")
            return redirect(url_for("PersonView.show", beneficiary_id=beneficiary_id))
        db.session.commit()
        flash(gettext("The phone number and the choice about messages were saved."), "info")
        return redirect(url_for("PersonView.show", beneficiary_id=beneficiary_id) + "#section-notices")


def register_notice_views(appbuilder) -> None:
    appbuilder.add_view(
        NoticeView, "Notice", label=_l("Notices to beneficiaries"), icon="fa-envelope", category=menu_category("Notice")
    )
