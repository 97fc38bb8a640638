"""The registry of people: ``asxh import``, ``import-apply``, ``import-population``, ``match``,
``find-duplicates``, ``classify`` and ``move-person``."""

from __future__ import annotations

import json
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
    run_and_wait,
    security_manager,
)


def register(group) -> None:
    for command in (
        import_command,
        import_apply_command,
        import_population_command,
        match_command,
        find_duplicates_command,
        classify_command,
        move_person_command,
    ):
        group.add_command(command)


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--category", default=None, help="Category of every row (BTXH, NCC, HN, HCN, KHAC) when the file has none"
)
@click.option("--unit", "unit_code", default=None, help="Unit the list belongs to (default: the whole city)")
@click.option("--preview", is_flag=True, help="Only stage and validate; apply later with import-apply")
@click.option("--wait", is_flag=True, help="Wait for the job and print a summary")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object")
@with_appcontext
def import_command(path, category, unit_code, preview, wait, as_json):
    """Import a beneficiary list (.xlsx, .xls, .csv) as an RQ job."""
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services.messages import FieldError
    from app.services.registry import importing

    session = db_session()
    unit = resolve_unit(unit_code or CITY_CODE)
    with open(path, "rb") as fh:
        content = fh.read()
    try:
        batch = importing.create_batch(
            session, filename=path, content=content, unit=unit, category=category, user_id=None, auto_apply=not preview
        )
    except FieldError as exc:
        raise refusal(exc) from None
    session.commit()
    batch_id = batch.id
    if batch.status == "uploaded":
        until = ("applied", "failed", "duplicate_file") + (("parsed",) if preview else ())
        if not enqueue_or_wait(
            "import", batch_id, wait=wait or as_json, until=until, queued=f"batch {batch_id} queued"
        ):
            return
    session.expire_all()
    print_import(importing.summary(session.get(ImportBatch, batch_id)), as_json)
    if session.get(ImportBatch, batch_id).status == "failed":
        sys.exit(1)


@click.command("import-apply")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def import_apply_command(batch_id, as_json):
    """Apply a previewed batch to the registry (waits for the job)."""
    from app.models import ImportBatch
    from app.services.registry import importing

    session = db_session()
    if session.get(ImportBatch, batch_id) is None:
        raise click.ClickException(f"No batch {batch_id}")
    importing.request_apply(session, session.get(ImportBatch, batch_id))
    session.commit()
    run_and_wait("import_apply", batch_id, ("applied", "failed"))
    print_import(importing.summary(session.get(ImportBatch, batch_id)), as_json)


@click.command("import-population")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def import_population_command(path, wait, as_json):
    """Import a population-registry extract (CSV or xlsx) as an RQ job; re-imports update in place."""
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services.registry import importing
    from app.services.registry.staging import record_upload

    session = db_session()
    with open(path, "rb") as fh:
        content = fh.read()
    batch = record_upload(
        session, kind="population", filename=path, content=content, unit_id=resolve_unit(CITY_CODE).id
    )
    session.commit()
    batch_id = batch.id
    # the same extract already applied (duplicate_file): nothing to run
    if batch.status != "duplicate_file" and not enqueue_or_wait(
        "population", batch_id, wait=wait or as_json, until=("applied", "failed"), queued=f"batch {batch_id} queued"
    ):
        return
    print_import(importing.summary(session.get(ImportBatch, batch_id)), as_json)
    if session.get(ImportBatch, batch_id).status == "failed":
        sys.exit(1)


@click.command("match")
@click.option(
    "--unit",
    "unit_code",
    default=None,
    help="Code of a unit of the active scheme: a commune, or a district in 2024 (default: the whole city)",
)
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def match_command(unit_code, wait, as_json):
    """Match beneficiaries against the population registry (an RQ job); prints counts per status."""
    from app.models import MatchRun
    from app.models.admin_unit import CITY_CODE
    from app.services.registry import matching

    session = db_session()
    unit = resolve_unit(unit_code or CITY_CODE)
    run = matching.start_run(session, unit, None)
    session.commit()
    run_id = run.id
    if not enqueue_or_wait(
        "match", run_id, wait=wait or as_json, until=("done", "failed"), queued=f"match run {run_id} queued"
    ):
        return
    run = session.get(MatchRun, run_id)
    counts = json.loads(run.counts_json or "{}")
    if as_json:
        echo_json(
            {code: counts.get(code, 0) for code in matching.STATUS_CODES} | {"run_id": run_id, "status": run.status}
        )
    else:
        from flask_babel import force_locale

        from app.views.labels import label

        with force_locale("vi"):
            for code in matching.STATUS_CODES:
                click.echo(f"{label('match_status', code):<16} {counts.get(code, 0)}")
    if run.status == "failed":
        sys.exit(1)


@click.command("find-duplicates")
@click.option("--wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def find_duplicates_command(wait, as_json):
    """Find duplicate pairs over the whole registry (an RQ job); prints the pairs found per kind."""
    from app.models import DuplicateRun
    from app.models.duplicate import DUPLICATE_KINDS
    from app.services.registry import duplicates

    session = db_session()
    run = duplicates.request_run(session, None)
    session.commit()
    run_id = run.id
    if not enqueue_or_wait(
        "find_duplicates",
        run_id,
        wait=wait or as_json,
        until=("done", "failed"),
        queued=f"duplicate run {run_id} queued",
    ):
        return
    session.expire_all()
    run = session.get(DuplicateRun, run_id)
    counts = json.loads(run.counts_json or "{}")
    if as_json:
        echo_json(counts | {"run_id": run_id, "status": run.status})
    else:
        from flask_babel import force_locale

        from app.views.labels import label

        with force_locale("vi"):
            for kind in DUPLICATE_KINDS:
                click.echo(f"{label('duplicate_kind', kind):<60} {counts.get(kind, 0)}")
    if run.status == "failed":
        sys.exit(1)


@click.command("classify")
@click.option("--unit", "unit_code", default=None, help="Unit code in the active scheme (default: everywhere)")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object")
@with_appcontext
def classify_command(unit_code, as_json):
    """Recompute the case type (1-6) of every beneficiary in a unit and print the counts per type."""
    from jobs import registry

    unit = resolve_unit(unit_code) if unit_code else None
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


@click.command("move-person")
@click.argument("beneficiary_id", type=int)
@click.argument("to_commune")
@click.option(
    "--as", "username", required=True, help="The user who moves the person: their scope must cover both communes"
)
@click.option("--reason", required=True, help="Why (kept in the audit trail)")
@with_appcontext
def move_person_command(beneficiary_id, to_commune, username, reason):
    """Move a beneficiary (and their enrolments) to another commune: explicit, audited, never by an import."""
    from flask_babel import force_locale, gettext

    from app.services.audit import audit_actor
    from app.services.messages import Conflict, FieldError
    from app.services.registry import people

    session = db_session()
    user = security_manager().find_user(username=username)
    if user is None or not user.is_active:
        raise click.ClickException(f"Unknown or inactive user {username!r}")
    target = resolve_unit(to_commune)
    with audit_actor(user.id, user.username, "cli:move-person"):
        try:
            person = people.move_person(session, user.unit_id, beneficiary_id, target, reason)
        except (FieldError, Conflict) as exc:
            session.rollback()
            with force_locale("vi"):
                message = exc.problem.render(gettext)
            raise click.ClickException(message) from None
        session.commit()
    click.echo(f"OK: #{person.id} -> {target.code} {target.name}")
