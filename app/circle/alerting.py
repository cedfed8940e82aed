"""Alerts as the person and their caregivers handle them: list, read, acknowledge, resolve.

The person sees their own alerts; a caregiver (not a viewer) sees the alerts of the people they
care for. A caregiver acknowledges an open alert ("I am coming, about 10 minutes"): the person
is told at once, and the other caregivers learn who is handling it. The person or a caregiver
resolves it. Everything anyone is told goes through the outbox.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.circle.models import Alert, CircleMembership
from app.circle.service import CAREGIVER_ROLES, has_access
from app.platform.errors import Conflict, Forbidden, InvalidTransition, NotFound
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.pagination import paginate
from app.platform.queue import enqueue
from app.privacy import service as privacy


class AlreadyAcknowledged(Conflict):
    code = "alert_already_acknowledged"
    message = "Another caregiver is already handling this alert."


def alert_not_found() -> NotFound:
    return NotFound("No such alert.", code="alert_not_found")


def _cared_for(user_id: int):
    """The ids of the people ``user_id`` is an accepted caregiver of (a subquery)."""
    return select(CircleMembership.person_id).where(
        CircleMembership.member_id == user_id,
        CircleMembership.status == "accepted",
        CircleMembership.role.in_(CAREGIVER_ROLES),
    )


def list_alerts(*, user_id: int, state: str | None, page: int, per_page: int) -> dict[str, Any]:
    """The caller's own alerts and those of the people they care for, newest first."""
    stmt = select(Alert).where(
        (Alert.person_id == user_id) | Alert.person_id.in_(_cared_for(user_id))
    )
    if state is not None:
        stmt = stmt.where(Alert.state == state)
    result = paginate(stmt.order_by(Alert.id.desc()), page=page, per_page=per_page)
    # Each person whose alerts the caregiver saw on this page finds the read in their log.
    seen: dict[int, list[int]] = {}
    for alert in result["items"]:
        if alert.person_id != user_id:
            seen.setdefault(alert.person_id, []).append(alert.id)
    for person_id, alert_ids in seen.items():
        privacy.record_access(
            person_id=person_id,
            actor_id=user_id,
            actor_role="caregiver",
            resource="alerts",
            detail={"alert_ids": alert_ids},
        )
    return result


def _visible_alert(user_id: int, alert_id: int, *, lock: bool = False) -> tuple[Alert, bool]:
    """The alert and whether the caller is a caregiver of its person; 404 for anyone else."""
    stmt = select(Alert).where(Alert.id == alert_id)
    if lock:
        stmt = stmt.with_for_update()
    alert = db.session.scalar(stmt)
    if alert is None:
        raise alert_not_found()
    if alert.person_id == user_id:
        return alert, False
    if has_access(viewer_id=user_id, person_id=alert.person_id, roles=CAREGIVER_ROLES):
        return alert, True
    raise alert_not_found()


def get_alert(*, user_id: int, alert_id: int) -> Alert:
    """One alert, for its person and their caregivers (a caregiver's read is logged)."""
    alert, caregiver = _visible_alert(user_id, alert_id)
    if caregiver:
        privacy.record_access(
            person_id=alert.person_id,
            actor_id=user_id,
            actor_role="caregiver",
            resource="alert",
            detail={"alert_id": alert.id},
        )
    return alert


def acknowledge_alert(
    *, user_id: int, alert_id: int, eta_minutes: int | None, message: str | None
) -> Alert:
    """A caregiver takes the alert on; the person and the other caregivers are told."""
    alert, caregiver = _visible_alert(user_id, alert_id, lock=True)
    if not caregiver:
        raise Forbidden("Only a caregiver can say they are handling an alert.")
    if alert.state == "acknowledged":
        if alert.acknowledged_by_id == user_id:
            return alert  # the same caregiver again (a retried request): nothing new to tell
        raise AlreadyAcknowledged()
    if alert.state != "open":
        raise InvalidTransition("This alert is resolved already.")
    alert.state, alert.acknowledged_at = "acknowledged", utcnow()
    alert.acknowledged_by_id, alert.eta_minutes, alert.message = user_id, eta_minutes, message
    db.session.flush()
    enqueue("circle.deliver_alert_update", alert.id, "acknowledged")
    return alert


def resolve_alert(*, user_id: int, alert_id: int, note: str | None) -> Alert:
    """The person or a caregiver closes the alert; everyone alerted is told."""
    alert, _ = _visible_alert(user_id, alert_id, lock=True)
    if alert.state == "resolved":
        raise InvalidTransition("This alert is resolved already.")
    alert.state, alert.resolved_at = "resolved", utcnow()
    alert.resolved_by_id, alert.resolution = user_id, note
    db.session.flush()
    enqueue("circle.deliver_alert_update", alert.id, "resolved")
    return alert
