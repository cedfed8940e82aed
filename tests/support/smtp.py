"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.net import free_port


class Inbox:
    """aiosmtpd handler storing parsed messages."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._stall_for: str | None = None
        self.stalled = threading.Event()
        self._release = threading.Event()

    def stall(self, address: str) -> None:
        """Hold the next conversation that names ``address`` as a recipient at RCPT, unanswered,
        until :meth:`release`: a sender caught in the middle of the SMTP exchange."""
        self.stalled.clear()
        self._release.clear()
        self._stall_for = address

    def release(self) -> None:
        self._stall_for = None
        self._release.set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self._stall_for is not None and address == self._stall_for:
            self.stalled.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            return "451 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
        self.release()

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope recipients include ``address``."""
        return [m for m in list(self.messages) if address in m["X-Envelope-To"]]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.05)
        return list(self.messages)


@pytest.fixture(scope="session")
def smtp_server():
    """Start aiosmtpd on a free loopback port for the session; yields the controller."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.inbox = inbox
    yield controller
    controller.stop()


@pytest.fixture
def smtp(smtp_server):
    """The session's SMTP inbox, emptied for this test. ``smtp.port``, ``smtp.messages``."""
    smtp_server.inbox.clear()
    inbox = smtp_server.inbox
    inbox.port = smtp_server.port
    inbox.host = "127.0.0.1"
    return inbox


@pytest.fixture
def mail_config(smtp):
    """App config overrides that send mail to the test SMTP server."""
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_USE_TLS": False,
        "MAIL_DEFAULT_SENDER": "ParkMind <noreply@parkmind.test>",
    }
