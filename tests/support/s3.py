"""A moto S3 server on 127.0.0.1 for storage tests, and helpers to point the app at it."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from tests.support.net import free_port, wait_for_port


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    bucket: str
    region: str = "us-east-1"

    def client(self):
        """A plain boto3 client for assertions (not the app's)."""
        import boto3

        return boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint_url)

    def settings(self) -> dict:
        """App config overrides that select this server."""
        return {
            "S3_BUCKET": self.bucket,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.region,
        }


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """A real S3 HTTP endpoint (moto server mode) with one bucket; dummy AWS credentials."""
    from moto.server import ThreadedMotoServer

    # The app takes credentials from the standard AWS chain: give it harmless ones, so that real
    # credentials on a developer's machine are never sent anywhere by the tests.
    os.environ["AWS_ACCESS_KEY_ID"] = "testing"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    os.environ.pop("AWS_SESSION_TOKEN", None)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_for_port(port)
    info = S3Server(
        endpoint_url=f"http://127.0.0.1:{port}", bucket=f"parkmind-{uuid.uuid4().hex[:8]}"
    )
    info.client().create_bucket(Bucket=info.bucket)
    yield info
    server.stop()


@contextmanager
def app_settings(app, **settings) -> Iterator[None]:
    """Temporarily change ``app.config`` (storage backends are cached per configuration)."""
    missing = object()
    previous = {name: app.config.get(name, missing) for name in settings}
    app.config.update(settings)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is missing:
                app.config.pop(name, None)
            else:
                app.config[name] = value


@contextmanager
def hanging_server() -> Iterator[str]:
    """A loopback TCP server that accepts connections and never answers; yields its URL."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()
