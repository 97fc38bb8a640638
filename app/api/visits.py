"""/api/v1/visit/: home visits for tablets in the field (record, history, the question set, the visit list)."""

from __future__ import annotations

from flask import g, request
from flask_appbuilder.api import BaseApi, expose, protect
from flask_babel import gettext

from app.api.spec import DocumentedApi
from app.extensions import db
from app.models import Beneficiary, WorkGroup
from app.security.audit import log_page
from app.security.masking import cccd_formatter
from app.security.scope import scoped_query, unit_in_scope
from app.services import validation
from app.services.cases import CASE_TYPES
from app.services.formatting import local_today
from app.services.messages import FieldError
from app.services.reference import is_commune
from app.services.visits import questionnaire as qn
from app.services.visits import survey, workgroups
from app.views.params import id_arg, json_object
from app.views.problems import problem_json

_problem = problem_json


def _visit_dict(v, describe: bool = True) -> dict:
    out = {
        "id": v.id,
        "beneficiary_id": v.beneficiary_id,
        "commune_id": v.commune_id,
        "visit_date": v.visit_date.isoformat(),
        "met": v.met,
        "respondent": v.respondent,
        "case_type": v.case_type,
        "has_account": v.has_account,
        "wants_account": v.wants_account,
        "declined": v.declined,
        "vulnerable": v.vulnerable,
        "support": v.support_list,
        "account_id": v.account_id,
        "questionnaire_version": v.questionnaire.version,
        "recorded_by": v.recorded_by.username if v.recorded_by else None,
        "recorded_at": v.recorded_at.isoformat() if v.recorded_at else None,
        "source": v.source,
        "answers": v.answer_dict,
    }
    if describe:
        out["described"] = [
            {"key": a["key"], "label": a["label"], "text": a["text"]}
            for a in survey.describe_answers(v.questionnaire.parsed, v.answer_dict, gettext)
        ]
    return out


