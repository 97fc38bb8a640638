"""The app's own Vietnamese controls in a real browser (whatever the browser's language): the file input shows
"Chọn tệp" and the chosen file's name; the campaign form's filter box narrows the unit choice."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_file_input_and_unit_filter(app, as_user, tmp_path):
    s = as_user("phong.001")
    s.go("/importbatchview/upload/")
    page = s.page
    page.wait_for_load_state("networkidle")
    button = page.locator("label.asxh-file-button")
    name = page.locator(".asxh-file-name")
    assert button.is_visible() and button.inner_text().strip() == "Chọn tệp"
    assert name.inner_text() == "Chưa chọn tệp"
    assert page.locator("#file").bounding_box()["width"] <= 1  # the browser's own control is hidden visually
    sheet = tmp_path / "danh sach.xlsx"
    sheet.write_bytes(b"x")
    page.set_input_files("#file", str(sheet))
    assert name.inner_text() == "danh sach.xlsx"

    so = as_user("so.ldtbxh")
    so.go("/campaignview/add")
    page = so.page
    page.wait_for_load_state("networkidle")
    page.fill("#unit_filter", "truc bach")  # accents ignored
    visible = page.eval_on_selector_all("#unit option", "os => os.filter(o => !o.hidden).map(o => o.text)")
    assert visible == ["Phường Trúc Bạch"]
    groups = page.eval_on_selector_all("#unit optgroup", "gs => gs.filter(g => !g.hidden).map(g => g.label)")
    assert groups == ["Xã/phường/thị trấn"]


def test_required_fields_are_checked_by_the_server_in_vietnamese(app, as_user):
    """The browser's own validation bubbles speak the browser's language: forms leave the check to the server,
    which answers in Vietnamese next to the field."""
    so = as_user("so.ldtbxh")
    so.go("/campaignview/add")
    page = so.page
    page.wait_for_load_state("networkidle")
    assert page.eval_on_selector_all("form", "fs => fs.every(f => f.noValidate)")
    page.locator("#model_form button[type=submit], #model_form input[type=submit]").first.click()
    page.wait_for_load_state("networkidle")
    assert "Trường này là bắt buộc" in page.inner_text("body")
