"""gunicorn.conf.py: sizing from the environment, JSON-safe access lines, metrics clean-up."""

from __future__ import annotations

import json
import runpy
from types import SimpleNamespace

# Imported before any test here sets PROMETHEUS_MULTIPROC_DIR: prometheus_client picks its value
# class once, at import, and the rest of the suite needs the in-process one.
import prometheus_client  # noqa: F401

from tests.system.deploy.conftest import ROOT

CONF = str(ROOT / "gunicorn.conf.py")


def load(monkeypatch, **env) -> dict:
    for name in (
        "PARKMIND_BIND",
        "PARKMIND_WORKERS",
        "PARKMIND_THREADS",
        "FORWARDED_ALLOW_IPS",
        "PARKMIND_CONTROL_SOCKET",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(CONF)


def test_defaults_are_loopback_gthread_and_capped(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    conf = load(monkeypatch)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert conf["worker_class"] == "gthread"
    assert conf["workers"] == 8
    assert conf["threads"] == 4
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["preload_app"] is False
    assert conf["wsgi_app"] == "app:create_app()"
    assert (conf["timeout"], conf["graceful_timeout"], conf["keepalive"]) == (60, 30, 5)
    assert conf["max_requests"] > 0 and conf["max_requests_jitter"] > 0
    assert conf["control_socket_disable"] is True


def test_small_machines_get_two_per_cpu_plus_one(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert load(monkeypatch)["workers"] == 5


def test_environment_overrides(monkeypatch):
    conf = load(
        monkeypatch,
        PARKMIND_BIND="10.0.0.5:9000",
        PARKMIND_WORKERS="3",
        PARKMIND_THREADS="8",
        FORWARDED_ALLOW_IPS="10.0.0.2",
    )
    assert conf["bind"] == ["10.0.0.5:9000"]
    assert (conf["workers"], conf["threads"]) == (3, 8)
    assert conf["forwarded_allow_ips"] == "10.0.0.2"


def test_access_line_stays_valid_json_whatever_the_client_sends(monkeypatch):
    conf = load(monkeypatch)
    atoms = {
        "t": "2026-11-20T08:15:00Z",
        "{x-request-id}o": "abc",
        "m": "GET",
        "U": '/api/v1/lots/"}\\x',
        "q": 'q="\n',
        "s": "404",
        "M": 3,
        "b": "12",
        "h": "127.0.0.3",
        "a": 'agent "quoted"\t',
    }
    line = conf["access_log_format"] % conf["JsonSafeAtoms"](atoms)
    entry = json.loads(line)
    assert entry["path"] == '/api/v1/lots/"}\\x'
    assert entry["query"] == 'q="\n'
    assert entry["user_agent"] == 'agent "quoted"\t'
    assert entry["status"] == 404
    assert entry["forwarded_for"] == "-"  # absent header


def test_multiprocess_metrics_directory_is_reset_and_dead_workers_dropped(monkeypatch, tmp_path):
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_111.db").write_bytes(b"stale")
    keep = directory / "README"
    keep.write_text("not ours")
    conf = load(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))

    conf["on_starting"](None)
    assert not (directory / "counter_111.db").exists()
    assert keep.exists()

    live = directory / "gauge_livesum_222.db"
    live.write_bytes(b"")
    conf["child_exit"](None, SimpleNamespace(pid=222))
    assert not live.exists()


def test_without_multiprocess_metrics_the_hooks_do_nothing(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    conf = load(monkeypatch)
    conf["on_starting"](None)
    conf["child_exit"](None, SimpleNamespace(pid=1))
