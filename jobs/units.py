"""The move of the data from one scheme of units to the next (``asxh migrate-units``): one job per pair of
schemes, fixed id, idempotent (a run already done returns its summary and changes nothing)."""

from __future__ import annotations

from jobs.runtime import app_context, failure_recorded, report_progress


def unit_migration_job_id(from_scheme: str, to_scheme: str) -> str:
    return f"migrate-units-{from_scheme}-{to_scheme}"


def report_path(migration) -> str:
    """Where the run's .xlsx report goes: the instance directory (config ``ASXH_INSTANCE_DIR``)."""
    from app.services.unit_migration import report_name
    from config import instance_dir

    return str(instance_dir() / "reports" / report_name(migration.from_scheme, migration.to_scheme))


def run_unit_migration(migration_id: int) -> dict:
    """Run the migration recorded as UnitMigration ``migration_id``; the report's headings in Vietnamese."""
    with app_context():
        from flask_babel import force_locale, gettext

        from app.extensions import db
        from app.models import UnitMigration
        from app.services import unit_migration

        session = db.session
        row = session.get(UnitMigration, migration_id)
        if row is None:
            return {}
        if row.status == "done":
            return unit_migration.run_summary(row)
        path = report_path(row)
        with failure_recorded(UnitMigration, migration_id, "unit migration"), force_locale("vi"):
            return unit_migration.migrate_units(
                session,
                row.from_scheme,
                row.to_scheme,
                run_id=migration_id,
                translate=gettext,
                report_path=path,
                progress=report_progress,
            )
        return unit_migration.run_summary(session.get(UnitMigration, migration_id))  # refused: the row says why
