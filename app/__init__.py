"""Application factory. No database writes happen here: see ``flask asxh init``."""

from __future__ import annotations

import sys

from flask import Flask

from config import load_config


def create_app(overrides: dict | None = None) -> Flask:
    from flask_appbuilder import AppBuilder

    from app import (
        cli,
        models,  # noqa: F401  (one metadata for FAB and us)
        web,
    )
    from app.api import register_apis
    from app.extensions import csrf, db, migrate
    from app.security.manager import password_policy
    from app.views import register_views

    flask_app = Flask(__name__)
    flask_app.config.update(load_config(overrides))
    flask_app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = password_policy
    from app.services.payout import holds
    from app.services.registry import sheets

    sheets.configure(sheets.limits_from_config(flask_app.config))  # every import reads through these limits
    holds.configure(flask_app.config)  # the payout holds' settings (PAYOUT_*)
    from app.services.notices import outbox

    outbox.configure(flask_app.config)  # the notices' settings (SMS_*)

    db.init_app(flask_app)
    from app.security.audit import init_audit

    init_audit(flask_app)  # audit trail: ORM listeners on db.session, actor of requests and commands
    from app.services import derived

    derived.install_listeners(db.session)  # visit list and case types follow beneficiary writes, not reads
    from app.caching import watch_figure_writes, watch_unit_changes

    watch_unit_changes(db.session)  # a change of units drops the search forms' cached unit choices
    watch_figure_writes()  # a committed write makes the home page's cached figures stale
    csrf.init_app(flask_app)
    migrate.init_app(flask_app, db, directory=str(flask_app.root_path + "/migrations"))

    with flask_app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(flask_app, db.session)
        register_views(appbuilder)
        register_apis(appbuilder)
        from app.views.sorting import restrict_order_columns

        restrict_order_columns(appbuilder)  # lists offer to sort only by what SQL can order
        from app.views.counting import bound_list_counts

        bound_list_counts(appbuilder)  # a list counts its rows exactly up to a limit, estimates above it

        from app.views.display import localize_views

        localize_views(appbuilder)  # titles, labels and values of every CRUD view (FAB's security views too)

    _translate_wtforms()
    cli.register(flask_app)
    web.register(flask_app)
    from app.api.errors import register_error_handlers

    register_error_handlers(flask_app)  # no SQL in any answer: conflicts are a generic 409
    _check_unit_scheme(flask_app)
    return flask_app


def _check_unit_scheme(flask_app: Flask) -> None:
    """Refuse to start on a database whose people, users, … sit in units of another scheme than UNIT_SCHEME:
    every scope would come out empty. A fresh database (no tables yet) passes; ``asxh init`` creates them."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import OperationalError

    from app.extensions import db
    from app.services.reference import rows_of_other_schemes
    from config import ConfigError

    scheme = flask_app.config["UNIT_SCHEME"]
    with flask_app.app_context():
        try:
            tables = set(inspect(db.engine).get_table_names())
            if "admin_unit" not in tables:
                return
            found = rows_of_other_schemes(db.session, scheme, tables)
        except OperationalError:  # the database is not reachable yet: nothing to compare
            return
        finally:
            db.session.remove()
    if found and not _migrating_units():
        other = "2024" if scheme == "2025" else "2025"
        raise ConfigError(
            f"UNIT_SCHEME={scheme} but the database holds rows in units of the {other} scheme "
            f"({', '.join(f'{t}: {n}' for t, n in found.items())}). Move them first with "
            f"`flask --app run asxh migrate-units --from {other} --to {scheme}`, "
            f"or keep UNIT_SCHEME={other}."
        )


def _migrating_units(argv: list[str] | None = None) -> bool:
    """Is this process the ``asxh migrate-units`` command? It is the one that may start on a database of the
    other scheme, since it moves it. Read from the command line: the Flask CLI builds the app before Click
    has chosen the command."""
    from app.cli.units import MIGRATE_UNITS_COMMAND

    args = list(sys.argv[1:] if argv is None else argv)
    return any(a == "asxh" and args[i + 1 : i + 2] == [MIGRATE_UNITS_COMMAND] for i, a in enumerate(args))


def _translate_wtforms() -> None:
    """WTForms fills numbers into its messages before templates see them; give it our catalog."""
    import flask_wtf.i18n
    from flask import has_request_context
    from flask_babel import get_translations

    flask_wtf.i18n._get_translations = lambda: get_translations() if has_request_context() else None
