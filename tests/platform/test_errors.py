"""Every kind of error answers in the contract's one shape, with X-Request-ID."""

from __future__ import annotations

import logging
import re

API = "/api/v1"


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.get_data(as_text=True)
    return error


def test_validation_error_lists_fields(client, db):
    response = client.post(f"{API}/auth/register", json={"username": "x", "email": "nope"})
    error = assert_error(response, 422, "validation_error")
    assert {"username", "email", "password"} <= set(error["fields"])


def test_unknown_fields_rejected(client, db):
    response = client.post(f"{API}/auth/login", json={"login": "a", "password": "b", "x": 1})
    assert assert_error(response, 422, "validation_error")["fields"] == {"x": ["Unknown field."]}


def test_malformed_json_is_400(client, db):
    response = client.post(f"{API}/auth/login", data="{oops", content_type="application/json")
    error = assert_error(response, 400, "bad_request")
    assert "fields" not in error


def test_json_that_is_not_an_object(client, db):
    response = client.post(f"{API}/auth/login", json=[1, 2])
    assert_error(response, 422, "validation_error")


def test_unknown_route_is_404(client, db):
    assert_error(client.get(f"{API}/no-such-thing"), 404, "not_found")
    assert_error(client.get("/totally/elsewhere"), 404, "not_found")


def test_wrong_method_is_405_with_allow(client, db):
    response = client.delete(f"{API}/health")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_body_too_large_is_413(client, db):
    response = client.post(
        f"{API}/auth/login", data="x" * (1024 * 1024 + 10), content_type="application/json"
    )
    assert_error(response, 413, "payload_too_large")


def test_uncaught_exception_is_500_without_trace(database_url, caplog):
    from tests.conftest import make_app

    app = make_app(database_url)

    @app.get("/api/v1/_boom_for_test")
    def boom():
        raise RuntimeError("secret internals: SELECT * FROM users")

    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/_boom_for_test", headers={"X-Request-ID": "req-boom-1"})
    error = assert_error(response, 500, "internal_error")
    assert error["request_id"] == "req-boom-1"
    assert "secret internals" not in response.get_data(as_text=True)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert logged and "secret internals" in str(logged[0].exc_info[1])
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'flask_http_request_exceptions_total{method="GET",status="500"} 1.0' in metrics
    assert (
        'flask_http_request_duration_seconds_count{method="GET",'
        'status="500",url_rule="/api/v1/_boom_for_test"} 1.0'
    ) in metrics


def test_request_id_echoed_or_generated(client, db):
    echoed = client.get(f"{API}/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    generated = {client.get(f"{API}/health").headers["X-Request-ID"] for _ in range(20)}
    assert len(generated) == 20  # a new id for each request
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in generated)
    hostile = client.get(f"{API}/health", headers={"X-Request-ID": "bad id <script>"})
    assert hostile.headers["X-Request-ID"] != "bad id <script>"


def test_security_headers(client, db):
    response = client.get(f"{API}/health")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_rate_limited_is_429_with_retry_after(database_url):
    from tests.conftest import make_app

    app = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="2 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="100 per minute",
    )
    client = app.test_client()
    payload = {"login": "nobody", "password": "whatever-password"}
    statuses = [client.post(f"{API}/auth/login", json=payload).status_code for _ in range(3)]
    assert statuses[:2] == [401, 401]
    response = client.post(f"{API}/auth/login", json=payload)
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_authentication_and_authorisation_come_before_body_checks(client, user, auth):
    anonymous = client.patch("/api/v1/admin/lots/1")
    assert anonymous.status_code == 401
    driver = client.patch("/api/v1/admin/lots/1", headers=auth(user))
    assert driver.status_code == 403
    assert driver.get_json()["error"]["code"] == "forbidden"
    own = client.patch("/api/v1/me", headers=auth(user))
    assert own.status_code == 400
    assert own.get_json()["error"]["code"] == "body_required"


def test_a_bad_query_parameter_says_so(client, user, auth):
    response = client.get("/api/v1/lots?page=0", headers=auth(user))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["message"] == "Query parameters are invalid."
    assert "page" in error["fields"]
    body = client.post("/api/v1/bookings", json={"lot_id": "x"}, headers=auth(user))
    assert body.get_json()["error"]["message"] == "Request body is invalid."
