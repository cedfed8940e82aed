"""Firebase Cloud Messaging (HTTP v1) on loopback: the OAuth token endpoint checks the service
account's signed JWT against its public key, and the send endpoint takes only the tokens it
issued. A token in ``gone`` is answered as FCM answers an uninstalled app."""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.net import free_port

PROJECT = "parkmind-test"
SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


@dataclass
class FcmService:
    workdir: Path
    port: int = field(default_factory=free_port)
    received: list[dict] = field(default_factory=list)
    tokens_issued: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_credentials(self) -> Path:
        """A service account key file, as the Firebase console gives one."""
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        path = self.workdir / "fcm-service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": PROJECT,
                    "private_key": pem,
                    "client_email": f"push@{PROJECT}.iam.gserviceaccount.com",
                    "token_uri": f"{self.origin}/token",
                }
            )
        )
        return path

    def _grant(self, form: dict) -> dict:
        assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
        claims = jwt.decode(
            form["assertion"][0],
            key=self._key.public_key(),
            algorithms=["RS256"],
            audience=f"{self.origin}/token",
        )
        assert claims["scope"] == SCOPE and claims["exp"] > time.time(), claims
        token = secrets.token_urlsafe(16)
        self.tokens_issued.append(token)
        return {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def __enter__(self) -> FcmService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    if self.path == "/token":
                        return self._answer(200, service._grant(parse_qs(raw.decode())))
                    assert self.path == f"/v1/projects/{PROJECT}/messages:send", self.path
                    bearer = self.headers["Authorization"].removeprefix("Bearer ")
                    assert bearer in service.tokens_issued, "unknown access token"
                    message = json.loads(raw)["message"]
                except Exception as exc:  # noqa: BLE001 - the test reads what was refused
                    service.refused.append(f"{type(exc).__name__}: {exc}")
                    return self._answer(401, {"error": {"status": "UNAUTHENTICATED"}})
                if message["token"] in service.gone:
                    return self._answer(
                        404,
                        {
                            "error": {
                                "status": "NOT_FOUND",
                                "details": [{"errorCode": "UNREGISTERED"}],
                            }
                        },
                    )
                service.received.append(message)
                return self._answer(200, {"name": f"projects/{PROJECT}/messages/1"})

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
