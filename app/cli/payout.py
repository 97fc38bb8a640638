"""Payout: ``asxh import-accounts``, ``asxh import-vneid``, ``asxh accounts-verify-export``,
``asxh accounts-verify-import``, ``asxh accounts-verify-online``, ``asxh sync-payout``, ``asxh import-results``,
the approval tiers (``asxh payout-approvals``, ``payout-approve``, ``payout-reject``, ``payout-withdraw``) and
``asxh verification-sample``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.cli.common import (
    db_session,
    echo_json,
    enqueue_or_wait,
    print_import,
    refusal,
    resolve_unit,
    security_manager,
)


def register(group) -> None:
    for command in (
        import_accounts_command,
        import_vneid_command,
        accounts_verify_export_command,
        accounts_verify_import_command,
        accounts_verify_online_command,
        sync_payout_command,
        lock_payout_command,
        import_results_command,
        approvals_command,
        approve_command,
        reject_command,
        withdraw_command,
        verification_sample_command,
    ):
        group.add_command(command)


@click.command("import-accounts")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", default=None, help="Unit the list belongs to (default: the whole city)")
@click.option("--wait", is_flag=True, help="Wait for the job and print a summary")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object")
@with_appcontext
def import_accounts_command(path, unit_code, wait, as_json):
    """Import a list of payment accounts (.xlsx, .xls, .csv) as an RQ job; every account stays pending."""
    _import_account_list(path, unit_code, wait, as_json, "account")


@click.command("import-vneid")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", default=None, help="Unit the list belongs to (default: the whole city)")
@click.option("--wait", is_flag=True, help="Wait for the job and print a summary")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object")
@with_appcontext
def import_vneid_command(path, unit_code, wait, as_json):
    """Import a VNeID list of social-benefit accounts (CCCD, bank BIN, account number, linked date) as an RQ job:
    an entry (pending, source VNeID) for each person without an account yet."""
    _import_account_list(path, unit_code, wait, as_json, "vneid")


def _import_account_list(path, unit_code, wait, as_json, kind):
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services.payout import account_import

    session = db_session()
    unit = resolve_unit(unit_code or CITY_CODE)
    with open(path, "rb") as fh:
        content = fh.read()
    batch = account_import.create_batch(session, filename=path, content=content, unit=unit, user_id=None, kind=kind)
    session.commit()
    batch_id = batch.id
    if batch.status == "uploaded" and not enqueue_or_wait(
        "account_import",
        batch_id,
        wait=wait or as_json,
        until=("applied", "failed", "duplicate_file"),
        queued=f"batch {batch_id} queued",
    ):
        return
    session.expire_all()
    summary = account_import.summary(session.get(ImportBatch, batch_id))
    print_import(summary, as_json)
    if summary["status"] == "failed":
        sys.exit(1)


@click.command("accounts-verify-export")
@click.option("--unit", "unit_code", default=None, help="Accounts of this unit (default: the whole city)")
@click.option("--period", "period_ref", default=None, help="Only the accounts the lines of this payout period pay")
@click.option("--bank", "bank_bin", default=None, help="Only this bank (BIN); default: one file per bank")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", help="Folder for the files")
@with_appcontext
def accounts_verify_export_command(unit_code, period_ref, bank_bin, fmt, out_dir):
    """Write the account pre-validation request file of each bank (the bank fills in the holder name and the
    account status, then the answer is read by ``accounts-verify-import``)."""
    import os

    from flask_babel import force_locale, gettext

    from app.models.admin_unit import CITY_CODE
    from app.services.formatting import local_today
    from app.services.payout import prevalidation

    session = db_session()
    unit = resolve_unit(unit_code or CITY_CODE)
    period_id = None
    if period_ref:
        period_id = _period_or_fail(session, period_ref).id
    banks = [b["bin"] for b in prevalidation.request_banks(session, unit, None, period_id=period_id)]
    if bank_bin:
        banks = [b for b in banks if b == bank_bin]
    os.makedirs(out_dir, exist_ok=True)
    with force_locale("vi"):
        for bin_ in banks:
            path = os.path.join(out_dir, prevalidation.request_filename(bin_, unit, fmt, local_today()))
            with open(path, "wb") as fh:
                count = prevalidation.write_request(
                    session, unit, None, bin_, fh, gettext, fmt=fmt, period_id=period_id
                )
            click.echo(f"{path}\t{count}")


@click.command("accounts-verify-import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", default=None, help="Unit whose accounts the answer is about (default: the city)")
@click.option("--wait", is_flag=True, help="Wait for the job and print a summary")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object")
@with_appcontext
def accounts_verify_import_command(path, unit_code, wait, as_json):
    """Read a bank's answer to a pre-validation request as an RQ job: one check per account, every refused row
    in the error report."""
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services.payout import prevalidation

    session = db_session()
    unit = resolve_unit(unit_code or CITY_CODE)
    with open(path, "rb") as fh:
        content = fh.read()
    batch = prevalidation.create_answer_batch(session, filename=path, content=content, unit=unit, user_id=None)
    session.commit()
    batch_id = batch.id
    if batch.status == "uploaded" and not enqueue_or_wait(
        "account_check",
        batch_id,
        wait=wait or as_json,
        until=("applied", "failed", "duplicate_file"),
        queued=f"batch {batch_id} queued",
    ):
        return
    session.expire_all()
    summary = prevalidation.answer_summary(session, session.get(ImportBatch, batch_id))
    print_import(summary, as_json)
    if summary["status"] == "failed":
        sys.exit(1)


@click.command("accounts-verify-online")
@click.option("--unit", "unit_code", default=None, help="Accounts of this unit (default: the whole city)")
@click.option("--limit", default=500, show_default=True, help="At most this many accounts in one run")
@with_appcontext
def accounts_verify_online_command(unit_code, limit):
    """Ask the bank's verification service (ACCOUNT_VERIFY_URL) about the open accounts that have no answer yet
    and record each answer."""
    from flask import current_app

    from app.models.admin_unit import CITY_CODE
    from app.services.payout import prevalidation

    verifier = prevalidation.verifier_from_settings(current_app.config)
    if verifier is None:
        raise click.ClickException("ACCOUNT_VERIFY_URL is not set: exchange files with the banks instead")
    session = db_session()
    counts = prevalidation.check_online(session, verifier, resolve_unit(unit_code or CITY_CODE), None, limit=limit)
    echo_json(counts)


@click.command("sync-payout")
@click.argument("period_ref")
@click.option("--unit", "unit_code", default=None, help="Only this unit of the period (default: the whole period)")
@click.option("--wait", is_flag=True, help="Wait for the job and print what changed")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
@with_appcontext
def sync_payout_command(period_ref, unit_code, wait, as_json):
    """Sync the payout list of PERIOD (id or name) as an RQ job."""
    from app.services import payout

    period = _period_or_fail(db_session(), period_ref)
    unit = resolve_unit(unit_code) if unit_code else period.unit
    run = _period_run("payout_sync", "sync", payout.request_sync, period, unit, wait or as_json)
    if run is None:
        return
    result = payout.run_summary(run)
    if as_json:
        echo_json(result)
    else:
        from flask_babel import force_locale, gettext

        with force_locale("vi"):
            click.echo(
                gettext(
                    "Payout list %(name)s, %(unit)s: %(total)s lines (%(added)s added, %(removed)s removed, "
                    "%(changed)s changed)"
                )
                % {"name": period.name, "unit": run.unit.name, **result}
            )
            if result["left_out_total"]:
                click.echo(
                    gettext("%(count)s enrolments left out: another payout period already pays them for this month")
                    % {"count": result["left_out_total"]}
                )
                for x in result["left_out"][:20]:
                    click.echo(
                        f"  {x['full_name']} ({x['category']}): "
                        + gettext(payout.LEFT_OUT_REASONS[x["reason"]]) % {"period": x["other_period_name"]}
                    )
    _exit_if_failed(run)


@click.command("lock-payout")
@click.argument("period_ref")
@click.option("--wait", is_flag=True, help="Wait for the job and print the checksum")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
@with_appcontext
def lock_payout_command(period_ref, wait, as_json):
    """Lock the approved payout list of PERIOD (id or name) as an RQ job, for the period's own unit."""
    from app.services import payout

    period = _period_or_fail(db_session(), period_ref)
    run = _period_run("payout_lock", "lock", payout.request_lock, period, period.unit, wait or as_json)
    if run is None:
        return
    result = payout.lock_run_summary(run)
    if as_json:
        echo_json(result)
    elif run.status == "done":
        from flask_babel import force_locale, gettext

        with force_locale("vi"):
            click.echo(
                gettext("Payout list %(name)s locked: %(lines)s lines, checksum %(checksum)s")
                % {"name": period.name, "lines": result.get("lines"), "checksum": result.get("checksum")}
            )
    _exit_if_failed(run)


