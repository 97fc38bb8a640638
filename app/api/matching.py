"""/api/v1/match/: start a matching job for a scope and follow it."""

from __future__ import annotations

import json

from flask import current_app, g
from flask_appbuilder.api import BaseApi, expose, protect
from flask_babel import gettext

from app.api.spec import DocumentedApi
from app.extensions import db
from app.models import MatchRun
from app.security.access import has_capability
from app.security.scope import scoped_query, unit_in_scope, user_unit
from app.services import validation
from app.services.messages import FieldError
from app.services.reference import find_unit
from app.services.registry import matching
from app.views.batch_common import failure_text, shown_progress
from app.views.params import json_object
from jobs import registry


class MatchApi(DocumentedApi, BaseApi):
    resource_name = "match"
    class_permission_name = "MatchReview"
    method_permission_name = {"start": "write", "status": "read"}
    allow_browser_login = True
    openapi_spec_tag = "Match"

    @expose("/", methods=["POST"])
    @protect()
    def start(self):
        """Start matching a unit (default: the user's unit).
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    unit: {type: string, description: a unit code in the active scheme (default the user's unit)}
          responses:
            202: {description: the queued run, content: {application/json: {schema: {$ref: '#/components/schemas/RunQueued'}}}}
            400: {description: unknown unit or malformed body, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            403: {description: no match capability, or the unit is outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        if not has_capability("match"):
            return self.response_403()
        try:
            code = validation.optional_text(json_object(), "unit", max_length=20)
        except FieldError as exc:
            return self.response_400(message=exc.problem.render(gettext))
        unit = find_unit(db.session, code, current_app.config["UNIT_SCHEME"]) if code else user_unit(db.session, g.user)
        if unit is None:
            return self.response_400(message=gettext("Unknown unit code: %(value)s", value=code))
        if not unit_in_scope(db.session, g.user, unit.id):
            return self.response_403()
        run = matching.start_run(db.session, unit, g.user.id)
        db.session.commit()
        registry.start("match", run.id)
        return self.response(202, run_id=run.id, status=run.status)

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    def status(self, pk):
        """A matching run: status, progress and counts per status code.
        ---
        get:
          responses:
            200: {description: the run, content: {application/json: {schema: {$ref: '#/components/schemas/MatchRun'}}}}
            404: {description: unknown run or outside the scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        run = scoped_query(db.session, g.user, MatchRun, "unit_id").filter(MatchRun.id == pk).one_or_none()
        if run is None:
            return self.response_404()
        shown = shown_progress("match", run, "match_run_status")
        counts = json.loads(run.counts_json or "{}")
        return self.response(
            200,
            run_id=run.id,
            **shown,
            processed=shown["progress"]["done"],
            total=shown["progress"]["total"],
            counts={code: counts.get(code, 0) for code in matching.STATUS_CODES},
            failure=failure_text(run),
        )
