"""``asxh seed-demo``: demo users of every role and synthetic data (DỮ LIỆU GIẢ LẬP)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli.common import DEMO_COMMUNES, DEMO_COMMUNES_2025, db_session, demo_accounts, ensure_user, resolve_unit


def register(group) -> None:
    group.add_command(seed_demo_command)


@click.command("seed-demo")
@click.option("--citizens", default=50000, show_default=True, help="Synthetic population size")
@click.option("--beneficiaries", default=5000, show_default=True, help="Beneficiaries drawn from it")
@with_appcontext
def seed_demo_command(citizens, beneficiaries):
    """Demo users of every role, a synthetic population and beneficiary lists, matched. Idempotent.

    All demo data is synthetic (DỮ LIỆU GIẢ LẬP)."""
    from app.demo import seed as demo
    from app.models import ImportBatch
    from app.models.admin_unit import CITY_CODE
    from app.services.cases import classify_cases
    from app.services.registry import importing, matching

    scheme = current_app.config["UNIT_SCHEME"]
    password = current_app.config["DEMO_PASSWORD"]
    for username, role_name, unit_code in demo_accounts():
        ensure_user(username, role_name, unit_code, password)
    click.echo(f"Demo users ready ({len(demo_accounts())}), password from DEMO_PASSWORD.")
    if citizens <= 0:
        return
    session = db_session()
    added = demo.seed_population(session, citizens, scheme=scheme)
    click.echo(f"Synthetic population: {added} citizens added.")
    if beneficiaries <= 0:
        return
    content = demo.beneficiary_list_csv(citizens, beneficiaries, scheme=scheme)
    city = resolve_unit(CITY_CODE)
    batch = importing.create_batch(
        session,
        filename="danh-sach-doi-tuong-gia-lap.csv",
        content=content,
        unit=city,
        category=None,
        user_id=None,
        auto_apply=True,
    )
    session.commit()
    if batch.status == "uploaded":
        importing.parse_batch(session, batch.id)
        importing.apply_batch(session, batch.id)
        batch = session.get(ImportBatch, batch.id)
        click.echo(f"Beneficiary list: {batch.rows_imported} imported, {batch.rows_error} with errors.")
        counts = matching.match_beneficiaries(session, city)
        click.echo("Matching: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        classify_cases(session, city)
        session.commit()
    else:
        click.echo("Beneficiary list already imported.")
    done = demo.seed_visits(session, DEMO_COMMUNES_2025 if scheme == "2025" else DEMO_COMMUNES, scheme=scheme)
    click.echo(f"Home visits: {done['visits']} recorded, {done['verified']} accounts verified by a second officer.")
    result = demo.seed_payout(session, scheme=scheme)
    if result is not None:
        click.echo(
            f"Payout period {demo.DEMO_PERIODS[scheme][0]}: {result['paid']} transfers paid, {result['failed']} failed."
        )
    pairs = demo.seed_duplicates(session, DEMO_COMMUNES_2025 if scheme == "2025" else DEMO_COMMUNES, scheme=scheme)
    if pairs is not None:
        click.echo("Possible duplicates: " + ", ".join(f"{k} {pairs.get(k, 0)}" for k in demo.DUPLICATE_KINDS))
    after = demo.seed_aftercare(session, scheme=scheme)
    if after is not None:
        click.echo(f"Post-payment verification: {after['tasks']} payments sampled, {after['answered']} answered.")
    if demo.seed_waiting_approval(session, scheme=scheme) is not None:
        click.echo(f"Payout period {demo.DEMO_WAITING_PERIODS[scheme][0]}: verified, waiting for the head's approval.")
