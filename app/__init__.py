"""Application factory. No database writes happen here: see ``flask asxh init``."""
from __future__ import annotations

from flask import Flask

from config import load_config


def create_app(overrides: dict | None = None) -> Flask:
    from flask_appbuilder import AppBuilder

    from app import cli, web
    from app import models  # noqa: F401  (one metadata for FAB and us)
    from app.api import register_apis
    from app.extensions import csrf, db, migrate
    from app.security.manager import password_policy
    from app.views import register_views

    flask_app = Flask(__name__)
    flask_app.config.update(load_config(overrides))
    flask_app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = password_policy
    from app.services import sheets

    sheets.configure(sheets.limits_from_config(flask_app.config))  # every import reads through these limits

    db.init_app(flask_app)
    from app.security.audit import init_audit

    init_audit(flask_app)  # audit trail: ORM listeners on db.session, actor of requests and commands
    from app.services import derived

    derived.install_listeners(db.session)  # visit list and case types follow beneficiary writes, not reads
    csrf.init_app(flask_app)
    migrate.init_app(flask_app, db, directory=str(flask_app.root_path + "/migrations"))

    with flask_app.app_context():
        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(flask_app, db.session)
        register_views(appbuilder)
        register_apis(appbuilder)

    _translate_wtforms()
    cli.register(flask_app)
    web.register(flask_app)
    from app.api.errors import register_error_handlers

    register_error_handlers(flask_app)  # no SQL in any answer: conflicts are a generic 409
    return flask_app


def _translate_wtforms() -> None:
    """WTForms fills numbers into its messages before templates see them; give it our catalog."""
    import flask_wtf.i18n
    from flask import has_request_context
    from flask_babel import get_translations

    flask_wtf.i18n._get_translations = lambda: get_translations() if has_request_context() else None
