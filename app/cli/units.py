"""``flask --app run asxh migrate-units`` and ``unit-review``: moving data from one unit scheme to the next.

The app refuses to start on a database whose rows sit in units of another scheme than ``UNIT_SCHEME``
(``app._check_unit_scheme``); this command is the one it lets through (``MIGRATE_UNITS_COMMAND``), since it is
what fixes that database."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

MIGRATE_UNITS_COMMAND = "migrate-units"


def register(group) -> None:
    group.add_command(migrate_units_command)
    group.add_command(unit_review_command)


def _session():
    from app.extensions import db

    return db.session


def _print_summary(summary: dict) -> None:
    click.echo(f"migrate-units {summary['from']} -> {summary['to']}: {summary['status']}")
    if "persons_before" in summary:
        click.echo(
            f"people: {summary['persons_before']} = {summary['persons_moved']} moved "
            f"({summary['persons_by_address']} by address) + {summary['persons_review']} left for review"
        )
        for table, count in summary["rows_moved"].items():
            click.echo(f"  {table}: {count}")
        click.echo(
            f"users moved: {summary['users_moved']}; without a unit: {', '.join(summary['users_unplaced']) or '-'}"
        )
        click.echo(f"work groups parked at the city: {', '.join(summary['work_groups_parked']) or '-'}")
        click.echo(
            f"campaigns moved: {summary['campaigns_moved']}; steps done in new communes: "
            f"{summary['campaign_steps_done']}; citizens without a commune: {summary['citizens_unplaced']}"
        )
    if summary.get("report"):
        click.echo(f"report: {summary['report']}")


@click.command(MIGRATE_UNITS_COMMAND)
@click.option(
    "--from", "from_scheme", required=True, type=click.Choice(["2024", "2025"]), help="Scheme of the data now"
)
@click.option("--to", "to_scheme", required=True, type=click.Choice(["2024", "2025"]), help="Scheme to move it to")
@click.option("--dry-run", is_flag=True, help="Write nothing to the database; report what would happen")
@click.option("--wait", is_flag=True, help="Wait for the job and print a summary")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object")
@with_appcontext
def migrate_units_command(from_scheme, to_scheme, dry_run, wait, as_json):
    """Move people, users, work groups, campaigns … from the units of one scheme to the next, as an RQ job
    (idempotent: once done, running it again changes nothing). Payout periods stay in their units."""
    from flask_babel import force_locale, gettext

    from app.cli.common import echo_json, enqueue_or_wait
    from app.models import UnitMigration
    from app.services import unit_migration
    from app.services.messages import FieldError
    from config import instance_dir
    from jobs import registry

    session = _session()
    try:
        unit_migration.require_supported(from_scheme, to_scheme)
        if dry_run:
            path = instance_dir() / "reports" / unit_migration.report_name(from_scheme, to_scheme, dry_run=True)
            with force_locale("vi"):
                summary = unit_migration.migrate_units(
                    session, from_scheme, to_scheme, dry_run=True, translate=gettext, report_path=path
                )
        else:
            row = unit_migration.request_migration(session, from_scheme, to_scheme)
            session.commit()
            row_id = row.id
            if row.status != "done" and not enqueue_or_wait(
                "migrate_units",
                row_id,
                wait=wait or as_json,
                until=("done", "failed"),
                queued=f"migration {row_id} queued (job {registry.job_id('migrate_units', row_id)})",
            ):
                return
            session.expire_all()
            row = session.get(UnitMigration, row_id)
            summary = unit_migration.run_summary(row)
            if row.status == "failed":
                from app.services.job_state import failure_problem

                problem = failure_problem(row)
                with force_locale("vi"):
                    summary["failure"] = problem.render(gettext)
    except FieldError as exc:
        with force_locale("vi"):
            raise click.ClickException(exc.problem.render(gettext)) from None
    if as_json:
        echo_json(summary)
    else:
        _print_summary(summary)
        if summary.get("failure"):
            click.echo(summary["failure"], err=True)
    if summary["status"] == "failed":
        sys.exit(1)


@click.command("unit-review")
@click.option("--resolve", "review_id", type=int, default=None, help="Place the person of this review …")
@click.option("--to", "commune_code", default=None, help="… in this candidate commune (code in the new scheme)")
@click.option("--json", "as_json", is_flag=True, help="Print the open reviews as JSON")
@with_appcontext
def unit_review_command(review_id, commune_code, as_json):
    """The people migrate-units left for the city department (their addresses did not decide the new commune);
    with --resolve ID --to CODE, place one of them in one of its candidate communes."""
    from flask_babel import force_locale, gettext

    from app.cli.common import echo_json
    from app.services import unit_migration
    from app.services.messages import FieldError

    session = _session()
    if review_id is not None:
        if not commune_code:
            raise click.UsageError("--resolve needs --to CODE")
        try:
            unit_migration.resolve_review(session, review_id, commune_code)
        except FieldError as exc:
            session.rollback()
            with force_locale("vi"):
                raise click.ClickException(exc.problem.render(gettext)) from None
        session.commit()
        click.echo(f"review {review_id}: placed in {commune_code}")
        return
    reviews = unit_migration.open_reviews(session)
    if as_json:
        echo_json(reviews)
        return
    for r in reviews:
        click.echo(
            f"{r['id']}\tperson {r['beneficiary_id']}\t{r['old_commune']}\t{' '.join(r['candidates'])}\t"
            f"{r['address'] or ''}"
        )
    click.echo(f"{len(reviews)} open")
