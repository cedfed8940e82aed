"""Configuration: embedded defaults, and production's refusals naming the variable."""

from __future__ import annotations

import pytest

from config import ConfigError, load_config, validate_config

STRONG = "s" * 40
PRODUCTION_OK = {
    "APP_ENV": "production",
    "SECRET_KEY": STRONG,
    "JWT_SECRET_KEY": STRONG,
    "SQLALCHEMY_DATABASE_URI": "mysql+pymysql://u:p@db/parkmind",
    "CORS_ORIGINS": ["https://app.parkmind.example"],
    "DEBUG": False,
}


def test_valid_production_settings_pass():
    validate_config(dict(PRODUCTION_OK))


@pytest.mark.parametrize(
    "change,variable",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"JWT_SECRET_KEY": None}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "x" * 31}, "JWT_SECRET_KEY"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}, "DATABASE_URL"),
        ({"CORS_ORIGINS": ["*"]}, "CORS_ORIGINS"),
        ({"DEBUG": True}, "FLASK_DEBUG"),
    ],
)
def test_production_refuses_unsafe_settings(change, variable):
    with pytest.raises(ConfigError, match=variable):
        validate_config({**PRODUCTION_OK, **change})


def test_production_app_refuses_to_start_without_secrets(monkeypatch):
    from app import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "mysql+pymysql://u:p@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app("production")


def test_production_app_starts_with_strong_settings_without_connecting(monkeypatch):
    """Creating the app connects to nothing: the database here does not even exist."""
    from app import create_app

    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("JWT_SECRET_KEY", STRONG + "j")
    monkeypatch.setenv("DATABASE_URL", "mysql+pymysql://u:p@127.0.0.1:1/none")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    app = create_app("production")
    assert app.config["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert app.config["LOG_JSON"] is True


def test_development_defaults_are_embedded(tmp_path, monkeypatch):
    monkeypatch.setattr("config.INSTANCE_DIR", tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    settings = load_config("development")
    assert settings.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'parkmind.db'}"
    assert settings.REDIS_URL is None and settings.CELERY_BROKER_URL is None
    assert settings.RATELIMIT_STORAGE_URI == "memory://"
    assert settings.CACHE_TYPE == "SimpleCache"
    assert settings.S3_BUCKET is None
    assert settings.CURRENCY == "USD" and settings.TIMEZONE == "UTC"
    assert settings.PARKING_EVENT_TTL_HOURS == 72
    # Secrets are generated once and kept: a second load reads the same values.
    again = load_config("development")
    assert len(settings.JWT_SECRET_KEY) >= 32
    assert again.JWT_SECRET_KEY == settings.JWT_SECRET_KEY
    assert (tmp_path / "jwt_secret_key.secret").stat().st_mode & 0o077 == 0


def test_unknown_app_env_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config("staging")


def test_cors_allows_only_listed_origins(database_url):
    from tests.conftest import make_app

    app = make_app(database_url, CORS_ORIGINS=["https://app.parkmind.example"])
    client = app.test_client()
    allowed = client.get("/api/v1/health", headers={"Origin": "https://app.parkmind.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.parkmind.example"
    denied = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    # A request without Origin is not a cross-origin request: no CORS headers at all.
    plain = client.get("/api/v1/health")
    assert plain.status_code == 200
    assert not [key for key, _ in plain.headers.items() if key.startswith("Access-Control-")]


def test_cors_preflight_answers_listed_origin(database_url):
    from tests.conftest import make_app

    app = make_app(database_url, CORS_ORIGINS=["https://app.parkmind.example"])
    response = app.test_client().options(
        "/api/v1/lots",
        headers={
            "Origin": "https://app.parkmind.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.parkmind.example"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_database_sessions_read_committed_with_a_statement_limit(db, backend):
    """MariaDB and PostgreSQL connections read what committed; PostgreSQL also gives up on a
    statement after 30 s (PyMySQL's read timeout does that for MariaDB)."""
    connection = db.session.connection()
    if backend == "sqlite":
        pytest.skip("SQLite has one writer; no isolation level to set")
    if backend == "mariadb":
        level = connection.exec_driver_sql("SELECT @@tx_isolation").scalar()
        assert level == "READ-COMMITTED"
    else:
        level = connection.exec_driver_sql("SHOW transaction_isolation").scalar()
        assert level == "read committed"
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"