def _period_or_fail(session, period_ref):
    from app.services import payout

    period = payout.find_period(session, period_ref)
    if period is None:
        raise click.ClickException(f"No payout period {period_ref!r}")
    return period


def _period_run(kind: str, what: str, request_run, period, unit, wait: bool):
    """Request a run of ``kind`` on ``period`` for ``unit`` as the system (a refusal: ``refusal``), commit, and
    start its job: queued, None; with ``wait``, the run reloaded once done or failed."""
    from app.services.messages import FieldError
    from jobs import registry

    session = db_session()
    try:
        run = request_run(session, period.id, unit, None)
    except FieldError as exc:
        raise refusal(exc) from None
    session.commit()
    model, run_id = type(run), run.id
    if not enqueue_or_wait(
        kind,
        run_id,
        wait=wait,
        until=("done", "failed"),
        queued=f"{what} run {run_id} queued ({registry.job_id(kind, run_id)})",
    ):
        return None
    session.expire_all()
    return session.get(model, run_id)


def _exit_if_failed(run) -> None:
    """A failed run: why (in Vietnamese, as a refusal) on stderr, exit status 1."""
    if run.status != "failed":
        return
    from flask_babel import force_locale, gettext

    from app.services.job_state import failure_problem

    problem = failure_problem(run)
    with force_locale("vi"):
        click.echo(problem.render(gettext) if problem is not None else "", err=True)
    sys.exit(1)


