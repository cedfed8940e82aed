"""Operator commands: admin bootstrap, seeding, jobs, stats."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


def test_create_admin(runner, db):
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--email",
            "Root@Example.com",
            "--password",
            "a-long-secret-1",
        ]
    )
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.email == "root@example.com"))
    assert admin.role == "admin"
    assert admin.password_hash.startswith("$argon2id$")


def test_create_admin_refuses_short_password(runner, db):
    result = runner.invoke(
        args=["users", "create-admin", "--email", "a@example.com", "--password", "short-pass1"]
    )
    assert result.exit_code != 0
    assert "12 characters" in result.output
    assert db.session.scalar(select(User).where(User.email == "a@example.com")) is None


def test_seed_run_creates_admin_from_environment(app, runner, db, monkeypatch):
    monkeypatch.setitem(app.config, "ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setitem(app.config, "ADMIN_PASSWORD", "twelve-chars-ok")
    result = runner.invoke(args=["seed", "run"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.role).where(User.email == "boss@example.com")) == "admin"


def test_seed_demo_prints_generated_credentials(runner, db):
    result = runner.invoke(args=["seed", "run", "--demo"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "demo_driver /" in line)
    password = line.rsplit("/", 1)[1].strip()
    assert len(password) >= 12
    from app.accounts.passwords import verify_password

    user = db.session.scalar(select(User).where(User.username == "demo_driver"))
    assert verify_password(user.password_hash, password)


def test_jobs_list_and_run(runner, db):
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0
    assert "purge-idempotency-keys" in listed.output
    ran = runner.invoke(args=["jobs", "run", "purge-idempotency-keys"])
    assert ran.exit_code == 0, ran.output
    assert '"deleted": 0' in ran.output
    unknown = runner.invoke(args=["jobs", "run", "no-such-job"])
    assert unknown.exit_code != 0


def test_stats(runner, db, user):
    result = runner.invoke(args=["stats"])
    assert result.exit_code == 0
    assert '"users": ' in result.output


def test_stats_check_finds_and_fixes_drifted_counters(runner, db, user):
    from sqlalchemy import text

    assert runner.invoke(args=["stats", "check"]).exit_code == 0
    db.session.execute(text("UPDATE stat_counters SET value = value + 2 WHERE name = 'users'"))
    db.session.commit()
    drifted = runner.invoke(args=["stats", "check"])
    assert drifted.exit_code == 1
    assert "users: kept" in drifted.output
    fixed = runner.invoke(args=["stats", "check", "--fix"])
    assert fixed.exit_code == 0 and "recounted" in fixed.output
    assert runner.invoke(args=["stats", "check"]).exit_code == 0


def test_flask_jobs_run_records_the_jobs_success_like_beat_does(app, db, run_job):
    from sqlalchemy import select

    from app.platform.models import JobRun

    assert db.session.scalar(select(JobRun).where(JobRun.name == "purge-notifications")) is None
    run_job("purge-notifications")
    db.session.expire_all()
    recorded = db.session.scalar(select(JobRun).where(JobRun.name == "purge-notifications"))
    assert recorded is not None and recorded.last_success_at is not None
