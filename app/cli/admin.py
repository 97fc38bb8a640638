"""``asxh init``, ``create-user``, ``audit-verify``, ``audit-anchor``, ``worker`` and ``demo`` (the demo server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli.common import active_roles, db_session, demo_accounts, ensure_user


def register(group) -> None:
    for command in (
        init_command,
        create_user_command,
        audit_verify_command,
        audit_anchor_command,
        worker_command,
        demo_command,
    ):
        group.add_command(command)


@click.command("init")
@with_appcontext
def init_command():
    """Upgrade the schema, create permissions and roles, load reference data. Idempotent."""
    from flask_migrate import upgrade

    from app.security.roles import CAPABILITIES, capability, sync_roles
    from app.services.payout import load_payout_rules
    from app.services.reference import load_banks, load_units
    from app.services.visits.questionnaire import load_default_questionnaire

    upgrade()
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    # Roles first: FAB grants each new permission to the admin role as it creates it.
    roles = active_roles()
    for role_def in roles:
        sm.find_role(role_def.name) or sm.add_role(role_def.name)
    appbuilder.add_permissions(update_perms=True)
    for cap in CAPABILITIES:
        sm.add_permission_view_menu(*capability(cap))
    sync_roles(sm, roles)
    session = db_session()
    units = load_units(session)
    banks = load_banks(session)
    load_payout_rules(session)  # base levels and category rules (seed, never overwritten)
    load_default_questionnaire(session)  # fixtures/questionnaire_v1.json, created once
    session.commit()
    click.echo(f"OK: schema up to date, {len(sm.get_all_roles())} roles, {units} units, {banks} banks.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", "role_name", required=True, help='Role name, e.g. "Công an xã"')
@click.option("--unit", "unit_code", required=True, help="Unit code in the active scheme, e.g. 00004")
@click.option("--password", required=True)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@with_appcontext
def create_user_command(username, role_name, unit_code, password, first_name, last_name):
    """Create (or update) a user scoped to a unit."""
    _, created = ensure_user(username, role_name, unit_code, password, first_name=first_name, last_name=last_name)
    click.echo(f"{'Created' if created else 'Updated'} {username} ({role_name}, {unit_code}).")


@click.command("audit-verify")
@click.option(
    "--anchor", default=None, metavar="ID:HASH", help="A head noted earlier: it must still be there, unchanged"
)
@with_appcontext
def audit_verify_command(anchor):
    """Recompute the audit trail's keyed hash chain and check the anchors kept outside the database
    (AUDIT_ANCHOR_PATH); name the first broken record (exit 1)."""
    from app.services.audit import read_anchors, verify_chain

    expected = None
    if anchor:
        try:
            anchor_id, anchor_hash = anchor.split(":", 1)
            expected = (int(anchor_id), anchor_hash.strip().lower())
        except ValueError:
            raise click.BadParameter("use ID:HASH", param_hint="--anchor") from None
    anchors = read_anchors()
    report = verify_chain(db_session(), anchor=expected, anchors=anchors)
    if report.ok:
        head = f", head #{report.head_id} {report.head_hash}" if report.count else ""
        click.echo(f"OK: {report.count} audit records, chain intact{head}; {len(anchors)} anchors match")
        if report.count and not anchors:
            click.echo("WARNING: no anchor outside the database (AUDIT_ANCHOR_PATH): run `asxh audit-anchor`", err=True)
        return
    click.echo(
        f"BROKEN: audit record #{report.broken_id} {report.reason} "
        f"({max(report.count - 1, 0)} records before it verified)",
        err=True,
    )
    sys.exit(1)


@click.command("audit-anchor")
@with_appcontext
def audit_anchor_command():
    """Note the audit trail's newest (id, hash) in the anchor file outside the database (AUDIT_ANCHOR_PATH).

    Run it from cron (and copy the file off the machine): truncating or rewriting the trail before an
    anchor is then caught by `asxh audit-verify`.
    """
    from app.services.audit import anchor_head

    head = anchor_head(db_session())
    db_session().rollback()
    if head is None:
        click.echo("The audit trail is empty: nothing to anchor.")
        return
    click.echo(f"Anchored #{head[0]} {head[1]}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@with_appcontext
def worker_command(burst):
    """Run an RQ worker (builds the app once)."""
    from jobs.worker import run_worker

    run_worker(current_app._get_current_object(), burst=burst)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8080")), type=int)
@with_appcontext
def demo_command(host, port):
    """Serve the web app with one RQ worker and (unless REDIS_URL is set) an embedded Redis."""
    from jobs.queues import redis_connection, stop_embedded_redis

    env = dict(os.environ)
    if not current_app.config.get("REDIS_URL"):
        env["REDIS_URL"] = f"unix://{redis_connection(current_app.config).socket_file}"
    # SIGTERM (a service manager, `kill`) stops the demo like Ctrl+C: the web server, the worker, then Redis.
    signal.signal(signal.SIGTERM, _interrupt)
    flask = [sys.executable, "-m", "flask", "--app", "run"]
    worker = subprocess.Popen(flask + ["asxh", "worker"], env=env)
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "2",
            "--threads",
            "4",
            "-b",
            f"{host}:{port}",
            "--access-logfile",
            "-",
            "run:app",
        ],
        env=env,
    )
    click.echo("")
    click.echo(f"ASXH demo: http://{host}:{port}/   (Ctrl+C to stop)")
    click.echo(f"Demo logins (password {current_app.config['DEMO_PASSWORD']}):")
    for username, role_name, unit_code in demo_accounts():
        click.echo(f"  {username:<16} {role_name:<18} {unit_code}")
    try:
        while worker.poll() is None and web.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in (web, worker):
            proc.terminate()
        for proc in (web, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_embedded_redis()
