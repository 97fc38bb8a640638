"""Helpers shared by the command groups of app/cli/: the session, units and users, demo logins, output (and
refusals, ``refusal``), and the one way a command starts a job (``enqueue_or_wait``)."""

from __future__ import annotations

import json
import time

import click
from flask import current_app

DEMO_DISTRICTS = ("001", "002")
DEMO_COMMUNES = ("00001", "00004", "00037", "00040")
DEMO_COMMUNES_2025 = ("00004", "00070")  # Phường Ba Đình, Phường Hoàn Kiếm: demo users of the 2025 scheme


def db_session():
    from app.extensions import db

    return db.session


def security_manager():
    return current_app.appbuilder.sm


def echo_json(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def resolve_unit(code: str):
    """The unit of ``code`` in the active scheme, or a ClickException naming it."""
    from app.services.reference import find_unit

    unit = find_unit(db_session(), code, current_app.config["UNIT_SCHEME"])
    if unit is None:
        raise click.ClickException(f"Unknown unit code {code!r} in scheme {current_app.config['UNIT_SCHEME']}")
    return unit


def refusal(exc) -> click.ClickException:
    """A refused request (a FieldError's problem) as every verb reports it: in Vietnamese, exit status 1."""
    from flask_babel import force_locale, gettext

    with force_locale("vi"):
        return click.ClickException(exc.problem.render(gettext))


# --- jobs ----------------------------------------------------------------------------------------------


def enqueue_or_wait(kind: str, row_id, *, wait: bool, until: tuple[str, ...], queued: str) -> bool:
    """Start the job of ``kind`` for the committed state row ``row_id`` (jobs/registry.py). Without ``wait``,
    print ``queued`` and return False; with it, wait until the row's status is one of ``until`` (running the
    job here when no worker listens) and return True."""
    from jobs import registry

    if not wait:
        registry.start(kind, row_id)
        click.echo(queued)
        return False
    run_and_wait(kind, row_id, until)
    return True


def run_and_wait(kind: str, row_id, until: tuple[str, ...]) -> None:
    """Start the job of ``kind`` for ``row_id`` and wait until its state row's status is one of ``until``;
    with no worker listening, run the job here (the same RQ path)."""
    from rq import SimpleWorker, Worker

    from jobs import registry
    from jobs.queues import get_queue
    from jobs.runtime import set_app

    registry.start(kind, row_id)
    queue = get_queue()
    if Worker.count(queue=queue) == 0:
        set_app(current_app._get_current_object())
        SimpleWorker([queue], connection=queue.connection).work(
            burst=True, with_scheduler=False, logging_level="WARNING"
        )
    model, session = registry.KINDS[kind].row_model(), db_session()
    while True:
        session.expire_all()
        if session.get(model, row_id).status in until:
            return
        time.sleep(0.5)


def print_import(summary: dict, as_json: bool) -> None:
    """An import batch's summary (``importing.summary`` / ``account_import.summary``): JSON or two lines."""
    if as_json:
        echo_json(summary)
        return
    from flask_babel import force_locale, gettext

    from app.views.labels import label

    with force_locale("vi"):
        click.echo(
            gettext("Import #%(id)s (%(file)s): %(status)s")
            % {
                "id": summary["batch_id"],
                "file": summary["filename"],
                "status": label("batch_status", summary["status"]),
            }
        )
        click.echo(
            gettext(
                "Rows: %(total)s = %(imported)s new + %(updated)s updated + %(duplicate)s duplicate + %(error)s with errors; %(blank)s blank and %(footer)s footer rows skipped"
            )
            % {
                "total": summary["rows_total"],
                "imported": summary["rows_imported"],
                "updated": summary["rows_updated"],
                "duplicate": summary["rows_duplicate"],
                "error": summary["rows_error"],
                "blank": summary["rows_blank"],
                "footer": summary["rows_footer"],
            }
        )


# --- users ---------------------------------------------------------------------------------------------


def active_roles():
    """The roles of the active scheme (UNIT_SCHEME), as ``roles_for`` names and places them."""
    from app.security.roles import roles_for

    return roles_for(current_app.config["UNIT_SCHEME"], current_app.config["CITY_DEPARTMENT_NAME"])


def ensure_user(
    username: str, role_name: str, unit_code: str, password: str, *, first_name: str = "", last_name: str = ""
) -> tuple[object, bool]:
    """Create the user, or update its role, unit and password. Returns (user, created)."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError
    from flask_babel import force_locale, gettext

    from app.security.manager import password_policy
    from app.security.roles import wrong_level

    try:
        password_policy(password)  # the same policy as the screens, also when updating a user
    except PasswordComplexityValidationError as exc:
        raise click.ClickException(str(exc)) from None

    role_by_name = {r.name: r for r in active_roles()}
    if role_name not in role_by_name:
        raise click.ClickException(f"Unknown role {role_name!r}; roles: {', '.join(role_by_name)}")
    sm = security_manager()
    role = sm.find_role(role_name)
    if role is None:
        raise click.ClickException("Roles are missing: run `flask --app run asxh init` first")
    unit = resolve_unit(unit_code)
    with force_locale("vi"):
        refusal = wrong_level(tuple(role_by_name.values()), [role_name], unit, gettext)
    if refusal:
        raise click.ClickException(refusal)
    user = sm.find_user(username=username)
    created = user is None
    if created:
        user = sm.add_user(
            username, first_name or username, last_name or unit.name, f"{username}@asxh.local", [role], password
        )
        if not user:
            raise click.ClickException(f"Could not create user {username!r}")
    else:
        from werkzeug.security import generate_password_hash

        user.roles = [role]
        user.password = generate_password_hash(
            password, method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
        )
    user.unit_id = unit.id
    db_session().commit()
    return user, created


def demo_accounts(scheme: str | None = None) -> list[tuple[str, str, str]]:
    """(username, role name, unit code) of every demo login of ``scheme`` (default: the active one, else 2024)."""
    from flask import has_app_context

    config = current_app.config if has_app_context() else {}
    if (scheme or config.get("UNIT_SCHEME", "2024")) == "2025":
        from app.security.roles import roles_for

        name = {r.key: r.name for r in roles_for("2025", config.get("CITY_DEPARTMENT_NAME", "Sở quản lý an sinh"))}
        accounts = [("admin", name["admin"], "01"), ("so", name["so"], "01"), ("lanhdao", name["lanhdao"], "01")]
        for c in DEMO_COMMUNES_2025:
            accounts += [
                (f"xa.{c}", name["xa"], c),
                (f"lanhdao.{c}", name["lanhdao"], c),  # the commune's head: signs its payout lists
                (f"congan.{c}", name["congan"], c),
                (f"congan2.{c}", name["congan"], c),
            ]
        return accounts
    accounts = [("admin", "Quản trị hệ thống", "01"), ("so.ldtbxh", "Sở LĐTBXH", "01"), ("lanhdao", "Lãnh đạo", "01")]
    accounts += [(f"phong.{d}", "Phòng LĐTBXH", d) for d in DEMO_DISTRICTS]
    accounts += [(f"lanhdao.{d}", "Lãnh đạo", d) for d in DEMO_DISTRICTS]  # the district's head: signs its payout lists
    for c in DEMO_COMMUNES:
        accounts += [
            (f"congan.{c}", "Công an xã", c),
            (f"congan2.{c}", "Công an xã", c),
            (f"canbo.{c}", "Cán bộ LĐTBXH xã", c),
        ]
    return accounts
