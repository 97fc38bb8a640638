"""The outbox screens, in both unit schemes: the list and its filters, the hand-over file and the person page's
phone number and opt-out, each within the user's scope."""

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import page_token
from tests.factories import user_id


@pytest.fixture()
def outbox_world(scheme_app, world):
    """A person with a phone in ``commune`` and one in ``other_commune``, each with a waiting notice, and a
    person of ``commune`` without a phone (skipped)."""
    from app.extensions import db
    from app.services.notices import notify, outbox
    from tests.factories import make_person

    people = {"mine": ("commune", "Nguyễn Văn An"), "other": ("other_commune", "Lê Thị Bình")}
    people["silent"] = ("commune", "Phạm Văn Cường")
    with scheme_app.app_context():
        ids = {
            key: make_person(db.session, world.units[where], name, scheme=world.scheme, cccd=f"00104509{i:04d}")
            for i, (key, (where, name)) in enumerate(people.items())
        }
    with scheme_app.app_context():  # its own context: test clients must not share one
        session = db.session
        outbox.set_contact(session, ids["mine"], None, phone="0912345678", opt_out=False)
        outbox.set_contact(session, ids["other"], None, phone="0987654321", opt_out=False)
        for pid in ids.values():
            notify(session, "complaint_received", pid, reference="complaint:1", number="1")
        session.commit()
    return ids


def _statuses(app, pid):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Notice

    with app.app_context():
        return [n.status for n in db.session.scalars(select(Notice).where(Notice.beneficiary_id == pid))]


def _contact(app, pid):
    from app.extensions import db
    from app.models import BeneficiaryContact

    with app.app_context():
        contact = db.session.get(BeneficiaryContact, pid)
        return (contact.phone, contact.sms_opt_out, contact.opt_out_by_id, None)


def test_the_outbox_list_is_scoped_and_filtered(unit_scheme, world, outbox_world, client_for):
    client = client_for(world.users["officer"])
    page = client.get("/notices/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Tin nhắn cho đối tượng" in html
    assert "Nguyễn Văn An" in html and "Phạm Văn Cường" in html and "Lê Thị Bình" not in html
    assert "0987654321" not in html and "Chờ gửi" in html and "Chưa có số điện thoại" in html
    assert "queued" not in html.split('id="notice-list"')[1].replace('value="queued"', "")
    skipped = client.get("/notices/?status=skipped").get_data(as_text=True)
    assert "Phạm Văn Cường" in skipped and "Nguyễn Văn An" not in skipped
    # the other commune's officer sees only theirs; the city sees both
    other = client_for(world.users["other_officer"]).get("/notices/").get_data(as_text=True)
    assert "Lê Thị Bình" in other and "Nguyễn Văn An" not in other
    city = client_for(world.users["city"]).get("/notices/").get_data(as_text=True)
    assert "Lê Thị Bình" in city and "Nguyễn Văn An" in city


def test_the_hand_over_file_holds_only_the_scope(unit_scheme, world, outbox_world, client_for, scheme_app):
    client = client_for(world.users["officer"])
    response = client.post("/notices/export/", data={"csrf_token": page_token(client)})
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("STT", "Số điện thoại", "Nội dung tin nhắn")
    assert [r[1] for r in rows[1:]] == ["0912345678"]
    assert rows[1][4] == "Đã tiếp nhận phản ánh"
    assert _statuses(scheme_app, outbox_world["mine"]) == ["exported"]
    assert _statuses(scheme_app, outbox_world["other"]) == ["queued"]
    # nothing left: back to the list with a message, no file
    again = client.post("/notices/export/", data={"csrf_token": page_token(client)})
    assert again.status_code == 302


def test_read_only_roles_cannot_hand_over(unit_scheme, world, outbox_world, client_for, scheme_app):
    client = client_for(world.users["leader"])
    assert client.get("/notices/").status_code == 200
    response = client.post("/notices/export/", data={"csrf_token": page_token(client)})
    assert response.status_code in (302, 403)
    assert _statuses(scheme_app, outbox_world["mine"]) == ["queued"]


def test_phone_and_opt_out_from_the_person_page(unit_scheme, world, outbox_world, client_for, scheme_app):
    client = client_for(world.users["officer"])
    pid = outbox_world["mine"]
    page = client.get(f"/person/{pid}").get_data(as_text=True)
    assert 'id="contact-form"' in page and "0912345678" in page
    response = client.post(
        f"/notices/contact/{pid}", data={"csrf_token": page_token(client), "phone": "+84 98 765 4321", "opt_out": "1"}
    )
    assert response.status_code == 302
    phone, opted_out, by, _admin = _contact(scheme_app, pid)
    assert (phone, opted_out) == ("0987654321", True)
    with scheme_app.app_context():
        from app.extensions import db

        assert by == user_id(db.session, world.users["officer"])
    assert _statuses(scheme_app, pid) == ["skipped"]
    page = client.get(f"/person/{pid}").get_data(as_text=True)
    assert "Đã đề nghị không nhận tin nhắn" in page
    # a wrong number is refused with a message, nothing changes
    bad = client.post(
        f"/notices/contact/{pid}",
        data={"csrf_token": page_token(client), "phone": "0212345678"},
        follow_redirects=True,
    )
    assert "0212345678" in bad.get_data(as_text=True)
    assert _contact(scheme_app, pid)[0] == "0987654321"


def test_phone_and_opt_out_outside_the_scope_are_refused(unit_scheme, world, outbox_world, client_for, scheme_app):
    client = client_for(world.users["officer"])
    pid = outbox_world["other"]
    response = client.post(
        f"/notices/contact/{pid}", data={"csrf_token": page_token(client), "phone": "", "opt_out": "1"}
    )
    assert response.status_code in (403, 404)
    assert _contact(scheme_app, pid)[1] is False


def test_with_a_gateway_the_page_sends_instead_of_handing_over(
    unit_scheme, world, outbox_world, client_for, scheme_app, monkeypatch
):
    from jobs.queues import get_queue

    monkeypatch.setitem(scheme_app.config, "SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
    client = client_for(world.users["officer"])
    page = client.get("/notices/").get_data(as_text=True)
    assert 'id="notice-send"' in page and 'id="notice-export"' not in page
    assert client.post("/notices/export/", data={"csrf_token": page_token(client)}).status_code == 404
    assert _statuses(scheme_app, outbox_world["mine"]) == ["queued"]
    response = client.post("/notices/send/", data={"csrf_token": page_token(client)})
    assert response.status_code == 302
    with scheme_app.app_context():
        queue = get_queue()
        assert any(job_id.startswith("notices-send-") for job_id in queue.job_ids)
        queue.empty()  # not run here: no gateway listens
