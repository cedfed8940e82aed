"""Caregiver alerts: raised inside a request, delivered by Celery once the request has committed."""

from __future__ import annotations

from app.platform.queue import enqueue

# Assist levels that reach the care circle: 4 "call me", 5 SOS "come to me".
CIRCLE_ASSIST_LEVELS = (4, 5)


def alert_assist(
    *,
    event_id: int,
    assist_id: int,
    level: int,
    latitude: float | None,
    longitude: float | None,
) -> None:
    """Alert the person's caregivers about an assist request of level 4 or 5, after the commit."""
    if level not in CIRCLE_ASSIST_LEVELS:
        return
    # The task reloads the assist request (and its position) by id; nothing else is passed.
    enqueue("circle.deliver_assist_alert", assist_id)
