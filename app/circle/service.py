"""The care circle, by consent: the person invites, the invitee answers, either side can end it.

Access rests on one rule: a member sees something of a person only while an ``accepted``
membership with a suitable role exists *now*; every check queries it, so revoking or leaving takes
effect on the very next request. Every change is written to ``circle_audit``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import User
from app.accounts.service import find_user_by_login
from app.circle import alerts
from app.circle.models import Alert, CircleAudit, CircleMembership
from app.parking import live
from app.parking.scores import score_trend
from app.parking.service import require_latest_active_event
from app.platform.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.models import utcnow
from app.platform.queue import enqueue
from app.privacy import service as privacy

log = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=7)
CAREGIVER_ROLES = ("caregiver",)
TREND_ROLES = ("caregiver", "viewer")


# Reading the circle ----------------------------------------------------------------------------


def with_users(stmt):
    return stmt.options(joinedload(CircleMembership.person), joinedload(CircleMembership.member))


def _is_stale(membership: CircleMembership, now=None) -> bool:
    """A pending invitation past its expiry (the job may not have marked it yet)."""
    return membership.status == "pending" and membership.expires_at <= (now or utcnow())


def circle_overview(*, user_id: int) -> dict[str, list[CircleMembership]]:
    """The user's circle both ways: who may see them, and whom they care for (open entries)."""
    now = utcnow()
    rows = db.session.scalars(
        with_users(select(CircleMembership))
        .where(
            or_(CircleMembership.person_id == user_id, CircleMembership.member_id == user_id),
            CircleMembership.status.in_(("pending", "accepted")),
        )
        .order_by(CircleMembership.id)
    ).all()
    live = [row for row in rows if not _is_stale(row, now)]
    return {
        "members": [row for row in live if row.person_id == user_id],
        "caring_for": [row for row in live if row.member_id == user_id],
    }


def get_invitation(*, user_id: int, invitation_id: int) -> CircleMembership:
    """An invitation (or membership) the user is a party to; 404 for anyone else."""
    membership = db.session.scalar(
        with_users(select(CircleMembership)).where(CircleMembership.id == invitation_id)
    )
    if membership is None or user_id not in (membership.person_id, membership.member_id):
        raise NotFound("Invitation not found.", code="invitation_not_found")
    return membership


def access_role(*, viewer_id: int, person_id: int, roles: tuple[str, ...]) -> str | None:
    """The role of ``viewer``'s accepted membership in ``person_id``'s circle, if it is one of
    ``roles``; else None."""
    return db.session.scalar(
        select(CircleMembership.role).where(
            CircleMembership.person_id == person_id,
            CircleMembership.member_id == viewer_id,
            CircleMembership.status == "accepted",
            CircleMembership.role.in_(roles),
        )
    )


def has_access(*, viewer_id: int, person_id: int, roles: tuple[str, ...]) -> bool:
    """True while ``viewer`` holds an accepted membership in ``person_id``'s circle with a role."""
    return access_role(viewer_id=viewer_id, person_id=person_id, roles=roles) is not None


def require_access(*, viewer_id: int, person_id: int, roles: tuple[str, ...]) -> str | None:
    """404 unless the viewer is the person or an accepted member with one of ``roles``; the
    member's role (None for the person themself)."""
    if viewer_id == person_id:
        return None
    role = access_role(viewer_id=viewer_id, person_id=person_id, roles=roles)
    if role is None:
        # The same answer whether or not the person exists: membership is not revealed.
        raise NotFound("Person not found.", code="person_not_found")
    return role


def _log_read(role: str | None, *, viewer_id: int, person_id: int, resource: str, **detail):
    """A member's read goes into the person's access log (in the read's transaction)."""
    if role is not None:
        privacy.record_access(
            person_id=person_id,
            actor_id=viewer_id,
            actor_role=role,
            resource=resource,
            detail=detail,
        )


