"""The beat schedule, beside the tasks it runs. Times are in the configured ``TIMEZONE``."""

from __future__ import annotations


def beat_schedule() -> dict:
    """Every periodic job; each is also runnable with ``flask jobs run NAME``."""
    return {}
