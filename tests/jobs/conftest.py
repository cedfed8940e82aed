"""Helpers for job tests: run a job the way an operator does, with mail going to aiosmtpd."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def mailing(app, mail_config, monkeypatch):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://parkmind.example")


@pytest.fixture
def run_job(app, db):
    """``run_job(name)`` → the job's result, through ``flask jobs run NAME``."""
    runner = app.test_cli_runner()

    def run(name: str) -> dict:
        result = runner.invoke(args=["jobs", "run", name])
        assert result.exit_code == 0, result.output
        return json.loads(result.output.strip().splitlines()[-1])["result"]

    return run
