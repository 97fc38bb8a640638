"""A true OpenAPI spec for /api/v1 (tests/api/test_schemathesis.py holds every operation to it).

``DocumentedApi`` is mixed into every resource: it declares the path parameters FAB leaves out (``<int:pk>``
→ integer, others → string), the error responses every protected operation can give (400 bad input,
401 no or bad token, 403 no permission, 404 for ids in the path), turns FAB's string ``id``/``ids`` into
integers, and registers the response schemas of our custom endpoints (``SCHEMAS``, referenced from the
docstrings as ``#/components/schemas/<name>``).
"""

from __future__ import annotations

import re

from apispec.exceptions import DuplicateComponentNameError

from app.services.validation import MAX_ID

_RULE_ARG = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")


def _obj(properties: dict, required: tuple = ()) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


INT = {"type": "integer"}
INT_N = {"type": "integer", "nullable": True}
STR = {"type": "string"}
STR_N = {"type": "string", "nullable": True}
BOOL = {"type": "boolean"}
BOOL_N = {"type": "boolean", "nullable": True}
MESSAGE = _obj({"message": STR}, ("message",))
PROBLEM = _obj({"field": STR_N, "code": STR, "message": STR, "severity": STR})
COUNTS = {"type": "object", "additionalProperties": INT}
HEADLINE = _obj(
    {
        "beneficiaries": INT,
        "with_verified_account": INT,
        "want_account": INT,
        "paid_to_account": INT,
        "unit_id": INT,
        "unit_code": STR,
        "unit_name": STR,
        "period_id": INT_N,
    }
)

PROGRESS = _obj(
    {
        "phase": {"type": "string", "enum": ["waiting", "running", "finished", "failed"]},
        "active": BOOL,
        "done": INT_N,
        "total": INT_N,
        "percent": INT_N,
    },
    ("phase", "active", "percent"),
)
SHOWN = {"status_label": STR, "progress": PROGRESS}  # app/views/batch_common.shown_progress

