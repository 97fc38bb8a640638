"""Beneficiary import through the real RQ job, on the fixture spreadsheets of fixtures/samples."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "samples"
CATEGORY_CODE = {
    "Bảo trợ xã hội": "BTXH",
    "Người có công": "NCC",
    "Hộ nghèo": "HN",
    "Hộ cận nghèo": "HCN",
    "Khác": "KHAC",
}


def expected(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.expected.json").read_text(encoding="utf-8"))


@pytest.fixture()
def do_import(app, run_jobs):
    """do_import(path, unit="00004", category="BTXH", apply=True) → the batch summary, via RQ."""
    from app.extensions import db
    from app.models import ImportBatch
    from app.services.reference import find_unit
    from app.services.registry import importing
    from jobs import registry

    def run(path, unit="00004", category="BTXH", apply=True, content=None):
        with app.app_context():
            batch = importing.create_batch(
                db.session,
                filename=Path(path).name,
                content=content if content is not None else Path(path).read_bytes(),
                unit=find_unit(db.session, unit, "2024"),
                category=category,
                user_id=None,
                auto_apply=apply,
            )
            db.session.commit()
            batch_id = batch.id
            if batch.status == "uploaded":
                registry.start("import", batch_id)
        run_jobs()
        with app.app_context():
            return importing.summary(db.session.get(ImportBatch, batch_id))

    def apply(batch_id):
        with app.app_context():
            registry.start("import_apply", batch_id)
        run_jobs()
        with app.app_context():
            return importing.summary(db.session.get(ImportBatch, batch_id))

    run.apply = apply
    return run


def people(app, **where):
    from app.extensions import db
    from app.models import Beneficiary

    with app.app_context():
        query = select(Beneficiary)
        for k, v in where.items():
            query = query.where(getattr(Beneficiary, k) == v)
        return [
            {
                "full_name": b.full_name,
                "cccd": b.cccd,
                "dob": b.date_of_birth,
                "year": b.birth_year,
                "sex": b.sex,
                "commune": b.commune.code,
                "categories": sorted(e.category for e in b.enrolments),
                "amounts": sorted(e.monthly_amount for e in b.enrolments if e.monthly_amount is not None),
            }
            for b in db.session.scalars(query)
        ]


def staged(app, batch_id):
    from app.extensions import db
    from app.models import ImportRow

    with app.app_context():
        rows = db.session.scalars(
            select(ImportRow).where(ImportRow.batch_id == batch_id).order_by(ImportRow.row_number)
        )
        return {
            r.row_number: {
                "outcome": r.outcome,
                "cccd": r.cccd,
                "dob": r.date_of_birth,
                "year": r.birth_year,
                "name": r.full_name,
                "commune_id": r.commune_id,
                "amount": r.monthly_amount,
                "category": r.category,
                "sex": r.sex,
                "codes": [p["code"] for p in json.loads(r.problems)] if r.problems else [],
            }
            for r in rows
        }


def assert_accounted(s):
    assert s["rows_total"] == s["rows_imported"] + s["rows_updated"] + s["rows_duplicate"] + s["rows_error"]


@pytest.mark.parametrize(
    "name,unit,total,blank,footer,header",
    [
        ("title_rows_footer.xlsx", "00004", 20, 4, 5, 6),
        ("header_variants.csv", "00004", 12, 1, 1, 2),
        ("merged_sex_columns.xlsx", "00004", 12, 0, 0, 3),
        ("numeric_cccd.xlsx", "00004", 12, 0, 0, 1),
        ("dates_mixed.xlsx", "00004", 14, 0, 0, 2),
        ("encodings.xlsx", "00004", 15, 0, 0, 1),
        ("amounts.csv", "00004", 13, 0, 0, 1),
        ("unit_names.xlsx", "001", 14, 0, 0, 1),
        ("categories.xlsx", "00004", 13, 0, 0, 1),
        ("bad_rows.xlsx", "001", 14, 0, 0, 1),
        ("legacy.xls", "001", 10, 1, 2, 4),
    ],
)
def test_every_row_is_accounted_for(do_import, name, unit, total, blank, footer, header):
    s = do_import(SAMPLES / name, unit=unit, category="BTXH")
    assert s["status"] == "applied"
    assert s["header_row"] == header
    assert (s["rows_total"], s["rows_blank"], s["rows_footer"]) == (total, blank, footer)
    assert_accounted(s)


def test_title_rows_and_footer_import_twenty_people(app, do_import):
    s = do_import(SAMPLES / "title_rows_footer.xlsx")
    assert s["rows_imported"] == 20 and s["rows_error"] == 0
    rows = people(app)
    assert len(rows) == 20
    assert all(r["commune"] == "00004" and r["categories"] == ["BTXH"] for r in rows)
    # Signers ("Người lập biểu" etc.) are never people.
    assert not any("lập" in r["full_name"].lower() for r in rows)


def test_numeric_cccd_restored_and_scientific_refused(app, do_import):
    s = do_import(SAMPLES / "numeric_cccd.xlsx")
    rows = staged(app, s["batch_id"])
    for row_number, exp in expected("numeric_cccd").items():
        if not row_number.isdigit():
            continue
        row = rows[int(row_number)]
        if exp["expected_cccd"] is None:
            assert row["outcome"] == "error" and "cccd_scientific" in row["codes"]
        else:
            assert row["cccd"] == exp["expected_cccd"], row_number
            if exp["raw_kind"] in ("number", "number_fmt"):
                assert "cccd_zero_restored" in row["codes"]
    assert s["rows_corrected"] >= 3


def test_dates_in_every_shape(app, do_import):
    s = do_import(SAMPLES / "dates_mixed.xlsx")
    rows = staged(app, s["batch_id"])
    for row_number, exp in expected("dates_mixed").items():
        if not row_number.isdigit() or exp["expected"] is None:
            continue
        row = rows[int(row_number)]
        value = exp["expected"]
        if len(value) == 10:
            assert row["dob"].isoformat() == value, row_number
        else:
            assert row["dob"] is None and row["year"] == int(value[:4]), row_number


def test_encodings_become_unicode_names(app, do_import):
    s = do_import(SAMPLES / "encodings.xlsx")
    rows = staged(app, s["batch_id"])
    for row_number, exp in expected("encodings")["Danh sách"].items():
        if not row_number.isdigit():
            continue
        assert rows[int(row_number)]["name"] == exp["expected"], (row_number, exp["encoding"])


def test_tcvn3_sheet_is_converted(app, tmp_path, do_import):
    # The TCVN3 sheet is the second one: save it alone to import it.
    wb = openpyxl.load_workbook(SAMPLES / "encodings.xlsx")
    for ws in list(wb.worksheets):
        if ws.title != "TCVN3":
            wb.remove(ws)
    path = tmp_path / "tcvn3.xlsx"
    wb.save(path)
    s = do_import(path)
    rows = staged(app, s["batch_id"])
    exp = expected("encodings")["TCVN3"]
    checked = 0
    for row_number, e in exp.items():
        if row_number.isdigit():
            assert rows[int(row_number)]["name"] == e["expected"]
            checked += 1
    assert checked == 5


def test_amounts_in_every_shape(app, do_import):
    s = do_import(SAMPLES / "amounts.csv")
    rows = staged(app, s["batch_id"])
    for row_number, exp in expected("amounts").items():
        if row_number.isdigit():
            assert rows[int(row_number)]["amount"] == exp["expected_vnd"], row_number


def test_units_named_not_coded(app, do_import):
    from app.extensions import db
    from app.models import AdminUnit

    s = do_import(SAMPLES / "unit_names.xlsx", unit="01")
    rows = staged(app, s["batch_id"])
    with app.app_context():
        codes = {u.id: u.code for u in db.session.scalars(select(AdminUnit).where(AdminUnit.scheme == "2024"))}
    for row_number, exp in expected("unit_names").items():
        if not row_number.isdigit():
            continue
        row = rows[int(row_number)]
        if exp["status"] == "ok":
            assert codes[row["commune_id"]] == exp["ward_code"], (row_number, exp)
        else:
            assert row["outcome"] == "error", (row_number, exp)
    assert "unit_ambiguous" in rows[11]["codes"] and "unit_unknown" in rows[14]["codes"]
    assert "unit_missing" in rows[15]["codes"]
    # The same list imported by Ba Đình: the Minh Khai rows are outside its scope.
    s = do_import(SAMPLES / "unit_names.xlsx", unit="001")
    rows = staged(app, s["batch_id"])
    assert "unit_out_of_scope" in rows[12]["codes"] and "unit_out_of_scope" in rows[13]["codes"]
    assert rows[2]["outcome"] == "duplicate" and rows[9]["outcome"] == "duplicate"


def test_categories_by_code_or_name(app, do_import):
    s = do_import(SAMPLES / "categories.xlsx", category=None)
    rows = staged(app, s["batch_id"])
    for row_number, exp in expected("categories").items():
        if not row_number.isdigit():
            continue
        if exp["expected"] is None:
            assert "category_missing" in rows[int(row_number)]["codes"]
        else:
            assert rows[int(row_number)]["category"] == CATEGORY_CODE[exp["expected"]], row_number


def test_bad_rows_are_reported_with_reasons(app, do_import):
    s = do_import(SAMPLES / "bad_rows.xlsx", unit="001")
    rows = staged(app, s["batch_id"])
    assert "cccd_length" in rows[4]["codes"]
    assert "cccd_year_mismatch" in rows[5]["codes"]
    assert "cccd_sex_mismatch" in rows[6]["codes"]
    assert "date_invalid" in rows[7]["codes"]
    assert "name_missing" in rows[8]["codes"]
    assert "amount_invalid" in rows[9]["codes"]
    assert rows[11]["outcome"] == "dup_file"
    assert "cccd_chars" in rows[12]["codes"]
    assert s["rows_error"] == 7 and s["rows_duplicate"] == 1


def test_no_name_column_is_refused_in_vietnamese(app, do_import):
    from app.extensions import db
    from app.models import ImportBatch

    s = do_import(SAMPLES / "no_name_column.xlsx")
    assert s["status"] == "failed" and s["rows_total"] == 0
    with app.app_context():
        message = json.loads(db.session.get(ImportBatch, s["batch_id"]).message)
        assert message["code"] == "header_not_found"
    assert people(app) == []


def test_same_file_twice_changes_nothing_and_says_so(app, do_import):
    first = do_import(SAMPLES / "title_rows_footer.xlsx")
    second = do_import(SAMPLES / "title_rows_footer.xlsx")
    assert second["status"] == "duplicate_file" and second["duplicate_of"] == first["batch_id"]
    assert len(people(app)) == 20


def test_corrected_version_updates_instead_of_adding(app, tmp_path, do_import):
    do_import(SAMPLES / "title_rows_footer.xlsx")
    wb = openpyxl.load_workbook(SAMPLES / "title_rows_footer.xlsx")
    ws = wb.active
    headers = [str(c.value or "").replace("\n", " ") for c in ws[6]]
    amount_col = next(i for i, h in enumerate(headers) if h.startswith("Mức trợ")) + 1
    ws.cell(row=8, column=amount_col).value = 999000
    path = tmp_path / "corrected.xlsx"
    wb.save(path)
    s = do_import(path)
    assert (s["rows_imported"], s["rows_updated"], s["rows_duplicate"]) == (0, 1, 19)
    assert len(people(app)) == 20
    assert any(r["amounts"] == [999000] for r in people(app))


def test_person_in_two_categories_is_one_person(app, do_import):
    # header_variants.csv has no category column: the category comes with the upload.
    first = do_import(SAMPLES / "header_variants.csv", category="BTXH")
    # The same file as a người có công list is another import, not the same one.
    s = do_import(SAMPLES / "header_variants.csv", category="NCC")
    assert s["status"] == "applied" and s["rows_imported"] == first["rows_imported"] > 0
    rows = people(app)
    assert len(rows) == first["rows_imported"] and all(r["categories"] == ["BTXH", "NCC"] for r in rows)


def test_preview_writes_nothing_until_applied(app, do_import):
    s = do_import(SAMPLES / "title_rows_footer.xlsx", apply=False)
    assert s["status"] == "parsed" and s["rows_imported"] == 20
    assert people(app) == []
    s = do_import.apply(s["batch_id"])
    assert s["status"] == "applied" and len(people(app)) == 20


def test_killed_parse_resumes_without_duplicates(app, monkeypatch):
    from app.extensions import db
    from app.models import ImportBatch, ImportRow
    from app.services.reference import find_unit
    from app.services.registry import importing, staging

    monkeypatch.setattr(staging, "CHUNK", 5)
    calls = {"n": 0}

    def killer(**kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")

    with app.app_context():
        batch = importing.create_batch(
            db.session,
            filename="t.xlsx",
            content=(SAMPLES / "title_rows_footer.xlsx").read_bytes(),
            unit=find_unit(db.session, "00004", "2024"),
            category="BTXH",
            user_id=None,
        )
        db.session.commit()
        with pytest.raises(KeyboardInterrupt):
            importing.parse_batch(db.session, batch.id, progress=killer)
        db.session.rollback()
        assert db.session.get(ImportBatch, batch.id).status == "parsing"
        assert (
            db.session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.batch_id == batch.id)) == 10
        )
        importing.parse_batch(db.session, batch.id)
        importing.apply_batch(db.session, batch.id)
        s = importing.summary(db.session.get(ImportBatch, batch.id))
    assert s["rows_total"] == 20 and s["rows_imported"] == 20 and s["status"] == "applied"
    assert len(people(app)) == 20


def test_failed_apply_leaves_the_registry_as_it_was(app, do_import):
    from app.extensions import db
    from app.models import ImportBatch
    from app.services.registry import importing

    s = do_import(SAMPLES / "title_rows_footer.xlsx", apply=False)

    def explode(**kw):
        if kw.get("step") == 2:
            raise RuntimeError("database went away")

    with app.app_context():
        with pytest.raises(RuntimeError):
            importing.apply_batch(db.session, s["batch_id"], progress=explode)
        assert db.session.get(ImportBatch, s["batch_id"]).status == "applying"
    assert people(app) == []
    with app.app_context():
        importing.apply_batch(db.session, s["batch_id"])
    assert len(people(app)) == 20


def test_error_report_in_vietnamese(app, do_import, client_for):
    s = do_import(SAMPLES / "bad_rows.xlsx", unit="001")
    response = client_for("so.ldtbxh").get(f"/importbatchview/report/{s['batch_id']}")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    ws = wb.active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:4] == ("Dòng trong bảng tính", "Trường", "Mức độ", "Lý do")
    by_row = {}
    for r in rows[2:]:
        by_row.setdefault(r[0], []).append(r)
    assert by_row[4][0][1] == "CCCD" and "12" in by_row[4][0][3]
    assert "dòng 10" in by_row[11][0][3].lower() or "10" in by_row[11][0][3]
    # The original row is kept beside the reason.
    assert any(cell for cell in by_row[7][0][4:])
    assert set(by_row) == {4, 5, 6, 7, 8, 9, 11, 12}


def test_cli_import_json(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "asxh",
            "import",
            str(SAMPLES / "title_rows_footer.xlsx"),
            "--unit",
            "00004",
            "--category",
            "BTXH",
            "--wait",
            "--json",
        ]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert {
        k: data[k] for k in ("status", "rows_total", "rows_imported", "rows_updated", "rows_duplicate", "rows_error")
    } == {
        "status": "applied",
        "rows_total": 20,
        "rows_imported": 20,
        "rows_updated": 0,
        "rows_duplicate": 0,
        "rows_error": 0,
    }
    again = runner.invoke(
        args=[
            "asxh",
            "import",
            str(SAMPLES / "title_rows_footer.xlsx"),
            "--unit",
            "00004",
            "--category",
            "BTXH",
            "--wait",
        ]
    )
    assert (
        "đã được nhập" in again.output.lower() or "duplicate" in again.output.lower() or "trùng" in again.output.lower()
    )


def test_api_upload_status_apply_report(app, api_token, run_jobs):
    client = app.test_client()
    headers = api_token("so.ldtbxh")
    with open(SAMPLES / "bad_rows.xlsx", "rb") as fh:
        response = client.post(
            "/api/v1/import/",
            headers=headers,
            content_type="multipart/form-data",
            data={"file": (fh, "bad_rows.xlsx"), "unit": "00001", "category": "HN"},
        )
    assert response.status_code == 201, response.get_data(as_text=True)
    batch_id = response.json["batch_id"]
    run_jobs()
    status = client.get(f"/api/v1/import/{batch_id}", headers=headers).json
    assert status["status"] == "parsed" and status["rows_error"] == 7
    assert client.post(f"/api/v1/import/{batch_id}/apply", headers=headers).status_code == 202
    run_jobs()
    status = client.get(f"/api/v1/import/{batch_id}", headers=headers).json
    assert status["status"] == "applied" and status["rows_imported"] == 6
    report = client.get(f"/api/v1/import/{batch_id}/report", headers=headers)
    assert report.status_code == 200 and report.data[:2] == b"PK"
    # Commune police may read but not import.
    police = api_token("congan.00004")
    with open(SAMPLES / "bad_rows.xlsx", "rb") as fh:
        denied = client.post(
            "/api/v1/import/", headers=police, content_type="multipart/form-data", data={"file": (fh, "x.xlsx")}
        )
    assert denied.status_code == 403


def test_ui_upload_preview_confirm(app, client_for, run_jobs):
    from tests.conftest import assert_vietnamese_file_input, csrf_from

    client = client_for("phong.001")
    page = client.get("/importbatchview/upload/").get_data(as_text=True)
    assert "Nhập danh sách" in page or "Tải" in page
    assert_vietnamese_file_input(page)
    token = csrf_from(page)
    from app.extensions import db
    from app.services.reference import find_unit

    with app.app_context():
        unit_id = find_unit(db.session, "00004", "2024").id
    with open(SAMPLES / "title_rows_footer.xlsx", "rb") as fh:
        response = client.post(
            "/importbatchview/upload/",
            content_type="multipart/form-data",
            data={"csrf_token": token, "file": (fh, "danh sach.xlsx"), "unit": str(unit_id), "category": "BTXH"},
        )
    assert response.status_code == 302
    detail_url = response.headers["Location"]
    run_jobs()
    html = client.get(detail_url).get_data(as_text=True)
    assert 'data-count="imported">20<' in html and "apply-form" in html
    assert people(app) == []
    batch_id = int(detail_url.rstrip("/").split("/")[-1])
    progress = client.get(f"/importbatchview/progress/{batch_id}").json
    assert progress["status"] == "parsed" and progress["rows_total"] == 20
    response = client.post(f"/importbatchview/apply/{batch_id}", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    run_jobs()
    assert len(people(app)) == 20
    # Without the CSRF token the confirmation is refused.
    assert client.post(f"/importbatchview/apply/{batch_id}").status_code == 400


def test_commune_police_see_imported_people_to_be_matched(app, do_import, client_for):
    do_import(SAMPLES / "title_rows_footer.xlsx")
    html = client_for("congan.00004").get("/beneficiaryview/list/").get_data(as_text=True)
    assert "Chờ đối sánh" in html
    html = client_for("congan.00001").get("/beneficiaryview/list/").get_data(as_text=True)
    assert "Chờ đối sánh" not in html


def test_a_dead_worker_is_recovered(app, run_jobs):
    """A batch left half-parsed by a killed worker (no job in Redis any more) is resumed by the next worker."""
    from app.extensions import db
    from app.models import ImportBatch, ImportRow
    from app.services.reference import find_unit
    from app.services.registry import importing
    from jobs.recovery import requeue_interrupted

    with app.app_context():
        batch = importing.create_batch(
            db.session,
            filename="t.xlsx",
            content=(SAMPLES / "title_rows_footer.xlsx").read_bytes(),
            unit=find_unit(db.session, "00004", "2024"),
            category="BTXH",
            user_id=None,
            auto_apply=True,
        )
        db.session.commit()
        from app.services.registry import staging

        original = staging.CHUNK
        staging.CHUNK = 5

        def killer(**kw):
            raise SystemExit("worker killed")

        try:
            with pytest.raises(SystemExit):
                importing.parse_batch(db.session, batch.id, progress=killer)
        finally:
            staging.CHUNK = original
        db.session.rollback()
        assert db.session.get(ImportBatch, batch.id).status == "parsing"
        assert db.session.scalar(select(func.count()).select_from(ImportRow).where(ImportRow.batch_id == batch.id)) == 5
        assert requeue_interrupted() == [f"import-{batch.id}"]
        assert requeue_interrupted() == []  # already waiting in the queue: not enqueued twice
    run_jobs()
    with app.app_context():
        s = importing.summary(db.session.get(ImportBatch, batch.id))
    assert s["status"] == "applied" and s["rows_total"] == 20 and s["rows_imported"] == 20
    assert len(people(app)) == 20


def test_a_failed_import_can_be_run_again(app, client_for, run_jobs, monkeypatch):
    from app.extensions import db
    from app.models import ImportBatch
    from app.services.reference import find_unit
    from app.services.registry import importing
    from tests.conftest import csrf_from

    with app.app_context():
        batch = importing.create_batch(
            db.session,
            filename="t.xlsx",
            content=(SAMPLES / "title_rows_footer.xlsx").read_bytes(),
            unit=find_unit(db.session, "00004", "2024"),
            category="BTXH",
            user_id=None,
        )
        db.session.commit()
        pk = batch.id
        importing.fail_batch(db.session, pk, None, "database went away")
    client = client_for("so.ldtbxh")
    page = client.get(f"/importbatchview/detail/{pk}").get_data(as_text=True)
    assert "retry-form" in page
    client.post(f"/importbatchview/retry/{pk}", data={"csrf_token": csrf_from(page)})
    run_jobs()
    with app.app_context():
        s = importing.summary(db.session.get(ImportBatch, pk))
    assert s["status"] == "parsed" and s["rows_total"] == 20 and s["rows_imported"] == 20
    # A file refused for its content is not run again.
    with app.app_context():
        refused = importing.create_batch(
            db.session,
            filename="x.xlsx",
            content=(SAMPLES / "no_name_column.xlsx").read_bytes(),
            unit=find_unit(db.session, "00004", "2024"),
            category="BTXH",
            user_id=None,
        )
        db.session.commit()
        from app.services.messages import Problem

        importing.fail_batch(db.session, refused.id, Problem("full_name", "header_not_found", "x"))
        assert importing.retry_batch(db.session, db.session.get(ImportBatch, refused.id)) is False


def test_import_fills_the_search_and_sort_keys(app, do_import):
    """The set-based import writes the same keys as the ORM (search, sort and address keys)."""
    from app.extensions import db
    from app.models import Beneficiary
    from app.services.registry.keys import search_keys

    summary = do_import(SAMPLES / "title_rows_footer.xlsx")
    assert summary["rows_imported"] > 0
    with app.app_context():
        rows = db.session.scalars(select(Beneficiary)).all()
        assert rows and all(
            (b.search_key, b.sort_key, b.address_key) == tuple(search_keys(b.full_name, b.address).values())
            for b in rows
        )
        assert all(b.search_key and b.search_key.isascii() for b in rows)


@pytest.mark.parametrize("cache_limit", [None, 1])
def test_a_repeated_bad_value_is_reported_on_every_row(app, do_import, tmp_path, monkeypatch, cache_limit):
    """Each column parses a distinct value once per import: a value that is refused is refused again, with
    the same reason, on every row that has it (also once a column's cache is full)."""
    from app.services.registry import importing

    if cache_limit is not None:
        monkeypatch.setattr(importing, "_COLUMN_CACHE_LIMIT", cache_limit)
    path = tmp_path / "repeated.csv"
    path.write_text(
        "STT,Họ và tên,Số CCCD,Ngày sinh,Giới tính,Mã xã,Mức trợ cấp\n"
        "1,Nguyễn Văn An,001045000001,31/02/1945,Nam,99999,abc\n"
        "2,Trần Văn Bình,001046000002,31/02/1945,Nam,99999,abc\n"
        "3,Lê Văn Cường,001047000003,01/02/1947,Nam,00004,1.000.000\n"
        "4,Phạm Văn Dũng,001047000004,01/02/1947,Nam,00004,1.000.000\n",
        encoding="utf-8",
    )
    s = do_import(path, unit="001", apply=False)
    rows = staged(app, s["batch_id"])
    for n in (2, 3):
        assert {"date_invalid", "unit_unknown", "amount_invalid"} <= set(rows[n]["codes"]), rows[n]
    for n in (4, 5):
        assert rows[n]["codes"] == [] and rows[n]["amount"] == 1_000_000 and rows[n]["year"] == 1947
    assert s["rows_error"] == 2 and s["rows_imported"] == 2


def test_import_writes_the_visit_list_with_parsed_addresses(app, do_import):
    """The bulk import gives every new person a visit-list row with the address already parsed (nothing left
    for a later sync to re-parse)."""
    from app.extensions import db
    from app.models import Beneficiary, VisitAssignment
    from app.services.visits.addresses import parse_address
    from app.services.visits.workgroups import sync_visit_list

    summary = do_import(SAMPLES / "title_rows_footer.xlsx")
    assert summary["rows_imported"] > 0
    with app.app_context():
        rows = db.session.execute(
            select(Beneficiary, VisitAssignment).join(VisitAssignment, VisitAssignment.beneficiary_id == Beneficiary.id)
        ).all()
        assert len(rows) == db.session.scalar(select(func.count()).select_from(Beneficiary))
        for person, row in rows:
            parts = parse_address(person.address)
            assert row.commune_id == person.commune_id
            assert (row.street_key, row.lane_no, row.alley_no, row.house_no, row.house_suffix) == (
                parts.street_key,
                parts.lane,
                parts.alley,
                parts.house,
                parts.house_suffix,
            )
            assert row.address_seen == (person.address or "")
        assert sync_visit_list(db.session, None) == 0


def test_cli_import_refusal_is_in_vietnamese(app):
    """A refused upload (an unknown category) answers like every other verb: in Vietnamese, exit status 1."""
    result = app.test_cli_runner().invoke(
        args=["asxh", "import", str(SAMPLES / "title_rows_footer.xlsx"), "--unit", "00004", "--category", "XYZ"]
    )
    assert result.exit_code == 1
    message = result.output.split("Error:", 1)[-1]
    assert "XYZ" in message and any(ch in message for ch in "ạảãáàăâđêôơư"), message
