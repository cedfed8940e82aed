"""Real gunicorn (the shipped gunicorn.conf.py) behind real nginx (the shipped site config).

The stack listens on loopback only: gunicorn on 127.0.0.1, nginx on 127.0.0.2, and each test's
client connects from an address of its own (127.0.0.3 and up), so the address nginx sees, the
address gunicorn sees (nginx's, 127.0.0.1) and the client's all differ.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.services_probe import IN_CI
from tests.support.net import free_port, wait_for_port
from tests.support.processes import stop_group

ROOT = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent
NGINX_HOST = "127.0.0.2"
NGINX_SITE = ROOT / "deploy" / "nginx" / "parkmind.conf"
ADMIN_EMAIL = "ops-admin@parkmind.test"
ADMIN_PASSWORD = "admin-password-123"


def require_tool(path: str | None, name: str) -> str:
    """The tool's path; skip locally, fail in CI, when it is not installed."""
    if path:
        return path
    message = f"{name} is not installed (bash .ci/install-deploy-tools.sh installs it)"
    if IN_CI:
        pytest.fail(f"{message}; it is required in CI")
    pytest.skip(message)


def nginx_binary() -> str:
    return require_tool(
        shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None,
        "nginx",
    )


def replace_once(text: str, old: str, new: str) -> str:
    """Rewrite one line of a shipped file; fail loudly when the file no longer has it."""
    assert text.count(old) == 1, f"expected exactly one {old!r} in the shipped file"
    return text.replace(old, new)


def render_site(upstream_port: int, listen_port: int, log_dir: Path) -> str:
    """The shipped site config pointed at this test's gunicorn, port and log directory."""
    text = NGINX_SITE.read_text()
    text = replace_once(text, "server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    text = replace_once(text, "listen 80;", f"listen {NGINX_HOST}:{listen_port};")
    return replace_once(
        text, "/var/log/nginx/parkmind.access.log", str(log_dir / "parkmind.access.log")
    )


def render_main_conf(site: Path, work: Path) -> str:
    """A minimal nginx.conf around the site: foreground, files under ``work``."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {work / 'nginx.pid'};\n"
        f"error_log {work / 'error.log'} info;\n"
        "events { worker_connections 128; }\n"
        "http {\n"
        f"    access_log off;\n{temp}\n"
        f"    uwsgi_temp_path {work / 'uwsgi'};\n    scgi_temp_path {work / 'scgi'};\n"
        "    default_type application/octet-stream;\n"
        f"    include {site};\n"
        "}\n"
    )


def start_nginx(work: Path, upstream_port: int, listen_port: int) -> subprocess.Popen:
    """nginx with the shipped site (checked with ``nginx -t`` first), files under ``work``."""
    nginx = nginx_binary()
    work.mkdir(parents=True, exist_ok=True)
    site = work / "parkmind.conf"
    site.write_text(render_site(upstream_port, listen_port, work))
    conf = work / "nginx.conf"
    conf.write_text(render_main_conf(site, work))
    base = [nginx, "-e", str(work / "error.log"), "-p", str(work), "-c", str(conf)]
    checked = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen(
        base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for_port(listen_port, host=NGINX_HOST, timeout=15)
    except TimeoutError:
        stop_process_group(proc)
        raise AssertionError((work / "error.log").read_text()) from None
    return proc


# One way to stop a process group across the suite.
stop_process_group = stop_group


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Stack:
    nginx_port: int
    gunicorn_port: int
    work: Path
    env: dict
    processes: list = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        *,
        source: str,
        json_body=None,
        body: bytes | None = None,
        headers: dict | None = None,
        direct: bool = False,
    ) -> Reply:
        """One HTTP request from ``source`` to nginx (or straight to gunicorn with ``direct``)."""
        host, port = ("127.0.0.1", self.gunicorn_port) if direct else (NGINX_HOST, self.nginx_port)
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection(host, port, timeout=20, source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def login(self, login: str, password: str, *, source: str) -> dict:
        reply = self.request(
            "POST",
            "/api/v1/auth/login",
            source=source,
            json_body={"login": login, "password": password},
        )
        assert reply.status == 200, reply.body
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    def access_log(self) -> list[dict]:
        """gunicorn's access log lines (each must be one JSON object)."""
        lines = (self.work / "gunicorn.out").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def nginx_log(self) -> list[dict]:
        path = self.work / "parkmind.access.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line]


def wait_for_log(read, predicate, timeout: float = 5.0):
    """Poll a log reader until ``predicate`` matches a line (logs are flushed asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = read()
        matches = [line for line in lines if predicate(line)]
        if matches or time.monotonic() > deadline:
            return matches
        time.sleep(0.1)


def flask(env: dict, *args: str) -> str:
    """Run a ``flask`` CLI command against the stack's database; its output."""
    # As in deploy/systemd: only the API process has the prometheus multiprocess directory.
    env = {key: value for key, value in env.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app:create_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    """Migrated SQLite database, an admin, gunicorn and nginx; all stopped afterwards."""
    nginx_binary()
    work = tmp_path_factory.mktemp("deploy")
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "DATABASE_", "REDIS_", "CELERY_", "S3_", "PROMETHEUS_"))
    }
    env.update(
        APP_ENV="testing",
        DATABASE_URL=f"sqlite:///{work / 'parkmind.db'}",
        PARKMIND_INSTANCE_PATH=str(work / "instance"),
        PARKMIND_BIND=f"127.0.0.1:{gunicorn_port}",
        # The rate limiter's memory storage is per process: one worker keeps one count per client.
        PARKMIND_WORKERS="1",
        PARKMIND_THREADS="4",
        PROMETHEUS_MULTIPROC_DIR=str(work / "metrics"),
        TRUSTED_PROXIES="1",
        RATELIMIT_ENABLED="true",
        LOGIN_RATE_LIMIT="2 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="100 per minute",
        REGISTER_RATE_LIMIT="100 per minute",
        BOOKING_RATE_LIMIT="100 per minute",
        LOG_JSON="true",
    )
    flask(env, "db", "upgrade")
    flask(env, "users", "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD)

    stack = Stack(nginx_port=nginx_port, gunicorn_port=gunicorn_port, work=work, env=env)
    try:
        with (work / "gunicorn.out").open("w") as out, (work / "gunicorn.err").open("w") as err:
            stack.processes.append(
                subprocess.Popen(
                    [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            )
        wait_for_port(gunicorn_port, timeout=30)

        stack.processes.append(start_nginx(work, gunicorn_port, nginx_port))
        yield stack
    finally:
        for proc in reversed(stack.processes):
            stop_process_group(proc)


REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
