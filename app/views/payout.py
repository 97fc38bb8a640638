"""Payout screens: periods (create, sync with a progress bar, approve tier by tier, lock, hand over, close),
hand-over exports, bank results, the follow-up list, the lines, and the rules (base levels, category rules)."""

from __future__ import annotations

import io
import os
import tempfile

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import or_, select
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, NumberRange, Optional

from app.extensions import db
from app.models import AdminUnit, BaseLevel, CategoryRule, PayoutLine, PayoutPeriod, PayoutSyncRun
from app.security.access import holds
from app.security.masking import account_formatter, cccd_formatter
from app.security.roles import VIEW_METHODS, menu_category
from app.security.scope import InScopeOr404, ScopedMixin, current_scope_ids, current_unit
from app.services import payout
from app.services.formatting import format_date, format_money
from app.services.messages import FieldError
from app.services.reference import level_of, payer_level
from app.services.scope import archive_ids, subtree_ids
from app.views.accounts import can, require
from app.views.audit import PersonalDataViewMixin
from app.views.batch_common import failure_text, period_run_answer, shown_progress
from app.views.labels import label, labels
from app.views.problems import raise_refusal, render_problem
from app.views.search import PersonListInterface
from jobs import registry

# The service's map (one list of hold reasons), translated when shown.
LEFT_OUT_LABELS = payout.LEFT_OUT_REASONS
# Payout lines and accounts are never deleted: no "delete" route and no permission mapped for it.
READ_ONLY_METHODS = {k: v for k, v in VIEW_METHODS.items() if "delete" not in k}


def current_period_unit_ids():
    """Units whose periods the current user sees: their scope and the units above them (and the city the units
    of a retired scheme, read only): ``payout.period_visible``."""
    return payout.period_unit_ids(current_unit())


def current_line_unit_ids():
    """Units whose payout lines the current user reads: their scope (and the city the archive)."""
    unit = current_unit()
    return select(AdminUnit.id).where(or_(AdminUnit.id.in_(subtree_ids(unit)), AdminUnit.id.in_(archive_ids(unit))))


def period_units_for_new():
    unit = current_unit()
    if unit is None:
        return subtree_ids(None)
    levels = (level_of(unit.scheme, "city"), payer_level(unit.scheme))  # the city or one paying unit
    return select(AdminUnit.id).where(AdminUnit.id.in_(subtree_ids(unit)), AdminUnit.level.in_(levels))


class NewPeriodForm(FlaskForm):
    name = StringField(_l("Name (e.g. Tháng 02/2024)"), validators=[DataRequired()])
    period_date = DateField(
        _l("Date of the period (base levels in force on that day apply)"),
        validators=[DataRequired()],
        format="%Y-%m-%d",
    )
    unit = SelectField(_l("Unit covered"), coerce=int)


class ResultForm(FlaskForm):
    file = FileField(
        _l("Result file from the bank (.xlsx, .xls, .csv)"),
        validators=[FileRequired(), FileAllowed(["xlsx", "xls", "csv"], _l("Only .xlsx, .xls or .csv files"))],
    )
    override_reason = TextAreaField(
        _l("Apply the valid rows of a refused file: the reason (kept in the audit trail)"), validators=[Optional()]
    )


class HandResultForm(FlaskForm):
    """The result of cash / proxy lines chosen on the period page (``line_ids``), with the receipt."""

    status = SelectField(
        _l("Result"), choices=[("paid", _l("Paid")), ("partial", _l("Partially paid")), ("failed", _l("Failed"))]
    )
    paid_by = StringField(_l("Paid by"), validators=[Optional()])
    paid_on = DateField(_l("Date paid"), validators=[Optional()], format="%Y-%m-%d")
    receipt_ref = StringField(_l("Signed receipt (ký nhận) reference"), validators=[Optional()])
    proxy_name = StringField(_l("Received by a proxy: the proxy's name"), validators=[Optional()])
    received = IntegerField(_l("Amount received (partial payment)"), validators=[Optional(), NumberRange(min=0)])
    reason = StringField(_l("Reason (failed or partial)"), validators=[Optional()])