def person_latest_active_event(*, viewer_id: int, person_id: int):
    """The person's active parking event, for the person and their accepted caregivers only."""
    role = require_access(viewer_id=viewer_id, person_id=person_id, roles=CAREGIVER_ROLES)
    event = require_latest_active_event(user_id=person_id)
    photos = [event.get("photo_url")] + [lm.get("photo_url") for lm in event["landmarks"]]
    _log_read(
        role,
        viewer_id=viewer_id,
        person_id=person_id,
        resource="latest_parking_event",
        event_id=event["id"],
        photos=sum(1 for url in photos if url),
    )
    return event


def person_live_retrieval(*, viewer_id: int, person_id: int) -> dict[str, Any]:
    """The person's walk back in progress, for the person and their caregivers (not viewers)."""
    role = require_access(viewer_id=viewer_id, person_id=person_id, roles=CAREGIVER_ROLES)
    walk = live.current_walk(person_id)
    walk["open_alerts"] = _live_alerts(walk["event_id"])
    _log_read(
        role,
        viewer_id=viewer_id,
        person_id=person_id,
        resource="live_retrieval",
        event_id=walk["event_id"],
    )
    return walk


def own_live_retrieval(*, user_id: int, event_id: int) -> dict[str, Any]:
    """The person's own walk back, with the caregivers who can see it."""
    walk = live.own_walk(user_id=user_id, event_id=event_id)
    walk["open_alerts"] = _live_alerts(event_id)
    walk["shared_with"] = [
        {"user_id": carer.id, "username": carer.username, "full_name": carer.full_name}
        for carer in accepted_caregivers(user_id)
    ]
    return walk


def _live_alerts(event_id: int) -> list[Alert]:
    return list(
        db.session.scalars(
            select(Alert)
            .where(Alert.event_id == event_id, Alert.state.in_(alerts.LIVE_STATES))
            .order_by(Alert.id)
        ).all()
    )


def person_score_trend(*, viewer_id: int, person_id: int, period: str):
    """The person's score trend, for the person and their accepted caregivers and viewers."""
    role = require_access(viewer_id=viewer_id, person_id=person_id, roles=TREND_ROLES)
    trend = score_trend(user_id=person_id, period=period)
    _log_read(role, viewer_id=viewer_id, person_id=person_id, resource="score_trend", period=period)
    return trend


def accepted_caregivers(person_id: int) -> list[User]:
    """The active users who are accepted caregivers of the person right now."""
    return list(
        db.session.scalars(
            select(User)
            .join(CircleMembership, CircleMembership.member_id == User.id)
            .where(
                CircleMembership.person_id == person_id,
                CircleMembership.status == "accepted",
                CircleMembership.role.in_(CAREGIVER_ROLES),
                User.is_active.is_(True),
            )
            .order_by(User.id)
        ).all()
    )


# Changing the circle ---------------------------------------------------------------------------


def _audit(membership: CircleMembership, *, actor_id: int, action: str, **details: Any) -> None:
    db.session.add(
        CircleAudit(
            person_id=membership.person_id,
            actor_id=actor_id,
            member_id=membership.member_id,
            membership_id=membership.id,
            action=action,
            details=details or None,
            created_at=utcnow(),
        )
    )


def _close(membership: CircleMembership, status: str, *, actor_id: int) -> None:
    """Move to a closed status, free the pair for a new invitation, and audit it."""
    now = utcnow()
    if membership.status == "pending" and status in ("accepted", "declined", "expired"):
        membership.responded_at = now
    if status != "accepted":
        membership.open_key = None
        membership.ended_at = now
    membership.status = status
    db.session.flush()
    _audit(membership, actor_id=actor_id, action=status)
    _notify_other_party(membership, status)


def _notify_other_party(membership: CircleMembership, action: str) -> None:
    enqueue("circle.deliver_circle_notice", membership.id, action)


