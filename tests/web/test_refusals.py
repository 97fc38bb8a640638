"""Typed refusals of the services answer with one status each, on pages and in the REST API alike."""

import pytest

from app.services.messages import Conflict, NotFound
from app.services.scope import OutOfScope


@pytest.mark.parametrize(
    "make, status, words",
    [
        (lambda: NotFound("beneficiary", "No such beneficiary in your scope"), 404, "không"),
        (lambda: OutOfScope("period", "This payout period is outside your scope"), 403, "phạm vi"),
        (lambda: Conflict(), 409, "xung đột"),
    ],
)
def test_a_typed_refusal_escaping_anywhere_has_its_status(app, make, status, words):
    for path in ("/api/v1/anything", "/beneficiaryview/list/"):
        with app.test_request_context(path):
            response = app.make_response(app.handle_user_exception(make()))
        assert response.status_code == status, path
        if path.startswith("/api/"):
            body = response.get_json()
            assert body["problem"]["code"] == make().problem.code
            text = body["message"]
        else:
            text = response.get_data(as_text=True)
        assert words in text.lower(), (path, text)
