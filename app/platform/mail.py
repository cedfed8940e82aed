"""Outgoing e-mail that is sent at most once per ``dedupe_key``.

Every message is first recorded in ``outbound_messages`` under its unique key, then sent, then
marked ``sent``. A second call with the same key finds the row and sends nothing, so a job or task
that runs twice (a Celery retry, a second beat, ``flask jobs run``) never mails anyone twice.

The record is written in a short transaction of its own and committed before the SMTP
conversation, so the claim survives a later rollback of the caller's work or a killed worker, and
a concurrent caller with the same key waits on the unique index and then backs off. On SQLite (one
writer at a time, the embedded default) the caller's transaction is committed first, or the claim
would wait on the caller's own write lock: mail is sent only by background tasks and jobs, whose
work is idempotent, so committing it early is safe. Only a session bound to a single connection
(the test suite's rollback-per-test harness) keeps the claim in a savepoint.

A delivery failure marks the row ``failed`` and re-raises, so the caller's task retries; a later
call with the same key claims a ``failed`` row again and sends it. A row still ``pending`` is
another sender's, in flight: the call raises :class:`MessageInFlight` (the caller retries later).
A claim older than ``MAIL_CLAIM_LEASE`` belongs to a sender that died mid-conversation (a worker
killed during the SMTP exchange): it is claimed again and sent, so the person gets the message.
That makes delivery at least once; every attempt carries the same ``Message-ID``, derived from
the key, so a mail client shows a repeat as one message.

Every message carries what receiving servers check before they deliver to an inbox: a ``Date``, a
``Message-ID`` in the sender's own domain, and a plain-text part beside any HTML. Mail a person
can turn off (reminders, reports, notices) also carries one-click unsubscribe (RFC 8058): a
``List-Unsubscribe`` HTTPS link and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; the
caller passes the signed link (``unsubscribe_url``), mail that must arrive (receipts, export
links, security mail, SOS alerts) passes none.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from app.platform.extensions import db
from app.platform.models import OutboundMessage, utcnow

log = logging.getLogger(__name__)

# Retry options of every task that sends an e-mail: SMTP trouble is retried with backoff.
MAIL_RETRY = {
    "autoretry_for": (smtplib.SMTPException, OSError),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 6,
}

SMTP_TIMEOUT_SECONDS = 15
# The most socket operations one message's SMTP exchange makes, each bounded by the timeout:
# connect, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, the message, QUIT. A live sender never
# holds a claim longer than this; MAIL_CLAIM_LEASE must be longer.
SMTP_EXCHANGE_STEPS = 10


def send_email(
    *,
    dedupe_key: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[tuple[str, bytes, str]] = (),
    inline_images: Iterable[InlineImage] = (),
    unsubscribe_url: str | None = None,
) -> bool:
    """Send one e-mail once per ``dedupe_key``; False when that key was already sent."""
    message = build_message(
        to=to,
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
        inline_images=inline_images,
        unsubscribe_url=unsubscribe_url,
        message_id=stable_message_id(dedupe_key),
    )
    return deliver_once(
        dedupe_key=dedupe_key,
        channel="email",
        recipient=to,
        subject=subject,
        send=lambda: _deliver(message),
    )


@dataclass(frozen=True)
class InlineImage:
    """An image shown inside the HTML part, referenced there as ``<img src="cid:{cid}">``."""

    cid: str
    content: bytes
    content_type: str = "image/png"


class MessageInFlight(OSError):
    """Another sender has claimed this message and not finished yet: try again later."""


def stable_message_id(dedupe_key: str) -> str:
    """The ``Message-ID`` of every attempt at the message recorded under ``dedupe_key``, in the
    sender's domain (a foreign or bare domain is a spam signal to receiving servers)."""
    return f"<{hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]}@{sender_domain()}>"


def sender_domain() -> str:
    """The domain of ``MAIL_DEFAULT_SENDER`` (``parkmind`` when it has none)."""
    _, address = parseaddr(current_app.config.get("MAIL_DEFAULT_SENDER") or "")
    domain = address.rpartition("@")[2].strip().lower()
    return domain or "parkmind"


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Iterable[tuple[str, bytes, str]] = (),
    inline_images: Iterable[InlineImage] = (),
    unsubscribe_url: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """Build a MIME message: a text body, an optional HTML alternative (with its inline images)
    and attachments; with ``unsubscribe_url``, the RFC 8058 one-click unsubscribe headers."""
    if not text or not text.strip():
        raise ValueError("every e-mail needs a plain-text body")
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    # A header is one line: a name with a line break (stored before names were checked) must
    # not stop the message, so whitespace runs and control characters become single spaces.
    message["Subject"] = " ".join("".join(" " if ord(c) < 32 else c for c in subject).split())
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=sender_domain())
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    images = list(inline_images)
    if html is not None:
        message.add_alternative(html, subtype="html")
        html_part = message.get_payload()[-1]
        for image in images:
            maintype, _, subtype = image.content_type.partition("/")
            html_part.add_related(
                image.content, maintype=maintype, subtype=subtype, cid=f"<{image.cid}>"
            )
    elif images:
        raise ValueError("inline images need an HTML body")
    for filename, content, content_type in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(
            content,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=filename,
        )
    return message