def invite(*, person_id: int, login: str, role: str) -> CircleMembership:
    """Invite a user (by username or e-mail) as caregiver or viewer; they must accept.

    An unknown or inactive login is a 404 ``user_not_found``: registration already tells whether
    a username or e-mail is taken, so this reveals nothing new, and the route is rate limited.
    """

    member = find_user_by_login(login)
    if member is None or not member.is_active:
        raise NotFound("No user with that username or e-mail.", code="user_not_found")
    if member.id == person_id:
        raise ValidationFailed(
            "You cannot invite yourself.", fields={"login": ["You cannot invite yourself."]}
        )
    open_key = f"{person_id}:{member.id}"
    existing = db.session.scalar(
        select(CircleMembership).where(CircleMembership.open_key == open_key)
    )
    if existing is not None:
        if not _is_stale(existing):
            code = "already_member" if existing.status == "accepted" else "invitation_pending"
            raise Conflict("This user is already in your circle or invited.", code=code)
        _close(existing, "expired", actor_id=person_id)
    now = utcnow()
    membership = CircleMembership(
        person_id=person_id,
        member_id=member.id,
        role=role,
        status="pending",
        open_key=open_key,
        invited_at=now,
        expires_at=now + INVITATION_TTL,
    )
    try:
        with db.session.begin_nested():
            db.session.add(membership)
    except IntegrityError as exc:
        raise Conflict(
            "This user is already in your circle or invited.", code="invitation_pending"
        ) from exc
    membership.person = db.session.get(User, person_id)
    membership.member = member
    _audit(membership, actor_id=person_id, action="invited", role=role)
    _notify_other_party(membership, "invited")
    return membership


def _pending_invitation_for(user_id: int, invitation_id: int) -> CircleMembership:
    membership = db.session.scalar(
        with_users(select(CircleMembership))
        .where(CircleMembership.id == invitation_id)
        # The invitation's row only: PostgreSQL cannot lock the outer-joined users.
        .with_for_update(of=CircleMembership)
    )
    if membership is None or membership.member_id != user_id:
        raise NotFound("Invitation not found.", code="invitation_not_found")
    # A stale pending invitation is expired already; the expire-invitations job records it.
    if membership.status == "expired" or _is_stale(membership):
        raise Conflict("This invitation has expired.", code="invitation_expired")
    if membership.status != "pending":
        raise InvalidTransition("This invitation has already been answered or withdrawn.")
    return membership


def accept_invitation(*, user_id: int, invitation_id: int) -> CircleMembership:
    """The invitee accepts a pending invitation; access starts now, and a new caregiver is sent
    the person's alerts that are still open (an SOS raised before they joined)."""
    membership = _pending_invitation_for(user_id, invitation_id)
    _close(membership, "accepted", actor_id=user_id)
    if membership.role in CAREGIVER_ROLES:
        alerts.alert_new_caregiver(person_id=membership.person_id)
    return membership


def decline_invitation(*, user_id: int, invitation_id: int) -> CircleMembership:
    """The invitee declines a pending invitation; it grants nothing."""
    membership = _pending_invitation_for(user_id, invitation_id)
    _close(membership, "declined", actor_id=user_id)
    return membership


def remove_member(*, user_id: int, other_user_id: int) -> None:
    """End a membership: the person revokes a member (or withdraws an invitation), or a member
    leaves a person's circle (a pending invitation to the user is declined)."""
    as_person = db.session.scalar(
        select(CircleMembership)
        .where(CircleMembership.open_key == f"{user_id}:{other_user_id}")
        .with_for_update()
    )
    if as_person is not None:
        _close(as_person, "revoked", actor_id=user_id)
        return
    as_member = db.session.scalar(
        select(CircleMembership)
        .where(CircleMembership.open_key == f"{other_user_id}:{user_id}")
        .with_for_update()
    )
    if as_member is None:
        raise NotFound("Not in your circle.", code="member_not_found")
    _close(as_member, "left" if as_member.status == "accepted" else "declined", actor_id=user_id)


def expire_invitations(now=None) -> int:
    """Mark pending invitations past their expiry ``expired``; returns how many."""
    now = now or utcnow()
    stale = db.session.scalars(
        select(CircleMembership)
        .where(CircleMembership.status == "pending", CircleMembership.expires_at <= now)
        .order_by(CircleMembership.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    ).all()
    for membership in stale:
        # The person invited; the system ends it. The audit names the person as the actor.
        _close(membership, "expired", actor_id=membership.person_id)
    return len(stale)


# Delivering notices ----------------------------------------------------------------------------
