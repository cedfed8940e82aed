"""``/metrics`` beyond HTTP: process figures, the outbox backlog, the broker's queue length and
each job's last success, read at scrape time; a source that is down never fails the scrape."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from app.platform.extensions import db as _db
from app.platform.metrics import PRIORITY_SEPARATOR, PRIORITY_STEPS
from app.platform.models import OutboxMessage, utcnow
from app.platform.scheduling import JOBS, Job
from tests.conftest import make_app, require
from tests.support.celery_worker import _claimed_redis_db, _restore_celery_current_app


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_process_figures_are_exported(client, db):
    samples = scrape(client)
    assert value(samples, "process_resident_memory_bytes") > 10_000_000
    assert value(samples, "process_cpu_seconds_total") > 0
    assert value(samples, "process_start_time_seconds") < time.time()


def test_outbox_backlog_follows_pending_rows(app, client, db):
    before = scrape(client)
    assert value(before, "parkmind_metrics_source_up", source="database") == 1
    old = utcnow() - timedelta(minutes=5)
    with app.app_context():
        for n in range(3):
            _db.session.add(
                OutboxMessage(task="tests.outbox.record", args=[n], created_at=old, due_at=old)
            )
        _db.session.commit()
    after = scrape(client)
    grown = value(after, "parkmind_outbox_pending") - value(before, "parkmind_outbox_pending")
    assert grown == 3
    assert value(after, "parkmind_outbox_oldest_age_seconds") >= 300


@pytest.fixture
def flaky_job():
    state = {"fail": False}

    def check_meters() -> dict:
        """A job for the test: fails when told to."""
        if state["fail"]:
            raise RuntimeError("meter service down")
        return {"checked": 1}

    JOBS["test-check-meters"] = Job("test-check-meters", check_meters, "test", timedelta(60))
    yield state
    JOBS.pop("test-check-meters", None)


def test_a_job_success_moves_its_timestamp_and_a_failure_does_not(app, client, db, flaky_job):
    run_job = app.extensions["celery"].tasks["jobs.run_job"]
    assert value(
        scrape(client), "parkmind_job_last_success_timestamp", job="test-check-meters"
    ) is (None)

    with app.app_context():
        run_job.apply(args=("test-check-meters",))
    first = value(scrape(client), "parkmind_job_last_success_timestamp", job="test-check-meters")
    assert first == pytest.approx(time.time(), abs=30)

    time.sleep(0.05)
    flaky_job["fail"] = True
    with app.app_context():
        assert run_job.apply(args=("test-check-meters",)).failed()
    still = value(scrape(client), "parkmind_job_last_success_timestamp", job="test-check-meters")
    assert still == first

    flaky_job["fail"] = False
    with app.app_context():
        run_job.apply(args=("test-check-meters",))
    later = value(scrape(client), "parkmind_job_last_success_timestamp", job="test-check-meters")
    assert later > first


def test_queue_length_counts_messages_waiting_in_redis(database_url):
    require("redis")
    with _restore_celery_current_app(), _claimed_redis_db("parkmind-test-metrics") as broker:
        app = make_app(database_url, REDIS_URL=broker, CELERY_BROKER_URL=broker)
        client = app.test_client()
        samples = scrape(client)
        assert value(samples, "parkmind_metrics_source_up", source="broker") == 1
        assert value(samples, "parkmind_queue_length", queue="celery") == 0
        celery_app = app.extensions["celery"]
        for _ in range(3):  # no worker takes them
            celery_app.send_task("jobs.run_job", args=["purge-idempotency-keys"])
        celery_app.send_task("jobs.run_job", args=["purge-outbox"], priority=6)
        try:
            assert value(scrape(client), "parkmind_queue_length", queue="celery") == 4
        finally:
            redis.Redis.from_url(broker).delete(
                "celery", *(f"celery{PRIORITY_SEPARATOR}{step}" for step in PRIORITY_STEPS)
            )


def test_a_broker_that_is_down_leaves_the_rest_of_the_scrape(database_url):
    app = make_app(
        database_url, REDIS_URL="redis://127.0.0.1:1/0", CELERY_BROKER_URL="redis://127.0.0.1:1/0"
    )
    samples = scrape(app.test_client())
    assert value(samples, "parkmind_metrics_source_up", source="broker") == 0
    assert value(samples, "parkmind_queue_length", queue="celery") is None
    assert value(samples, "process_resident_memory_bytes") > 0


def test_a_database_that_is_down_leaves_the_rest_of_the_scrape(tmp_path):
    app = make_app("mysql+pymysql://root@127.0.0.1:1/none")
    client = app.test_client()
    client.get("/api/v1/health")
    samples = scrape(client)
    assert value(samples, "parkmind_metrics_source_up", source="database") == 0
    assert value(samples, "parkmind_outbox_pending") is None
    assert value(samples, "process_resident_memory_bytes") > 0
    health = {"method": "GET", "url_rule": "/api/v1/health", "status": "200"}
    assert value(samples, "flask_http_request_duration_seconds_count", **health) == 1
