"""/person/<id>: one page per person — list data, enrolments, matching, visits, accounts, payout lines, holds
and the person's audit trail. The data is ``app.services.person.person_file`` (scope checked there, given
the reader's unit: unknown or out of scope is 404); this view masks identifiers and logs the view."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext

from app.extensions import db
from app.security.access import has_capability, holds
from app.security.audit import log_view
from app.security.masking import account_formatter, cccd_formatter, should_mask
from app.security.scope import current_unit
from app.services.masking import IDENTIFIER_FIELDS
from app.services.messages import N_, FieldError
from app.services.payout.complaints import SENSITIVE_CAPABILITY
from app.services.person import person_file
from app.services.registry import people
from app.views.audit import _local_time, _pretty_json, audit_detail, audit_history_url
from app.views.display import entity_name
from app.views.labels import label
from app.views.problems import raise_refusal, render_problem

FORMATTERS = {"cccd": cccd_formatter, "account": account_formatter}
#: Identifiers the page shows in full for readers who see them.
SHOWN_IDENTIFIERS = ["cccd", "cmnd", "match_cccd", "account_number", "proxy_cccd"]


def _mask_answers(visits: list[dict]) -> None:
    for entry in visits:
        for answer in entry["answers"]:
            kind = IDENTIFIER_FIELDS.get(answer.get("key"))
            if kind in FORMATTERS:
                answer["text"] = FORMATTERS[kind](answer.get("text"))


def _can_write_complaint() -> bool:
    from flask import current_app

    return bool(current_app.appbuilder.sm.has_access("can_write", "Complaint"))


class PersonView(BaseView):
    route_base = "/person"
    class_permission_name = "Beneficiary"
    method_permission_name = {"show": "read", "start_month": "write"}

    @expose("/<int:beneficiary_id>/start_month/<int:enrolment_id>", methods=["POST"])
    @has_access
    def start_month(self, beneficiary_id, enrolment_id):
        """The first month of an enrolment's decision (mm/yyyy); the next sync pays the months owed from it."""
        try:
            people.set_start_month(
                db.session, beneficiary_id, enrolment_id, request.form.get("start_month"), current_unit()
            )
        except FieldError as exc:
            db.session.rollback()
            raise_refusal(exc)
            flash(render_problem(exc.problem), "danger")
        else:
            db.session.commit()
            flash(gettext("The start month is recorded."), "success")
        return redirect(url_for(".show", beneficiary_id=beneficiary_id) + "#section-enrolments")

    @expose("/<int:beneficiary_id>")
    @has_access
    def show(self, beneficiary_id):
        file = person_file(
            db.session,
            beneficiary_id,
            current_unit(),
            translate=gettext,
            sees_sensitive=has_capability(SENSITIVE_CAPABILITY),
        )
        if file is None:
            abort(404)
        person = file.person
        _mask_answers(file.visits)
        candidates = [
            dict(c, cccd=cccd_formatter(c.get("cccd")))
            for c in file.matching.get("candidates") or []
            if isinstance(c, dict)
        ]
        diff = []
        for name, values in file.matching.get("diff") or []:
            kind = IDENTIFIER_FIELDS.get(name)
            values = values if isinstance(values, list) else [values]
            diff.append((name, [FORMATTERS[kind](v) if kind in FORMATTERS else v for v in values]))
        masked = should_mask()
        log_view(
            "beneficiary",
            person.id,
            beneficiary_id=person.id,
            unit_id=person.commune_id,
            fields=[] if masked else SHOWN_IDENTIFIERS,
            masked=masked,
            detail=N_("person page"),
        )
        return self.render_template(
            "person.html",
            file=file,
            person=person,
            candidates=candidates,
            diff=diff,
            label=label,
            mask_cccd=cccd_formatter,
            mask_account=account_formatter,
            audit_values=_pretty_json,
            local_time=_local_time,
            audit_url=audit_history_url(person.id),
            user=g.user,
            can_edit_contact="write:Notice" in holds(["write:Notice"]),
            entity_name=entity_name,
            audit_detail=audit_detail,
            can_complain=_can_write_complaint(),
            title=gettext("Person file") + " — " + person.full_name,
            can_edit="write:Beneficiary" in holds(["write:Beneficiary"]),
        )
