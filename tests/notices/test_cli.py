"""``asxh export-notices`` and ``asxh send-notices`` (no gateway configured: nothing leaves)."""

import json

from openpyxl import load_workbook
from sqlalchemy import select


def test_export_and_send_from_the_command_line(app, make_person, tmp_path):
    from app.extensions import db
    from app.models import Notice
    from app.services.notices import notify, outbox

    mine, other = make_person("00004", "Nguyễn Văn An"), make_person("00037", "Lê Thị Bình")
    with app.app_context():
        for pid in (mine, other):
            outbox.set_contact(db.session, pid, None, phone="0912345678", opt_out=False)
            notify(db.session, "complaint_received", pid, reference="complaint:3", number="3")
        db.session.commit()
    runner = app.test_cli_runner()
    sent = runner.invoke(args=["asxh", "send-notices", "--wait"])
    assert sent.exit_code == 0 and json.loads(sent.output)["gateway"] is False
    path = tmp_path / "tin-nhan.xlsx"
    result = runner.invoke(args=["asxh", "export-notices", str(path), "--unit", "00004"])
    assert result.exit_code == 0, result.output
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][1] == "Số điện thoại" and len(rows) == 2
    with app.app_context():
        statuses = dict(db.session.execute(select(Notice.beneficiary_id, Notice.status)).all())
    assert statuses == {mine: "exported", other: "queued"}