SCHEMAS = {
    "Message": MESSAGE,
    "Refusal": _obj({"message": STR, "problem": PROBLEM}, ("message",)),
    "Problems": _obj({"message": STR, "problems": {"type": "array", "items": PROBLEM}}, ("message",)),
    "Account": _obj(
        {
            "id": INT,
            "beneficiary_id": INT,
            "commune_id": INT,
            "channel": STR,
            "bank_bin": STR_N,
            "bank_name": STR_N,
            "account_number": STR_N,
            "holder_name": STR_N,
            "holder_ascii": STR_N,
            "name_mismatch_reason": STR_N,
            "shared_flag": BOOL,
            "source": STR_N,
            "state": STR,
            "entered_by_id": INT_N,
            "entered_at": STR_N,
            "verified_by_id": INT_N,
            "verified_at": STR_N,
            "reject_reason": STR_N,
            "supersedes_id": INT_N,
        },
        ("id", "beneficiary_id", "state"),
    ),
    "AccountList": _obj(
        {"count": INT, "result": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}},
        ("count", "result"),
    ),
    "AccountResult": _obj({"result": {"$ref": "#/components/schemas/Account"}}, ("result",)),
    "AccountEntered": _obj(
        {"result": {"$ref": "#/components/schemas/Account"}, "warnings": {"type": "array", "items": PROBLEM}},
        ("result", "warnings"),
    ),
    "RunQueued": _obj({"run_id": INT, "status": STR}, ("run_id", "status")),
    "MatchRun": _obj(
        {"run_id": INT, "status": STR, "processed": INT_N, "total": INT_N, "counts": COUNTS, "failure": STR_N, **SHOWN},
        ("run_id", "status", "counts", "progress"),
    ),
    "ImportBatch": _obj(
        {
            "batch_id": INT,
            "status": STR,
            "filename": STR,
            "rows_total": INT_N,
            "rows_imported": INT_N,
            "rows_updated": INT_N,
            "rows_duplicate": INT_N,
            "rows_error": INT_N,
            "rows_blank": INT_N,
            "rows_footer": INT_N,
            "rows_corrected": INT_N,
            "rows_warning": INT_N,
            "rows_parsed": INT_N,
            "header_row": INT_N,
            "duplicate_of": INT_N,
            "failure": STR_N,
            **SHOWN,
        },
        ("batch_id", "status", "progress"),
    ),
    "ImportQueued": _obj({"batch_id": INT, "status": STR}, ("batch_id", "status")),
    "PeriodList": _obj(
        {
            "result": {
                "type": "array",
                "items": _obj(
                    {
                        "id": INT,
                        "name": STR,
                        "period_date": {"type": "string", "format": "date"},
                        "unit_code": STR,
                        "status": STR,
                    }
                ),
            }
        },
        ("result",),
    ),
    "Period": _obj(
        {
            "id": INT,
            "name": STR,
            "status": STR,
            "period_date": {"type": "string", "format": "date"},
            "unit_code": STR,
            "checksum": STR_N,
            "summary": {"type": "object"},
            "totals": {"type": "object"},
        },
        ("id", "name", "status"),
    ),
    "SyncRun": _obj(
        {
            "run_id": INT,
            "period_id": INT,
            "unit_id": INT,
            "status": STR,
            "added": INT_N,
            "removed": INT_N,
            "changed": INT_N,
            "total": INT_N,
            "failure": STR_N,
            **SHOWN,
        },
        ("run_id", "status", "progress"),
    ),
    "ResultImport": _obj(
        {
            "rows": INT,
            "paid": INT,
            "partial": INT,
            "failed": INT,
            "reversed": INT,
            "skipped": INT,
            "override": BOOL,
            "import_id": INT,
            "problems": {"type": "array", "items": PROBLEM},
        },
        ("rows", "paid", "partial", "failed", "reversed", "skipped", "import_id"),
    ),
    "ResultRefusal": _obj(
        {"message": STR, "problem": PROBLEM, "problems": {"type": "array", "items": PROBLEM}, "report_id": INT_N},
        ("message",),
    ),
    "LockSummary": {"type": "object", "description": "The period's summary with its checksum"},
    "LockRun": _obj(
        {
            "run_id": INT,
            "period_id": INT,
            "unit_id": INT,
            "status": STR,
            "checksum": STR_N,
            "people": INT_N,
            "lines": INT_N,
            "amount": INT_N,
            "failure": STR_N,
            **SHOWN,
        },
        ("run_id", "status", "progress"),
    ),
    "Approvals": _obj(
        {
            "period_id": INT,
            "status": STR,
            "round": INT,
            "approved": BOOL,
            "frozen": BOOL,
            "void": INT,
            "tiers": {
                "type": "array",
                "items": _obj(
                    {
                        "tier": INT,
                        "title": STR,
                        "required": INT,
                        "valid": INT,
                        "complete": BOOL,
                        "approvals": {
                            "type": "array",
                            "items": _obj({"user_id": INT, "username": STR_N, "decided_at": STR, "valid": BOOL}),
                        },
                    }
                ),
            },
            "ledger": {
                "type": "array",
                "items": _obj(
                    {
                        "round": INT,
                        "tier": INT,
                        "decision": STR,
                        "decision_label": STR,
                        "reason": STR_N,
                        "user_id": INT,
                        "decided_at": STR,
                        "checksum": STR,
                    }
                ),
            },
        },
        ("period_id", "status", "round", "approved", "tiers"),
    ),
    "Measure": _obj({"total": HEADLINE, "units": {"type": "array", "items": HEADLINE}}, ("total", "units")),
    "Visit": _obj(
        {
            "id": INT,
            "beneficiary_id": INT,
            "commune_id": INT,
            "visit_date": {"type": "string", "format": "date"},
            "met": BOOL_N,
            "respondent": STR_N,
            "case_type": INT_N,
            "has_account": BOOL_N,
            "wants_account": BOOL_N,
            "declined": BOOL_N,
            "vulnerable": BOOL_N,
            "support": {"type": "array", "items": STR},
            "account_id": INT_N,
            "questionnaire_version": INT,
            "recorded_by": STR_N,
            "recorded_at": STR_N,
            "source": STR_N,
            "answers": {"type": "object"},
            "described": {"type": "array", "items": _obj({"key": STR, "label": STR, "text": STR_N})},
        },
        ("id", "beneficiary_id"),
    ),
    "VisitRecorded": {
        "allOf": [
            {"$ref": "#/components/schemas/Visit"},
            _obj({"warnings": {"type": "array", "items": PROBLEM}, "task_id": INT_N, "beneficiary_case_type": INT_N}),
        ]
    },
    "VisitHistory": _obj(
        {
            "beneficiary_id": INT,
            "case_type": INT_N,
            "case_label": STR_N,
            "result": {"type": "array", "items": {"$ref": "#/components/schemas/Visit"}},
        },
        ("beneficiary_id", "result"),
    ),
    "Questionnaire": _obj(
        {"id": INT, "version": INT, "definition": {"type": "object"}}, ("id", "version", "definition")
    ),
    "VisitList": _obj(
        {
            "commune_id": INT,
            "date": {"type": "string", "format": "date"},
            "result": {
                "type": "array",
                "items": _obj(
                    {
                        "beneficiary_id": INT,
                        "full_name": STR,
                        "birth": STR_N,
                        "sex": STR_N,
                        "cccd": STR_N,
                        "address": STR_N,
                        "street": STR_N,
                        "lane": STR_N,
                        "alley": STR_N,
                        "house": STR_N,
                        "group_id": INT_N,
                        "member_id": INT_N,
                        "match_status": STR_N,
                        "case_type": INT_N,
                    }
                ),
            },
        },
        ("commune_id", "result"),
    ),
}

