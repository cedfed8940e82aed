"""A real ``celery worker`` and ``celery beat`` with ``LOG_JSON=true``: every line they write is a
JSON object, and a line logged inside a task names the task (Redis required in CI)."""

from __future__ import annotations

import json

from tests.conftest import require
from tests.support.celery_worker import _claimed_redis_db, _restore_celery_current_app
from tests.support.live_server import migrated_database
from tests.support.processes import (
    start_celery_beat,
    start_celery_worker,
    stop_group,
    wait_until,
)


def _records(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    records = []
    for number, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except ValueError as exc:  # pragma: no cover - the failure message shows the text
            raise AssertionError(f"line {number} is not JSON:\n" + "\n".join(lines)) from exc
    return records


def test_worker_and_beat_log_json_with_the_task_named(tmp_path):
    from tests.conftest import make_app

    require("redis")
    with (
        _restore_celery_current_app(),
        _claimed_redis_db("parkmind-test-json-logs") as broker,
        migrated_database("sqlite", tmp_path) as url,
    ):
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": broker,
            "CELERY_BROKER_URL": broker,
            "LOCAL_STORAGE_PATH": str(tmp_path / "files"),
            "LOG_JSON": "true",
        }
        worker_log = tmp_path / "worker.log"
        worker = start_celery_worker(env, worker_log, "parkmind-json-logs", quiet=True)
        try:
            api = make_app(url, REDIS_URL=broker, CELERY_BROKER_URL=broker)
            sent = api.extensions["celery"].send_task(
                "jobs.run_job", args=["purge-idempotency-keys"]
            )
            wait_until(
                lambda: "job purge-idempotency-keys done" in worker_log.read_text(),
                30,
                message=lambda: worker_log.read_text(),
            )
        finally:
            stop_group(worker)
        records = _records(worker_log.read_text().split("worker: Warm shutdown")[0])
        done = next(r for r in records if r["event"].startswith("job purge-idempotency-keys done"))
        assert done["task_name"] == "jobs.run_job"
        assert done["task_id"] == sent.id
        assert done["level"] == "info"
        assert any(r["event"].endswith(" ready.") for r in records)

        beat_log = tmp_path / "beat.log"
        beat = start_celery_beat(env, beat_log, tmp_path / "beat", quiet=True)
        try:
            text = beat_log.read_text()  # what beat wrote while running, not at SIGTERM
        finally:
            stop_group(beat)
        records = _records(text)
        assert any(r["event"].startswith("beat: Starting") for r in records)
