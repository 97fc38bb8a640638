"""Payment-account screens: the scoped list, enter / change, the "to verify" list (four eyes),
shared-account flags, the bulk import of account lists (and of VNeID lists), and the pre-validation of
accounts with the banks (request file per bank, the bank's answer file)."""

from __future__ import annotations

import io

from flask import abort, flash, g, jsonify, redirect, request, send_file, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterEqual, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import or_, select
from werkzeug.exceptions import Forbidden
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired
from wtforms.validators import Optional as OptionalValue

from app.extensions import db
from app.models import AdminUnit, Bank, Beneficiary, ImportBatch, PaymentAccount
from app.security.access import has_capability
from app.security.audit import log_export, log_page
from app.security.masking import account_formatter, cccd_formatter
from app.security.roles import VIEW_METHODS
from app.security.scope import ScopedMixin, check_current, current_scope_ids, current_unit, scoped_query
from app.services.formatting import format_date, local_today
from app.services.messages import N_, FieldError
from app.services.payout import account_import, accounts, prevalidation
from app.services.scope import related
from app.services.validation import is_id
from app.views.audit import PersonalDataViewMixin
from app.views.batch_common import failure_text, preview_lines, shown_progress
from app.views.downloads import error_report_response
from app.views.labels import label, labels
from app.views.problems import raise_refusal, render_problem
from app.views.search import PersonLinkInterface
from jobs import registry

can = has_capability


def require(name: str) -> None:
    if not can(name):
        raise Forbidden()


class EnterAccountForm(FlaskForm):
    beneficiary = StringField(_l("Beneficiary (CCCD or record number)"), validators=[DataRequired()])
    channel = SelectField(_l("Channel"), choices=[], validators=[OptionalValue()])
    bank = StringField(_l("Bank (name, short name or BIN)"), validators=[DataRequired()])
    account_number = StringField(_l("Account number"), validators=[DataRequired()])
    holder_name = StringField(_l("Account holder name"), validators=[DataRequired()])
    mismatch_reason = TextAreaField(
        _l("Reason, when the holder is not the beneficiary or the registered proxy"), validators=[OptionalValue()]
    )


class AccountUploadForm(FlaskForm):
    file = FileField(
        _l("File (.xlsx, .xls, .csv)"),
        validators=[FileRequired(), FileAllowed(["xlsx", "xls", "csv"], _l("Only .xlsx, .xls or .csv files"))],
    )
    unit = SelectField(_l("Unit the list belongs to"), coerce=int)


def _scoped_account(pk: int) -> PaymentAccount:
    account = scoped_query(db.session, g.user, PaymentAccount).filter(PaymentAccount.id == pk).one_or_none()
    if account is None:
        abort(404)
    return account


def _find_beneficiary(value: str) -> Beneficiary | None:
    value = (value or "").strip()
    query = scoped_query(db.session, g.user, Beneficiary)
    if value.isdigit() and len(value) in (9, 12):
        return query.filter(or_(Beneficiary.cccd == value, Beneficiary.cmnd == value)).first()
    if is_id(value):
        return query.filter(Beneficiary.id == int(value)).first()
    return None


