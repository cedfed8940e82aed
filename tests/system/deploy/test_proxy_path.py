"""The API through the shipped nginx site in front of gunicorn with the shipped gunicorn.conf.py."""

from __future__ import annotations

import gzip
import http.client
import json
import signal
import subprocess
import sys
import time

from tests.support.net import free_port, wait_for_port
from tests.support.processes import spawn_group
from tests.system.deploy.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    REQUEST_ID,
    ROOT,
    VENV_BIN,
    Stack,
    start_nginx,
    stop_process_group,
    wait_for_log,
)


def register(stack, username: str, *, source: str) -> None:
    reply = stack.request(
        "POST",
        "/api/v1/auth/register",
        source=source,
        json_body={
            "username": username,
            "email": f"{username}@parkmind.test",
            "password": "driver-password-1",
        },
    )
    assert reply.status == 201, reply.body


def assert_error_shape(reply, status: int, code: str) -> dict:
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    error = reply.json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    assert error["request_id"] == reply.headers["X-Request-ID"]
    return error


def test_register_login_and_book_through_nginx(stack):
    source = "127.0.0.3"
    admin = stack.login(ADMIN_EMAIL, ADMIN_PASSWORD, source=source)
    lot = stack.request(
        "POST",
        "/api/v1/admin/lots",
        source=source,
        headers=admin,
        json_body={
            "name": "Proxy Lot",
            "address": "1 Loopback Road",
            "pin_code": "12700",
            "hourly_rate_cents": 250,
            "total_spots": 2,
        },
    )
    assert lot.status == 201, lot.body

    register(stack, "proxydriver", source=source)
    driver = stack.login("proxydriver", "driver-password-1", source=source)
    booking = stack.request(
        "POST",
        "/api/v1/bookings",
        source=source,
        headers={**driver, "Idempotency-Key": "deploy-booking-1"},
        json_body={"lot_id": lot.json()["id"], "vehicle_number": "KA01AB1234"},
    )
    assert booking.status == 201, booking.body
    body = booking.json()
    assert body["status"] == "active"
    assert body["spot"]["number"] == 1
    assert booking.headers["Location"] == f"/api/v1/bookings/{body['id']}"

    active = stack.request("GET", "/api/v1/bookings/active", source=source, headers=driver)
    assert active.status == 200
    assert active.json()["id"] == body["id"]


def test_oversized_json_body_gets_the_api_error_shape_from_nginx(stack):
    body = b'{"login": "' + b"x" * (2 * 1024 * 1024) + b'", "password": "p"}'
    reply = stack.request(
        "POST",
        "/api/v1/auth/login",
        source="127.0.0.4",
        body=body,
        headers={"Content-Type": "application/json", "X-Request-ID": "too-large-1"},
    )
    error = assert_error_shape(reply, 413, "payload_too_large")
    assert error["request_id"] == "too-large-1"
    # nginx refused it: the body never reached gunicorn.
    assert not [line for line in stack.access_log() if line["request_id"] == "too-large-1"]


def test_local_upload_endpoint_accepts_photo_sized_bodies(stack):
    # 3 MiB is over the JSON limit but under the upload location's: the app answers, not nginx.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        + b"\xff" * (3 * 1024 * 1024)
        + b"\r\n--b--\r\n"
    )
    reply = stack.request(
        "POST",
        "/api/v1/storage/uploads",
        source="127.0.0.4",
        body=body,
        headers={"Content-Type": "multipart/form-data; boundary=b", "X-Request-ID": "photo-1"},
    )
    # No signed policy: the app refuses it (nginx's own 403 would say "forbidden").
    assert_error_shape(reply, 403, "invalid_signature")
    assert wait_for_log(stack.access_log, lambda line: line["request_id"] == "photo-1")


