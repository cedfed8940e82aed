"""The Apple Push Notification service on loopback, over HTTP/2 (h2c, prior knowledge): it
checks the provider token (ES256, signed with the team's key, ``kid`` the key id) and takes
``POST /3/device/<token>``. A token in ``gone`` is answered 410 Unregistered, as Apple does."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.net import free_port

KEY_ID = "ABC123DEFG"
TEAM_ID = "TEAM123456"
TOPIC = "org.parkmind.app"


@dataclass
class ApnsService:
    workdir: Path
    port: int = field(default_factory=free_port)
    received: list[dict] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_key(self) -> Path:
        """The team's token-signing key, as a .p8 file from Apple."""
        self._key = ec.generate_private_key(ec.SECP256R1())
        path = self.workdir / f"AuthKey_{KEY_ID}.p8"
        path.write_bytes(
            self._key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def _answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        scheme, _, token = headers["authorization"].partition(" ")
        assert scheme == "bearer"
        assert jwt.get_unverified_header(token)["kid"] == KEY_ID
        claims = jwt.decode(token, key=self._key.public_key(), algorithms=["ES256"])
        assert claims["iss"] == TEAM_ID and claims["iat"] <= time.time() + 5, claims
        assert headers["apns-topic"] == TOPIC and headers["apns-push-type"] == "alert"
        device = headers[":path"].removeprefix("/3/device/")
        if device in self.gone:
            return 410, {"reason": "Unregistered"}
        self.received.append(
            {"device": device, "priority": headers["apns-priority"], "body": json.loads(body)}
        )
        return 200, {}

    def _serve(self, sock: socket.socket) -> None:
        conn = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams: dict[int, dict] = {}
        with sock:
            while True:
                data = sock.recv(65535)
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = {"headers": dict(event.headers), "body": b""}
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id]["body"] += event.data
                        conn.acknowledge_received_data(
                            event.flow_controlled_length, event.stream_id
                        )
                    elif isinstance(event, h2.events.StreamEnded):
                        stream = streams.pop(event.stream_id)
                        try:
                            status, answer = self._answer(stream["headers"], stream["body"])
                        except Exception as exc:  # noqa: BLE001 - the test reads what was refused
                            self.refused.append(f"{type(exc).__name__}: {exc}")
                            status, answer = 403, {"reason": "InvalidProviderToken"}
                        payload = json.dumps(answer).encode() if answer else b""
                        conn.send_headers(
                            event.stream_id,
                            [(":status", str(status)), ("content-length", str(len(payload)))],
                            end_stream=not payload,
                        )
                        if payload:
                            conn.send_data(event.stream_id, payload, end_stream=True)
                sock.sendall(conn.data_to_send())

    def __enter__(self) -> ApnsService:
        self._listener = socket.create_server(("127.0.0.1", self.port))

        def accept() -> None:
            while True:
                try:
                    client, _ = self._listener.accept()
                except OSError:
                    return
                threading.Thread(target=self._serve, args=(client,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._listener.close()
