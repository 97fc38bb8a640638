"""Notices to beneficiaries: ``asxh send-notices`` (through the configured gateway) and ``asxh export-notices``
(the waiting notices as .xlsx for an office's own SMS service, marked handed over)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli.common import db_session, echo_json, resolve_unit


def register(group) -> None:
    for command in (send_notices_command, export_notices_command):
        group.add_command(command)


@click.command("send-notices")
@click.option("--unit", "unit_code", default=None, help="Unit code in the active scheme (default: everywhere)")
@click.option("--wait", is_flag=True, help="Send here and print the counts instead of queueing the job")
@with_appcontext
def send_notices_command(unit_code, wait):
    """Send the due notices through SMS_GATEWAY_URL (a fixed-id RQ job; run it periodically, e.g. from cron)."""
    from jobs import registry

    unit = resolve_unit(unit_code) if unit_code else None
    unit_id = unit.id if unit is not None else None
    if wait:
        echo_json(registry.run_here("send_notices", unit_id))
        return
    registry.start("send_notices", unit_id)
    click.echo(f"job {registry.job_id('send_notices', unit_id)} queued")


@click.command("export-notices")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--unit", "unit_code", default=None, help="Unit code in the active scheme (default: everywhere)")
@with_appcontext
def export_notices_command(path, unit_code):
    """Write the waiting notices to PATH (.xlsx) and mark them handed over."""
    from flask_babel import force_locale, gettext

    from app.models import AdminUnit
    from app.models.admin_unit import CITY_CODE
    from app.services.notices import outbox
    from app.views.labels import labels

    unit: AdminUnit = resolve_unit(unit_code or CITY_CODE)
    with force_locale("vi"), open(path, "wb") as out:
        count = outbox.export_outbox(db_session(), unit, None, out, gettext, labels("notice_event"))
    click.echo(f"{count} notices written to {path}")
