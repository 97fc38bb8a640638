"""The HTTP gateway sender against a fake gateway started by the test on loopback: accepted, refused (4xx),
unavailable (5xx: later), time-out (later); the sending job: fixed id, idempotent, its state in the notices."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.factories import unit, unit_id

OK, REFUSED, DOWN, SLOW = "0911111111", "0922222222", "0933333333", "0944444444"


class FakeGateway:
    """Answers by the number a message is for; records every request it received."""

    def __init__(self):
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []
        self.release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append(body)
                gateway.authorizations.append(self.headers.get("Authorization"))
                if body["to"] == SLOW:
                    gateway.release.wait(10)  # longer than the client waits: it gives up first
                    return
                status, answer = {
                    OK: (200, {"id": f"gw-{len(gateway.requests)}"}),
                    REFUSED: (400, {"error": "number blocked"}),
                    DOWN: (503, {"error": "try later"}),
                }[body["to"]]
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def sent_to(self, phone):
        return [r for r in self.requests if r["to"] == phone]


@pytest.fixture()
def gateway():
    with FakeGateway() as fake:
        yield fake


def _people(db_session, make_person, phones, code="00004"):
    from app.services.notices import notify, outbox

    ids = {phone: make_person(code, f"Người Thử {i}") for i, phone in enumerate(phones)}
    for i, (phone, pid) in enumerate(ids.items()):
        outbox.set_contact(db_session, pid, None, phone=phone, opt_out=False)
        notify(db_session, "complaint_received", pid, reference=f"complaint:{i}", number=str(i))
    db_session.commit()
    return ids


def _by_phone(db_session, ids):
    from app.models import Notice

    db_session.expire_all()
    return {
        phone: db_session.scalars(select(Notice).where(Notice.beneficiary_id == pid)).one()
        for phone, pid in ids.items()
    }


def test_gateway_contract(db_session, make_person, gateway, monkeypatch):
    from app.services.notices import outbox
    from app.services.notices.senders import HttpGateway

    monkeypatch.setitem(outbox.SETTINGS, "SMS_MAX_ATTEMPTS", 2)
    monkeypatch.setitem(outbox.SETTINGS, "SMS_RETRY_MINUTES", 15)
    ids = _people(db_session, make_person, [OK, REFUSED, DOWN, SLOW])
    sender = HttpGateway(gateway.url, timeout=0.5)
    now = dt.datetime(2026, 3, 2, 8, 0)
    counts = outbox.send_queued(db_session, sender, unit(db_session, "00004"), now=now)
    assert counts == {"sent": 1, "failed": 1, "retry": 2, "skipped": 0}
    notices = _by_phone(db_session, ids)
    ok = notices[OK]
    assert (ok.status, ok.provider_id, ok.attempts, ok.error) == ("sent", "gw-1", 1, None) and ok.sent_at
    (request,) = gateway.sent_to(OK)
    assert request == {"to": OK, "text": ok.text, "encoding": "gsm7", "reference": f"asxh-notice-{ok.id}"}
    refused = notices[REFUSED]
    assert (refused.status, refused.attempts) == ("failed", 1) and "400" in refused.error
    for phone, error in ((DOWN, "503"), (SLOW, "time-out")):
        later = notices[phone]
        assert (later.status, later.attempts) == ("queued", 1) and error in later.error
        assert later.next_attempt_at == now + dt.timedelta(minutes=15)

    # run again at once: nothing is due, nothing is sent twice
    assert outbox.send_queued(db_session, sender, unit(db_session, "00004"), now=now) == {
        "sent": 0,
        "failed": 0,
        "retry": 0,
        "skipped": 0,
    }
    assert len(gateway.sent_to(OK)) == 1 and len(gateway.sent_to(REFUSED)) == 1
    # later: the second failure is the last attempt allowed
    counts = outbox.send_queued(db_session, sender, unit(db_session, "00004"), now=now + dt.timedelta(hours=1))
    assert counts == {"sent": 0, "failed": 2, "retry": 0, "skipped": 0}
    notices = _by_phone(db_session, ids)
    assert [(notices[p].status, notices[p].attempts) for p in (DOWN, SLOW)] == [("failed", 2), ("failed", 2)]
    # the same reference on every attempt, so that a deduplicating gateway delivers once
    assert {r["reference"] for r in gateway.sent_to(DOWN)} == {f"asxh-notice-{notices[DOWN].id}"}


def test_sending_is_a_job_with_a_fixed_id_scoped_to_its_unit(app, make_person, gateway, run_jobs, monkeypatch):
    from app.extensions import db
    from jobs import registry
    from jobs.queues import get_queue

    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", gateway.url)
    with app.app_context():
        mine = _people(db.session, make_person, [OK])
        other = _people(db.session, make_person, ["0977777777"], code="00037")
        first = registry.start("send_notices", unit_id(db.session, "00004"))
        again = registry.start("send_notices", unit_id(db.session, "00004"))
        assert first.id == again.id == f"notices-send-{unit_id(db.session, '00004')}"
        assert get_queue().count == 1
    run_jobs()
    run_jobs()
    with app.app_context():
        assert _by_phone(db.session, mine)[OK].status == "sent"
        assert _by_phone(db.session, other)["0977777777"].status == "queued"  # another unit: not this job's
        registry.start("send_notices", unit_id(db.session, "00004"))
    run_jobs()
    assert len(gateway.sent_to(OK)) == 1  # started again, it sends nothing twice


def test_without_a_gateway_nothing_leaves(app, make_person, run_jobs):
    from app.extensions import db
    from jobs import registry

    assert not app.config.get("SMS_GATEWAY_URL")
    with app.app_context():
        ids = _people(db.session, make_person, [OK])
        registry.start("send_notices", None)
    run_jobs()
    with app.app_context():
        notice = _by_phone(db.session, ids)[OK]
        assert (notice.status, notice.attempts) == ("queued", 0)


def test_unreachable_gateway_is_retried_later(db_session, make_person):
    """No server listens: a connection refused is a temporary failure, never a lost notice."""
    import socket

    from app.services.notices import outbox
    from app.services.notices.senders import HttpGateway

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    ids = _people(db_session, make_person, [OK])
    counts = outbox.send_queued(db_session, HttpGateway(f"http://127.0.0.1:{port}/sms", timeout=0.5))
    assert counts["retry"] == 1
    notice = _by_phone(db_session, ids)[OK]
    assert (notice.status, notice.attempts) == ("queued", 1) and notice.error.startswith("connection")


def test_configured_sender_sends_every_due_notice_in_batches_with_its_token(db_session, make_person, gateway):
    from app.models import Notice
    from app.services.notices import notify, outbox
    from app.services.notices.senders import sender_from_config

    assert sender_from_config({"SMS_GATEWAY_URL": None}) is None  # the default: nothing leaves
    sender = sender_from_config({"SMS_GATEWAY_URL": gateway.url, "SMS_GATEWAY_TOKEN": "s3cret"})
    people = [make_person("00004", f"Người Thử {i}") for i in range(3)]
    for pid in people:
        outbox.set_contact(db_session, pid, None, phone=OK, opt_out=False)
        notify(db_session, "complaint_resolved", pid, reference="complaint:1", number="1")
    db_session.commit()
    assert outbox.send_queued(db_session, sender, batch=2)["sent"] == 3  # two batches, one call
    assert gateway.authorizations == ["Bearer s3cret"] * 3
    db_session.expire_all()
    assert {n.status for n in db_session.scalars(select(Notice))} == {"sent"}
