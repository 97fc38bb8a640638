"""Helpers for the integrity tests: synthetic people (never real ones) in the demo communes, imports via REST."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from tests import factories


@pytest.fixture()
def make_person(app):
    """make_person("00037", "Trần Thị Bình", cccd="001145000002") → Beneficiary id (with a BTXH enrolment)."""
    from app.extensions import db

    def make(
        code: str,
        name: str,
        *,
        cccd: str | None = None,
        dob: dt.date | None = dt.date(1945, 5, 1),
        sex: str = "M",
        enrol: dict | None = None,
        match_status: str = "matched",
    ) -> int:
        with app.app_context():
            return factories.make_person(
                db.session,
                code,
                name,
                enrol=enrol,
                cccd=cccd,
                date_of_birth=dob,
                birth_year=dob.year if dob else None,
                sex=sex,
                match_status=match_status,
                case_type=1,
            )

    return make


@pytest.fixture()
def rest_import(app, api_token, run_jobs):
    """rest_import("phong.001", csv_text) → (client, headers, batch summary after parsing); .apply(batch_id)."""
    client = app.test_client()

    def upload(username: str, csv_text: str, *, unit: str | None = None, category: str = "BTXH", name="list.csv"):
        headers = api_token(username)
        data = {"file": (io.BytesIO(csv_text.encode("utf-8")), name), "category": category}
        if unit:
            data["unit"] = unit
        response = client.post("/api/v1/import/", headers=headers, data=data, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_data(as_text=True)
        run_jobs()
        batch_id = response.json["batch_id"]
        return headers, client.get(f"/api/v1/import/{batch_id}", headers=headers).json

    def apply(username: str, batch_id: int):
        headers = api_token(username)
        response = client.post(f"/api/v1/import/{batch_id}/apply", headers=headers)
        assert response.status_code == 202, response.get_data(as_text=True)
        run_jobs()
        return client.get(f"/api/v1/import/{batch_id}", headers=headers).json

    upload.apply = apply
    upload.client = client
    return upload


def person_row(app, pk: int) -> dict:
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        db.session.expire_all()
        b = db.session.get(Beneficiary, pk)
        if b is None:
            return {}
        return {
            "full_name": b.full_name,
            "cccd": b.cccd,
            "commune": b.commune.code,
            "match_status": b.match_status,
            "enrolments": sorted(
                (e.category, e.commune.code, e.monthly_amount, e.ended_at is not None) for e in b.enrolments
            ),
            "ended": b.ended_at is not None,
            "end_reason": b.end_reason,
            "duplicate_of_id": b.duplicate_of_id,
        }
