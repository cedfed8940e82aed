"""Celery tasks: care-circle alerts and notices. Each loads what it needs by id and is safe to
run twice: in-app entries and e-mails carry dedupe keys, so a rerun only sends what is missing."""

from __future__ import annotations

from celery import shared_task

from app.circle import alert_notices, delivery
from app.platform.queue import enqueue

MAX_RETRIES = 5
# A few caregivers, each an in-app entry, an e-mail and a webhook post with bounded timeouts.
LIMITS = {"soft_time_limit": 270, "time_limit": 300}


def _retry_later(task, *args) -> None:
    """Run the task again after this one commits, when an e-mail or webhook post failed."""
    if task.request.retries >= MAX_RETRIES:
        return
    countdown = 30 * 2**task.request.retries
    enqueue(task.name, *args, countdown=countdown, retries=task.request.retries + 1)


@shared_task(bind=True, name="circle.deliver_assist_alert", **LIMITS)
def deliver_assist_alert(self, assist_id: int) -> bool:
    """Notify every accepted caregiver of an assist request (in-app, e-mail, webhook), once."""
    ok = delivery.deliver_assist_alert(assist_id)
    if not ok:
        _retry_later(self, assist_id)
    return ok


@shared_task(bind=True, name="circle.deliver_circle_notice", **LIMITS)
def deliver_circle_notice(self, membership_id: int, action: str) -> bool:
    """Tell the other party that an invitation was sent, answered or a membership ended."""
    ok = delivery.deliver_circle_notice(membership_id, action)
    if not ok:
        _retry_later(self, membership_id, action)
    return ok


@shared_task(bind=True, name="circle.deliver_event_notice", **LIMITS)
def deliver_event_notice(self, kind: str, event_id: int) -> bool:
    """Tell the person and their caregivers about a stalled retrieval or an expiring event."""
    ok = delivery.deliver_event_notice(kind, event_id)
    if not ok:
        _retry_later(self, kind, event_id)
    return ok


@shared_task(bind=True, name="circle.deliver_alert_update", **LIMITS)
def deliver_alert_update(self, alert_id: int, action: str) -> bool:
    """Tell the person and the caregivers that an alert was acknowledged, resolved or escalated."""
    ok = alert_notices.deliver_alert_update(alert_id, action)
    if not ok:
        _retry_later(self, alert_id, action)
    return ok
