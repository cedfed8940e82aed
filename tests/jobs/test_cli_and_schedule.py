"""Every job is listed and runnable from the CLI, and scheduled exactly once by beat."""

from __future__ import annotations

from app.jobs import load_jobs
from tasks.schedule import RUN_JOB, beat_schedule, crontab_fields

EXPECTED = {
    "booking-reminders",
    "parking-event-reminders",
    "monthly-reports",
    "operator-summary",
    "expire-exports",
    "sweep-exports",
}


def test_jobs_list_shows_every_job(app, db):
    output = app.test_cli_runner().invoke(args=["jobs", "list"]).output
    names = {line.split()[0] for line in output.splitlines() if line.strip()}
    assert names == set(load_jobs())
    assert EXPECTED <= names


def test_jobs_run_runs_one_job(run_job):
    assert run_job("sweep-exports") == {"requeued": 0, "failed": 0}


def test_unknown_job_is_an_error(app, db):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "no-such-job"])
    assert result.exit_code != 0 and "unknown job" in result.output


def test_beat_schedules_every_job_once_through_run_job(app):
    schedule = beat_schedule()
    assert {entry["args"][0] for entry in schedule.values()} == set(load_jobs())
    assert {entry["task"] for entry in schedule.values()} == {RUN_JOB}
    assert app.extensions["celery"].conf.beat_schedule.keys() == schedule.keys()


def test_schedule_times():
    assert crontab_fields("booking-reminders", "") == {"minute": "0", "hour": "18"}
    assert crontab_fields("monthly-reports", "")["day_of_month"] == "1"
    assert crontab_fields("x", "every 5 minutes") == {"minute": "*/5"}
    assert crontab_fields("x", "hourly at :15") == {"minute": "15"}
    assert crontab_fields("x", "daily at 07:30") == {"minute": "30", "hour": "7"}


def test_beat_uses_the_configured_timezone(app):
    celery_app = app.extensions["celery"]
    assert celery_app.conf.timezone == app.config["TIMEZONE"]
    entry = celery_app.conf.beat_schedule["job:booking-reminders"]["schedule"]
    assert entry.hour == {18} and entry.minute == {0}
