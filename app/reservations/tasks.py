"""Celery tasks: reservation reminders and notices. Each loads what it needs by id and is safe
to run twice (notices carry dedupe keys)."""

from __future__ import annotations

from celery import shared_task

from app.platform.queue import enqueue
from app.reservations import notices

MAX_RETRIES = 5
LIMITS = {"soft_time_limit": 120, "time_limit": 150}


def _retry_later(task, *args) -> None:
    """Run the task again after this one commits, when an e-mail could not be sent."""
    if task.request.retries >= MAX_RETRIES:
        return
    enqueue(
        task.name, *args, countdown=30 * 2**task.request.retries, retries=task.request.retries + 1
    )


@shared_task(bind=True, name="reservations.notify", **LIMITS)
def notify(self, kind: str, reservation_id: int) -> bool:
    """Tell the driver about their reservation: starts soon, check in soon, ends soon, lapsed,
    or their spot is blocked."""
    ok = notices.deliver_reservation_notice(kind, reservation_id)
    if not ok:
        _retry_later(self, kind, reservation_id)
    return ok


@shared_task(bind=True, name="reservations.notify_walkin", **LIMITS)
def notify_walkin(self, booking_id: int, reservation_id: int) -> bool:
    """Tell a walk-in driver their spot is reserved by someone else soon."""
    ok = notices.deliver_walkin_notice(booking_id, reservation_id)
    if not ok:
        _retry_later(self, booking_id, reservation_id)
    return ok
