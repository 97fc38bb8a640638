"""The reconciliation side of the period page: the columns a result file needs, with a template (.xlsx) that the
result reading accepts as it is; the lines still owed listed with their follow-up actions (the person page and
the carry into a later period)."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from tests.conftest import assert_vietnamese_file_input, page_token
from tests.payout.conftest import _lines, build_locked_period, unit

AN, BINH, CUONG, EM = "Nguyễn Văn An", "Lê Thị Bình", "Phạm Văn Cường", "Đỗ Văn Em"


@pytest.fixture()
def period(app, make_person, verified_account):
    from app.extensions import db
    from app.services import payout

    with app.app_context():
        ids = build_locked_period(db.session, make_person, verified_account)
        payout.hand_over(db.session, ids["period"], None, unit(db.session, "001"))
        lines = _lines(db.session, ids["period"])
        return ids["period"], {name: (line.id, line.beneficiary_id) for name, line in lines.items()}


def _template(client, pid):
    response = client.get(f"/payoutperiodview/results_template/{pid}")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def test_the_template_has_every_result_column_and_is_read_as_it_is(app, client_for, period, tmp_path):
    from app.services.payout import RESULT_ALIASES

    pid, lines = period
    phong = client_for("phong.001")
    page = phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    columns = page.split('id="result-columns"', 1)[1].split("</details>", 1)[0]
    assert all(f'data-column="{key}"' in columns for key in RESULT_ALIASES)
    assert "Mã giao dịch" in columns and "Số tiền thực nhận" in columns
    assert_vietnamese_file_input(page.split('id="results-form"', 1)[1])
    wb = _template(phong, pid)
    results, guide = wb.worksheets
    header = [c.value for c in results[1]]
    for key, aliases in RESULT_ALIASES.items():
        assert sum(1 for h in header if h in aliases) == 1, key
    assert len(list(guide.iter_rows())) > len(header)
    # Filled in as it is and uploaded: the results are recorded.
    at = {h: i for i, h in enumerate(header)}
    for name, status, reason in ((AN, "Thất bại", "Sai số tài khoản"), (BINH, "Thành công", None)):
        row = [None] * len(header)
        row[at["Mã giao dịch"]], row[at["Trạng thái"]], row[at["Lý do"]] = str(lines[name][0]), status, reason
        results.append(row)
    path = tmp_path / "mau.xlsx"
    wb.save(path)
    with open(path, "rb") as fh:
        response = phong.post(
            f"/payoutperiodview/results/{pid}",
            data={"csrf_token": page_token(phong), "file": (fh, "mau.xlsx")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 302
    from app.extensions import db

    with app.app_context():
        now = _lines(db.session, pid)
        assert (now[AN].result_status, now[AN].result_reason) == ("failed", "Sai số tài khoản")
        assert now[BINH].result_status == "paid"


def test_owed_lines_are_listed_with_their_follow_up_actions(app, client_for, period):
    from app.extensions import db
    from app.services import payout

    pid, lines = period
    with app.app_context():
        line_ids = [lines[AN][0], lines[CUONG][0]]
        district = unit(db.session, "001")
        payout.record_hand_results(
            db.session,
            pid,
            district,
            None,
            [lines[CUONG][0]],
            status="failed",
            paid_by="Cán bộ xã",
            paid_on=dt.date(2025, 2, 3),
            receipt_ref="BN-1",
            reason="Vắng nhà",
        )
        from app.models import PayoutLine

        db.session.get(PayoutLine, lines[AN][0]).result_status = "failed"
        db.session.commit()
    phong = client_for("phong.001")
    page = phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    table = page.split('id="follow-up-lines"', 1)[1].split("</table>", 1)[0]
    for line_id, name in zip(line_ids, (AN, CUONG), strict=True):
        row = table.split(f'data-line="{line_id}"', 1)[1].split("</tr>", 1)[0]
        assert f'href="/person/{lines[name][1]}"' in row
        assert "carry-link" not in row  # no later period yet: nothing to carry into
    assert f'data-line="{lines[BINH][0]}"' not in table
    with app.app_context():
        payout.create_period(
            db.session,
            name="Tháng 03/2025",
            period_date=dt.date(2025, 3, 1),
            unit=unit(db.session, "001"),
            user_id=None,
        )
        db.session.commit()
    page = phong.get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    table = page.split('id="follow-up-lines"', 1)[1].split("</table>", 1)[0]
    assert table.count('class="btn btn-xs btn-warning carry-link" href="#carry-form"') == 2
    assert 'id="carry-form"' in page
    # A reader without the carry capability sees the person links, not the carry action.
    page = client_for("lanhdao").get(f"/payoutperiodview/detail/{pid}").get_data(as_text=True)
    table = page.split('id="follow-up-lines"', 1)[1].split("</table>", 1)[0]
    assert f'href="/person/{lines[AN][1]}"' in table and "carry-link" not in table