def test_rate_limit_keys_on_the_forwarded_client_address(stack):
    """Fails if ProxyFix is off (all clients share nginx's 127.0.0.1) or trusts two hops
    (each spoofed X-Forwarded-For value would get a bucket of its own)."""
    register(stack, "ratedriver", source="127.0.0.5")

    def login(source: str, spoofed: str) -> int:
        return stack.request(
            "POST",
            "/api/v1/auth/login",
            source=source,
            headers={"X-Forwarded-For": spoofed, "X-Request-ID": f"rl-{source}-{spoofed}"},
            json_body={"login": "ratedriver", "password": "driver-password-1"},
        ).status

    # LOGIN_RATE_LIMIT is 2 per minute per client address.
    first = [login("127.0.0.6", f"203.0.113.{n}") for n in (1, 2, 3)]
    second = [login("127.0.0.7", f"198.51.100.{n}") for n in (1, 2, 3)]
    assert first == [200, 200, 429]
    assert second == [200, 200, 429]

    limited = stack.request(
        "POST",
        "/api/v1/auth/login",
        source="127.0.0.6",
        json_body={"login": "ratedriver", "password": "driver-password-1"},
    )
    assert_error_shape(limited, 429, "rate_limited")

    # gunicorn's access log shows the client's address (after ProxyFix), not nginx's.
    line = wait_for_log(
        stack.access_log, lambda entry: entry["request_id"] == "rl-127.0.0.6-203.0.113.1"
    )
    assert line, "the login is missing from the access log"
    assert line[0]["remote_addr"] == "127.0.0.6"
    assert line[0]["forwarded_for"] == "203.0.113.1, 127.0.0.6"
    assert line[0]["status"] == 200
    assert line[0]["method"] == "POST"
    assert line[0]["path"] == "/api/v1/auth/login"
    assert isinstance(line[0]["duration_ms"], int)


def test_request_id_is_passed_through_or_created_by_nginx(stack):
    echoed = stack.request(
        "GET", "/api/v1/health", source="127.0.0.8", headers={"X-Request-ID": "trace-abc.1"}
    )
    assert echoed.status == 200
    assert echoed.headers["X-Request-ID"] == "trace-abc.1"

    forged = stack.request(
        "GET", "/api/v1/health", source="127.0.0.8", headers={"X-Request-ID": 'x"}, "y'}
    )
    assert REQUEST_ID.match(forged.headers["X-Request-ID"])
    # nginx logs the same id the app answered with, in its own JSON log.
    nginx_line = wait_for_log(
        stack.nginx_log, lambda entry: entry["request_id"] == forged.headers["X-Request-ID"]
    )
    assert nginx_line and nginx_line[0]["remote_addr"] == "127.0.0.8"
    assert nginx_line[0]["status"] == 200


def test_json_is_gzipped(stack):
    reply = stack.request(
        "GET", "/api/openapi.json", source="127.0.0.8", headers={"Accept-Encoding": "gzip"}
    )
    assert reply.status == 200
    assert reply.headers.get("Content-Encoding") == "gzip"
    assert b'"openapi"' in gzip.decompress(reply.body)


def test_metrics_are_not_public_through_nginx(stack):
    reply = stack.request("GET", "/metrics", source="127.0.0.8")
    assert_error_shape(reply, 403, "forbidden")
    # gunicorn itself (loopback only) serves them to a local scraper, in multiprocess mode.
    direct = stack.request("GET", "/metrics", source="127.0.0.1", direct=True)
    assert direct.status == 200
    assert b"flask_http_request" in direct.body


def test_unavailable_upstream_is_answered_in_the_error_shape(stack, tmp_path):
    # The shipped site in front of a port where nothing listens (gunicorn down or restarting).
    listen_port = free_port()
    proc = start_nginx(tmp_path / "nginx-down", free_port(), listen_port)
    try:
        down = Stack(nginx_port=listen_port, gunicorn_port=0, work=tmp_path, env={})
        reply = down.request("GET", "/api/v1/health", source="127.0.0.9")
    finally:
        stop_process_group(proc)
    assert_error_shape(reply, 503, "service_unavailable")
    assert reply.headers["Retry-After"] == "5"


