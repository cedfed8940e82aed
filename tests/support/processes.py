"""Private service processes for fault tests: things a test may stop and start again.

``private_redis()`` runs a ``redis-server`` of its own on a free loopback port (no persistence),
so a test can take Redis away and bring it back without touching the machine's shared Redis on
6379. ``start_gunicorn()`` and ``start_celery_worker()`` start those processes in their own
process groups, so a test can signal exactly them (SIGTERM to a master, SIGKILL to a worker).

The pieces are shared by every test that runs a real process: ``spawn_group()`` starts a command
in a process group of its own with its output in a log file, ``await_started()`` waits until it
is ready (failing with the log when it exits first), and ``stop_group()`` stops the whole group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.support.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CELERY = ROOT / ".venv" / "bin" / "celery"


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Signal ``process``'s group, wait, and SIGKILL whatever is left after ``timeout``."""
    if process.poll() is not None:
        _reap_group(process.pid)
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _reap_group(process.pid)
        process.wait(timeout=5)
    _reap_group(process.pid)


def _reap_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class RedisServer:
    """A private ``redis-server`` on 127.0.0.1:``port`` that can be stopped and restarted."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start (again) on the same port; returns once it accepts connections."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = spawn_group(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.workdir),
            ],
            self.workdir / f"redis-{self.port}.log",
            append=True,
        )
        wait_for_port(self.port, timeout=timeout)
        self._wait_ping(timeout)

    def _wait_ping(self, timeout: float) -> None:
        import redis

        deadline = time.monotonic() + timeout
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (SIGKILL: as abrupt as a crash); the port is closed on return."""
        if self.process is not None:
            stop_group(self.process, signal.SIGKILL, timeout=5)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@contextmanager
def private_redis(workdir: Path) -> Iterator[RedisServer]:
    """A running private Redis, always stopped at the end."""
    if shutil.which("redis-server") is None:
        from tests.conftest import require

        require("redis")  # redis-server ships with Redis: missing means "no Redis here"
        pytest.skip("redis-server binary not installed")
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(predicate, timeout: float, interval: float = 0.1, message="") -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds.

    ``message`` is a string or a callable giving it when the time is up (say, a log's last state).
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            if callable(message):
                message = message()
            pytest.fail(message or f"condition not met within {timeout}s")
        time.sleep(interval)


def spawn_group(
    command: list[str], log_path: Path, *, env: dict[str, str] | None = None, append: bool = False
) -> subprocess.Popen:
    """Start ``command`` from the repository root in a group of its own, output to ``log_path``."""
    with log_path.open("ab" if append else "wb") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def await_started(
    process: subprocess.Popen,
    ready,
    *,
    name: str,
    log_path: Path,
    timeout: float,
    interval: float = 0.1,
) -> None:
    """Poll ``ready()`` until true; fail if ``process`` exits first, stop its group on failure."""

    def started() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log_path.read_text()}")
        return ready()

    try:
        wait_until(
            started,
            timeout,
            interval=interval,
            message=lambda: f"{name} not ready after {timeout}s:\n{log_path.read_text()}",
        )
    except BaseException:
        stop_group(process)
        raise


def start_gunicorn(
    env: dict[str, str],
    log_path: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    graceful_timeout: int = 15,
    port: int | None = None,
    startup_timeout: float = 30.0,
) -> tuple[subprocess.Popen, str]:
    """Start gunicorn (gthread) in its own group; return the process and its healthy base URL."""
    import requests

    port = port or free_port()
    environ = {
        **os.environ,
        "APP_ENV": "testing",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    command = [
        str(GUNICORN),
        "app:create_app()",
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        str(graceful_timeout),
        "--timeout",
        "60",
        # As gunicorn.conf.py: whatever nginx forwards (8 KB lines, 32 KB of headers) reaches
        # the app.
        "--limit-request-line",
        "8190",
        "--limit-request-fields",
        "32768",
        "--limit-request-field_size",
        "16384",
    ]
    process = spawn_group(command, log_path, env=environ)
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/api/v1/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    await_started(process, healthy, name="gunicorn", log_path=log_path, timeout=startup_timeout)
    return process, base


def start_celery_worker(
    env: dict[str, str], log_path: Path, name: str, *, pool: str = "solo", quiet: bool = False
) -> subprocess.Popen:
    """Start ``celery -A celery_worker worker`` (one process with ``solo``; ``prefork``, as
    deployed, with two children) in its own group; wait until ready. ``quiet``: no banner."""
    environ = {**os.environ, "APP_ENV": "testing", "PYTHONUNBUFFERED": "1", **env}
    environ.pop("CELERY_RESULT_BACKEND", None)
    start = log_path.stat().st_size if log_path.exists() else 0
    command = [
        str(CELERY),
        "-A",
        "celery_worker",
        *(["--quiet"] if quiet else []),
        "worker",
        f"--pool={pool}",
        *(["--concurrency=2"] if pool == "prefork" else []),
        "--loglevel=INFO",
        "-n",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    process = spawn_group(command, log_path, env=environ, append=True)

    def ready() -> bool:
        return " ready." in log_path.read_text(errors="replace")[start:]

    await_started(process, ready, name="celery worker", log_path=log_path, timeout=60, interval=0.2)
    return process


def start_celery_beat(
    env: dict[str, str], log_path: Path, workdir: Path, *, quiet: bool = False
) -> subprocess.Popen:
    """Start ``celery -A celery_worker beat`` (schedule file in ``workdir``); wait for it.
    ``quiet``: no banner."""
    environ = {**os.environ, "APP_ENV": "testing", "PYTHONUNBUFFERED": "1", **env}
    environ.pop("CELERY_RESULT_BACKEND", None)
    workdir.mkdir(parents=True, exist_ok=True)
    start = log_path.stat().st_size if log_path.exists() else 0
    command = [
        str(CELERY),
        "-A",
        "celery_worker",
        *(["--quiet"] if quiet else []),
        "beat",
        "--loglevel=INFO",
        "--schedule",
        str(workdir / "celerybeat-schedule"),
        "--pidfile=",
    ]
    process = spawn_group(command, log_path, env=environ, append=True)

    def ticking() -> bool:
        return "beat: Starting..." in log_path.read_text(errors="replace")[start:]

    await_started(process, ticking, name="celery beat", log_path=log_path, timeout=60, interval=0.2)
    return process