def _deliver(message: EmailMessage) -> None:
    config = current_app.config
    server = config.get("MAIL_SERVER")
    if not server:
        log.info(
            "mail not sent (MAIL_SERVER unset): to=%s subject=%s\n%s",
            message["To"],
            message["Subject"],
            _text_part(message),
        )
        return
    with smtplib.SMTP(server, int(config["MAIL_PORT"]), timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    log.info("mail sent: to=%s subject=%s", message["To"], message["Subject"])


def _text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


# The ledger, shared with app.platform.webhook -------------------------------------------------


def deliver_once(
    *, dedupe_key: str, channel: str, recipient: str, subject: str | None, send: Callable[[], Any]
) -> bool:
    """Record ``dedupe_key``, call ``send`` and mark it sent; False when already claimed."""
    ledger = _Ledger()
    if not ledger.claim(dedupe_key, channel, recipient[:255], (subject or "")[:255] or None):
        log.info("%s %s already sent; skipped", channel, dedupe_key)
        return False
    try:
        send()
    except Exception as exc:
        ledger.finish(dedupe_key, status="failed", error=f"{type(exc).__name__}: {exc}"[:255])
        raise
    ledger.finish(dedupe_key, status="sent", error=None)
    return True


class _Ledger:
    """Writes ``outbound_messages`` rows in their own transaction, or in a savepoint."""

    def __init__(self) -> None:
        bind = db.session.get_bind()
        self.own_transaction = isinstance(bind, Engine)
        self.engine = bind
        self.single_writer = self.own_transaction and bind.dialect.name == "sqlite"

    def _run(self, work: Callable[[Connection], Any]) -> Any:
        if self.own_transaction:
            if self.single_writer and db.session().in_transaction():
                db.session.commit()  # release SQLite's write lock (see the module docstring)
            with self.engine.begin() as conn:
                return work(conn)
        with db.session.begin_nested():
            return work(db.session.connection())

    def claim(self, key: str, channel: str, recipient: str, subject: str | None) -> bool:
        now = utcnow()

        def insert_row(conn: Connection) -> None:
            conn.execute(
                insert(OutboundMessage).values(
                    dedupe_key=key,
                    channel=channel,
                    recipient=recipient,
                    subject=subject,
                    status="pending",
                    attempts=1,
                    created_at=now,
                    claimed_at=now,
                )
            )

        try:
            self._run(insert_row)
            return True
        except IntegrityError:
            pass
        # Already recorded: a failed delivery, or a claim whose sender died (older than the
        # lease), may be claimed again, by exactly one caller.
        abandoned = now - current_app.config["MAIL_CLAIM_LEASE"]
        reclaim = (
            update(OutboundMessage)
            .where(
                OutboundMessage.dedupe_key == key,
                or_(
                    OutboundMessage.status == "failed",
                    and_(
                        OutboundMessage.status == "pending",
                        func.coalesce(OutboundMessage.claimed_at, OutboundMessage.created_at)
                        < abandoned,
                    ),
                ),
            )
            .values(
                status="pending",
                attempts=OutboundMessage.attempts + 1,
                error=None,
                claimed_at=now,
            )
        )
        if self._run(lambda conn: conn.execute(reclaim).rowcount):
            return True
        status = self._run(
            lambda conn: conn.scalar(
                select(OutboundMessage.status).where(OutboundMessage.dedupe_key == key)
            )
        )
        if status == "pending":
            raise MessageInFlight(f"{key} is being sent by another worker")
        return False

    def finish(self, key: str, *, status: str, error: str | None) -> None:
        values: dict[str, Any] = {"status": status, "error": error}
        if status == "sent":
            values["sent_at"] = utcnow()
        statement = (
            update(OutboundMessage).where(OutboundMessage.dedupe_key == key).values(**values)
        )
        self._run(lambda conn: conn.execute(statement))


def message_status(dedupe_key: str) -> str | None:
    """The ledger status of ``dedupe_key`` (pending, sent, failed), or None when unknown."""
    return db.session.scalar(
        select(OutboundMessage.status).where(OutboundMessage.dedupe_key == dedupe_key)
    )