def test_dockerfile_healthcheck_command_probes_gunicorn(stack):
    text = (ROOT / "Dockerfile").read_text()
    command = json.loads(text.split("HEALTHCHECK", 1)[1].split("CMD", 1)[1].splitlines()[0])
    assert command[:2] == ["python", "-c"]
    probe = command[2].replace("127.0.0.1:8000", f"127.0.0.1:{stack.gunicorn_port}")
    assert probe != command[2]
    healthy = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=20)
    assert healthy.returncode == 0, healthy.stderr
    nothing = probe.replace(f":{stack.gunicorn_port}/", f":{free_port()}/")
    unhealthy = subprocess.run([sys.executable, "-c", nothing], capture_output=True, timeout=20)
    assert unhealthy.returncode != 0


def test_sigterm_lets_the_request_in_flight_finish(stack, tmp_path):
    """systemd and Compose stop with SIGTERM: gunicorn finishes what it is serving, then exits."""
    port = free_port()
    env = {**stack.env, "PARKMIND_BIND": f"127.0.0.1:{port}", "PARKMIND_WORKERS": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR")
    command = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
    server = spawn_group(command, tmp_path / "out", env=env)
    try:
        wait_for_port(port, timeout=30)
        # The master listens at once; the worker answers only once it has built the app.
        ready = Stack(nginx_port=0, gunicorn_port=port, work=tmp_path, env={})
        assert ready.request("GET", "/api/v1/health", source="127.0.0.1", direct=True).status == 200
        body = json.dumps({"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.putrequest("POST", "/api/v1/auth/login")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders()
        conn.send(body[:10])  # the worker is now reading the body
        time.sleep(0.5)
        server.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert server.poll() is None, "gunicorn quit with a request in flight"
        conn.send(body[10:])
        response = conn.getresponse()
        assert response.status == 200, response.read()
        assert "access_token" in json.loads(response.read())
        conn.close()
        assert server.wait(timeout=20) == 0
    finally:
        stop_process_group(server)


def test_nginx_hides_its_version_and_sends_hsts(stack):
    reply = stack.request("GET", "/api/v1/health", source="127.0.0.8")
    assert reply.headers["Server"] == "nginx"
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")


def test_requests_too_large_for_the_proxy_get_the_api_error_shape(stack):
    """What nginx or gunicorn refuse before the app runs: a request line or a header too long
    for the proxy's buffers answers in the API's one error shape, and everything nginx forwards
    (a long query string, a hundred-odd headers, a long forwarded-for chain) reaches the app."""
    source = "127.0.0.9"
    long_line = "/api/v1/lots?q=" + "a" * 9000
    error = assert_error_shape(stack.request("GET", long_line, source=source), 414, "uri_too_long")
    assert "shorter" in error["message"]

    huge_header = {"X-Padding": "p" * 9000}
    error = assert_error_shape(
        stack.request("GET", "/api/v1/lots", source=source, headers=huge_header),
        431,
        "request_header_too_large",
    )
    assert "header" in error["message"]

    # Under the proxy's limits: the app answers (a 404 for an unknown path, in JSON).
    under = "/api/v1/no-such-thing?q=" + "a" * 8000
    assert_error_shape(stack.request("GET", under, source=source), 404, "not_found")
    many = {f"X-Client-Hint-{n}": "1" for n in range(150)}
    reply = stack.request("GET", "/api/v1/health", source=source, headers=many)
    assert reply.status == 200, reply.body
    # A forwarded-for chain as long as nginx takes; nginx appends the client's address to it.
    chain = {"X-Forwarded-For": ("10.0.0.1, " * 1000)[:8160].rstrip(", ")}
    reply = stack.request("GET", "/api/v1/health", source=source, headers=chain)
    assert reply.status == 200, reply.body
