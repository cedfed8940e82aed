"""The systemd units pass ``systemd-analyze verify``; the Compose file validates and is complete."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.system.deploy.conftest import ROOT, require_tool

UNITS = ROOT / "deploy" / "systemd"
COMPOSE = ROOT / "docker-compose.yml"
SECRETS = {
    "SECRET_KEY": "s" * 48,
    "JWT_SECRET_KEY": "j" * 48,
    "MARIADB_PASSWORD": "db-password",
    "MARIADB_ROOT_PASSWORD": "db-root-password",
    "MINIO_ROOT_PASSWORD": "minio-password",
}


def rendered_units(tmp_path: Path) -> list[Path]:
    """The shipped units pointed at this checkout and its virtualenv, with a temporary env file."""
    env_file = tmp_path / "parkmind.env"
    env_file.write_text((ROOT / "deploy" / "parkmind.env.example").read_text())
    venv = Path(sys.executable).parent.parent
    paths = []
    for unit in sorted(UNITS.glob("*.service")):
        text = unit.read_text()
        assert "EnvironmentFile=/etc/parkmind/parkmind.env" in text
        text = text.replace(
            "EnvironmentFile=/etc/parkmind/parkmind.env", f"EnvironmentFile={env_file}"
        )
        text = text.replace("/srv/parkmind/.venv", str(venv)).replace("/srv/parkmind", str(ROOT))
        target = tmp_path / unit.name
        target.write_text(text)
        paths.append(target)
    return paths


def test_systemd_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    units = rendered_units(tmp_path)
    assert {unit.name for unit in units} == {
        "parkmind-api.service",
        "parkmind-worker.service",
        "parkmind-beat.service",
        "parkmind-migrate.service",
    }
    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    # verify passes warnings for units it could parse only in part: none of ours may have any.
    assert "parkmind" not in done.stderr, done.stderr


def test_systemd_units_restart_stop_gracefully_and_never_migrate_from_the_api():
    units = {
        unit.stem: "\n".join(
            line for line in unit.read_text().splitlines() if not line.startswith("#")
        )
        for unit in UNITS.glob("*.service")
    }
    for name in ("parkmind-api", "parkmind-worker", "parkmind-beat"):
        text = units[name]
        assert "Restart=on-failure" in text
        assert "KillSignal=SIGTERM" in text
        assert "TimeoutStopSec=" in text
        assert "User=parkmind" in text
        assert "EnvironmentFile=/etc/parkmind/parkmind.env" in text
    assert "db upgrade" not in units["parkmind-api"]
    assert "ExecStartPre" not in units["parkmind-api"]
    assert "ExecStart=/srv/parkmind/.venv/bin/flask db upgrade" in units["parkmind-migrate"]
    assert "Type=oneshot" in units["parkmind-migrate"]
    beats = [name for name, text in units.items() if " beat " in text.split("ExecStart=")[1]]
    assert beats == ["parkmind-beat"]


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [require_tool(legacy, "docker compose (or docker-compose)")]


def compose_config(tmp_path: Path, secrets: dict) -> tuple[subprocess.CompletedProcess, dict]:
    """``docker compose config`` with ``secrets`` as the .env file; the result and the model."""
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in secrets.items()))
    command = compose_command()
    legacy = command[-1].endswith("docker-compose")  # Compose v1 prints YAML only
    done = subprocess.run(
        [*command, "--env-file", str(env_file), "-f", str(COMPOSE), "config"]
        + ([] if legacy else ["--format", "json"]),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    model = (yaml.safe_load(done.stdout) or {}) if done.returncode == 0 else {}
    return done, model


def published(port) -> tuple[str, int]:
    """(host address, container port) from either Compose version's rendering."""
    if isinstance(port, dict):
        return port.get("host_ip", ""), int(port["target"])
    host_ip, _, target = str(port).rpartition(":")
    return host_ip.rpartition(":")[0], int(target)


def test_docker_compose_config_validates(tmp_path):
    done, model = compose_config(tmp_path, SECRETS)
    assert done.returncode == 0, done.stderr
    services = model["services"]
    api = services["api"]
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["flask", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["mariadb"]["condition"] == "service_healthy"
    assert api["environment"]["SECRET_KEY"] == SECRETS["SECRET_KEY"]
    assert api["environment"]["TRUSTED_PROXIES"] == "1"
    # Only the host's loopback reaches gunicorn (the app trusts its X-Forwarded-For).
    assert [published(port) for port in api["ports"]] == [("127.0.0.1", 8000)]


def test_docker_compose_refuses_to_run_without_secrets(tmp_path):
    secrets = {key: value for key, value in SECRETS.items() if key != "JWT_SECRET_KEY"}
    done, _ = compose_config(tmp_path, secrets)
    assert done.returncode != 0
    assert "JWT_SECRET_KEY" in done.stderr


def test_compose_file_has_the_whole_stack_and_one_beat():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"api", "worker", "beat", "migrate", "mariadb", "redis", "minio", "createbucket"} <= set(
        services
    )
    assert "healthcheck" in services["mariadb"] and "healthcheck" in services["redis"]
    assert "replicas" not in json.dumps(services["beat"])
    commands = [json.dumps(service.get("command", "")) for service in services.values()]
    assert sum('"beat"' in command for command in commands) == 1
    # Migrations run once, in their own service; the long-running services never migrate.
    assert sum("upgrade" in command for command in commands) == 1


def test_dockerfile_is_slim_non_root_pinned_and_health_checked():
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "pip install --require-hashes -r requirements.lock" in text
    assert "USER parkmind" in text
    assert "/api/v1/health" in text.split("HEALTHCHECK", 1)[1]
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py"]' in text
    requirements = [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert requirements and all("==" in line for line in requirements)
