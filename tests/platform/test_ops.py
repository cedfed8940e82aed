"""Liveness, readiness, metrics and docs."""

from __future__ import annotations

from tests.conftest import make_app, require


def test_health_needs_nothing(client, db):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_checks_the_database(client, db):
    body = client.get("/api/v1/ready").get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert "redis" not in body["checks"]


def test_ready_reports_redis_when_configured(database_url, db):
    require("redis")
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:6379/0")
    response = app.test_client().get("/api/v1/ready")
    assert response.status_code == 200
    assert response.get_json()["checks"]["redis"]["status"] == "ok"


def test_ready_is_503_with_detail_when_redis_is_down(database_url, db):
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/api/v1/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["redis"]["status"] == "down"


def test_ready_is_503_when_the_database_is_down():
    app = make_app("mysql+pymysql://root@127.0.0.1:1/none")
    response = app.test_client().get("/api/v1/ready")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["status"] == "down"


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` with exactly ``labels`` in a Prometheus text page."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_metrics_in_prometheus_format(client, db):
    client.get("/api/v1/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "flask_http_request_duration_seconds" in response.get_data(as_text=True)


def test_metrics_count_requests_by_url_rule_and_status(client, db):
    before = client.get("/metrics").get_data(as_text=True)
    for _ in range(3):
        client.get("/api/v1/health")
    client.get("/api/v1/lots/12345")  # 401 without a token, counted under its rule
    client.get("/api/v1/no-such-route")
    after = client.get("/metrics").get_data(as_text=True)

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    health = {"method": "GET", "url_rule": "/api/v1/health", "status": "200"}
    assert grew("flask_http_request_duration_seconds_count", **health) == 3
    assert grew("flask_http_request_duration_seconds_bucket", **health, le="+Inf") == 3
    lot = {"method": "GET", "url_rule": "/api/v1/lots/<id:lot_id>", "status": "401"}
    assert grew("flask_http_request_duration_seconds_count", **lot) == 1
    unmatched = {"method": "GET", "url_rule": "unmatched", "status": "404"}
    assert grew("flask_http_request_duration_seconds_count", **unmatched) == 1
    # 3 health + 1 lot + 1 unmatched + the first /metrics scrape.
    assert grew("flask_http_request_total", method="GET", status="200") == 4


def test_swagger_ui_served_offline(client, db):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.data) > 100_000
    # Swagger UI 5: the first major version that renders OpenAPI 3.1 documents.
    assert b"openapi: 3.1" in asset.data
    assert client.get("/api/docs/assets/swagger-ui.css").status_code == 200


def test_login_rate_limit_falls_back_to_memory_when_redis_is_down(database_url, db):
    app = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
        LOGIN_RATE_LIMIT="3 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="100 per minute",
    )
    client = app.test_client()
    payload = {"login": "nobody", "password": "whatever-password"}
    statuses = [client.post("/api/v1/auth/login", json=payload).status_code for _ in range(5)]
    assert statuses.count(429) >= 1
    assert 500 not in statuses


def test_login_rate_limited_per_account_across_addresses(database_url, db):
    app = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="2 per minute",
    )
    client = app.test_client()
    payload = {"login": "victim", "password": "guess-guess"}
    statuses = [
        client.post(
            "/api/v1/auth/login", json=payload, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}
        ).status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 429, 429]


def test_login_rate_limit_in_redis(database_url, db):
    require("redis")
    import uuid

    import redis

    prefix = f"test-{uuid.uuid4().hex}"
    app = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
        RATELIMIT_KEY_PREFIX=prefix,
        LOGIN_RATE_LIMIT="2 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="100 per minute",
    )
    client = app.test_client()
    payload = {"login": "nobody", "password": "whatever-password"}
    statuses = [client.post("/api/v1/auth/login", json=payload).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    # The counters are in Redis (not the in-memory fallback): limits speaks to this redis-py.
    assert redis.Redis.from_url("redis://127.0.0.1:6379/0").keys(f"*{prefix}*")


def test_rate_limit_settings_stay_per_app(database_url, client, db):
    """Another app with limits on must not switch limits on for this one (one process, two apps)."""
    limited = make_app(
        database_url,
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="1 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="100 per minute",
    )
    payload = {"login": "nobody", "password": "whatever-password"}
    other = limited.test_client()
    assert [other.post("/api/v1/auth/login", json=payload).status_code for _ in range(2)] == [
        401,
        429,
    ]
    # More than this app's own (unused) login limit of 10 per minute.
    statuses = [client.post("/api/v1/auth/login", json=payload).status_code for _ in range(12)]
    assert statuses == [401] * 12
    assert other.post("/api/v1/auth/login", json=payload).status_code == 429
