"""/api/v1/account/ (payment accounts, four eyes) and /api/v1/payout/ (periods, sync, lock, results, measure)."""

from __future__ import annotations

import os
import tempfile

from flask import current_app, g, request
from flask_appbuilder.api import BaseApi, expose, protect
from flask_babel import gettext
from sqlalchemy import select

from app.api.spec import DocumentedApi
from app.extensions import db
from app.models import PaymentAccount, PayoutPeriod, PayoutSyncRun
from app.security.access import has_capability, holds, requires
from app.security.audit import log_page
from app.security.masking import mask_for_user
from app.security.scope import scoped_query, unit_in_scope, user_unit
from app.services import payout, validation
from app.services.messages import FieldError, Problem
from app.services.payout import accounts
from app.services.reference import find_unit
from app.services.validation import MAX_ID
from app.views.batch_common import period_run_answer
from app.views.labels import label
from app.views.params import id_arg, int_arg, json_object
from app.views.problems import problem_json, refusal_json

MAX_PAGE = 500


_can = has_capability


def _refused(api: BaseApi, exc: FieldError):
    """A refused request: nothing is kept; 400 with the problem, or the status of a typed refusal."""
    db.session.rollback()
    body, status = refusal_json(exc)
    return api.response(status, **body)


def _account_json(account: PaymentAccount) -> dict:
    return mask_for_user(accounts.to_dict(account), {"account_number": "account"})


