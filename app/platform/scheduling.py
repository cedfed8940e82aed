"""Scheduled jobs: each is a plain function of its domain (``app/<domain>/jobs.py``) that declares
its own ``crontab`` (or, for a watchdog that must react within seconds, an interval given as a
``timedelta``) on the ``@job`` decorator. Beat sends ``jobs.run_job(name)`` at those times;
``flask jobs run NAME`` runs the same function. Times are in the configured ``TIMEZONE``.

A job may declare parameters (``params=(JobParam("month", parse_month, "..."),)``): beat calls it
without any, ``flask jobs run NAME --month 2026-10`` passes them (an unknown or invalid one is a
usage error). A job run by that command runs in the foreground (:func:`in_foreground`): it may do
now what beat hands to workers, show a progress bar (:func:`progress`), and report failures in
its result (``"errors": n``, :data:`ERRORS`), which make the command exit 1.

Nothing is listed by hand: :func:`discover_jobs` imports the ``jobs`` module of every package under
``app/``, so a new job is scheduled as soon as its module exists (``tests/platform/test_jobs.py``
fails for a job that beat does not know).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import pkgutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import click
from celery.schedules import crontab
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.platform.extensions import db
from app.platform.models import JobRun, utcnow

RUN_JOB = "jobs.run_job"
# The key under which a job's result counts what went wrong (sends that failed); non-zero makes
# ``flask jobs run`` exit 1. (Other counts, such as exports a sweep gave up on, are outcomes.)
ERRORS = "errors"
ROOT_PACKAGE = "app"


@dataclass(frozen=True)
class JobParam:
    """A parameter a job takes from ``flask jobs run NAME --NAME VALUE``; ``parse`` turns the
    text into the value (raising ``ValueError`` when it is not valid)."""

    name: str
    parse: Callable[[str], Any]
    help: str

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[..., dict | int | None]
    description: str
    schedule: crontab | timedelta
    params: tuple[JobParam, ...] = ()

    @property
    def cron(self) -> str:
        """The schedule as the five crontab fields (``"0 18 * * *"``), or ``every 20s``."""
        if isinstance(self.schedule, timedelta):
            return f"every {int(self.schedule.total_seconds())}s"
        return " ".join(
            _cron_field(getattr(self.schedule, field), first, size)
            for field, first, size in CRON_FIELDS
        )


# crontab's public fields, with their first value and how many values they can take.
CRON_FIELDS = (
    ("minute", 0, 60),
    ("hour", 0, 24),
    ("day_of_month", 1, 31),
    ("month_of_year", 1, 12),
    ("day_of_week", 0, 7),
)


def _cron_field(values: set[int], first: int, size: int) -> str:
    """``*``, ``*/k`` or a list, for one field of a crontab."""
    ordered = sorted(values)
    if len(ordered) == size:
        return "*"
    steps = {b - a for a, b in itertools.pairwise(ordered)}
    if ordered[0] == first and len(steps) == 1 and len(ordered) * steps.copy().pop() == size:
        return f"*/{steps.pop()}"
    return ",".join(str(value) for value in ordered)


JOBS: dict[str, Job] = {}


# A shorter interval would keep beat and the workers busy with bookkeeping.
MIN_INTERVAL = timedelta(seconds=10)


def job(name: str, *, schedule: crontab | timedelta, params: Sequence[JobParam] = ()) -> Callable:
    """Register ``func`` as the job ``name``, run by beat at ``schedule`` (without arguments;
    ``flask jobs run`` may pass ``params`` as keyword arguments)."""
    if isinstance(schedule, timedelta):
        if schedule < MIN_INTERVAL or schedule.microseconds:
            raise ValueError(f"job {name!r}: an interval is whole seconds, at least {MIN_INTERVAL}")
    elif not isinstance(schedule, crontab):
        raise TypeError(f"job {name!r}: schedule must be a crontab or a timedelta")

    def decorator(func: Callable) -> Callable:
        doc = (func.__doc__ or "").strip().splitlines()
        JOBS[name] = Job(name, func, doc[0] if doc else name, schedule, tuple(params))
        return func

    return decorator


_FOREGROUND: ContextVar[bool] = ContextVar("job_in_foreground", default=False)


def in_foreground() -> bool:
    """True while a job runs from ``flask jobs run`` (an operator watching), not from beat."""
    return _FOREGROUND.get()


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """Run the jobs called inside as an operator's command (see :func:`in_foreground`)."""
    token = _FOREGROUND.set(True)
    try:
        yield
    finally:
        _FOREGROUND.reset(token)


@contextlib.contextmanager
def progress(items: Sequence, *, label: str) -> Iterator:
    """``items`` with a progress bar on the terminal (stderr) in the foreground; as they are
    otherwise."""
    if not in_foreground():
        yield items
        return
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield bar


def domain_packages() -> list[str]:
    """Every package directly under ``app/`` (the domains and the platform)."""
    root = importlib.import_module(ROOT_PACKAGE)
    return sorted(
        f"{ROOT_PACKAGE}.{info.name}" for info in pkgutil.iter_modules(root.__path__) if info.ispkg
    )


def discover(related_name: str) -> list[str]:
    """Import ``<package>.<related_name>`` of every package under ``app/`` that has one."""
    found = []
    for package in domain_packages():
        module = f"{package}.{related_name}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
            found.append(module)
    return found


def discover_jobs() -> dict[str, Job]:
    """Import every ``app/<package>/jobs.py`` and return the registry."""
    discover("jobs")
    return JOBS


def _expires_seconds(schedule: crontab | timedelta) -> int:
    # Just under one period: a tick no worker picked up in time is dropped, not piled up.
    if isinstance(schedule, timedelta):
        return int(schedule.total_seconds()) - 2
    minutes = sorted(schedule.minute)
    every_hour = len(schedule.hour) == 24
    if len(minutes) == 60 and every_hour:
        return 55
    gaps = {b - a for a, b in zip(minutes, [*minutes[1:], minutes[0] + 60], strict=True)}
    if every_hour and len(gaps) == 1:
        return gaps.pop() * 60 - 5
    return 50 * 60


def beat_schedule() -> dict:
    """One beat entry per job, sending ``jobs.run_job(name)``."""
    return {
        f"job:{name}": {
            "task": RUN_JOB,
            "schedule": found.schedule,
            "args": (name,),
            "options": {"expires": _expires_seconds(found.schedule)},
        }
        for name, found in sorted(discover_jobs().items())
    }


def record_success(name: str) -> None:
    """Note that job ``name`` succeeded now, in the job's own transaction (so only work that
    commits counts). A table, not Redis: every process can read it, Redis is optional, and the
    row commits or rolls back with the job's work."""
    now = utcnow()
    changed = db.session.execute(
        update(JobRun).where(JobRun.name == name).values(last_success_at=now)
    ).rowcount
    if changed:
        return
    try:
        with db.session.begin_nested():  # the first run ever; another may be inserting it too
            db.session.add(JobRun(name=name, last_success_at=now))
    except IntegrityError:
        db.session.execute(update(JobRun).where(JobRun.name == name).values(last_success_at=now))


def last_successes(session) -> dict[str, datetime]:
    """When each job that ever succeeded last did (one query on a table of one row per job)."""
    return dict(session.execute(select(JobRun.name, JobRun.last_success_at)).all())
