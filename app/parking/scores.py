"""Retrieval scores: stored by the server when a walk back ends, read back as history and trend.

A score is a personal trend measure (is this getting easier or harder for me?), never a diagnosis.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from app.parking.models import ParkingEvent, RetrievalScore
from app.parking.scoring import ScoreParts, personal_pace
from app.parking.service import get_own_event
from app.platform.errors import Conflict
from app.platform.extensions import db
from app.platform.pagination import paginate

# How many recent walks make up a person's own pace (personal_pace needs at least three).
PACE_SAMPLES = 10
PERIODS = ("week", "month")


def walking_pace(user_id: int) -> float:
    """The person's median pace (m/s) over their recent found cars, held to 0.3-2.0 m/s, or the
    1.0 m/s default before three found walks."""
    rows = db.session.execute(
        select(RetrievalScore.distance_m, RetrievalScore.actual_seconds)
        .where(
            RetrievalScore.user_id == user_id,
            RetrievalScore.found.is_(True),
            RetrievalScore.distance_m.is_not(None),
            RetrievalScore.actual_seconds > 0,
        )
        .order_by(RetrievalScore.created_at.desc(), RetrievalScore.id.desc())
        .limit(PACE_SAMPLES)
    ).all()
    return personal_pace([distance / seconds for distance, seconds in rows])


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def store_score(
    *, event: ParkingEvent, parts: ScoreParts, found: bool, recall: list[dict[str, Any]]
) -> RetrievalScore:
    """Keep a computed score with every part it was made of."""
    score = RetrievalScore(
        event_id=event.id,
        user_id=event.user_id,
        score_version=parts.score_version,
        landmark_recall=_decimal(parts.landmark_recall),
        time_score=_decimal(parts.time),
        assistance_score=_decimal(parts.assistance),
        total=_decimal(parts.total),
        expected_seconds=parts.expected_seconds,
        actual_seconds=parts.actual_seconds,
        distance_m=event.distance_m,
        pace_m_per_s=event.pace_m_per_s,
        highest_assist_level=parts.highest_assist_level,
        assist_count=parts.assist_count,
        found=found,
        recall=recall,
    )
    event.score = score
    db.session.flush()
    return score


def get_score(*, user_id: int, event_id: int) -> RetrievalScore:
    """The score of one of the user's events, or 409 ``no_score`` until it is retrieved."""
    event = get_own_event(user_id, event_id)
    if event.score is None:
        # The event exists; it is its state (not yet retrieved) that has no score: a conflict.
        raise Conflict(
            "This parking event has no score yet: it is scored when the walk back is complete.",
            code="no_score",
        )
    return event.score


def list_scores(
    *, user_id: int, start: datetime | None, end: datetime | None, page: int, per_page: int
) -> dict:
    """The user's scores, newest first, completed in ``[start, end)``."""
    stmt = select(RetrievalScore).where(RetrievalScore.user_id == user_id)
    if start is not None:
        stmt = stmt.where(RetrievalScore.created_at >= start)
    if end is not None:
        stmt = stmt.where(RetrievalScore.created_at < end)
    stmt = stmt.order_by(RetrievalScore.created_at.desc(), RetrievalScore.id.desc())
    return paginate(stmt, page=page, per_page=per_page)


def period_start(moment: datetime, period: str, zone: ZoneInfo) -> date:
    """The first day (Monday, or the 1st) of the week or month holding ``moment`` locally."""
    day = moment.astimezone(zone).date()
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 2)


def score_trend(*, user_id: int, period: str) -> list[dict[str, Any]]:
    """Per week or month, oldest first: count, mean score, mean time ratio, mean assist level."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    rows = db.session.execute(
        select(
            RetrievalScore.created_at,
            RetrievalScore.total,
            RetrievalScore.actual_seconds,
            RetrievalScore.expected_seconds,
            RetrievalScore.highest_assist_level,
        ).where(RetrievalScore.user_id == user_id)
    ).all()
    # Grouped in Python: the same code on SQLite and MariaDB, and in the person's own time zone.
    groups: dict[date, list] = defaultdict(list)
    for row in rows:
        groups[period_start(row.created_at, period, zone)].append(row)
    trend = []
    for start in sorted(groups):
        members = groups[start]
        trend.append(
            {
                "period_start": start,
                "count": len(members),
                "mean_score": _mean([float(row.total) for row in members]),
                "mean_time_ratio": _mean(
                    [row.actual_seconds / row.expected_seconds for row in members]
                ),
                "mean_assist_level": _mean([row.highest_assist_level for row in members]),
            }
        )
    return trend
