"""Scheduled jobs for parking memory (see app.platform.jobs)."""

from __future__ import annotations

from datetime import timedelta

from celery.schedules import crontab
from flask import current_app
from sqlalchemy import update

from app.parking import live
from app.parking.models import ParkingEvent
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.scheduling import job


@job("expire-parking-events", schedule=crontab(minute="*/15"))
def expire_parking_events() -> dict:
    """Expire events still active after PARKING_EVENT_TTL_HOURS (active → expired)."""
    now = utcnow()
    cutoff = now - timedelta(hours=current_app.config["PARKING_EVENT_TTL_HOURS"])
    # One conditional UPDATE: an event whose retrieval starts meanwhile is no longer ``active``
    # and is left alone, so the job never races the person into an impossible move.
    result = db.session.execute(
        update(ParkingEvent)
        .where(ParkingEvent.status == "active", ParkingEvent.parked_at < cutoff)
        .values(status="expired", expired_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return {"expired": result.rowcount or 0}


@job("purge-retrieval-positions", schedule=crontab(minute="40"))
def purge_retrieval_positions() -> dict:
    """Delete walk-back positions a day after the walk ended."""
    return {"deleted": live.purge_positions()}
