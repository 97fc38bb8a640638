"""/api/v1/import/: upload a list (multipart), follow its job, apply it, fetch the error report."""

from __future__ import annotations

from flask import current_app, g, request
from flask_appbuilder.api import BaseApi, expose, protect
from flask_babel import gettext

from app.api.spec import DocumentedApi
from app.extensions import db
from app.models import ImportBatch
from app.security.access import has_capability
from app.security.scope import scoped_query, unit_in_scope, user_unit
from app.services.messages import FieldError
from app.services.reference import find_unit
from app.services.registry import importing
from app.views.batch_common import failure_text, shown_progress
from app.views.downloads import error_report_response
from jobs import registry


class ImportApi(DocumentedApi, BaseApi):
    resource_name = "import"
    class_permission_name = "ImportBatch"
    method_permission_name = {"upload": "write", "status": "read", "apply": "write", "report": "read"}
    allow_browser_login = True
    openapi_spec_tag = "Import"

    def _batch(self, pk: int) -> ImportBatch | None:
        return scoped_query(db.session, g.user, ImportBatch, "unit_id").filter(ImportBatch.id == pk).one_or_none()

    def _can_import(self) -> bool:
        return has_capability("import")

    @expose("/", methods=["POST"])
    @protect()
    def upload(self):
        """Upload a list.
        ---
        post:
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    file: {type: string, format: binary}
                    unit: {type: string, description: unit code in the active scheme (default the user's unit)}
                    category: {type: string}
                    apply: {type: boolean, description: apply without a preview}
          responses:
            201: {description: the batch, content: {application/json: {schema: {$ref: '#/components/schemas/ImportBatch'}}}}
            400: {description: no file, unknown unit, or a file that cannot be read, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            403: {description: no import capability, or the unit is outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        if not self._can_import():
            return self.response_403()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self.response_400(message=gettext("A file is required."))
        unit_code = request.form.get("unit")
        unit = (
            find_unit(db.session, unit_code, current_app.config["UNIT_SCHEME"])
            if unit_code
            else user_unit(db.session, g.user)
        )
        if unit is None:
            return self.response_400(message=gettext("Unknown unit code: %(value)s", value=unit_code))
        if not unit_in_scope(db.session, g.user, unit.id):
            return self.response_403()
        try:
            batch = importing.create_batch(
                db.session,
                filename=upload.filename,
                content=upload.read(),
                unit=unit,
                category=request.form.get("category") or None,
                user_id=g.user.id,
                auto_apply=request.form.get("apply", "").lower() in ("1", "true", "yes"),
            )
        except FieldError as exc:
            db.session.rollback()
            return self.response_400(message=exc.problem.render(gettext))
        db.session.commit()
        if batch.status == "uploaded":
            registry.start("import", batch.id)
        return self.response(201, **importing.summary(batch))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def status(self, pk):
        """Status and progress of a batch.
        ---
        get:
          responses:
            200: {description: the batch summary with live progress, content: {application/json: {schema: {$ref: '#/components/schemas/ImportBatch'}}}}
            404: {description: unknown batch or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        batch = self._batch(pk)
        if batch is None:
            return self.response_404()
        return self.response(
            200,
            **dict(importing.summary(batch), **shown_progress("import", batch, "batch_status")),
            failure=failure_text(batch),
        )

    @expose("/<int:pk>/apply", methods=["POST"])
    @protect()
    def apply(self, pk):
        """Apply a parsed batch.
        ---
        post:
          responses:
            202: {description: queued, content: {application/json: {schema: {$ref: '#/components/schemas/ImportQueued'}}}}
            400: {description: the batch cannot be applied in its state, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            403: {description: no import capability, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            404: {description: unknown batch or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        batch = self._batch(pk)
        if batch is None:
            return self.response_404()
        if not self._can_import():
            return self.response_403()
        if not importing.request_apply(db.session, batch):
            return self.response_400(message=gettext("This import cannot be applied in its current state."))
        db.session.commit()
        registry.start("import_apply", batch.id)
        return self.response(202, batch_id=batch.id, status="applying")

    @expose("/<int:pk>/report", methods=["GET"])
    @protect()
    def report(self, pk):
        """The error report as .xlsx.
        ---
        get:
          responses:
            200:
              description: the error report in Vietnamese
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema: {type: string, format: binary}
            404: {description: unknown batch or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        batch = self._batch(pk)
        if batch is None:
            return self.response_404()
        return error_report_response(batch)