@click.command("import-results")
@click.argument("period_ref")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--unit", "unit_code", default=None, help="Only this unit of the period (default: the whole period)")
@click.option(
    "--override-reason",
    default=None,
    help="Apply the valid rows of a file that would be refused, with this reason (audited)",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
@with_appcontext
def import_results_command(period_ref, path, unit_code, override_reason, as_json):
    """Record the bank's (or the cash) result file PATH for PERIOD (id or name). The whole file is checked first:
    any row that cannot be applied refuses it and nothing is recorded (exit code 1, every row's reason)."""
    import os

    from flask_babel import force_locale, gettext

    from app.services import payout
    from app.services.messages import FieldError, Problem

    session = db_session()
    period = _period_or_fail(session, period_ref)
    unit = resolve_unit(unit_code) if unit_code else period.unit
    with force_locale("vi"):
        try:
            result = payout.import_results(
                session, period.id, path, unit, None, filename=os.path.basename(path), override_reason=override_reason
            )
        except payout.ResultsRefused as exc:
            if as_json:
                echo_json(
                    {
                        "refused": True,
                        "report_id": exc.report_id,
                        "problems": [dict(p.to_dict(), message=p.render(gettext)) for p in exc.problems],
                    }
                )
            else:
                click.echo(exc.problem.render(gettext), err=True)
                for p in exc.problems[:50]:
                    click.echo("  " + p.render(gettext), err=True)
            sys.exit(1)
        except FieldError as exc:
            raise click.ClickException(exc.problem.render(gettext)) from None
        if as_json:
            echo_json(result)
            return
        click.echo(
            gettext(
                "Results recorded: %(paid)s paid, %(partial)s partially paid, %(failed)s failed, %(reversed)s reversed."
            )
            % result
        )
        for p in result["problems"][:50]:
            click.echo("  " + Problem.from_dict(p).render(gettext))


@click.command("verification-sample")
@click.argument("period_ref")
@click.option("--unit", "unit_code", required=True, help="The unit whose part of the period is sampled")
@click.option("--confidence", default=95.0, show_default=True, help="Confidence level, in percent")
@click.option("--margin", default=5.0, show_default=True, help="Margin of error, in percent")
@click.option("--everyone", is_flag=True, help="Check every payment instead of a sample")
@click.option("--method", type=click.Choice(["visit", "phone"]), default="visit", show_default=True)
@click.option("--seed", type=int, default=None, help="Seed of the draw (default: a random one, stored)")
@click.option("--wait", is_flag=True, help="Wait for the job when the sample is drawn in the background")
@with_appcontext
def verification_sample_command(period_ref, unit_code, confidence, margin, everyone, method, seed, wait):
    """Draw a post-payment verification sample of the closed PERIOD (id or name): tasks for the working groups."""
    from app.models import VerificationSample
    from app.services import payout
    from app.services.messages import FieldError
    from app.services.payout import verification

    session = db_session()
    period = payout.find_period(session, period_ref)
    if period is None:
        raise click.ClickException(f"unknown payout period {period_ref}")
    try:
        sample = verification.create_sample(
            session,
            period.id,
            resolve_unit(unit_code),
            None,
            method=method,
            confidence=confidence,
            margin=margin,
            everyone=everyone,
            seed=seed,
        )
        sample_id = sample.id
        if verification.needs_job(sample):
            if not enqueue_or_wait(
                "verification_sample",
                sample_id,
                wait=wait,
                until=("done", "failed"),
                queued=f"sample {sample_id} queued",
            ):
                return
        else:
            verification.draw_sample(session, sample_id)
    except FieldError as exc:
        raise refusal(exc) from exc
    session.expire_all()
    echo_json(verification.sample_summary(session.get(VerificationSample, sample_id)))


# --- approval tiers ------------------------------------------------------------------------------------


def _print_approvals(session, period, as_json: bool) -> None:
    from flask_babel import force_locale, gettext

    from app.models import AsxhUser
    from app.services import payout
    from app.services.formatting import format_datetime
    from app.services.labels import label

    session.expire_all()
    state = payout.approval_state(session, period, payout.compute_checksum(session, period.id))
    names = {
        u.id: u.username for u in session.query(AsxhUser).filter(AsxhUser.id.in_({d.user_id for d in state.history}))
    }
    if as_json:
        echo_json(
            {
                "period_id": period.id,
                "status": period.status,
                "round": state.round,
                "approved": state.approved,
                "void": len(state.void),
                "tiers": [
                    {
                        "tier": t.tier.number,
                        "required": t.required,
                        "valid": t.valid,
                        "approvers": [names.get(a.user_id) for a in t.approvals],
                    }
                    for t in state.tiers
                ],
            }
        )
        return
    with force_locale("vi"):
        click.echo(f"{period.name}: {label('period_status', period.status, gettext)}")
        for t in state.tiers:
            who = ", ".join(
                f"{names.get(a.user_id)} {format_datetime(a.decided_at)}" + ("" if a.valid else " (!)")
                for a in t.approvals
            )
            click.echo(f"  {t.tier.number}. {gettext(t.tier.title)}: {t.valid}/{t.required} {who}")
        if state.void:
            click.echo(
                gettext("The lines changed after %(count)s approvals: they no longer count.")
                % {"count": len(state.void)}
            )


def _decide(period_ref, username, action, tier=None, reason=None, as_json=False) -> None:
    from app.security.access import capabilities_of
    from app.services import payout
    from app.services.messages import FieldError

    session = db_session()
    period = _period_or_fail(session, period_ref)
    user = security_manager().find_user(username=username)
    if user is None:
        raise click.ClickException(f"No user {username!r}")
    extra = {} if reason is None else {"reason": reason}
    try:
        getattr(payout, action)(
            session,
            period.id,
            user_id=user.id,
            unit=user.unit,
            abilities=capabilities_of(user) & payout.TIER_CAPABILITIES,
            tier=tier,
            **extra,
        )
    except FieldError as exc:
        session.rollback()
        raise refusal(exc) from None
    _print_approvals(session, period, as_json)


@click.command("payout-approvals")
@click.argument("period_ref")
@click.option("--json", "as_json", is_flag=True, help="Print the approvals as one JSON object")
@with_appcontext
def approvals_command(period_ref, as_json):
    """Show the approval tiers of PERIOD (id or name): who approved when, and whether it still holds."""
    session = db_session()
    _print_approvals(session, _period_or_fail(session, period_ref), as_json)


def _decision_command(action: str, doc: str, *, user_help: str, reason_help: str | None = None):
    """The command ``payout-<action>``: one decision of the approval ledger (approve, reject, withdraw) as USER;
    with ``reason_help`` it requires a reason, otherwise it takes the tier."""

    def command(period_ref, username, as_json, tier=None, reason=None):
        _decide(period_ref, username, action, tier=tier, reason=reason, as_json=as_json)

    command.__doc__ = doc
    choice = (
        click.option("--reason", required=True, help=reason_help)
        if reason_help
        else click.option("--tier", type=click.IntRange(1, 9), default=None, help="The tier (default: the one waiting)")
    )
    decorators = (
        click.command(f"payout-{action}"),
        click.argument("period_ref"),
        click.option("--user", "username", required=True, help=user_help),
        choice,
        click.option("--json", "as_json", is_flag=True, help="Print the approvals as one JSON object"),
        with_appcontext,
    )
    for decorate in reversed(decorators):  # as if stacked above the function, the first outermost
        command = decorate(command)
    return command


approve_command = _decision_command(
    "approve",
    "Approve PERIOD (id or name) as USER in the tier waiting for them.",
    user_help="The approver (a user holding the tier's capability)",
)
reject_command = _decision_command(
    "reject",
    "Reject PERIOD (id or name), with a reason: back to synced, the round's approvals end.",
    user_help="The approver rejecting the list",
    reason_help="Why the list is rejected",
)
withdraw_command = _decision_command(
    "withdraw",
    "Withdraw the approvals of PERIOD (id or name), with a reason, so that it can be synced again.",
    user_help="The approver withdrawing the approvals",
    reason_help="Why the approvals are withdrawn",
)
