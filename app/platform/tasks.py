"""Celery tasks of the platform: beat sends ``jobs.run_job(name)``; the job is a plain function."""

from __future__ import annotations

import logging

from celery import shared_task

from app.platform.scheduling import ERRORS, discover_jobs, record_success

log = logging.getLogger(__name__)


@shared_task(
    name="jobs.run_job",
    acks_late=True,
    soft_time_limit=25 * 60,
    time_limit=26 * 60,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=30,
    max_retries=3,
)
def run_job(name: str) -> dict | int | None:
    """Run the registered job ``name`` (the same function ``flask jobs run NAME`` runs)."""
    jobs = discover_jobs()
    if name not in jobs:
        log.error("beat asked for unknown job %r", name)
        return None
    result = jobs[name].func()
    if isinstance(result, dict) and result.get(ERRORS):
        log.warning("job %s done with failures (retried on its next run): %s", name, result)
    else:
        record_success(name)
        log.info("job %s done: %s", name, result)
    return result
