"""Property-based test of /api/v1 against its own OpenAPI spec (schemathesis, bounded and derandomized).

For an admin and a commune police officer (congan.00004): no operation answers 5xx, every status code is
documented, and every response matches its documented schema. The spec is made true by app/api/spec.py and
the docstrings of app/api/*.py.

Excluded, because they cannot be run safely here (each has its own tests):
- ``/api/v1/security/login`` and ``/refresh``: FAB's authentication; random logins would trip the login
  throttle and lock the demo accounts the other tests use (tests/audit/test_login_protection.py).
- ``POST /api/v1/import/``: a multipart file upload whose random bytes are not a spreadsheet; the import
  paths are tested with real files in tests/jobs and tests/web.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.conftest import DEMO_PASSWORD

USERS = ("admin", "congan.00004")
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def tokens(app):
    client = app.test_client()
    out = {}
    for username in USERS:
        r = client.post(
            "/api/v1/security/login", json={"username": username, "password": DEMO_PASSWORD, "provider": "db"}
        )
        assert r.status_code == 200, r.get_data(as_text=True)
        out[username] = {"Authorization": f"Bearer {r.json['access_token']}"}
    return out


@pytest.fixture(scope="module")
def api_schema(app, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", app, headers=tokens["admin"])
    return schema.exclude(path_regex=r"^/api/v1/security/").exclude(path="/api/v1/import/", method="POST")


SETTINGS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("username", USERS)
def test_api_conforms_to_its_spec(api_schema, tokens, username):
    """Every operation, one bounded hypothesis run each; all failures are reported together."""
    failures, operations = [], 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:  # valid input, then input that breaks the schema (must be a 4xx, not a 5xx)

            @given(case=operation.as_strategy(generation_mode=mode))
            @SETTINGS
            def run(case):
                case.validate_response(case.call(headers=tokens[username]), checks=CHECKS)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (collect every operation's failure)
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:2000]}")
    assert operations >= 25
    assert not failures, "\n\n".join(failures)
