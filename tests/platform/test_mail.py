"""E-mail and webhook delivery: recorded under a unique key first, so each is sent once."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from app.platform.mail import send_email
from app.platform.models import OutboundMessage
from app.platform.webhook import post_webhook


@pytest.fixture
def mail_app(app, db, mail_config, monkeypatch):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    return app


def ledger(db, key):
    return db.session.execute(
        select(OutboundMessage).where(OutboundMessage.dedupe_key == key)
    ).scalar_one_or_none()


def test_send_email_delivers_text_html_and_attachment_once(mail_app, db, smtp):
    kwargs = {
        "dedupe_key": "test:once",
        "to": "ada@example.com",
        "subject": "Your report",
        "text": "plain body",
        "html": "<p>html body</p>",
        "attachments": [("report.pdf", b"%PDF-1.4 fake", "application/pdf")],
    }
    assert send_email(**kwargs) is True
    assert send_email(**kwargs) is False

    messages = smtp.wait_for(1, timeout=5)
    assert len(messages) == 1
    message = messages[0]
    assert message["Subject"] == "Your report"
    assert message["To"] == "ada@example.com"
    assert message.get_body(("plain",)).get_content().strip() == "plain body"
    assert "html body" in message.get_body(("html",)).get_content()
    attachment = next(message.iter_attachments())
    assert attachment.get_filename() == "report.pdf"
    assert attachment.get_content() == b"%PDF-1.4 fake"

    row = ledger(db, "test:once")
    assert row.status == "sent" and row.channel == "email" and row.sent_at is not None


def test_without_mail_server_mail_is_logged_and_recorded(app, db, smtp, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    caplog.set_level("INFO", logger="app.platform.mail")
    assert send_email(dedupe_key="test:logged", to="bo@example.com", subject="Hi", text="hello")
    assert smtp.to("di@example.com") == []
    assert "MAIL_SERVER unset" in caplog.text and "hello" in caplog.text
    assert ledger(db, "test:logged").status == "sent"


def test_failed_delivery_is_marked_and_sent_by_a_later_retry(app, db, smtp, monkeypatch):
    from tests.support.net import free_port

    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens there
    kwargs = {"dedupe_key": "test:retry", "to": "cy@example.com", "subject": "Retry", "text": "x"}
    with pytest.raises(OSError):
        send_email(**kwargs)
    row = ledger(db, "test:retry")
    assert row.status == "failed" and row.error

    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    assert send_email(**kwargs) is True
    assert len(smtp.wait_for(1, timeout=5)) == 1
    db.session.expire_all()
    row = ledger(db, "test:retry")
    assert row.status == "sent" and row.attempts == 2
    assert send_email(**kwargs) is False


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def hook_server():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_posts_chat_json_once(app, db, hook_server, monkeypatch):
    url = f"http://127.0.0.1:{hook_server.server_port}/hooks/secret-token"
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", url)
    assert post_webhook(dedupe_key="hook:1", payload={"text": "3 lots full"}) is True
    assert post_webhook(dedupe_key="hook:1", payload={"text": "3 lots full"}) is False
    assert _Hook.received == [{"text": "3 lots full"}]
    row = ledger(db, "hook:1")
    assert row.channel == "webhook" and row.status == "sent"
    assert "secret-token" not in row.recipient


def test_webhook_is_a_no_op_without_url(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", None)
    assert post_webhook(dedupe_key="hook:none", payload={"text": "x"}) is False
    assert ledger(db, "hook:none") is None


def test_a_claim_abandoned_mid_send_is_sent_again_with_the_same_message_id(mail_app, db, smtp):
    """A worker killed during the SMTP exchange leaves its claim ``pending``: once the claim is
    older than the lease, the next attempt sends the message, under the same Message-ID."""
    from datetime import timedelta

    from app.platform.mail import stable_message_id
    from app.platform.models import utcnow

    long_ago = utcnow() - mail_app.config["MAIL_CLAIM_LEASE"] - timedelta(minutes=1)
    db.session.add(
        OutboundMessage(
            dedupe_key="test:abandoned",
            channel="email",
            recipient="cy@example.com",
            status="pending",
            attempts=1,
            created_at=long_ago,
            claimed_at=long_ago,
        )
    )
    db.session.commit()
    kwargs = {"dedupe_key": "test:abandoned", "to": "cy@example.com", "subject": "S", "text": "t"}
    assert send_email(**kwargs) is True
    assert send_email(**kwargs) is False  # sent: never again
    [message] = smtp.wait_for(1, timeout=5)
    assert message["Message-ID"] == stable_message_id("test:abandoned")
    row = ledger(db, "test:abandoned")
    assert row.status == "sent" and row.attempts == 2


def test_a_claim_in_flight_is_left_to_its_sender(mail_app, db, smtp):
    from app.platform.mail import MessageInFlight
    from app.platform.models import utcnow

    db.session.add(
        OutboundMessage(
            dedupe_key="test:in-flight",
            channel="email",
            recipient="di@example.com",
            status="pending",
            attempts=1,
            created_at=utcnow(),
            claimed_at=utcnow(),
        )
    )
    db.session.commit()
    with pytest.raises(MessageInFlight):
        send_email(dedupe_key="test:in-flight", to="di@example.com", subject="S", text="t")
    assert ledger(db, "test:in-flight").attempts == 1
    assert smtp.to("di@example.com") == []


def test_the_claim_lease_outlasts_any_live_send():
    """A live sender never loses its claim to a second sender (no double send while it works)."""
    from datetime import timedelta

    from app.platform.mail import SMTP_EXCHANGE_STEPS, SMTP_TIMEOUT_SECONDS
    from app.platform.webhook import WEBHOOK_TIMEOUT_SECONDS
    from config import Config

    lease = Config.MAIL_CLAIM_LEASE
    assert lease > timedelta(seconds=SMTP_EXCHANGE_STEPS * SMTP_TIMEOUT_SECONDS)
    assert lease > timedelta(seconds=2 * WEBHOOK_TIMEOUT_SECONDS)
    assert lease <= timedelta(minutes=5)  # an SOS e-mail lost with its worker goes out again soon


def test_on_sqlite_a_sent_message_stays_recorded_when_the_caller_rolls_back(
    tmp_path, smtp, mail_config
):
    """The embedded SQLite set-up: the claim and its ``sent`` mark are committed on their own,
    so a task that fails after sending (and rolls back) sends nothing twice when it runs again."""
    import flask_migrate

    from app.accounts.models import User
    from app.platform.extensions import db as database
    from tests.conftest import MIGRATIONS, make_app
    from tests.support.celery_worker import _restore_celery_current_app

    kwargs = {"dedupe_key": "test:sqlite", "to": "ed@example.com", "subject": "S", "text": "t"}
    with _restore_celery_current_app():
        app = make_app(f"sqlite:///{tmp_path / 'ledger.db'}", **mail_config)
        with app.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS)
            try:
                database.session.add(User(username="ed", email="ed@example.com", password_hash="x"))
                database.session.flush()  # the caller holds SQLite's write lock
                assert send_email(**kwargs) is True
                database.session.rollback()  # the task failed after sending
                assert send_email(**kwargs) is False  # its rerun sends nothing twice
                assert database.session.scalar(select(User).where(User.username == "ed"))
                assert ledger(database, "test:sqlite").status == "sent"
            finally:
                database.session.remove()
                database.engine.dispose()
    assert len(smtp.wait_for(2, timeout=1)) == 1