def tier_abilities() -> frozenset[str]:
    """The approval tiers' capabilities the signed-in user holds (the approvals service decides the rest)."""
    return holds(payout.TIER_CAPABILITIES)


def _decision(action: str, done_msg, *, reason: bool):
    """The page action POST /<action>/<pk> of one decision of the approval ledger (``payout.approve``,
    ``reject`` or ``withdraw``); ``done_msg`` (lazy) is flashed once it is recorded."""

    def route(self, pk):
        period = self.in_scope_or_404(pk)
        extra = {"reason": request.form.get("reason", "")} if reason else {}
        try:
            getattr(payout, action)(
                db.session,
                period.id,
                user_id=g.user.id,
                unit=current_unit(),
                abilities=tier_abilities(),
                tier=request.form.get("tier", type=int),
                **extra,
            )
        except FieldError as exc:
            return self._fail(pk, exc)
        flash(str(done_msg), "info")
        return redirect(url_for(".detail", pk=pk))

    route.__name__ = route.__qualname__ = action  # the endpoint and its permission (method_permission_name)
    return expose(f"/{action}/<int:pk>", methods=["POST"])(has_access(route))


class PayoutPeriodView(InScopeOr404, ModelView):
    datamodel = SQLAInterface(PayoutPeriod)
    class_permission_name = "PayoutPeriod"
    method_permission_name = dict(
        VIEW_METHODS,
        new="write",
        detail="read",
        sync="read",
        sync_progress="read",
        lock="read",
        lock_progress="read",
        hand_over="read",
        close="read",
        export_list="read",
        export_bank="read",
        export_bank_sha="read",
        results="read",
        carry="read",
        results_report="read",
        cash="read",
        results_template="read",
        # the approval tiers: the capability of a tier and the unit decide (approvals service), not write access
        approve="read",
        reject="read",
        withdraw="read",
    )
    base_filters = [["unit_id", FilterInFunction, current_period_unit_ids]]
    include_route_methods = {
        "list",
        "show",
        "add",
        "new",
        "detail",
        "sync",
        "sync_progress",
        "lock",
        "lock_progress",
        "hand_over",
        "close",
        "export_list",
        "export_bank",
        "export_bank_sha",
        "results",
        "carry",
        "results_report",
        "cash",
        "results_template",
        "approve",
        "reject",
        "withdraw",
    }
    list_title = _l("Payout periods")
    list_columns = ["name", "period_date", "unit", "status", "synced_at", "locked_at"]
    search_columns = ["name", "status", "period_date", "unit"]
    search_form_query_rel_fields = {"unit": [["id", FilterInFunction, current_period_unit_ids]]}
    base_order = ("period_date", "desc")
    label_columns = {
        "name": _l("Payout period"),
        "period_date": _l("Date"),
        "unit": _l("Unit"),
        "status": _l("Status"),
        "synced_at": _l("Synced at"),
        "locked_at": _l("Locked at"),
    }
    formatters_columns = {
        "status": lambda v: label("period_status", v),
        "period_date": format_date,
        "synced_at": format_date,
        "locked_at": format_date,
    }

    def _fail(self, pk, exc: FieldError):
        db.session.rollback()
        flash(render_problem(exc.problem), "danger")
        raise_refusal(exc)
        return redirect(url_for(".detail", pk=pk))

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for(".detail", pk=pk))

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return redirect(url_for(".new"))

    @expose("/new/", methods=["GET", "POST"])
    @has_access
    def new(self):
        form = NewPeriodForm()
        units = db.session.execute(
            select(AdminUnit.id, AdminUnit.name)
            .where(AdminUnit.id.in_(period_units_for_new()))
            .order_by(AdminUnit.path)
        ).all()
        form.unit.choices = [(u.id, u.name) for u in units]
        if form.validate_on_submit():
            try:
                period = payout.create_period(
                    db.session,
                    name=form.name.data,
                    period_date=form.period_date.data,
                    unit=db.session.get(AdminUnit, form.unit.data),
                    user_id=g.user.id,
                )
            except FieldError as exc:
                db.session.rollback()
                form.name.errors.append(render_problem(exc.problem))
            else:
                db.session.commit()
                return redirect(url_for(".detail", pk=period.id))
        return self.render_template("payout_new.html", form=form, title=gettext("New payout period"))

    @expose("/detail/<int:pk>")
    @has_access
    def detail(self, pk):
        period = self.in_scope_or_404(pk)
        page = payout.period_page(db.session, period, current_unit(), user_id=g.user.id, abilities=tier_abilities())
        left_out = [
            dict(
                x,
                category_label=label("category", x["category"]),
                reason_label=gettext(LEFT_OUT_LABELS.get(x["reason"], x["reason"]))
                % {"period": x.get("other_period_name") or x.get("other_period_id")},
            )
            for x in page.pop("left_out")
        ]
        held_reasons = [(label("hold_reason", code), n) for code, n in page.pop("held").items()]
        return self.render_template(
            "payout_detail.html",
            period=period,
            **page,
            left_out=left_out,
            held_reasons=held_reasons,
            failures={r.id: failure_text(r) for r in page["runs"] if r.status == "failed"},
            result_form=ResultForm(),
            hand_form=HandResultForm(),
            can_override=can("override_results"),
            can_carry=can("approve_payout") and page["results_open"] and bool(page["later"]),
            status_label=label("period_status", period.status),
            decision_labels=labels("approval_decision"),
            result_labels=labels("line_result"),
            channel_labels=labels("line_channel"),
            hold_labels=labels("hold_reason"),
            can_prevalidate=can("enter_account") or can("verify_account"),
            sync_labels=labels("payout_run_status"),
            money=format_money,
            can_sync=can("sync_payout") and page["syncable"],
            can_approve=can("approve_payout") and page["in_charge"],
            can_export=can("export_payout"),
            can_results=can("approve_payout") and page["results_open"],
            shown=shown_progress("payout_sync", page["runs"][0], "payout_run_status") if page["runs"] else None,
            lock_shown=shown_progress("payout_lock", page["lock_run"], "payout_run_status")
            if page["lock_run"]
            else None,
            lock_failure=failure_text(page["lock_run"]) if page["lock_run"] else None,
            title=period.name,
        )

    @expose("/sync/<int:pk>", methods=["POST"])
    @has_access
    def sync(self, pk):
        require("sync_payout")
        return self._queue_run(pk, "payout_sync", payout.request_sync, gettext("The payout list is being synced."))

    def _queue_run(self, pk, kind: str, request_run, done_msg: str):
        """Record the run ``request_run`` asks for on period ``pk`` for the user's unit (a refusal is flashed,
        nothing kept), commit, start its job of ``kind``, back to the period's page."""
        period = self.in_scope_or_404(pk)
        try:
            run = request_run(db.session, period.id, current_unit(), g.user.id)
        except FieldError as exc:
            return self._fail(pk, exc)
        db.session.commit()
        registry.start(kind, run.id)
        flash(done_msg, "info")
        return redirect(url_for(".detail", pk=pk))

    @expose("/sync_progress/<int:pk>")
    @has_access
    def sync_progress(self, pk):
        period = self.in_scope_or_404(pk)
        target = payout.effective_unit(period, current_unit())
        run = db.session.scalar(
            select(PayoutSyncRun)
            .where(PayoutSyncRun.period_id == period.id, PayoutSyncRun.unit_id.in_(subtree_ids(target)))
            .order_by(PayoutSyncRun.id.desc())
            .limit(1)
        )
        if run is None:
            return jsonify({"status": None})
        return jsonify(period_run_answer("payout_sync", run, payout.run_summary(run)))

    def _transition(self, pk, func, done_msg):
        require("approve_payout")
        period = self.in_scope_or_404(pk)
        try:
            func(db.session, period.id, g.user.id, current_unit())
        except FieldError as exc:
            return self._fail(pk, exc)
        flash(done_msg, "info")
        return redirect(url_for(".detail", pk=pk))

    approve = _decision("approve", _l("Your approval is recorded."), reason=False)
    reject = _decision("reject", _l("The payout list is rejected and goes back to synced."), reason=True)
    withdraw = _decision(
        "withdraw", _l("The approvals are withdrawn: the payout list can be synced again."), reason=True
    )

    @expose("/lock/<int:pk>", methods=["POST"])
    @has_access
    def lock(self, pk):
        """Check the refusals now (they answer at once), then lock in a job: the lock hashes every line."""
        require("approve_payout")
        return self._queue_run(pk, "payout_lock", payout.request_lock, gettext("The payout list is being locked."))

    @expose("/lock_progress/<int:pk>")
    @has_access
    def lock_progress(self, pk):
        period = self.in_scope_or_404(pk)
        run = payout.latest_lock(db.session, period.id, current_unit())
        if run is None:
            return jsonify({"status": None})
        return jsonify(period_run_answer("payout_lock", run, payout.lock_run_summary(run)))

    @expose("/hand_over/<int:pk>", methods=["POST"])
    @has_access
    def hand_over(self, pk):
        return self._transition(pk, payout.hand_over, gettext("The payout list is marked as handed over."))

    @expose("/close/<int:pk>", methods=["POST"])
    @has_access
    def close(self, pk):
        return self._transition(pk, payout.close_period, gettext("The payout period is closed as paid."))

    @expose("/export_list/<int:pk>/<int:unit_id>")
    @has_access
    def export_list(self, pk, unit_id):
        require("export_payout")
        period = self.in_scope_or_404(pk)
        groups = {u.id: u for u in payout.export_groups(db.session, period, current_unit())}
        if unit_id not in groups or period.status not in payout.EXPORTABLE:
            abort(404)
        unit = groups[unit_id]
        out = io.BytesIO()
        with force_locale("vi"):
            result = payout.write_payout_list(db.session, period.id, unit, out, gettext)
        filename = f"danh-sach-chi-tra-{period.id}-{unit.code}.xlsx"
        payout.log_export(
            db.session,
            period_id=period.id,
            kind="list_xlsx",
            unit=unit,
            filename=filename,
            lines=result["lines"],
            amount=result["amount"],
            sha256=None,
            user_id=g.user.id,
        )
        db.session.commit()
        _audit_export("payout_list", filename, result["lines"], unit.id, period.id)
        out.seek(0)
        return send_file(
            out,
            as_attachment=True,
            download_name=filename,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    def _bank_file(self, pk, bank_bin):
        require("export_payout")
        period = self.in_scope_or_404(pk)
        if period.status not in payout.EXPORTABLE:
            abort(404)
        unit = payout.effective_unit(period, current_unit())
        if bank_bin not in {b["bin"] for b in payout.bank_files(db.session, period.id, unit)}:
            abort(404)
        out = io.BytesIO()
        result = payout.write_bank_file(db.session, period.id, unit, bank_bin, out)
        return period, unit, out, result, f"chuyen-khoan-{period.id}-{unit.code}-{bank_bin}.csv"

    @expose("/export_bank/<int:pk>/<bank_bin>")
    @has_access
    def export_bank(self, pk, bank_bin):
        period, unit, out, result, filename = self._bank_file(pk, bank_bin)
        payout.log_export(
            db.session,
            period_id=period.id,
            kind="bank_csv",
            unit=unit,
            filename=filename,
            lines=result["lines"],
            amount=result["amount"],
            sha256=result["sha256"],
            user_id=g.user.id,
            bank_bin=bank_bin,
        )
        db.session.commit()
        _audit_export("payout_bank_file", filename, result["lines"], unit.id, period.id)
        out.seek(0)
        return send_file(out, as_attachment=True, download_name=filename, mimetype="text/csv; charset=utf-8")

    @expose("/export_bank_sha/<int:pk>/<bank_bin>")
    @has_access
    def export_bank_sha(self, pk, bank_bin):
        _period, _unit, _out, result, filename = self._bank_file(pk, bank_bin)
        return send_file(
            io.BytesIO(payout.sha256_file(filename, result["sha256"])),
            as_attachment=True,
            download_name=filename + ".sha256",
            mimetype="text/plain",
        )

    @expose("/results/<int:pk>", methods=["POST"])
    @has_access
    def results(self, pk):
        require("approve_payout")
        period = self.in_scope_or_404(pk)
        form = ResultForm()
        if not form.validate_on_submit():
            flash(gettext("Choose a result file (.xlsx, .xls or .csv)."), "danger")
            return redirect(url_for(".detail", pk=pk))
        override = (form.override_reason.data or "").strip() or None
        if override is not None:
            require("override_results")
        upload = form.file.data
        suffix = os.path.splitext(upload.filename or "")[1].lower() or ".csv"
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
            fh.write(upload.read())
            path = fh.name
        try:
            result = payout.import_results(
                db.session,
                period.id,
                path,
                current_unit(),
                g.user.id,
                filename=upload.filename,
                override_reason=override,
            )
        except payout.ResultsRefused as exc:
            db.session.rollback()
            flash(render_problem(exc.problem), "danger")
            for p in exc.problems[:10]:
                flash(render_problem(p), "warning")
            return redirect(url_for(".detail", pk=pk))
        except FieldError as exc:
            return self._fail(pk, exc)
        finally:
            os.unlink(path)
        flash(
            gettext(
                "Results recorded: %(paid)s paid, %(partial)s partially paid, %(failed)s failed, %(reversed)s "
                "reversed.",
                paid=result["paid"],
                partial=result["partial"],
                failed=result["failed"],
                reversed=result["reversed"],
            ),
            "info",
        )
        if result["override"]:
            flash(
                gettext(
                    "%(count)s rows of the file were not applied; the reason is recorded.", count=result["skipped"]
                ),
                "warning",
            )
        return redirect(url_for(".detail", pk=pk))

    @expose("/results_template/<int:pk>")
    @has_access
    def results_template(self, pk):
        """An empty result file with the columns the reading expects (no personal data)."""
        period = self.in_scope_or_404(pk)
        out = io.BytesIO()
        with force_locale("vi"):
            payout.write_result_template(out, gettext)
        out.seek(0)
        return send_file(
            out,
            as_attachment=True,
            download_name=f"mau-ket-qua-chi-tra-{period.id}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @expose("/results_report/<int:pk>/<int:import_id>")
    @has_access
    def results_report(self, pk, import_id):
        period = self.in_scope_or_404(pk)
        entry = payout.result_report(db.session, import_id, current_unit())
        if entry is None or entry.period_id != period.id:
            abort(404)
        out = io.BytesIO()
        with force_locale("vi"):
            count = payout.write_result_report(entry, out, gettext)
        from app.security.audit import log_export

        log_export(
            "payout_result_report",
            detail=f"Result file report #{entry.id}: {entry.filename}",
            count=count,
            unit_id=entry.unit_id,
            entity_id=period.id,
        )
        out.seek(0)
        return send_file(
            out,
            as_attachment=True,
            download_name=f"bao-cao-ket-qua-{period.id}-{entry.id}.xlsx",
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )

    @expose("/cash/<int:pk>", methods=["POST"])
    @has_access
    def cash(self, pk):
        require("approve_payout")
        period = self.in_scope_or_404(pk)
        form = HandResultForm()
        if not form.validate_on_submit():
            flash(gettext("Check the receipt: the date is dd/mm/yyyy and the amount a whole number of dong."), "danger")
            return redirect(url_for(".detail", pk=pk))
        try:
            count = payout.record_hand_results(
                db.session,
                period.id,
                current_unit(),
                g.user.id,
                request.form.getlist("line_ids"),
                status=form.status.data,
                paid_by=form.paid_by.data,
                paid_on=form.paid_on.data,
                receipt_ref=form.receipt_ref.data,
                proxy_name=form.proxy_name.data,
                received=form.received.data,
                reason=form.reason.data,
            )
        except FieldError as exc:
            return self._fail(pk, exc)
        flash(gettext("%(n)s cash lines recorded.", n=count), "info")
        return redirect(url_for(".detail", pk=pk))

    @expose("/carry/<int:pk>", methods=["POST"])
    @has_access
    def carry(self, pk):
        require("approve_payout")
        period = self.in_scope_or_404(pk)
        target = request.form.get("target", type=int)
        target_period = self.in_scope_or_404(target) if target else abort(400)
        try:
            moved = payout.carry_failed(db.session, period.id, target_period.id, current_unit(), g.user.id)
        except FieldError as exc:
            return self._fail(pk, exc)
        flash(gettext("%(n)s owed lines are paid as back pay in %(name)s.", n=moved, name=target_period.name), "info")
        return redirect(url_for(".detail", pk=pk))


# FAB list filters: ``_flt_3_<column>`` is "equal to" for a text column (FAB's filter order for strings).
EQUAL_FILTER = "_flt_3_"
FOLLOW_UP_HREF = f"/payoutlineview/list/?{EQUAL_FILTER}result_status=failed"


def _audit_export(what: str, filename: str, count: int, unit_id: int, period_id: int) -> None:
    """Also record the export in the audit trail when that feature is installed."""
    try:
        from app.security.audit import log_export
    except ImportError:  # pragma: no cover
        return
    log_export(what, detail=filename, count=count, unit_id=unit_id, entity_id=period_id)


class PayoutLineView(ScopedMixin, PersonalDataViewMixin, ModelView):
    """The lines of the periods in scope (read-only); filter by period, channel, result. Failed lines are
    the follow-up list."""

    datamodel = PersonListInterface(PayoutLine, person_columns={"full_name": "beneficiary_id"})
    class_permission_name = "PayoutPeriod"
    method_permission_name = READ_ONLY_METHODS
    scope_ids = staticmethod(current_line_unit_ids)
    include_route_methods = {"list", "show"}
    list_title = _l("Payout lines")
    list_columns = [
        "period",
        "sequence",
        "full_name",
        "cccd",
        "commune",
        "category",
        "paid_for",
        "total",
        "channel",
        "bank_name",
        "account_number",
        "hold_reason",
        "result_status",
        "result_reason",
    ]
    show_columns = list_columns + [
        "date_of_birth",
        "holder_ascii",
        "proxy_name",
        "proxy_cccd",
        "description",
        "carried_amount",
        "result_at",
        "paid_amount",
        "receipt_paid_by",
        "receipt_date",
        "receipt_ref",
        "receipt_proxy_name",
    ]
    search_columns = ["period", "full_name", "cccd", "channel", "result_status", "category", "bank_bin", "commune"]
    order_columns = ["sequence", "full_name", "amount"]
    base_order = ("id", "asc")
    search_form_query_rel_fields = {
        "period": [["unit_id", FilterInFunction, current_period_unit_ids]],
        "commune": [["id", FilterInFunction, current_scope_ids]],
    }
    label_columns = {
        "period": _l("Payout period"),
        "sequence": _l("No."),
        "full_name": _l("Full name"),
        "cccd": _l("CCCD"),
        "commune": _l("Commune"),
        "category": _l("Category"),
        "paid_for": _l("Benefit month"),
        "total": _l("Amount"),
        "amount": _l("Amount"),
        "channel": _l("Channel"),
        "bank_name": _l("Bank"),
        "bank_bin": _l("Bank"),
        "account_number": _l("Account number"),
        "hold_reason": _l("Hold"),
        "result_status": _l("Result"),
        "result_reason": _l("Reason"),
        "date_of_birth": _l("Date of birth"),
        "holder_ascii": _l("Account holder"),
        "proxy_name": _l("Recipient (proxy)"),
        "proxy_cccd": _l("CCCD of the proxy"),
        "description": _l("Transfer description"),
        "carried_amount": _l("Carried from an earlier period"),
        "result_at": _l("Result at"),
        "paid_amount": _l("Amount received"),
        "receipt_paid_by": _l("Paid by"),
        "receipt_date": _l("Date paid"),
        "receipt_ref": _l("Signed receipt (ký nhận) reference"),
        "receipt_proxy_name": _l("Received by a proxy: the proxy's name"),
    }
    formatters_columns = {
        "cccd": cccd_formatter,
        "proxy_cccd": cccd_formatter,
        "account_number": account_formatter,
        "paid_for": lambda v: payout.month_label(v[0], v[1], gettext) if v else "",
        "total": format_money,
        "carried_amount": format_money,
        "date_of_birth": format_date,
        "category": lambda v: label("category", v),
        "channel": lambda v: label("line_channel", v),
        "hold_reason": lambda v: label("hold_reason", v),
        "result_status": lambda v: label("line_result", v),
        "result_at": format_date,
        "paid_amount": format_money,
        "receipt_date": format_date,
    }


class BaseLevelView(ModelView):
    datamodel = SQLAInterface(BaseLevel)
    class_permission_name = "PayoutRule"
    method_permission_name = VIEW_METHODS
    list_title = _l("Base levels")
    list_columns = add_columns = edit_columns = ["category", "amount", "effective_from", "jurisdiction", "legal_basis"]
    base_order = ("effective_from", "desc")
    label_columns = {
        "category": _l("Category"),
        "amount": _l("Base level (VND)"),
        "effective_from": _l("In force from"),
        "jurisdiction": _l("Jurisdiction (VN or city code)"),
        "legal_basis": _l("Legal basis"),
    }
    formatters_columns = {
        "amount": format_money,
        "effective_from": format_date,
        "category": lambda v: label("category", v),
    }


class CategoryRuleView(ModelView):
    datamodel = SQLAInterface(CategoryRule)
    class_permission_name = "PayoutRule"
    method_permission_name = VIEW_METHODS
    list_title = _l("Category rules")
    list_columns = add_columns = edit_columns = ["category", "stackable", "note"]
    label_columns = {
        "category": _l("Category"),
        "stackable": _l("May be paid together with other categories"),
        "note": _l("Note"),
    }
    formatters_columns = {"category": lambda v: label("category", v)}


def register_payout_views(appbuilder) -> None:
    """Step 5 (accounts, periods, the follow-up list) and the payout rules under Administration."""
    from app.views.accounts import AccountCheckView, AccountImportView, PaymentAccountView

    appbuilder.add_view(
        PaymentAccountView,
        "PaymentAccount",
        label=_l("Payment accounts"),
        icon="fa-credit-card",
        category=menu_category("PaymentAccount"),
    )
    appbuilder.add_link(
        "AccountsToVerify",
        href="/paymentaccountview/to_verify/",
        label=_l("Accounts to verify"),
        icon="fa-check",
        category=menu_category("AccountsToVerify"),
    )
    appbuilder.add_link(
        "SharedAccounts",
        href="/paymentaccountview/shared/",
        label=_l("Shared accounts"),
        icon="fa-exclamation-triangle",
        category=menu_category("SharedAccounts"),
    )
    appbuilder.add_link(
        "AccountUpload",
        href="/accountimportview/upload/",
        label=_l("Import an account list"),
        icon="fa-file-excel-o",
        category=menu_category("AccountUpload"),
    )
    appbuilder.add_view_no_menu(AccountImportView)
    appbuilder.add_link(
        "VneidUpload",
        href="/accountimportview/upload/?kind=vneid",
        label=_l("Import a VNeID account list"),
        icon="fa-id-card",
        category=menu_category("VneidUpload"),
    )
    appbuilder.add_link(
        "AccountCheck",
        href="/accountcheckview/banks/",
        label=_l("Pre-validate accounts with the banks"),
        icon="fa-check-square-o",
        category=menu_category("AccountCheck"),
    )
    appbuilder.add_view_no_menu(AccountCheckView)
    appbuilder.add_view(
        PayoutPeriodView,
        "PayoutPeriod",
        label=_l("Payout periods"),
        icon="fa-calendar",
        category=menu_category("PayoutPeriod"),
    )
    appbuilder.add_view_no_menu(PayoutLineView)
    appbuilder.add_link(
        "FollowUps",
        href=FOLLOW_UP_HREF,
        label=_l("Failed payments to follow up"),
        icon="fa-exclamation-circle",
        category=menu_category("FollowUps"),
    )
    appbuilder.add_view(
        BaseLevelView, "PayoutRule", label=_l("Base levels"), icon="fa-money", category=menu_category("PayoutRule")
    )
    appbuilder.add_view(
        CategoryRuleView,
        "CategoryRules",
        label=_l("Category rules"),
        icon="fa-random",
        category=menu_category("CategoryRules"),
    )
