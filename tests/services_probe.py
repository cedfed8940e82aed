"""Which real services the suite can reach, and the CI rule: missing in CI is a failure."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

MARIADB_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306")
POSTGRESQL_URL = os.environ.get(
    "TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
IN_CI = os.environ.get("CI", "").lower() == "true"


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Services:
    mariadb: bool
    redis: bool
    postgresql: bool

    def describe(self) -> str:
        def mark(ok: bool) -> str:
            return "found" if ok else "NOT FOUND"

        return (
            f"services: sqlite found, mariadb {mark(self.mariadb)} (127.0.0.1:3306), "
            f"postgresql {mark(self.postgresql)} (127.0.0.1:5432), "
            f"redis {mark(self.redis)} (127.0.0.1:6379), moto S3 and aiosmtpd started by the "
            f"suite; CI={'true' if IN_CI else 'false'}"
        )


def probe() -> Services:
    """Look for MariaDB, PostgreSQL and Redis on loopback."""
    mariadb = False
    if port_open("127.0.0.1", 3306):
        try:
            import pymysql

            conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
            conn.close()
            mariadb = True
        except Exception:  # noqa: BLE001 - reachable but unusable counts as missing
            mariadb = False
    redis_ok = False
    if port_open("127.0.0.1", 6379):
        try:
            import redis

            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
            redis_ok = True
        except Exception:  # noqa: BLE001
            redis_ok = False
    postgresql = False
    if port_open("127.0.0.1", 5432):
        try:
            import psycopg

            psycopg.connect(
                host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=2
            ).close()
            postgresql = True
        except Exception:  # noqa: BLE001
            postgresql = False
    return Services(mariadb=mariadb, redis=redis_ok, postgresql=postgresql)
