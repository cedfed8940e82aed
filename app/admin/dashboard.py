"""The admin dashboard (``GET /admin/stats``): totals from the kept counters, per-lot figures for
one page of lots. Its cost is the same with 100 lots or 10,000, 5,000 spots or 500,000."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache as memoize
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import bindparam, case, func, select

from app.lots.models import Lot
from app.lots.service import NO_SPOTS, counts_of
from app.payments.models import Payment
from app.platform import cache, rollups
from app.platform.cursors import encode_id
from app.platform.extensions import db
from app.platform.models import utcnow
from app.reservations.models import Reservation

log = logging.getLogger(__name__)

PER_LOT_LIMIT = 50


def local_periods(now: datetime, zone_name: str) -> tuple[datetime, datetime]:
    """Start of today and of this month in ``zone_name``, as UTC instants."""
    zone = ZoneInfo(zone_name)
    local = now.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    return day.astimezone(UTC), month.astimezone(UTC)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def stats(*, per_lot_limit: int = PER_LOT_LIMIT, after_lot: int | None = None) -> cache.Cached:
    """Admin dashboard (cached briefly; invalidated by bookings, releases, lot changes and
    payments changing state)."""
    return cache.Cached(
        cache.ADMIN_STATS,
        {"limit": per_lot_limit, "after": after_lot},
        lambda: compute_stats(per_lot_limit=per_lot_limit, after_lot=after_lot),
        timeout=30,
    )


@memoize
def _page_revenue():
    """Per lot of ``:lot_ids``: paid today and this month (by when paid), from a range of the
    covering ``ix_payments_lot_paid`` per lot."""
    paid = Payment.__table__.c
    return (
        select(
            paid.lot_id,
            func.sum(case((paid.paid_at >= bindparam("day"), paid.amount_cents), else_=0)),
            func.sum(paid.amount_cents),
        )
        .where(
            paid.lot_id.in_(bindparam("lot_ids", expanding=True)),
            paid.status == "paid",
            paid.paid_at >= bindparam("month"),
        )
        .group_by(paid.lot_id)
    )


@memoize
def _page_reservations():
    """Per lot of ``:lot_ids``: confirmed reservations still to start, and no-shows of those
    that were to start this month (ranges of ``ix_reservations_lot_status_start``)."""
    booked = Reservation.__table__.c
    upcoming = (booked.status == "confirmed") & (booked.start_at >= bindparam("now"))
    no_show = (
        (booked.status == "no_show")
        & (booked.start_at >= bindparam("month"))
        & (booked.start_at < bindparam("now"))
    )
    return (
        select(
            booked.lot_id,
            func.sum(case((upcoming, 1), else_=0)),
            func.sum(case((no_show, 1), else_=0)),
        )
        .where(
            # One range of the index per lot and status (both figures start this month or later).
            booked.lot_id.in_(bindparam("lot_ids", expanding=True)),
            booked.status.in_(("confirmed", "no_show")),
            booked.start_at >= bindparam("month"),
        )
        .group_by(booked.lot_id)
    )


def _revenue_totals(day_start: datetime, month_start: datetime) -> tuple[int, int]:
    """Paid today and this month, all lots (deleted ones too): from the revenue slots."""
    connection = db.session.connection()
    if rollups.on_slots(day_start, month_start):
        return rollups.revenue_since(connection, day_start, month_start)
    # A zone whose midnight is not on a 15-minute boundary (none today): sum the payments.
    log.warning("admin stats: %s midnight is off the revenue slots; summing payments", day_start)
    paid = Payment.__table__.c
    today, month = db.session.execute(
        select(
            func.coalesce(
                func.sum(case((paid.paid_at >= day_start, paid.amount_cents), else_=0)), 0
            ),
            func.coalesce(func.sum(paid.amount_cents), 0),
        ).where(paid.status == "paid", paid.paid_at >= month_start)
    ).one()
    return int(today), int(month)


def compute_stats(
    *, per_lot_limit: int = PER_LOT_LIMIT, after_lot: int | None = None
) -> dict[str, Any]:
    """Occupancy, revenue from paid payments today and this month (configured time zone), users,
    and per lot (one page, by id): occupancy, paid revenue, upcoming reservations and this
    month's no-shows."""
    now = utcnow()
    zone = current_app.config["TIMEZONE"]
    day_start, month_start = local_periods(now, zone)
    figures = rollups.kept(db.session.connection())
    revenue_today, revenue_month = _revenue_totals(day_start, month_start)
    lots = select(Lot.id, Lot.name).where(Lot.deleted_at.is_(None))
    if after_lot is not None:
        lots = lots.where(Lot.id > after_lot)
    page = db.session.execute(lots.order_by(Lot.id).limit(per_lot_limit + 1)).all()
    more, page = len(page) > per_lot_limit, page[:per_lot_limit]
    ids = [lot_id for lot_id, _name in page]
    counts = counts_of(ids)
    revenue, reservations = {}, {}
    if ids:
        periods = {"lot_ids": ids, "day": day_start, "month": month_start, "now": now}
        revenue = {row[0]: row[1:] for row in db.session.execute(_page_revenue(), periods)}
        reservations = {
            row[0]: row[1:] for row in db.session.execute(_page_reservations(), periods)
        }
    per_lot = []
    for lot_id, name in page:
        count = counts.get(lot_id, NO_SPOTS)
        today, month = revenue.get(lot_id, (0, 0))
        coming, missed = reservations.get(lot_id, (0, 0))
        total, occupied = int(count.total or 0), int(count.occupied or 0)
        per_lot.append(
            {
                "id": lot_id,
                "name": name,
                "total_spots": total,
                "occupied_spots": occupied,
                "free_spots": int(count.free or 0),
                "occupancy_percent": _percent(occupied, total),
                "revenue_today_cents": int(today or 0),
                "revenue_month_cents": int(month or 0),
                "upcoming_reservations": int(coming or 0),
                "no_shows_month": int(missed or 0),
            }
        )
    spots, occupied = figures["spots"], figures["occupied_spots"]
    return {
        "lots": figures["lots"],
        "spots": spots,
        "occupied_spots": occupied,
        "occupancy_percent": _percent(occupied, spots),
        # Revenue of all lots, deleted ones included: money taken does not vanish with a lot.
        "revenue_today_cents": revenue_today,
        "revenue_month_cents": revenue_month,
        "currency": current_app.config["CURRENCY"],
        "timezone": zone,
        "users": figures["users"],
        "active_users": figures["active_users"],
        "active_bookings": figures["active_bookings"],
        "per_lot": per_lot,
        "per_lot_next_cursor": encode_id(page[-1][0]) if more else None,
        "generated_at": now,
    }