class AccountApi(DocumentedApi, BaseApi):
    resource_name = "account"
    class_permission_name = "PaymentAccount"
    # No delete: an account is ended with a reason (and can be restored by a higher role), never deleted.
    method_permission_name = {
        "get_list": "read",
        "get": "read",
        "enter": "write",
        "verify": "read",
        "end": "read",
        "restore": "read",
    }
    allow_browser_login = True
    openapi_spec_tag = "Account"

    def _account(self, pk: int) -> PaymentAccount | None:
        return scoped_query(db.session, g.user, PaymentAccount).filter(PaymentAccount.id == pk).one_or_none()

    @expose("/", methods=["GET"])
    @protect()
    def get_list(self):
        """Accounts in scope; filters: state, beneficiary_id, shared (1); paging: page, page_size.
        ---
        get:
          parameters:
          - {in: query, name: state, schema: {type: string, enum: [pending, verified, rejected, superseded]}}
          - {in: query, name: beneficiary_id, schema: {type: integer, minimum: 1}}
          - {in: query, name: shared, schema: {type: string, enum: ["1", "true", "0", "false"]}}
          - {in: query, name: page, schema: {type: integer, minimum: 0}}
          - {in: query, name: page_size, schema: {type: integer, minimum: 1, maximum: 500}}
          responses:
            200: {description: "the accounts of the page and their total count", content: {application/json: {schema: {$ref: '#/components/schemas/AccountList'}}}}
        """
        query = scoped_query(db.session, g.user, PaymentAccount)
        if request.args.get("state"):
            query = query.filter(PaymentAccount.state == request.args["state"])
        beneficiary_id = id_arg("beneficiary_id", source=request.args)
        if beneficiary_id is not None:
            query = query.filter(PaymentAccount.beneficiary_id == beneficiary_id)
        if request.args.get("shared") in ("1", "true"):
            query = query.filter(PaymentAccount.shared_flag.is_(True))
        size = int_arg("page_size", 100, minimum=1, maximum=MAX_PAGE, source=request.args)
        page = int_arg("page", 0, minimum=0, maximum=MAX_ID // MAX_PAGE, source=request.args)
        count = query.count()
        rows = query.order_by(PaymentAccount.id).offset(page * size).limit(size).all()
        log_page("payment_account", [a.id for a in rows])
        return self.response(200, count=count, result=[_account_json(a) for a in rows])

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def get(self, pk):
        """One account.
        ---
        get:
          responses:
            200: {description: the account, content: {application/json: {schema: {$ref: '#/components/schemas/AccountResult'}}}}
            404: {description: unknown or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        account = self._account(pk)
        if account is None:
            return self.response_404()
        log_page(
            "payment_account",
            [account.id],
            entity_id=account.id,
            beneficiary_id=account.beneficiary_id,
            unit_id=account.commune_id,
        )
        return self.response(200, result=_account_json(account))

    @expose("/", methods=["POST"])
    @protect()
    @requires("enter_account")
    def enter(self):
        """Enter or change an account (a pending version).
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    beneficiary_id: {type: integer}
                    channel: {type: string}
                    bank: {type: string, description: BIN or name}
                    account_number: {type: string}
                    holder_name: {type: string}
                    mismatch_reason: {type: string}
          responses:
            201: {description: "the pending account and the warnings", content: {application/json: {schema: {$ref: '#/components/schemas/AccountEntered'}}}}
            400: {description: refused, with the field and the reason, content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            404: {description: unknown beneficiary or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        data = json_object(required=True)
        try:
            person_id = validation.parse_id(data.get("beneficiary_id"), "beneficiary_id")
            texts = {
                k: validation.optional_text(data, k)
                for k in ("channel", "bank", "account_number", "holder_name", "mismatch_reason")
            }
        except FieldError as exc:
            return _refused(self, exc)
        from app.models import Beneficiary

        person = scoped_query(db.session, g.user, Beneficiary).filter(Beneficiary.id == person_id).one_or_none()
        if person is None:
            return self.response_404()
        try:
            account, problems = accounts.enter_account(
                db.session,
                beneficiary_id=person.id,
                channel=texts["channel"],
                bank=texts["bank"],
                account_number=texts["account_number"],
                holder_name=texts["holder_name"] or "",
                source="police",
                user_id=g.user.id,
                mismatch_reason=texts["mismatch_reason"],
            )
        except FieldError as exc:
            return _refused(self, exc)
        db.session.commit()
        warnings = [problem_json(p) for p in problems]
        return self.response(201, result=_account_json(account), warnings=warnings)

    @expose("/<int:pk>/verify", methods=["POST"])
    @protect()
    @requires("verify_account")
    def verify(self, pk):
        """Approve or reject a pending account (never your own entry).
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    approve: {type: boolean}
                    reason: {type: string}
          responses:
            200: {description: the account, content: {application/json: {schema: {$ref: '#/components/schemas/AccountResult'}}}}
            400: {description: "refused (self-verification, not pending, no reason)", content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            404: {description: unknown or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        account = self._account(pk)
        if account is None:
            return self.response_404()
        data = json_object()
        try:
            accounts.verify_account(
                db.session,
                account.id,
                g.user.id,
                approve=data.get("approve") is True,
                reason=validation.optional_text(data, "reason"),
            )
        except FieldError as exc:
            return _refused(self, exc)
        db.session.commit()
        return self.response(200, result=_account_json(account))

    def _change(self, pk: int, func):
        account = self._account(pk)
        if account is None:
            return self.response_404()
        try:
            func(account)
        except FieldError as exc:
            return _refused(self, exc)
        db.session.commit()
        return self.response(200, result=_account_json(account))

    @expose("/<int:pk>/end", methods=["POST"])
    @protect()
    def end(self, pk):
        """End an account with a reason (it stays on record; a higher role can restore it).
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    reason: {type: string}
          responses:
            200: {description: the account, content: {application/json: {schema: {$ref: '#/components/schemas/AccountResult'}}}}
            400: {description: "refused (no reason, not pending or verified)", content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            404: {description: unknown or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        if not (_can("enter_account") or _can("verify_account")):
            return self.response_403()
        if self._account(pk) is None:
            return self.response_404()
        reason = validation.optional_text(json_object(), "reason")
        return self._change(pk, lambda a: accounts.end_account(db.session, a.id, g.user.id, reason=reason))

    @expose("/<int:pk>/restore", methods=["POST"])
    @protect()
    @requires("restore_account")
    def restore(self, pk):
        """Restore an ended account (restore_account capability; not the person who ended it).
        ---
        post:
          responses:
            200: {description: the account, content: {application/json: {schema: {$ref: '#/components/schemas/AccountResult'}}}}
            400: {description: "refused (not ended, replaced, ended by you)", content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            404: {description: unknown or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        return self._change(pk, lambda a: accounts.restore_account(db.session, a.id, g.user.id))


_DECISION_SPEC = """
        ---
        post:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema: %(body)s
          responses:
            200: {description: the approvals after the decision, content: {application/json: {schema: {$ref: '#/components/schemas/Approvals'}}}}
            400: {description: "refused (%(refused)s)", content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            403: {description: "the period is not one the user's unit approves, or history", content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            404: {description: unknown period or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
_TIER = "tier: {type: integer, minimum: 1, maximum: 9}"


def _decision(action: str, summary: str, *, refused: str, reason: bool):
    """The route POST /<ref>/<action> of one decision of the approval ledger (``payout.approve``, ``reject`` or
    ``withdraw``), with its OpenAPI description; a reject or a withdraw takes a reason."""
    properties = "reason: {type: string}, " + _TIER if reason else _TIER
    body = "{type: object, properties: {" + properties + ("}, required: [reason]}" if reason else "}}")

    def route(self, ref):
        period = self._period(ref)
        if period is None:
            return self.response_404()
        data = json_object()
        try:
            tier = data.get("tier")
            tier = None if tier is None else validation.parse_int(tier, "tier", minimum=1, maximum=9)
            extra = {"reason": validation.optional_text(data, "reason") or ""} if reason else {}
            getattr(payout, action)(
                db.session,
                period.id,
                user_id=g.user.id,
                unit=user_unit(db.session, g.user),
                abilities=holds(payout.TIER_CAPABILITIES),
                tier=tier,
                **extra,
            )
        except FieldError as exc:
            return _refused(self, exc)
        db.session.expire_all()
        return self.response(200, **self._approvals_json(db.session.get(PayoutPeriod, period.id)))

    route.__name__ = route.__qualname__ = action  # the endpoint and its permission (method_permission_name)
    route.__doc__ = summary + _DECISION_SPEC % {"body": body, "refused": refused}
    return expose(f"/<ref>/{action}", methods=["POST"])(protect()(route))


class PayoutApi(DocumentedApi, BaseApi):
    resource_name = "payout"
    class_permission_name = "PayoutPeriod"
    method_permission_name = {
        "periods": "read",
        "period": "read",
        "sync": "read",
        "sync_status": "read",
        "lock": "read",
        "lock_status": "read",
        # the approval tiers: the tier's capability and the unit decide (approvals service)
        "approvals": "read",
        "approve": "read",
        "reject": "read",
        "withdraw": "read",
        "results": "read",
        "measure": "read",
    }
    allow_browser_login = True
    openapi_spec_tag = "Payout"

    def _period(self, ref) -> PayoutPeriod | None:
        period = payout.find_period(db.session, ref)
        unit = user_unit(db.session, g.user)
        return period if period is not None and payout.period_visible(period, unit) else None

    def _queue_run(self, kind: str, request_run):
        """Record the run ``request_run()`` asks for (a refusal answers at once, nothing kept), commit, start
        its job of ``kind``: 202 with the run."""
        try:
            run = request_run()
        except FieldError as exc:
            return _refused(self, exc)
        db.session.commit()
        from jobs import registry

        registry.start(kind, run.id)
        return self.response(202, run_id=run.id, status=run.status)

    @expose("/", methods=["GET"])
    @protect()
    def periods(self):
        """Payout periods the user sees (the city also those of a retired unit scheme, read only).
        ---
        get:
          responses:
            200: {description: the periods, newest first, content: {application/json: {schema: {$ref: '#/components/schemas/PeriodList'}}}}
        """
        unit = user_unit(db.session, g.user)
        rows = [
            p
            for p in db.session.scalars(select(PayoutPeriod).order_by(PayoutPeriod.period_date.desc()))
            if payout.period_visible(p, unit)
        ]
        return self.response(
            200,
            result=[
                {
                    "id": p.id,
                    "name": p.name,
                    "period_date": p.period_date.isoformat(),
                    "unit_code": p.unit.code,
                    "status": p.status,
                }
                for p in rows
            ],
        )

    @expose("/<ref>", methods=["GET"])
    @protect()
    def period(self, ref):
        """One period (id or name): status, summary and results of the user's part, checksum.
        ---
        get:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          responses:
            200: {description: the period, content: {application/json: {schema: {$ref: '#/components/schemas/Period'}}}}
            404: {description: unknown or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        if period is None:
            return self.response_404()
        target = payout.effective_unit(period, user_unit(db.session, g.user))
        return self.response(
            200,
            id=period.id,
            name=period.name,
            status=period.status,
            period_date=period.period_date.isoformat(),
            unit_code=period.unit.code,
            checksum=period.checksum,
            summary=payout.period_summary(db.session, period.id, target),
            totals=payout.period_totals(db.session, period.id, target),
        )

    @expose("/<ref>/sync", methods=["POST"])
    @protect()
    @requires("sync_payout")
    def sync(self, ref):
        """Queue the sync of the period for the user's unit (or ``unit`` in the JSON body).
        ---
        post:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    unit: {type: string, description: a unit code in the active scheme (default the user's unit)}
          responses:
            202: {description: the queued run, content: {application/json: {schema: {$ref: '#/components/schemas/RunQueued'}}}}
            400: {description: refused (period locked, ...), content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            403: {description: "no sync capability, the unit is outside the scope, or the period is history (units of a retired scheme: read only)", content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            404: {description: unknown period or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        if period is None:
            return self.response_404()
        try:
            code = validation.optional_text(json_object(), "unit", max_length=20)
        except FieldError as exc:
            return _refused(self, exc)
        unit = user_unit(db.session, g.user)
        if code:
            unit = find_unit(db.session, code, current_app.config["UNIT_SCHEME"])
            if unit is None or not unit_in_scope(db.session, g.user, unit.id):
                return self.response_403()
        return self._queue_run("payout_sync", lambda: payout.request_sync(db.session, period.id, unit, g.user.id))

    @expose("/<ref>/sync/<int:run_id>", methods=["GET"])
    @protect()
    def sync_status(self, ref, run_id):
        """Status and counts of a sync run.
        ---
        get:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          - {in: path, name: run_id, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: the run, content: {application/json: {schema: {$ref: '#/components/schemas/SyncRun'}}}}
            404: {description: unknown period or run, or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        run = db.session.get(PayoutSyncRun, run_id) if period is not None else None
        if run is None or run.period_id != period.id or not unit_in_scope(db.session, g.user, run.unit_id):
            return self.response_404()
        return self.response(200, **period_run_answer("payout_sync", run, payout.run_summary(run)))

    @expose("/<ref>/lock", methods=["POST"])
    @protect()
    @requires("approve_payout")
    def lock(self, ref):
        """Queue the lock of the approved period (the paying unit for its own period, the city department for the
        city); the refusals answer at once, and the job checks them again.
        ---
        post:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          responses:
            202: {description: the queued lock run (or the one already waiting or running), content: {application/json: {schema: {$ref: '#/components/schemas/RunQueued'}}}}
            400: {description: "refused (not approved by every tier, approvals void, already locked, ...)", content: {application/json: {schema: {$ref: '#/components/schemas/Refusal'}}}}
            403: {description: "no approve capability, the period is outside the scope, or it is history (units of a retired scheme: read only)", content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            404: {description: unknown period or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        if period is None:
            return self.response_404()
        return self._queue_run(
            "payout_lock", lambda: payout.request_lock(db.session, period.id, user_unit(db.session, g.user), g.user.id)
        )

    @expose("/<ref>/lock/<int:run_id>", methods=["GET"])
    @protect()
    def lock_status(self, ref, run_id):
        """Status of a lock run and, once done, the period's summary with its checksum.
        ---
        get:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          - {in: path, name: run_id, required: true, schema: {type: integer, minimum: 0, maximum: 2147483647}}
          responses:
            200: {description: the run, content: {application/json: {schema: {$ref: '#/components/schemas/LockRun'}}}}
            404: {description: unknown period or run, or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        run = payout.lock_run(db.session, period.id, run_id, user_unit(db.session, g.user)) if period else None
        if run is None:
            return self.response_404()
        return self.response(200, **period_run_answer("payout_lock", run, payout.lock_run_summary(run)))

    def _approvals_json(self, period: PayoutPeriod) -> dict:
        page = payout.approval_page(db.session, period, user_unit(db.session, g.user), g.user.id, frozenset())
        state, users = page["state"], page["users"]

        def who(user_id):
            user = users.get(user_id)
            return user.username if user is not None else None

        return {
            "period_id": period.id,
            "status": period.status,
            "round": state.round,
            "approved": state.approved,
            "frozen": state.frozen,
            "void": len(state.void),
            "tiers": [
                {
                    "tier": t.tier.number,
                    "title": gettext(t.tier.title),
                    "required": t.required,
                    "valid": t.valid,
                    "complete": t.complete,
                    "approvals": [
                        {
                            "user_id": a.user_id,
                            "username": who(a.user_id),
                            "decided_at": a.decided_at.isoformat(),
                            "valid": a.valid,
                        }
                        for a in t.approvals
                    ],
                }
                for t in state.tiers
            ],
            "ledger": [
                {
                    "round": d.round,
                    "tier": d.tier,
                    "decision": d.decision,
                    "decision_label": label("approval_decision", d.decision),
                    "reason": d.reason,
                    "user_id": d.user_id,
                    "decided_at": d.decided_at.isoformat(),
                    "checksum": d.checksum,
                }
                for d in state.history
            ],
        }

    @expose("/<ref>/approvals", methods=["GET"])
    @protect()
    def approvals(self, ref):
        """The approval tiers of a period: each tier's approvals (void when the lines changed after them), the
        round, and the ledger of every decision (newest first).
        ---
        get:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          responses:
            200: {description: the approvals, content: {application/json: {schema: {$ref: '#/components/schemas/Approvals'}}}}
            404: {description: unknown period or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        if period is None:
            return self.response_404()
        return self.response(200, **self._approvals_json(period))

    approve = _decision(
        "approve",
        """Approve the period in the tier waiting for the user (or ``tier``): the commune police verify, then the
        head of the paying unit approves; nobody twice in a round, never the one who synced it.""",
        refused="not waiting for approval, tiers out of order, twice, the syncer, lines changed",
        reason=False,
    )
    reject = _decision(
        "reject",
        "Reject the period, with a reason: back to synced, the round's approvals end.",
        refused="no reason, not waiting for approval, no tier held",
        reason=True,
    )
    withdraw = _decision(
        "withdraw",
        "Withdraw the round's approvals, with a reason, so that the list can be synced again.",
        refused="no reason, nothing to withdraw, no tier held",
        reason=True,
    )

    @expose("/<ref>/results", methods=["POST"])
    @protect()
    @requires("approve_payout")
    def results(self, ref):
        """Record a bank (or cash) result file for the user's part of the period. The whole file is checked first:
        any row that cannot be applied refuses it (nothing recorded; every row's problem in ``problems``), unless
        ``override_reason`` is given (capability override_results): then the valid rows are applied.
        ---
        post:
          parameters:
          - {in: path, name: ref, required: true, description: the period's id or name, schema: {type: string}}
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    file: {type: string, format: binary}
                    override_reason: {type: string, description: apply the valid rows of a refused file, with this reason}
          responses:
            200: {description: the results recorded, content: {application/json: {schema: {$ref: '#/components/schemas/ResultImport'}}}}
            400: {description: "the file refused whole (every row's problem), or not readable", content: {application/json: {schema: {$ref: '#/components/schemas/ResultRefusal'}}}}
            403: {description: no approve (or override) capability, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            404: {description: unknown period or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        period = self._period(ref)
        if period is None:
            return self.response_404()
        override = (request.form.get("override_reason") or "").strip() or None
        if override is not None and not _can("override_results"):
            return self.response_403()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self.response_400(message=gettext("A file is required."))
        suffix = os.path.splitext(upload.filename)[1].lower() or ".csv"
        with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as fh:
            fh.write(upload.read())
            path = fh.name
        try:
            result = payout.import_results(
                db.session,
                period.id,
                path,
                user_unit(db.session, g.user),
                g.user.id,
                filename=upload.filename,
                override_reason=override,
            )
        except payout.ResultsRefused as exc:
            body, status = refusal_json(exc)
            return self.response(
                status, **body, problems=[problem_json(p) for p in exc.problems[:1000]], report_id=exc.report_id
            )
        except FieldError as exc:
            return _refused(self, exc)
        finally:
            os.unlink(path)
        return self.response(
            200, **dict(result, problems=[problem_json(Problem.from_dict(p)) for p in result["problems"]])
        )

    @expose("/measure", methods=["GET"])
    @protect()
    def measure(self):
        """The headline measure for a unit (default the user's unit) and its sub-units; ?unit=CODE&period=ID.
        ---
        get:
          parameters:
          - {in: query, name: unit, description: a unit code in the active scheme, schema: {type: string}}
          - {in: query, name: period, description: a period id, schema: {type: integer, minimum: 1}}
          responses:
            200: {description: the measure of the unit and of each sub-unit, content: {application/json: {schema: {$ref: '#/components/schemas/Measure'}}}}
            404: {description: unknown unit or period, or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        unit = user_unit(db.session, g.user)
        code = request.args.get("unit")
        if code:
            unit = find_unit(db.session, code, current_app.config["UNIT_SCHEME"])
            if unit is None or not unit_in_scope(db.session, g.user, unit.id):
                return self.response_404()
        period_id = id_arg("period", source=request.args)
        if period_id is not None and self._period(period_id) is None:
            return self.response_404()
        return self.response(
            200,
            total=payout.headline(db.session, unit, period_id),
            units=payout.headline_breakdown(db.session, unit, period_id),
        )
