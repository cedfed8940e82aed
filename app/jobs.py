"""Registry of scheduled jobs: each is a plain service call, runnable by beat or by the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[], dict | int | None]
    description: str
    schedule: str  # human-readable schedule, shown by ``flask jobs list``


JOBS: dict[str, Job] = {}


def job(name: str, *, schedule: str) -> Callable:
    """Register ``func`` as the job ``name``."""

    def decorator(func: Callable) -> Callable:
        doc = (func.__doc__ or "").strip().splitlines()
        JOBS[name] = Job(name, func, doc[0] if doc else name, schedule)
        return func

    return decorator


def load_jobs() -> dict[str, Job]:
    """Import the modules that define jobs and return the registry."""
    import importlib

    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS


# Modules whose ``@job`` functions make up the schedule.
JOB_MODULES = (
    "app.services.maintenance",
    "app.services.parking_jobs",
    "app.services.upload_jobs",
    "app.services.export_jobs",
    "app.services.reminders",
    "app.services.circle_jobs",
)