class PaymentAccountView(ScopedMixin, PersonalDataViewMixin, ModelView):
    datamodel = PersonLinkInterface(PaymentAccount, person_columns={"beneficiary": "beneficiary_id"})
    class_permission_name = "PaymentAccount"
    # Never deleted (a version is rejected or superseded, with who and when): no delete route, no mapping.
    method_permission_name = dict(
        {k: v for k, v in VIEW_METHODS.items() if "delete" not in k},
        enter="write",
        to_verify="read",
        approve="read",
        reject="read",
        shared="read",
        end="read",
        restore="read",
    )
    scope_relation = None
    include_route_methods = {
        "list",
        "show",
        "add",
        "enter",
        "to_verify",
        "approve",
        "reject",
        "shared",
        "end",
        "restore",
    }
    show_template = "account_show.html"
    list_title = _l("Payment accounts")
    show_title = _l("Payment account")
    list_columns = [
        "beneficiary",
        "channel",
        "bank",
        "account_number",
        "holder_name",
        "state",
        "shared_flag",
        "source",
        "entered_at",
        "verified_at",
    ]
    show_columns = [
        "beneficiary",
        "channel",
        "bank",
        "account_number",
        "holder_name",
        "holder_ascii",
        "name_mismatch_reason",
        "shared_flag",
        "source",
        "state",
        "entered_by",
        "entered_at",
        "verified_by",
        "verified_at",
        "reject_reason",
        "ended_by",
        "ended_at",
        "end_reason",
    ]
    search_columns = ["state", "shared_flag", "account_number", "bank", "source", "holder_ascii"]
    order_columns = ["entered_at", "verified_at", "state", "account_number"]
    base_order = ("entered_at", "desc")
    label_columns = {
        "beneficiary": _l("Beneficiary"),
        "channel": _l("Channel"),
        "bank": _l("Bank"),
        "account_number": _l("Account number"),
        "holder_name": _l("Account holder"),
        "holder_ascii": _l("Account holder (bank form)"),
        "name_mismatch_reason": _l("Reason for a different holder"),
        "shared_flag": _l("Shared with another person"),
        "source": _l("Source"),
        "state": _l("State"),
        "entered_by": _l("Entered by"),
        "entered_at": _l("Entered at"),
        "verified_by": _l("Verified by"),
        "verified_at": _l("Verified at"),
        "reject_reason": _l("Reason for rejection"),
        "ended_by": _l("Ended by"),
        "ended_at": _l("Ended at"),
        "end_reason": _l("Reason for ending"),
    }
    formatters_columns = {
        "account_number": account_formatter,
        "state": lambda v: label("account_state", v),
        "channel": lambda v: label("account_channel", v),
        "source": lambda v: label("account_source", v),
        "entered_at": format_date,
        "verified_at": format_date,
        "ended_at": format_date,
        "shared_flag": lambda v: gettext("Yes") if v else "",
    }
    search_form_query_rel_fields = {"beneficiary": [["commune_id", FilterInFunction, current_scope_ids]]}

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        return redirect(url_for(".enter"))

    @expose("/enter/", methods=["GET", "POST"])
    @has_access
    def enter(self):
        require("enter_account")
        form = EnterAccountForm()
        form.channel.choices = [("", gettext("(from the bank)"))] + [
            (k, str(v)) for k, v in labels("account_channel").items()
        ]
        person = None
        if request.method == "GET" and request.args.get("beneficiary"):
            person = _find_beneficiary(request.args["beneficiary"])
            if person is None:
                abort(404)
            form.beneficiary.data = str(person.id)
            form.holder_name.data = form.holder_name.data or person.full_name
            declared = accounts.prefill_for(db.session, person.id)  # the account declared on VNeID
            if declared is not None:
                form.bank.data = declared["bank"]
                form.account_number.data = declared["account_number"]
                form.holder_name.data = declared["holder_name"]
                flash(gettext("Pre-filled with the account the citizen declared on VNeID: check it."), "info")
        if form.validate_on_submit():
            person = _find_beneficiary(form.beneficiary.data)
            if person is None:
                form.beneficiary.errors.append(gettext("No beneficiary with this CCCD or record number in your scope"))
            else:
                try:
                    account, problems = accounts.enter_account(
                        db.session,
                        beneficiary_id=person.id,
                        channel=form.channel.data or None,
                        bank=form.bank.data,
                        account_number=form.account_number.data,
                        holder_name=form.holder_name.data,
                        source="police",
                        user_id=g.user.id,
                        mismatch_reason=form.mismatch_reason.data or None,
                    )
                except FieldError as exc:
                    db.session.rollback()
                    target = getattr(form, exc.problem.field, None) if exc.problem.field in form._fields else None
                    (target.errors if target is not None else form.beneficiary.errors).append(
                        render_problem(exc.problem)
                    )
                else:
                    db.session.commit()
                    for p in problems:
                        flash(render_problem(p), "warning")
                    flash(gettext("The account was recorded and waits for verification by another person."), "info")
                    return redirect(url_for(".show", pk=account.id))
        banks = db.session.scalars(select(Bank).order_by(Bank.short_name)).all()
        current = accounts.account_in_force(db.session, person.id) if person is not None else None
        return self.render_template(
            "account_enter.html",
            form=form,
            person=person,
            banks=banks,
            current=current,
            title=gettext("Enter or change a payment account"),
        )

    @expose("/to_verify/")
    @has_access
    def to_verify(self):
        others = request.args.get("others") == "1"  # only what the user may verify (entered by someone else)
        waiting = accounts.to_verify_by(g.user.id) if others else PaymentAccount.state == "pending"
        pending = (
            scoped_query(db.session, g.user, PaymentAccount)
            .filter(waiting)
            .order_by(PaymentAccount.entered_at)
            .limit(500)
            .all()
        )
        rows = [(a, accounts.account_in_force(db.session, a.beneficiary_id)) for a in pending]
        log_page("payment_account", [a.id for a, cur in rows] + [cur.id for _a, cur in rows if cur is not None])
        mine = {a.id for a, _cur in rows if not accounts.may_verify(a, g.user.id)}
        return self.render_template(
            "account_verify.html",
            rows=rows,
            can_verify=can("verify_account"),
            mine=mine,
            fmt_account=account_formatter,
            fmt_cccd=cccd_formatter,
            channel_labels=labels("account_channel"),
            source_labels=labels("account_source"),
            title=gettext("Accounts to verify"),
        )

    def _decide(self, pk: int, approve: bool):
        require("verify_account")
        account = _scoped_account(pk)
        try:
            accounts.verify_account(
                db.session, account.id, g.user.id, approve=approve, reason=request.form.get("reason")
            )
        except FieldError as exc:
            db.session.rollback()
            flash(render_problem(exc.problem), "danger")
            raise_refusal(exc)
            return redirect(url_for(".to_verify"))
        db.session.commit()
        flash(gettext("The account was verified.") if approve else gettext("The account was rejected."), "info")
        return redirect(url_for(".to_verify"))

    @expose("/approve/<int:pk>", methods=["POST"])
    @has_access
    def approve(self, pk):
        return self._decide(pk, True)

    @expose("/reject/<int:pk>", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self._decide(pk, False)

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        account = _scoped_account(int(pk)) if str(pk).isdigit() else abort(404)
        checks = prevalidation.history_rows(prevalidation.check_history(db.session, account.id), gettext)
        return self.render_template(
            self.show_template,
            pk=account.id,
            title=self.show_title,
            widgets=self._show(account.id),
            related_views=self._related_views,
            account=account,
            checks=checks,
            can_end=account.state in accounts.OPEN_STATES and (can("enter_account") or can("verify_account")),
            can_restore=account.state == accounts.ENDED and can("restore_account"),
        )

    def _change(self, pk: int, func, done: str):
        account = _scoped_account(pk)
        try:
            func(account)
        except FieldError as exc:
            db.session.rollback()
            flash(render_problem(exc.problem), "danger")
            return redirect(url_for(".show", pk=pk))
        db.session.commit()
        flash(done, "info")
        return redirect(url_for(".show", pk=pk))

    @expose("/end/<int:pk>", methods=["POST"])
    @has_access
    def end(self, pk):
        """Take an account out of use with a reason (never deleted; a higher role can restore it)."""
        if not (can("enter_account") or can("verify_account")):
            raise Forbidden()
        return self._change(
            pk,
            lambda a: accounts.end_account(db.session, a.id, g.user.id, reason=request.form.get("reason")),
            gettext("The account was ended; it stays on record and can be restored."),
        )

    @expose("/restore/<int:pk>", methods=["POST"])
    @has_access
    def restore(self, pk):
        require("restore_account")
        return self._change(
            pk, lambda a: accounts.restore_account(db.session, a.id, g.user.id), gettext("The account was restored.")
        )

    @expose("/shared/")
    @has_access
    def shared(self):
        rows = (
            scoped_query(db.session, g.user, PaymentAccount)
            .filter(PaymentAccount.shared_flag.is_(True), PaymentAccount.state.in_(("pending", "verified")))
            .order_by(PaymentAccount.bank_bin, PaymentAccount.account_number)
            .limit(1000)
            .all()
        )
        log_page("payment_account", [a.id for a in rows])
        return self.render_template(
            "account_shared.html",
            rows=rows,
            fmt_account=account_formatter,
            state_labels=labels("account_state"),
            title=gettext("Accounts shared by several people"),
        )


class _BatchPages:
    """The pages an account list and a bank's answer file share: the upload form, the batch's page, its progress
    and its error report. A subclass names its job (``job_kind``), its report lines and its page title, and says
    who may upload and how an upload becomes a batch."""

    class_permission_name = "PaymentAccount"
    scope_column = "unit_id"
    scope_relation = "unit"
    base_order = ("id", "desc")
    formatters_columns = {"status": lambda v: label("batch_status", v), "created_at": format_date}
    #: the columns every list of batches labels alike; a subclass adds its counters
    batch_labels = {
        "id": "#",
        "filename": _l("File"),
        "unit": _l("Unit"),
        "status": _l("Status"),
        "rows_total": _l("Rows"),
        "rows_error": _l("Errors"),
        "created_at": _l("Uploaded at"),
    }
    job_kind: str
    detail_title: str  # a msgid with %(id)s

    @staticmethod
    def report_lines(session, batch_id, translate):
        raise NotImplementedError

    def _may_upload(self) -> None:
        raise NotImplementedError

    def _create_batch(self, **upload) -> ImportBatch:
        raise NotImplementedError

    def _upload_page(self) -> dict:
        """The upload template's own arguments (title, kind)."""
        raise NotImplementedError

    @expose("/show/<pk>")
    @has_access
    def show(self, pk):
        return redirect(url_for(".detail", pk=pk))

    @expose("/upload/", methods=["GET", "POST"])
    @has_access
    def upload(self):
        self._may_upload()
        form = AccountUploadForm()
        _unit_choices(form.unit)
        unit = current_unit()
        if request.method == "GET" and unit is not None:
            form.unit.data = unit.id
        if form.validate_on_submit():
            check_current(form.unit.data)
            upload = form.file.data
            batch = self._create_batch(
                filename=upload.filename,
                content=upload.read(),
                unit=db.session.get(AdminUnit, form.unit.data),
                user_id=g.user.id,
            )
            db.session.commit()
            if batch.status == "uploaded":
                registry.start(self.job_kind, batch.id)
                flash(gettext("File received; it is being read."), "info")
            return redirect(url_for(".detail", pk=batch.id))
        return self.render_template("account_upload.html", form=form, **self._upload_page())

    @expose("/detail/<int:pk>")
    @has_access
    def detail(self, pk):
        batch = self.in_scope_or_404(pk)
        return self.render_template(
            "import_detail.html",
            batch=batch,
            lines=preview_lines(batch, self.report_lines),
            columns=[],
            failure=failure_text(batch),
            shown=shown_progress(self.job_kind, batch, "batch_status"),
            can_apply=False,
            category_label="",
            title=gettext(self.detail_title, id=batch.id),
        )

    @expose("/progress/<int:pk>")
    @has_access
    def progress(self, pk):
        batch = self.in_scope_or_404(pk)
        return jsonify(dict(account_import.summary(batch), **shown_progress(self.job_kind, batch, "batch_status")))

    @expose("/report/<int:pk>")
    @has_access
    def report(self, pk):
        return error_report_response(self.in_scope_or_404(pk))


class AccountImportView(_BatchPages, ScopedMixin, ModelView):
    """Bulk account lists (ImportBatch kind "account"): upload, progress, counts, error report."""

    datamodel = SQLAInterface(ImportBatch)  # one interface a view (views patch it)
    method_permission_name = dict(VIEW_METHODS, upload="write", detail="read", progress="read", report="read")
    extra_base_filters = [["kind", FilterInFunction, lambda: list(account_import.KINDS)]]
    include_route_methods = {"list", "show", "upload", "detail", "progress", "report"}
    list_title = _l("Account lists")
    list_columns = [
        "id",
        "filename",
        "unit",
        "status",
        "rows_total",
        "rows_imported",
        "rows_updated",
        "rows_duplicate",
        "rows_error",
        "created_at",
    ]
    label_columns = dict(
        _BatchPages.batch_labels,
        rows_imported=_l("New accounts"),
        rows_updated=_l("Changed accounts"),
        rows_duplicate=_l("Duplicates"),
    )

    job_kind = "account_import"
    detail_title = N_("Account list #%(id)s")
    report_lines = staticmethod(account_import.report_lines)

    def _may_upload(self) -> None:
        require("enter_account")

    def _vneid(self) -> bool:
        return request.args.get("kind") == "vneid"

    def _create_batch(self, **upload) -> ImportBatch:
        return account_import.create_batch(db.session, **upload, kind="vneid" if self._vneid() else account_import.KIND)

    def _upload_page(self) -> dict:
        vneid = self._vneid()
        title = gettext("Import a VNeID account list") if vneid else gettext("Import an account list")
        return {"vneid": vneid, "title": title}


def _require_check() -> None:
    """Pre-validation is work for those who enter or verify accounts."""
    if not (can("enter_account") or can("verify_account")):
        raise Forbidden()


def _unit_choices(form_field) -> None:
    unit = current_unit()
    units = db.session.execute(
        select(AdminUnit.id, AdminUnit.name, AdminUnit.level)
        .where(AdminUnit.id.in_(current_scope_ids()))
        .order_by(AdminUnit.path)
    ).all()
    form_field.choices = [(u.id, ("— " * (u.level - (unit.level if unit else 1))) + u.name) for u in units]


class AccountCheckView(_BatchPages, ScopedMixin, ModelView):
    """Pre-validation with the banks: the request file per bank (accounts of a unit or of a payout period) and
    the bank's answer files (ImportBatch kind "account_check"): upload, progress, counts, error report."""

    datamodel = SQLAInterface(ImportBatch)  # one interface a view (views patch it)
    method_permission_name = dict(
        VIEW_METHODS, banks="read", download="read", upload="write", detail="read", progress="read", report="read"
    )
    extra_base_filters = [["kind", FilterEqual, prevalidation.KIND]]
    include_route_methods = {"list", "show", "banks", "download", "upload", "detail", "progress", "report"}
    list_title = _l("Bank answers to account checks")
    list_columns = ["id", "filename", "unit", "status", "rows_total", "rows_imported", "rows_error", "created_at"]
    label_columns = dict(_BatchPages.batch_labels, rows_imported=_l("Checks recorded"))

    def _scope(self):
        """The unit (a unit of the user's scope, default their own) and the payout period (optional, in scope)."""
        from app.models import PayoutPeriod

        unit = current_unit()
        raw = request.args.get("unit", "")
        if is_id(raw):
            check_current(int(raw))
            unit = db.session.get(AdminUnit, int(raw))
        if unit is None:
            raise Forbidden()
        period = None
        raw = request.args.get("period", "")
        if is_id(raw):
            # A period of the unit's lineage (a commune reads its district's period); the accounts stay the unit's.
            period = db.session.get(PayoutPeriod, int(raw))
            if period is None or not related(period.unit, current_unit()):
                abort(404)
        return unit, period

    job_kind = "account_check"
    detail_title = N_("Bank answer #%(id)s")
    report_lines = staticmethod(prevalidation.report_lines)

    def _may_upload(self) -> None:
        _require_check()

    def _create_batch(self, **upload) -> ImportBatch:
        return prevalidation.create_answer_batch(db.session, **upload)

    def _upload_page(self) -> dict:
        return {"check": True, "title": gettext("Upload a bank's answer to an account check")}

    @expose("/banks/")
    @has_access
    def banks(self):
        """The banks with accounts to check in the chosen scope, each with its request file."""
        _require_check()
        unit, period = self._scope()
        try:
            banks = prevalidation.request_banks(
                db.session, unit, g.user.id, period_id=period.id if period is not None else None
            )
        except FieldError as exc:
            raise_refusal(exc)
            raise
        return self.render_template(
            "account_check_request.html",
            unit=unit,
            period=period,
            banks=banks,
            counts=prevalidation.prevalidation_counts(db.session, unit),
            count_labels=[(k, gettext(v)) for k, v in prevalidation.PREVALIDATION_LABELS.items()],
            title=gettext("Pre-validate accounts with the banks"),
        )

    @expose("/download/<bank_bin>/<fmt>")
    @has_access
    def download(self, bank_bin, fmt):
        _require_check()
        if fmt not in ("xlsx", "csv") or not bank_bin.isdigit():
            abort(404)
        unit, period = self._scope()
        out = io.BytesIO()
        try:
            count = prevalidation.write_request(
                db.session,
                unit,
                g.user.id,
                bank_bin,
                out,
                gettext,
                fmt=fmt,
                period_id=period.id if period is not None else None,
            )
        except FieldError as exc:
            raise_refusal(exc)
            raise
        name = prevalidation.request_filename(bank_bin, unit, fmt, local_today())
        log_export("account_check_request", unit_id=unit.id, count=count, detail=f"Account check request: {name}")
        out.seek(0)
        mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return send_file(out, as_attachment=True, download_name=name, mimetype=mimetype)
