"""The beat schedule, beside the tasks it runs. Times are in the configured ``TIMEZONE``.

Every job registered with ``@job`` (see :mod:`app.jobs`) gets one entry that sends
``jobs.run_job(name)``. The crontab comes from ``CRONTABS`` below, or else is read from the job's
human-readable ``schedule`` ("every 5 minutes", "every hour", "hourly at :15", "daily at 18:00",
"monthly on the 1st at 09:00"). A job whose schedule cannot be read is left out with an error
in the log (and ``tests/jobs`` fails for it), rather than breaking the app.
"""

from __future__ import annotations

import logging
import re

from celery.schedules import crontab

log = logging.getLogger(__name__)

RUN_JOB = "jobs.run_job"

# Explicit crontabs; anything not listed is read from the job's ``schedule`` text.
CRONTABS: dict[str, dict[str, str]] = {
    "booking-reminders": {"minute": "0", "hour": "18"},
    "monthly-reports": {"minute": "0", "hour": "9", "day_of_month": "1"},
    "operator-summary": {"minute": "0", "hour": "8"},
}

_PATTERNS: tuple[tuple[re.Pattern[str], callable], ...] = (
    (re.compile(r"every minute"), lambda m: {"minute": "*"}),
    (re.compile(r"every (\d+) minutes"), lambda m: {"minute": f"*/{int(m[1])}"}),
    (re.compile(r"every hour|hourly"), lambda m: {"minute": "0"}),
    (re.compile(r"hourly at :(\d{2})"), lambda m: {"minute": str(int(m[1]))}),
    (
        re.compile(r"daily at (\d{1,2}):(\d{2})"),
        lambda m: {"minute": str(int(m[2])), "hour": str(int(m[1]))},
    ),
    (
        re.compile(r"monthly on the (\d{1,2})(?:st|nd|rd|th) at (\d{1,2}):(\d{2})"),
        lambda m: {
            "minute": str(int(m[3])),
            "hour": str(int(m[2])),
            "day_of_month": str(int(m[1])),
        },
    ),
)


def crontab_fields(name: str, schedule: str) -> dict[str, str]:
    """The crontab fields of job ``name`` (explicit entry first, else parsed from its text)."""
    if name in CRONTABS:
        return CRONTABS[name]
    text = schedule.strip().lower()
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            return build(match)
    raise ValueError(f"cannot schedule job {name!r}: unreadable schedule {schedule!r}")


def _expires_seconds(minute: str) -> int:
    # Just under one period: a tick no worker picked up in time is dropped, not piled up.
    if minute == "*":
        return 55
    if minute.startswith("*/"):
        return int(minute[2:]) * 60 - 5
    return 50 * 60


def beat_schedule() -> dict:
    """Every periodic job; each is also runnable with ``flask jobs run NAME``."""
    from app.jobs import load_jobs

    entries = {}
    for name, job in sorted(load_jobs().items()):
        try:
            fields = crontab_fields(name, job.schedule)
        except ValueError:
            log.error("job %s has an unreadable schedule %r; not scheduled", name, job.schedule)
            continue
        entries[f"job:{name}"] = {
            "task": RUN_JOB,
            "schedule": crontab(**fields),
            "args": (name,),
            "options": {"expires": _expires_seconds(fields["minute"])},
        }
    return entries
