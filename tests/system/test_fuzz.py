"""Schema fuzzing: schemathesis against /api/openapi.json of a real gunicorn server.

Authenticated as a user and as an admin, every check (``ignored_auth`` included) and every phase
(examples, coverage, fuzzing, stateful — the stateful phase follows ``Location`` headers). The
budget is bounded here (``FUZZ_MAX_EXAMPLES``, default 5 per operation); ``make fuzz`` runs a longer
pass. Any failure prints schemathesis' own report, which includes a curl line to reproduce it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.live_server import live_server, migrated_database, server_env

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "5")
SEED = os.environ.get("FUZZ_SEED", "20261126")
# Logging out would revoke the very token the run authenticates with.
EXCLUDED = ["/api/v1/auth/logout"]
PASSWORD = "fuzzing-password-1"


def make_accounts(database_url: str) -> None:
    from app.accounts.service import create_admin, create_user
    from app.platform.extensions import db
    from tests.conftest import make_app

    app = make_app(database_url)
    with app.app_context():
        create_admin(email="admin@fuzz.test", password=PASSWORD)
        create_user(username="fuzzer", email="fuzzer@fuzz.test", password=PASSWORD)
        db.session.commit()
        db.engine.dispose()


def token(base_url: str, login: str) -> str:
    response = requests.post(
        f"{base_url}/api/v1/auth/login", json={"login": login, "password": PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    with migrated_database("sqlite", tmp_path) as url:
        make_accounts(url)
        env = server_env(url, tmp_path)
        with live_server(env, workers=2, threads=4, log_path=tmp_path / "gunicorn.log") as base:
            yield base, tmp_path


@pytest.mark.parametrize("login", ["fuzzer", "admin@fuzz.test"], ids=["user", "admin"])
def test_schemathesis_finds_nothing(fuzz_server, login):
    base_url, tmp_path = fuzz_server
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/api/openapi.json",
        "--header",
        f"Authorization: Bearer {token(base_url, login)}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "10",
    ]
    for path in EXCLUDED:
        command += ["--exclude-path", path]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    report = result.stdout[-20000:] + result.stderr[-4000:]
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")[-4000:]
    assert result.returncode == 0, f"{report}\n--- server log ---\n{log}"
    assert "Traceback" not in log, log
