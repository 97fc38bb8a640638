"""Extension singletons, initialised in create_app().

AppBuilder is created per app in create_app(): its view registry is per instance,
and tests build several apps in one process.
"""

from flask_appbuilder.models.sqla import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

# One metadata for FAB's ab_* tables and ours, so Alembic sees the whole schema.
db = SQLA(model_class=Model, metadata=Model.metadata)
migrate = Migrate()
csrf = CSRFProtect()
