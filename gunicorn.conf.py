"""gunicorn settings for the ParkMind API: ``gunicorn -c gunicorn.conf.py``.

Every value can be changed from the environment (systemd ``EnvironmentFile`` or Compose
``environment``), so the same file serves a VM behind nginx and a container.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from gunicorn.glogging import Logger


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


# The app factory; nothing connects to the database, Redis or S3 before a worker forks
# (preload_app is off), so every worker opens its own connections.
wsgi_app = "app:create_app()"
preload_app = False

# Bind to loopback (or a private address) only: the app trusts X-Forwarded-For from its peer when
# TRUSTED_PROXIES is set, so clients must never reach gunicorn except through nginx.
bind = [os.environ.get("PARKMIND_BIND", "127.0.0.1:8000")]

# gthread keeps connections from nginx alive and lets a worker overlap I/O waits (database, S3,
# Redis). Password hashing (argon2id) is CPU-bound: workers, not threads, add login throughput.
# The cap keeps database connections (pool per worker) well under MariaDB's max_connections.
MAX_DEFAULT_WORKERS = 8
worker_class = "gthread"
workers = _env_int("PARKMIND_WORKERS", min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS))
threads = _env_int("PARKMIND_THREADS", 4)

# A request may wait on a database lock (retried) or S3; 60 s kills a stuck worker. On SIGTERM a
# worker gets 30 s to finish what it is serving (systemd TimeoutStopSec and Compose
# stop_grace_period are longer).
timeout = _env_int("PARKMIND_TIMEOUT", 60)
graceful_timeout = _env_int("PARKMIND_GRACEFUL_TIMEOUT", 30)
keepalive = 5  # longer than nothing, shorter than nginx's upstream keepalive_timeout (60 s)

# Recycle workers now and then so slow leaks cannot grow without bound; the jitter keeps them from
# all restarting at once.
max_requests = _env_int("PARKMIND_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("PARKMIND_MAX_REQUESTS_JITTER", 200)

# gunicorn accepts whatever the shipped nginx forwards, so that a request refused for its size is
# refused by nginx, in the API's JSON error shape, never by gunicorn in plain text. nginx takes
# request lines and header lines of up to 8 KB each and 32 KB of headers in all
# (large_client_header_buffers 4 8k); its X-Forwarded-For can be a few bytes longer than the
# client's. gunicorn's defaults (4094-byte lines, 100 headers, 8190-byte header lines) are lower.
limit_request_line = 8190
limit_request_fields = 32768
limit_request_field_size = 16384

# X-Forwarded-Proto is honoured only from these peers (nginx on the same host by default).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's control socket is off unless a path is given: its default lives under $HOME, shared
# by every gunicorn of the user, and the units manage gunicorn with signals (HUP, TERM).
if os.environ.get("PARKMIND_CONTROL_SOCKET"):
    control_socket = os.environ["PARKMIND_CONTROL_SOCKET"]
else:
    control_socket_disable = True

# The worker heartbeat file lives in memory where possible (a container's disk may be slow).
if os.path.isdir("/dev/shm"):  # noqa: S108 - a fixed system tmpfs, files created by gunicorn
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# Logs: access lines to stdout and gunicorn's own messages to stderr, both collected by journald
# or the container runtime. The app's structlog lines (JSON in production) go to stderr too.
accesslog = os.environ.get("PARKMIND_ACCESS_LOG", "-")
errorlog = os.environ.get("PARKMIND_ERROR_LOG", "-")
loglevel = os.environ.get("PARKMIND_GUNICORN_LOG_LEVEL", "info")

# One JSON object per line. Values are JSON-escaped by JsonLogger below before they are
# substituted; remote_addr is the client's address after ProxyFix (the app rewrites the WSGI
# environ that gunicorn logs from), forwarded_for is the header as nginx sent it.
access_log_format = (
    '{"event": "access", "time": "%(t)s", "request_id": "%({x-request-id}o)s", '
    '"method": "%(m)s", "path": "%(U)s", "query": "%(q)s", "status": %(s)s, '
    '"duration_ms": %(M)s, "bytes": "%(b)s", "remote_addr": "%(h)s", '
    '"forwarded_for": "%({x-forwarded-for}i)s", "user_agent": "%(a)s"}'
)


class JsonSafeAtoms(dict):
    """Log atoms escaped for a JSON string; unknown atoms render as ``-`` (as gunicorn does)."""

    def __init__(self, atoms: dict) -> None:
        super().__init__()
        for key, value in atoms.items():
            self[key] = json.dumps(value)[1:-1] if isinstance(value, str) else value

    def __getitem__(self, key: str):
        lookup = key.lower() if key.startswith("{") else key
        return super().__getitem__(lookup) if lookup in self else "-"


class JsonLogger(Logger):
    """gunicorn's logger with JSON-safe access-log values and ISO 8601 UTC timestamps."""

    atoms_wrapper_class = JsonSafeAtoms

    def now(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


logger_class = JsonLogger


def on_starting(server) -> None:
    """Start with an empty prometheus multiprocess directory (stale files would add up)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    # Only prometheus_client's own files: the directory is named by configuration.
    for stale in path.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
