"""Possible duplicate people: the list a reviewer works through (filters by kind and status), one pair side by
side, decisions one by one or in bulk with a reason, and the finder started on demand. The data and every rule
(scope: a pair is seen when either person is in the user's scope, decided only when both are) are in
``app/services/registry/duplicates.py``; this view translates, masks, logs what it shows and renders."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

from app.extensions import db
from app.models import AsxhUser, Bank
from app.security.access import has_capability, requires
from app.security.audit import log_page
from app.security.masking import account_formatter, cccd_formatter
from app.security.scope import current_unit
from app.services.formatting import format_date
from app.services.messages import FieldError
from app.services.registry import duplicates
from app.views.batch_common import failure_text
from app.views.labels import label, labels
from app.views.params import ids_arg, int_arg
from app.views.problems import raise_refusal, render_problem
from jobs import registry

CAPABILITY = "decide_duplicates"


def evidence(pair) -> str:
    """What the two people share, in words: the account (masked), the phone (masked), the birth date and sex,
    or the two categories."""
    detail = pair.detail or ""
    if pair.kind == "same_account":
        bin_, _sep, number = detail.partition(" ")
        bank = db.session.get(Bank, bin_)
        return f"{bank.short_name if bank is not None else bin_} {account_formatter(number)}"
    if pair.kind == "same_phone":
        return account_formatter(detail)
    if pair.kind == "moved":
        _name, _sep, rest = detail.partition("|")
        born, _sep, sex = rest.partition("|")
        try:
            born = format_date(dt.date.fromisoformat(born[:10]))
        except ValueError:
            pass
        return f"{born}, {label('sex', sex)}"
    return " + ".join(label("category", c) for c in detail.split("+") if c)


def side(person) -> dict:
    """One person as the screen shows them (identifiers masked for readers who may not see them)."""
    return {
        "id": person.id,
        "full_name": person.full_name,
        "cccd": cccd_formatter(person.cccd),
        "birth": person.birth,
        "sex": label("sex", person.sex),
        "commune": person.commune.name if person.commune is not None else "",
        "address": person.address or "",
        "categories": ", ".join(label("category", e.category) for e in person.enrolments if e.ended_at is None),
        "match_status": label("match_status", person.match_status),
    }


class DuplicateView(BaseView):
    route_base = "/duplicates"
    default_view = "index"
    class_permission_name = "DuplicatePair"
    method_permission_name = {"index": "read", "pair": "read", "decide": "write", "run": "write"}

    @expose("/")
    @has_access
    def index(self):
        kind = request.args.get("kind") or None
        status = request.args.get("status", "open")
        page = int_arg("page", 0, minimum=0) or 0
        data = duplicates.review_page(
            db.session, current_unit(), kind=kind, status=None if status == "all" else status, page=page
        )
        rows = [dict(r, a=side(r["a"]), b=side(r["b"]), evidence=evidence(r["pair"])) for r in data["pairs"]]
        log_page("beneficiary", sorted({p for r in rows for p in (r["a"]["id"], r["b"]["id"])}))
        return self.render_template(
            "duplicates.html",
            data=data,
            rows=rows,
            status_arg=status,
            kinds=labels("duplicate_kind"),
            statuses=labels("duplicate_status"),
            decisions={
                k: v
                for k, v in labels("duplicate_status").items()
                if k in ("same_person", "different_people", "allowed")
            },
            can_decide=has_capability(CAPABILITY),
            run=data["run"],
            run_status=label("duplicate_run_status", data["run"].status) if data["run"] is not None else "",
            run_failure=failure_text(data["run"]) if data["run"] is not None else None,
            title=gettext("Possible duplicates"),
        )

    @expose("/pair/<int:pk>")
    @has_access
    def pair(self, pk):
        try:
            data = duplicates.pair_detail(db.session, pk, current_unit())
        except FieldError:
            abort(404)
        pair = data["pair"]
        log_page("beneficiary", [pair.person_a_id, pair.person_b_id])
        return self.render_template(
            "duplicate_pair.html",
            pair=pair,
            a=side(data["a"]),
            b=side(data["b"]),
            evidence=evidence(pair),
            decidable=data["decidable"] and has_capability(CAPABILITY),
            label=label,
            decisions={
                k: v
                for k, v in labels("duplicate_status").items()
                if k in ("same_person", "different_people", "allowed")
            },
            decided_by=db.session.get(AsxhUser, pair.decided_by_id) if pair.decided_by_id else None,
            title=gettext("Possible duplicate #%(id)s", id=pair.id),
        )

    @expose("/decide", methods=["POST"])
    @has_access
    @requires(CAPABILITY)
    def decide(self):
        ids = ids_arg("pair")
        try:
            done = duplicates.decide(
                db.session, ids, request.form.get("decision", ""), request.form.get("reason", ""), g.user.id
            )
        except FieldError as exc:
            db.session.rollback()
            raise_refusal(exc)
            flash(render_problem(exc.problem), "danger")
            return redirect(request.referrer or url_for(".index"))
        flash(gettext("%(count)s pairs decided.", count=done), "success")
        return redirect(url_for(".index"))

    @expose("/run", methods=["POST"])
    @has_access
    @requires(CAPABILITY)
    def run(self):
        if current_unit() is None:
            raise BadRequest()
        row = duplicates.request_run(db.session, g.user.id)
        db.session.commit()
        registry.start("find_duplicates", row.id)
        flash(gettext("The search for duplicates has started; reload the page in a moment."), "info")
        return redirect(url_for(".index"))
