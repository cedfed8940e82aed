"""A Web Push service on loopback, as a browser's push service would act.

It takes ``POST /push/<name>``, checks the VAPID JWT (RFC 8292) against the application server
key the subscription was made with, and decrypts the aes128gcm payload (RFC 8291) with the
subscription's own private key: the protocol runs end to end, nothing is mocked.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.net import free_port


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One subscription: what the browser keeps (its private key) and what it sends the app."""

    name: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }


@dataclass
class PushService:
    application_server_key: str | None = None
    port: int = field(default_factory=free_port)
    received: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    browsers: dict[str, Browser] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser(self, name: str) -> Browser:
        found = Browser(
            name=name,
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=os.urandom(16),
            endpoint=f"{self.origin}/push/{name}",
        )
        self.browsers[name] = found
        return found

    def to(self, name: str) -> list[dict]:
        return [message for message in self.received if message["browser"] == name]

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.received)

    # --- the protocol ---------------------------------------------------------------------

    def check(self, name: str, headers, body: bytes) -> dict:
        """Verify one push request; return the decrypted message, or raise AssertionError."""
        scheme, _, params = headers["Authorization"].partition(" ")
        assert scheme == "vapid", headers["Authorization"]
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        assert fields["k"] == self.application_server_key, "signed with another key"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
        claims = jwt.decode(fields["t"], key=public, algorithms=["ES256"], audience=self.origin)
        assert claims["exp"] > time.time() and claims["sub"].startswith("mailto:"), claims
        assert headers["Content-Encoding"] == "aes128gcm"
        assert int(headers["TTL"]) > 0
        browser = self.browsers[name]
        plain = http_ece.decrypt(
            body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
        )
        return {
            "browser": name,
            "urgency": headers.get("Urgency"),
            "message": json.loads(plain),
        }

    def __enter__(self) -> PushService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                name = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if name in service.gone:
                    self.send_response(410)
                    self.end_headers()
                    return
                try:
                    service.received.append(service.check(name, self.headers, body))
                except Exception as exc:  # noqa: BLE001 - the test reads what was refused
                    service.refused.append(f"{name}: {type(exc).__name__}: {exc}")
                    self.send_response(400)
                    self.end_headers()
                    return
                self.send_response(201)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
