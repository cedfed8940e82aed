"""Every job is listed and runnable from the CLI, and scheduled exactly once by beat."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from celery.schedules import crontab

from app.platform.queue import UnknownTask, enqueue
from app.platform.scheduling import RUN_JOB, Job, beat_schedule, discover_jobs, job

APP = Path(__file__).resolve().parents[2] / "app"

EXPECTED = {
    "booking-reminders",
    "parking-event-reminders",
    "monthly-reports",
    "operator-summary",
    "expire-exports",
    "sweep-exports",
    # Retention of personal data: positions, the access log, expired exports, old notices.
    "purge-retrieval-positions",
    "purge-access-log",
    "purge-notifications",
}


def test_jobs_list_shows_every_job(app, db):
    output = app.test_cli_runner().invoke(args=["jobs", "list"]).output
    names = {line.split()[0] for line in output.splitlines() if line.strip()}
    assert names == set(discover_jobs())
    assert EXPECTED <= names


def test_jobs_run_runs_one_job(run_job):
    assert run_job("sweep-exports") == {"requeued": 0, "failed": 0}


def test_unknown_job_is_an_error(app, db):
    result = app.test_cli_runner().invoke(args=["jobs", "run", "no-such-job"])
    assert result.exit_code != 0 and "unknown job" in result.output


def test_beat_schedules_every_job_once_through_run_job(app):
    schedule = beat_schedule()
    assert {entry["args"][0] for entry in schedule.values()} == set(discover_jobs())
    assert {entry["task"] for entry in schedule.values()} == {RUN_JOB}
    assert app.extensions["celery"].conf.beat_schedule.keys() == schedule.keys()


def test_schedule_times():
    jobs = discover_jobs()
    assert jobs["booking-reminders"].cron == "0 18 * * *"
    assert jobs["monthly-reports"].schedule.day_of_month == {1}
    assert jobs["sweep-exports"].cron == "every 20s"
    assert jobs["relay-outbox"].cron == "* * * * *"
    assert jobs["purge-idempotency-keys"].cron == "15 * * * *"
    assert Job("x", print, "x", crontab(minute="30", hour="7")).cron == "30 7 * * *"


def test_a_schedule_is_a_crontab_or_an_interval_of_whole_seconds():
    with pytest.raises(TypeError):
        job("x", schedule="daily at 07:30")
    with pytest.raises(ValueError):
        job("x", schedule=timedelta(seconds=2))
    with pytest.raises(ValueError):
        job("x", schedule=timedelta(seconds=30, milliseconds=500))


def test_an_interval_job_expires_before_its_next_tick():
    entry = beat_schedule()["job:sweep-exports"]
    assert entry["schedule"] == timedelta(seconds=20)
    assert entry["options"] == {"expires": 18}


def _decorated(name: str) -> list[tuple[Path, ast.Call]]:
    """Every ``@<name>(...)`` decorator call in the application's source."""
    found = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    if (
                        isinstance(decorator, ast.Call)
                        and getattr(decorator.func, "id", "") == name
                    ):
                        found.append((path, decorator))
    return found


def test_beat_knows_every_job_in_the_source():
    names = {ast.literal_eval(call.args[0]) for _, call in _decorated("job")}
    assert len(names) >= len(EXPECTED)
    assert names == {entry["args"][0] for entry in beat_schedule().values()}


def test_the_worker_knows_every_task_in_the_source(app):
    calls = _decorated("shared_task")
    names = {
        ast.literal_eval(keyword.value)
        for _, call in calls
        for keyword in call.keywords
        if keyword.arg == "name"
    }
    assert len(names) == len(calls), "every task carries an explicit name"
    assert names <= set(app.extensions["celery"].tasks)


def test_enqueue_refuses_a_task_no_module_defines(app, db):
    with app.test_request_context(), pytest.raises(UnknownTask):
        enqueue("nowhere.no_such_task", 1)


def test_beat_uses_the_configured_timezone(app):
    celery_app = app.extensions["celery"]
    assert celery_app.conf.timezone == app.config["TIMEZONE"]
    entry = celery_app.conf.beat_schedule["job:booking-reminders"]["schedule"]
    assert entry.hour == {18} and entry.minute == {0}


def test_the_visibility_timeout_outlasts_every_task_and_every_countdown(app):
    """Redis hands an unacknowledged message to another worker after the visibility timeout: it
    must outlast the longest time limit plus the longest wait before a run, or a live task would
    run twice at once. Every countdown the code can ask for is capped below that wait."""
    from app.circle import tasks as circle_tasks
    from app.exports import tasks as export_tasks
    from app.exports.service import ABANDONED_AFTER, HEARTBEAT_SECONDS
    from app.platform.celery_app import MAX_COUNTDOWN

    celery_app = app.extensions["celery"]
    timeout = celery_app.conf.broker_transport_options["visibility_timeout"]
    ours = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}
    assert len(ours) >= 8
    for name, task in ours.items():
        limit = task.time_limit or celery_app.conf.task_time_limit
        assert timeout > limit + MAX_COUNTDOWN, name
        if getattr(task, "autoretry_for", ()):
            assert getattr(task, "retry_backoff_max", 600) <= MAX_COUNTDOWN, name
    assert 30 * 2 ** (circle_tasks.MAX_RETRIES - 1) <= MAX_COUNTDOWN
    assert 10 * 2**export_tasks.MAX_RETRIES <= 600 <= MAX_COUNTDOWN  # the export retry's cap
    assert ABANDONED_AFTER.total_seconds() + HEARTBEAT_SECONDS <= MAX_COUNTDOWN
    assert timeout <= 2 * 3600  # a dead worker's message comes back the same day