_ERRORS = ("400", "401", "403")


def _integer_ids(node) -> None:
    """FAB documents ``id`` / ``ids`` of its REST responses as strings; ours are integers."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for name, schema in props.items():
                if not isinstance(schema, dict):
                    continue
                if name == "ids" and schema.get("type") == "array":
                    schema["items"] = {"type": "integer"}
                elif (name == "id" or name.endswith("_id")) and (schema.get("type") == "string" or schema == {}):
                    schema.pop("type", None)
                    schema["type"] = "integer"
        for value in node.values():
            _integer_ids(value)
    elif isinstance(node, list):
        for value in node:
            _integer_ids(value)


def _info_columns(operation) -> None:
    """FAB documents ``add_columns`` / ``edit_columns`` of ``_info`` as objects; it returns lists of fields."""
    schema = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema")
    if not isinstance(schema, dict):
        return
    field = _obj(
        {
            "name": STR,
            "label": STR,
            "description": STR,
            "type": STR,
            "required": BOOL,
            "unique": BOOL,
            "validate": {"type": "array", "items": STR},
        },
        ("name",),
    )
    for key in ("add_columns", "edit_columns"):
        if key in schema.get("properties", {}):
            schema["properties"][key] = {"type": "array", "items": field}


def _menu_items(operation) -> None:
    """FAB's menu: a category's ``childs`` are entries or "-" separators."""
    schema = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {}).get("schema")
    try:
        childs = schema["properties"]["result"]["items"]["properties"]["childs"]
    except (KeyError, TypeError):
        return
    childs["items"] = {"anyOf": [{"type": "object"}, {"type": "string", "enum": ["-"]}]}


def finish_spec(api_spec) -> None:
    """Over every path of the spec, FAB's own resources included (idempotent): one form of status keys, the
    error responses any protected operation can give, 404 where the path names a resource, integer ids,
    and FAB's 422 whose message is the marshmallow errors by field."""
    response = api_spec.components.responses.get("422")
    if response is not None:
        response["content"]["application/json"]["schema"]["properties"]["message"] = {
            "anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": {}}]
        }
    for path, operations in api_spec._paths.items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            responses = operation["responses"] = {str(k): v for k, v in operation.get("responses", {}).items()}
            codes = _ERRORS if operation.get("security") else ()
            if "{" in path:
                codes += ("404",)
            for code in codes:
                responses.setdefault(code, {"$ref": f"#/components/responses/{code}"})
            _integer_ids(operation)
            if path.endswith("/_info"):
                _info_columns(operation)
            if path.endswith("/menu/"):
                _menu_items(operation)


class DocumentedApi:
    """Mixin for every BaseApi / ModelRestApi of the app (see the module docstring)."""

    def path_helper(self, path=None, operations=None, **kwargs):
        self._spec_rule = path or ""
        return super().path_helper(path=path, operations=operations, **kwargs)

    def operation_helper(self, path=None, operations=None, methods=None, func=None, **kwargs):
        super().operation_helper(path=path, operations=operations, methods=methods, func=func, **kwargs)
        args = [(conv, name) for conv, name in _RULE_ARG.findall(getattr(self, "_spec_rule", ""))]
        for operation in operations.values():
            params = operation.setdefault("parameters", [])
            declared = {p.get("name") for p in params if p.get("in") == "path"}
            for conv, name in args:
                if name in declared:
                    continue
                schema = (
                    {"type": "integer", "minimum": 0, "maximum": MAX_ID}
                    if conv == "int" or name == "pk"
                    else {"type": "string"}
                )
                params.append({"in": "path", "name": name, "required": True, "schema": schema})
            if not params:
                operation.pop("parameters")

    def add_api_spec(self, api_spec) -> None:
        super().add_api_spec(api_spec)
        finish_spec(api_spec)

    def add_apispec_components(self, api_spec) -> None:
        super().add_apispec_components(api_spec)
        for name, schema in SCHEMAS.items():
            try:
                api_spec.components.schema(name, schema)
            except DuplicateComponentNameError:
                pass
        _integer_ids(api_spec.components.schemas)
