"""ParkMind configuration.

Every setting comes from the environment (see README "Configuration"). ``APP_ENV`` picks the class:
``development`` (default, embedded defaults: SQLite, in-memory cache and limits, tasks in-process,
local files), ``testing`` or ``production``. Nothing here connects to anything; required secrets are
checked by :func:`validate_config` when the app is created.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("PARKMIND_INSTANCE_PATH", BASE_DIR / "instance"))

MIN_SECRET_BYTES = 32

# Languages people get their messages in, the default first. A language is listed only once its
# catalog (app/translations/<code>/) is complete: tests/platform/test_i18n.py fails otherwise.
LANGUAGES = ("en", "de")


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable (1/true/yes/on)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def env_list(name: str) -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def instance_secret(name: str) -> str:
    """Return a secret generated once for this instance and kept in ``instance/``."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / f"{name.lower()}.secret"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    # Create with 0600 so the generated secret is not world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def new_vapid_private_key() -> str:
    """A P-256 private key as VAPID tools write it: the 32-byte scalar, URL-safe base64."""
    from cryptography.hazmat.primitives.asymmetric import ec

    scalar = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(scalar.to_bytes(32, "big")).rstrip(b"=").decode()


def instance_vapid_key() -> str:
    """The Web Push key pair generated once for this instance and kept in ``instance/``."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "vapid_private_key.secret"
    if path.exists():
        return path.read_text().strip()
    value = new_vapid_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


class Config:
    """Settings shared by every environment."""

    APP_ENV = "development"
    DEBUG = False
    TESTING = False

    SQLALCHEMY_RECORD_QUERIES = False
    MAX_CONTENT_LENGTH = 1024 * 1024  # JSON bodies; photo bytes go straight to storage
    JSON_SORT_KEYS = False

    JWT_ACCESS_TOKEN_EXPIRES = timedelta(minutes=15)
    JWT_REFRESH_TOKEN_EXPIRES = timedelta(days=30)
    JWT_TOKEN_LOCATION = ["headers"]
    JWT_ALGORITHM = "HS256"
    JWT_DECODE_ALGORITHMS = ["HS256"]
    JWT_ERROR_MESSAGE_KEY = "message"

    # argon2id parameters (RFC 9106 second recommended option, tuned down in tests).
    PASSWORD_HASH_TIME_COST = 3
    PASSWORD_HASH_MEMORY_COST = 65536
    PASSWORD_HASH_PARALLELISM = 4

    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STRATEGY = "moving-window"
    LOGIN_RATE_LIMIT = "10 per minute"
    LOGIN_ACCOUNT_RATE_LIMIT = "5 per minute"
    REGISTER_RATE_LIMIT = "5 per minute"
    BOOKING_RATE_LIMIT = "30 per minute"
    DEFAULT_RATE_LIMIT = "600 per minute"

    LANGUAGES = LANGUAGES
    BABEL_DEFAULT_LOCALE = LANGUAGES[0]
    BABEL_DEFAULT_TIMEZONE = "UTC"

    API_TITLE = "ParkMind API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"

    IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
    # A promised side effect the broker never took is given up (status failed, logged) after this.
    OUTBOX_GIVE_UP_AFTER = timedelta(hours=24)
    # /ready calls the outbox "delayed" when its oldest pending row is older than this.
    OUTBOX_DELAYED_AFTER = timedelta(minutes=2)
    # An e-mail or webhook claimed longer ago than this and still pending was abandoned by a
    # sender that died mid-conversation: it is sent again. Longer than one SMTP exchange can last
    # (each of its steps times out after 15 s), short enough that an SOS e-mail whose worker was
    # killed goes out again within minutes.
    MAIL_CLAIM_LEASE = timedelta(minutes=3)
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    UPLOAD_URL_EXPIRES = timedelta(minutes=10)
    DOWNLOAD_URL_EXPIRES = timedelta(minutes=5)
    EXPORT_FILE_TTL = timedelta(days=7)
    # How long the signed link in a "your data export is ready" e-mail works (never past the
    # file's own expiry; S3 signs for at most 7 days).
    DATA_EXPORT_LINK_TTL = timedelta(hours=24)
    # How long the one-click unsubscribe link of a reminder, report or notice e-mail works.
    UNSUBSCRIBE_LINK_TTL = timedelta(days=365)

    def __init__(self) -> None:
        env = os.environ
        self.APP_ENV = env.get("APP_ENV", self.APP_ENV)
        self.DEBUG = env_bool("FLASK_DEBUG", self.DEBUG)
        self.SQLALCHEMY_DATABASE_URI = env.get("DATABASE_URL") or self.default_database_url()
        self.REDIS_URL = env.get("REDIS_URL") or None
        self.CELERY_BROKER_URL = env.get("CELERY_BROKER_URL") or self.REDIS_URL
        self.CELERY_RESULT_BACKEND = env.get("CELERY_RESULT_BACKEND") or self.REDIS_URL
        self.SECRET_KEY = env.get("SECRET_KEY") or self.default_secret("SECRET_KEY")
        self.JWT_SECRET_KEY = env.get("JWT_SECRET_KEY") or self.default_secret("JWT_SECRET_KEY")
        self.CORS_ORIGINS = env_list("CORS_ORIGINS")
        self.S3_BUCKET = env.get("S3_BUCKET") or None
        self.S3_ENDPOINT_URL = env.get("S3_ENDPOINT_URL") or None
        self.AWS_REGION = env.get("AWS_REGION") or "us-east-1"
        self.LOCAL_STORAGE_PATH = env.get("LOCAL_STORAGE_PATH") or str(INSTANCE_DIR / "files")
        self.MAIL_SERVER = env.get("MAIL_SERVER") or None
        self.MAIL_PORT = env_int("MAIL_PORT", 587)
        self.MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
        self.MAIL_USERNAME = env.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD") or None
        self.MAIL_DEFAULT_SENDER = (
            env.get("MAIL_DEFAULT_SENDER") or "ParkMind <noreply@parkmind.local>"
        )
        self.NOTIFY_WEBHOOK_URL = env.get("NOTIFY_WEBHOOK_URL") or None
        # Web Push: without a key (production, unless VAPID_PRIVATE_KEY is set) it is off.
        self.VAPID_PRIVATE_KEY = env.get("VAPID_PRIVATE_KEY") or self.default_vapid_key()
        sender = parseaddr(self.MAIL_DEFAULT_SENDER)[1] or "noreply@parkmind.local"
        self.VAPID_SUBJECT = env.get("VAPID_SUBJECT") or f"mailto:{sender}"
        # Native push: FCM (HTTP v1) with a service account's JSON key file; off without it.
        self.FCM_CREDENTIALS_FILE = env.get("FCM_CREDENTIALS_FILE") or None
        self.FCM_ENDPOINT = env.get("FCM_ENDPOINT") or "https://fcm.googleapis.com"
        # APNs with a token-signing key (.p8) from Apple; off unless all four are set.
        self.APNS_KEY_FILE = env.get("APNS_KEY_FILE") or None
        self.APNS_KEY_ID = env.get("APNS_KEY_ID") or None
        self.APNS_TEAM_ID = env.get("APNS_TEAM_ID") or None
        self.APNS_TOPIC = env.get("APNS_TOPIC") or None
        self.APNS_ENDPOINT = env.get("APNS_ENDPOINT") or "https://api.push.apple.com"
        # Push service endpoints are https; plain http only for a push service on loopback.
        self.WEBPUSH_ALLOW_HTTP = env_bool("WEBPUSH_ALLOW_HTTP", self.APP_ENV != "production")
        self.ADMIN_EMAIL = env.get("ADMIN_EMAIL") or None
        self.ADMIN_PASSWORD = env.get("ADMIN_PASSWORD") or None
        self.CURRENCY = (env.get("CURRENCY") or "USD").upper()
        self.TIMEZONE = env.get("TIMEZONE") or "UTC"
        self.RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", self.RATELIMIT_ENABLED_DEFAULT)
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        for name in (
            "LOGIN_RATE_LIMIT",
            "LOGIN_ACCOUNT_RATE_LIMIT",
            "REGISTER_RATE_LIMIT",
            "BOOKING_RATE_LIMIT",
        ):
            setattr(self, name, env.get(name) or getattr(self, name))
        self.PARKING_EVENT_TTL_HOURS = env_int("PARKING_EVENT_TTL_HOURS", 72)
        self.PARKING_EVENT_REMINDER_HOURS = env_int("PARKING_EVENT_REMINDER_HOURS", 12)
        self.ALERT_ESCALATE_MINUTES = env_int("ALERT_ESCALATE_MINUTES", 5)
        self.METER_REMINDER_MINUTES = env_int("METER_REMINDER_MINUTES", 15)
        self.ACCESS_LOG_RETENTION_DAYS = env_int("ACCESS_LOG_RETENTION_DAYS", 365)
        self.NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 180)
        self.MOVING_AWAY_MINUTES = env_int("MOVING_AWAY_MINUTES", 4)
        # Reservations: check-in opens this early; not checked in this late after the start is
        # a no-show; cancelling is free until this many hours before the start; walk-ins keep off
        # spots reserved within the horizon when they can.
        self.RESERVATION_EARLY_MINUTES = env_int("RESERVATION_EARLY_MINUTES", 30)
        self.RESERVATION_GRACE_MINUTES = env_int("RESERVATION_GRACE_MINUTES", 20)
        # Reservations starting within this time must have a spot free of other cars (moved if
        # not); longer than the check-in window, so a driver is told before arriving.
        self.RESERVATION_SETTLE_MINUTES = env_int("RESERVATION_SETTLE_MINUTES", 45)
        # A car due to leave less than this before the next reservation's start counts as in
        # the way: the next driver is moved (or told) before arriving, not at the gate.
        self.RESERVATION_TURNOVER_MINUTES = env_int("RESERVATION_TURNOVER_MINUTES", 15)
        self.CANCELLATION_FREE_HOURS = env_int("CANCELLATION_FREE_HOURS", 2)
        self.WALKIN_HORIZON_HOURS = env_int("WALKIN_HORIZON_HOURS", 4)
        self.RESERVATION_MAX_DAYS_AHEAD = env_int("RESERVATION_MAX_DAYS_AHEAD", 30)
        # Reminders: before the start, before the no-show deadline, before the reserved end,
        # and to a walk-in whose spot is reserved by someone else soon.
        self.RESERVATION_REMINDER_MINUTES = env_int("RESERVATION_REMINDER_MINUTES", 30)
        self.NO_SHOW_WARNING_MINUTES = env_int("NO_SHOW_WARNING_MINUTES", 10)
        self.RESERVATION_END_REMINDER_MINUTES = env_int("RESERVATION_END_REMINDER_MINUTES", 15)
        self.OVERSTAY_WARNING_MINUTES = env_int("OVERSTAY_WARNING_MINUTES", 60)
        # Payments: the provider that takes them ("manual": cash or the lot's own terminal), and
        # who the operator is on receipts.
        self.PAYMENT_PROVIDER = env.get("PAYMENT_PROVIDER") or "manual"
        self.OPERATOR_NAME = env.get("OPERATOR_NAME") or "ParkMind Parking"
        self.OPERATOR_ADDRESS = env.get("OPERATOR_ADDRESS") or ""
        self.TRUSTED_PROXIES = env_int("TRUSTED_PROXIES", 0)
        self.LOG_JSON = env_bool("LOG_JSON", self.APP_ENV == "production")
        self.LOG_LEVEL = env.get("LOG_LEVEL") or "INFO"
        self.PUBLIC_BASE_URL = env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"
        self.CACHE_TYPE = "RedisCache" if self.REDIS_URL else "SimpleCache"
        self.CACHE_REDIS_URL = self.REDIS_URL
        self.CACHE_DEFAULT_TIMEOUT = 60
        self.CACHE_KEY_PREFIX = env.get("CACHE_KEY_PREFIX") or "parkmind:"
        # On a cache miss one request computes; the others wait this long for its value.
        self.CACHE_FILL_WAIT_SECONDS = env_int("CACHE_FILL_WAIT_SECONDS", 3)
        # With Redis, a token check's answer is remembered at most this long (a revocation voids
        # it at once; the expiry bounds a revocation Redis never received).
        self.SESSION_CHECK_CACHE_SECONDS = env_int("SESSION_CHECK_CACHE_SECONDS", 60)
        # Remember token checks in Redis: "auto" (on a database server, not on SQLite, where the
        # in-process query is cheaper than a Redis round trip), "on" or "off".
        self.SESSION_CHECK_CACHE = env.get("SESSION_CHECK_CACHE") or "auto"

    RATELIMIT_ENABLED_DEFAULT = True

    def default_database_url(self) -> str:
        """SQLite file in ``instance/`` for the embedded default."""
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{INSTANCE_DIR / 'parkmind.db'}"

    def default_secret(self, name: str) -> str | None:
        """Generated once per instance outside production; production must set it."""
        return instance_secret(name)

    def default_vapid_key(self) -> str | None:
        return instance_vapid_key()


class DevelopmentConfig(Config):
    """Embedded defaults for ``make run``."""

    APP_ENV = "development"


class TestingConfig(Config):
    """Fast, isolated settings for the test suite."""

    APP_ENV = "testing"
    TESTING = True
    RATELIMIT_ENABLED_DEFAULT = False
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_COST = 1024
    PASSWORD_HASH_PARALLELISM = 1

    def default_secret(self, name: str) -> str | None:
        return f"testing-{name.lower()}-" + "x" * 40

    def default_vapid_key(self) -> str | None:
        return _testing_vapid_key()


class ProductionConfig(Config):
    """Production: every secret and service must be given explicitly."""

    APP_ENV = "production"

    def default_secret(self, name: str) -> str | None:
        return None

    def default_vapid_key(self) -> str | None:
        return None


@functools.cache
def _testing_vapid_key() -> str:
    # One per test process; a worker started by a test gets the API's key through the environment.
    return new_vapid_private_key()


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


class ConfigError(RuntimeError):
    """Raised when the configuration is unsafe for the chosen environment."""


def load_config(app_env: str | None = None) -> Config:
    """Build the configuration object for ``app_env`` (or ``APP_ENV``)."""
    name = (app_env or os.environ.get("APP_ENV") or "development").strip().lower()
    if name not in CONFIGS:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    previous = os.environ.get("APP_ENV")
    os.environ["APP_ENV"] = name
    try:
        return CONFIGS[name]()
    finally:
        if previous is None:
            os.environ.pop("APP_ENV", None)
        else:
            os.environ["APP_ENV"] = previous


def engine_options(database_url: str) -> dict:
    """Connection pool settings suited to the database in ``database_url``."""
    if database_url.startswith("sqlite"):
        # SQLite: a busy writer waits instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    if database_url.startswith("postgresql"):
        # psycopg: a statement running (or waiting for a lock) longer than 30 s is cancelled by
        # the server, as PyMySQL's read timeout gives up on MariaDB; either answers 503.
        connect_args = {"connect_timeout": 5, "options": "-c statement_timeout=30000"}
    else:
        connect_args = {"connect_timeout": 5, "read_timeout": 30, "write_timeout": 30}
    return {
        # Every read sees what has committed, also after waiting for a row lock: a check that
        # guards a write (a cap, a uniqueness, a state) reads current data. MariaDB's default,
        # REPEATABLE READ, would answer from the snapshot of the request's first read;
        # PostgreSQL's default is READ COMMITTED already (set here so both say it).
        "isolation_level": "READ COMMITTED",
        "pool_pre_ping": True,
        "pool_recycle": 280,
        "pool_size": env_int("DB_POOL_SIZE", 10),
        "max_overflow": env_int("DB_MAX_OVERFLOW", 10),
        "pool_timeout": 10,
        "connect_args": connect_args,
    }


def validate_config(settings: dict) -> None:
    """Refuse to run production with unsafe settings; the message names the variable."""
    # Lazy: the app package imports this module, so its providers are importable only by now.
    from app.payments.providers import PROVIDERS

    provider = settings.get("PAYMENT_PROVIDER") or "manual"
    if provider not in PROVIDERS:
        raise ConfigError(
            f"PAYMENT_PROVIDER must be one of {', '.join(sorted(PROVIDERS))}, not {provider!r}"
        )
    if settings.get("APP_ENV") != "production":
        return
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        value = settings.get(name) or ""
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"{name} must be set to a random value of at least {MIN_SECRET_BYTES} bytes "
                "in production"
            )
    if str(settings.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite"):
        raise ConfigError(
            "DATABASE_URL must point to MariaDB/MySQL or PostgreSQL in production, not SQLite"
        )
    if "*" in (settings.get("CORS_ORIGINS") or []):
        raise ConfigError("CORS_ORIGINS must list origins explicitly in production, not '*'")
    if settings.get("DEBUG"):
        raise ConfigError("FLASK_DEBUG must be off in production")