class VisitApi(DocumentedApi, BaseApi):
    resource_name = "visit"
    class_permission_name = "Visit"
    method_permission_name = {"record": "write", "history": "read", "questionnaire": "read", "visit_list": "read"}
    allow_browser_login = True
    openapi_spec_tag = "Visit"

    @expose("/", methods=["POST"])
    @protect()
    def record(self):
        """Record a visit.
        ---
        post:
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    beneficiary_id: {type: integer}
                    answers: {type: object, description: "answers by question key (see GET questionnaire)"}
          responses:
            201: {description: the visit, its case type and warnings, content: {application/json: {schema: {$ref: '#/components/schemas/VisitRecorded'}}}}
            400: {description: "every problem: [{field, code, message}] (messages in Vietnamese)", content: {application/json: {schema: {$ref: '#/components/schemas/Problems'}}}}
            404: {description: unknown beneficiary or outside your scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        body = json_object(required=True)
        answers = body.get("answers")
        try:
            bid = validation.parse_id(body.get("beneficiary_id"), "beneficiary_id")
        except FieldError as exc:
            return self.response(400, message=exc.problem.render(gettext), problems=[_problem(exc.problem)])
        if scoped_query(db.session, g.user, Beneficiary).filter(Beneficiary.id == bid).one_or_none() is None:
            return self.response_404()
        if not isinstance(answers, dict):
            return self.response(
                400,
                message=gettext("answers must be a JSON object."),
                problems=[
                    {
                        "field": "answers",
                        "code": "required",
                        "message": gettext("answers must be a JSON object."),
                        "severity": "error",
                    }
                ],
            )
        try:
            visit = survey.record_visit(db.session, bid, answers, g.user.id, source="api")
        except survey.SurveyInvalid as exc:
            db.session.rollback()
            return self.response(
                400, message=gettext("The visit was not saved."), problems=[_problem(p) for p in exc.problems]
            )
        warnings = [_problem(p) for p in visit.warnings]
        task_id = visit.task.id if visit.task is not None else None
        db.session.commit()
        person = db.session.get(Beneficiary, bid)
        return self.response(
            201,
            **_visit_dict(visit, describe=False),
            warnings=warnings,
            task_id=task_id,
            beneficiary_case_type=person.case_type,
        )

    @expose("/", methods=["GET"])
    @protect()
    def history(self):
        """The visits of one beneficiary, newest first (the first decides the case).
        ---
        get:
          parameters:
          - {in: query, name: beneficiary_id, required: true, schema: {type: integer, minimum: 1}}
          responses:
            200: {description: the visits, newest first, content: {application/json: {schema: {$ref: '#/components/schemas/VisitHistory'}}}}
            404: {description: unknown beneficiary or outside your scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        bid = id_arg("beneficiary_id", source=request.args)
        if bid is None:
            return self.response_400(message=gettext("beneficiary_id must be a number."))
        person = scoped_query(db.session, g.user, Beneficiary).filter(Beneficiary.id == bid).one_or_none()
        if person is None:
            return self.response_404()
        visits = survey.visit_history(db.session, person.id)
        return self.response(
            200,
            beneficiary_id=person.id,
            case_type=person.case_type,
            case_label=gettext(CASE_TYPES[person.case_type]) if person.case_type in CASE_TYPES else None,
            result=[_visit_dict(v) for v in visits],
        )

    @expose("/questionnaire", methods=["GET"])
    @protect()
    def questionnaire(self):
        """The question set in use (labels in Vietnamese) and its version.
        ---
        get:
          responses:
            200: {description: the question set, content: {application/json: {schema: {$ref: '#/components/schemas/Questionnaire'}}}}
            404: {description: no question set is active, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        q = qn.active_questionnaire(db.session)
        if q is None:
            return self.response_404()
        return self.response(200, id=q.id, version=q.version, definition=q.parsed)

    @expose("/list", methods=["GET"])
    @protect()
    def visit_list(self):
        """A commune's visit list in address order (optionally one group's).
        ---
        get:
          parameters:
          - {in: query, name: commune_id, schema: {type: integer, minimum: 1}}
          - {in: query, name: group_id, schema: {type: integer, minimum: 1}}
          responses:
            200: {description: the people to visit in address order, content: {application/json: {schema: {$ref: '#/components/schemas/VisitList'}}}}
            400: {description: the unit is not a commune, or a malformed id, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
            404: {description: unknown commune or group, or outside your scope, content: {application/json: {schema: {$ref: '#/components/schemas/Message'}}}}
        """
        group_id = id_arg("group_id", source=request.args)
        commune_id = id_arg("commune_id", source=request.args)
        if group_id is not None:
            group = scoped_query(db.session, g.user, WorkGroup).filter(WorkGroup.id == group_id).one_or_none()
            if group is None:
                return self.response_404()
            commune_id = group.commune_id
        elif commune_id is None:
            commune_id = g.user.unit_id
        if commune_id is None or not unit_in_scope(db.session, g.user, commune_id):
            return self.response_404()
        from app.models import AdminUnit

        commune = db.session.get(AdminUnit, commune_id)
        if not is_commune(commune):
            return self.response_400(message=gettext("Choose a commune."))
        rows = db.session.execute(workgroups.visit_list_query(commune.id, group_id=group_id)).all()
        log_page("beneficiary", [b.id for b, _a in rows], unit_id=commune.id)  # identifiers read
        return self.response(
            200,
            commune_id=commune.id,
            date=local_today().isoformat(),
            result=[
                {
                    "beneficiary_id": b.id,
                    "full_name": b.full_name,
                    "birth": b.birth,
                    "sex": b.sex,
                    "cccd": cccd_formatter(b.cccd) or None,
                    "address": b.address,
                    "street": a.street,
                    "lane": a.lane_no or None,
                    "alley": a.alley_no or None,
                    "house": a.house_no or None,
                    "group_id": a.group_id,
                    "member_id": a.member_id,
                    "match_status": b.match_status,
                    "case_type": b.case_type,
                }
                for b, a in rows
            ],
        )
