"""Delivering what the care circle is told: invitation notices, assist alerts and event
notices, each once per person and channel (in-app, e-mail, webhook)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.circle.models import Alert, CircleMembership
from app.circle.service import accepted_caregivers, with_users
from app.notifications import service as notifications
from app.parking.geo import walking_links
from app.parking.models import AssistRequest, ParkingEvent
from app.platform.extensions import db


def _user_ref(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name}


def _display(user: User) -> str:
    return user.full_name or user.username


CIRCLE_NOTICES = {
    # action: (recipient side, title, body)
    "invited": (
        "member",
        "{person} invited you to their care circle",
        "{person} would like you to be their {role}. Accept or decline the invitation in "
        "ParkMind; it expires in 7 days.",
    ),
    "accepted": (
        "person",
        "{member} joined your care circle",
        "{member} accepted your invitation and is now your {role}. You can remove them at any "
        "time.",
    ),
    "declined": (
        "person",
        "{member} declined your invitation",
        "{member} declined your invitation to be your {role}.",
    ),
    "revoked": (
        "member",
        "{person} updated their care circle",
        "{person} removed you from their care circle; you no longer have access.",
    ),
    "left": (
        "person",
        "{member} left your care circle",
        "{member} is no longer your {role}.",
    ),
    "expired": (
        "person",
        "Your invitation to {member} expired",
        "{member} did not answer your invitation within 7 days. You can invite them again.",
    ),
}


def deliver_circle_notice(membership_id: int, action: str) -> bool:
    """Tell the other party about a circle change, in-app and by e-mail, once."""
    membership = db.session.scalar(
        with_users(select(CircleMembership)).where(CircleMembership.id == membership_id)
    )
    if membership is None or action not in CIRCLE_NOTICES:
        return True
    side, title, body = CIRCLE_NOTICES[action]
    recipient = membership.member if side == "member" else membership.person
    if action == "invited" and membership.status != "pending":
        return True  # answered or withdrawn before the notice went out
    words = {
        "person": _display(membership.person),
        "member": _display(membership.member),
        "role": membership.role,
    }
    data = {
        "invitation_id": membership.id,
        "action": action,
        "role": membership.role,
        "person": _user_ref(membership.person),
        "member": _user_ref(membership.member),
    }
    return notifications.deliver(
        user=recipient,
        kind=f"circle_{action}",
        title=title.format(**words),
        body=body.format(**words),
        data=data,
        dedupe_key=f"circle:{membership.id}:{action}",
    )


def _position(latitude: float | None, longitude: float | None) -> dict[str, Any] | None:

    if latitude is None or longitude is None:
        return None
    try:
        links = walking_links(latitude, longitude)
    except ValueError:
        return None
    return {"latitude": latitude, "longitude": longitude, "links": links}


def _event_context(event: ParkingEvent, person: User) -> dict[str, Any]:
    """What a caregiver needs to help: the person's last position and the car with links."""
    return {
        "person": _user_ref(person),
        "event_id": event.id,
        "car": _position(event.latitude, event.longitude),
        "last_position": _position(event.last_latitude, event.last_longitude),
        "last_position_at": event.last_position_at.isoformat().replace("+00:00", "Z")
        if event.last_position_at
        else None,
    }


ASSIST_NOTICES = {
    4: (
        "{person} asks you to call",
        "{person} is looking for their car and asked for a call. Their last position and the "
        "car's location are in the app.",
    ),
    5: (
        "SOS: {person} needs you to come",
        "{person} cannot find their car and asked for someone to come to them. Their last "
        "position and walking directions to the car are in the app.",
    ),
}


SOS_LEVEL = 5


def deliver_assist_alert(assist_id: int) -> bool:
    """Alert each accepted caregiver of an assist request (level 4 or 5), once each."""
    row = db.session.execute(
        select(AssistRequest, ParkingEvent, User)
        .join(ParkingEvent, ParkingEvent.id == AssistRequest.event_id)
        .join(User, User.id == ParkingEvent.user_id)
        .where(AssistRequest.id == assist_id)
    ).first()
    if row is None or row[0].level not in ASSIST_NOTICES:
        return True
    assist, event, person = row
    title, body = ASSIST_NOTICES[assist.level]
    data = _event_context(event, person)
    data.update(assist_id=assist.id, level=assist.level)
    if assist.latitude is not None and assist.longitude is not None:
        data["last_position"] = _position(assist.latitude, assist.longitude)
        data["last_position_at"] = assist.created_at.isoformat().replace("+00:00", "Z")
    ok = True
    for caregiver in accepted_caregivers(person.id):
        ok &= notifications.deliver(
            user=caregiver,
            kind=f"assist_level_{assist.level}",
            title=title.format(person=_display(person)),
            body=body.format(person=_display(person)),
            data=data,
            dedupe_key=f"assist:{assist.id}:{caregiver.id}",
            urgent=assist.level == SOS_LEVEL,
        )
    ok &= notifications.post_operator_notice(
        dedupe_key=f"assist:{assist.id}",
        text=f"ParkMind: assist level {assist.level} for user {person.id} (event {event.id})",
        payload={"kind": f"assist_level_{assist.level}", "event_id": event.id},
    )
    return ok


EVENT_NOTICES = {
    "retrieval_stalled": {
        "person": (
            "Still looking for your car?",
            "Open ParkMind for directions, photos of your landmarks and more help. Your "
            "caregivers have been told.",
        ),
        "caregiver": (
            "{person} may need help finding their car",
            "{person} has been looking for their car for much longer than expected. Their last "
            "position and the car's location are in the app.",
        ),
        "email_person": False,
    },
    "parking_expiring": {
        "person": (
            "Your parking memory expires soon",
            "The saved parking place from {parked_at} will expire within 6 hours. If you still "
            "need it, open ParkMind.",
        ),
        "caregiver": (
            "{person}'s saved parking place expires soon",
            "{person}'s saved parking place from {parked_at} will expire within 6 hours.",
        ),
        "email_person": True,
    },
    "moving_away": {
        "person": (
            "Your car is the other way",
            "You have been walking away from your car for a few minutes. Open ParkMind for "
            "directions; your caregivers have been told.",
        ),
        "caregiver": (
            "{person} is walking away from the car",
            "{person} has been moving away from their car for several minutes while looking "
            "for it. Their last position and the car's location are in the app.",
        ),
        "email_person": False,
    },
    "meter_expiring": {
        "person": (
            "Your parking meter runs out at {meter_at}",
            "The paid time for your car runs out at {meter_at}. Open ParkMind to find your way "
            "back to it.",
        ),
        "caregiver": (
            "{person}'s parking meter runs out at {meter_at}",
            "{person} has not started walking back to the car yet; the paid time runs out at "
            "{meter_at}.",
        ),
        "email_person": True,
        "caregivers_only_while_parked": True,
    },
    "meter_expired": {
        "person": (
            "Your parking meter has run out",
            "The paid time for your car ran out at {meter_at}. Open ParkMind to find your way "
            "back to it.",
        ),
        "caregiver": (
            "{person}'s parking meter has run out",
            "The paid time ran out at {meter_at} and {person} has not started walking back to "
            "the car yet.",
        ),
        "email_person": True,
        "caregivers_only_while_parked": True,
    },
}


def event_notice_key(kind: str, event_id: int, user_id: int) -> str:
    """The dedupe key of one event notice to one user."""
    return f"{kind}:{event_id}:{user_id}"


def claim_event_notice(kind: str, event: ParkingEvent) -> bool:
    """Create the person's in-app notice for an event once; True when this call created it."""
    person = db.session.get(User, event.user_id)
    title, body = EVENT_NOTICES[kind]["person"]
    words = _words(event, person)
    _, created = notifications.create_notification(
        user_id=event.user_id,
        kind=kind,
        title=title.format(**words),
        body=body.format(**words),
        data={"event_id": event.id},
        dedupe_key=event_notice_key(kind, event.id, event.user_id),
    )
    return created


def _when(event: ParkingEvent) -> str:
    return event.parked_at.strftime("%Y-%m-%d %H:%M UTC")


def _words(event: ParkingEvent, person: User) -> dict[str, str]:
    meter = event.meter_expires_at
    return {
        "person": _display(person),
        "parked_at": _when(event),
        "meter_at": meter.strftime("%H:%M UTC") if meter is not None else "",
    }


def deliver_event_notice(kind: str, event_id: int) -> bool:
    """Tell the person (and their accepted caregivers) about a parking event, once each."""
    if kind not in EVENT_NOTICES:
        return True
    row = db.session.execute(
        select(ParkingEvent, User)
        .join(User, User.id == ParkingEvent.user_id)
        .where(ParkingEvent.id == event_id)
    ).first()
    if row is None:
        return True
    event, person = row
    spec = EVENT_NOTICES[kind]
    words = _words(event, person)
    data = _event_context(event, person)
    title, body = spec["person"]
    ok = notifications.deliver(
        user=person,
        kind=kind,
        title=title.format(**words),
        body=body.format(**words),
        data={"event_id": event.id},
        dedupe_key=event_notice_key(kind, event.id, person.id),
        email=spec["email_person"],
    )
    if spec.get("caregivers_only_while_parked") and event.status != "active":
        return ok  # walking back (or found) already: nobody else needs to worry
    title, body = spec["caregiver"]
    for caregiver in accepted_caregivers(person.id):
        ok &= notifications.deliver(
            user=caregiver,
            kind=kind,
            title=title.format(**words),
            body=body.format(**words),
            data=data,
            dedupe_key=event_notice_key(kind, event.id, caregiver.id),
        )
    return ok


# --- alerts with a life: acknowledged, resolved, escalated -----------------------------------

ALERT_WORDS = {
    "call_me": "call request",
    "sos": "SOS",
    "stalled": "long walk back",
    "moving_away": "walk away from the car",
    "event_expiring": "parking reminder",
    "meter_expiring": "parking meter",
}


def _handled_title(alert: Alert, helper: str) -> str:
    eta = "" if alert.eta_minutes is None else f", about {alert.eta_minutes} minutes"
    if alert.kind == "sos":
        return f"{helper} is coming{eta}"
    if alert.kind == "call_me":
        return f"{helper} will call you{eta}"
    return f"{helper} is looking after it{eta}"


def deliver_alert_update(alert_id: int, action: str) -> bool:
    """Tell everyone concerned what happened to an alert, once each."""
    alert = db.session.get(Alert, alert_id)
    if alert is None or action not in ("acknowledged", "resolved", "escalated"):
        return True
    person = db.session.get(User, alert.person_id)
    caregivers = accepted_caregivers(person.id)
    words = ALERT_WORDS[alert.kind]
    data = {"alert_id": alert.id, "kind": alert.kind, "state": alert.state, "action": action}
    if alert.event_id is not None:
        data["event_id"] = alert.event_id
    notices: list[tuple[User, str, str, str, bool]] = []
    if action == "acknowledged":
        helper = db.session.get(User, alert.acknowledged_by_id)
        name = _display(helper)
        body = alert.message or "You asked for help; help is on the way."
        notices.append(
            (person, "alert_acknowledged", _handled_title(alert, name), body, alert.kind == "sos")
        )
        for other in caregivers:
            if other.id != helper.id:
                title = f"{name} is handling {_display(person)}'s {words}"
                body = f"{name} answered and is handling it. You do not need to go as well."
                notices.append((other, "alert_handled", title, body, False))
    elif action == "resolved":
        if alert.resolution == "found the car":
            title = f"{_display(person)} found the car"
        else:
            title = f"{_display(person)}'s {words} is over"
        body = "The alert is closed." + (f" Note: {alert.resolution}" if alert.resolution else "")
        for user in [person, *caregivers]:
            if user.id != alert.resolved_by_id:
                notices.append((user, "alert_resolved", title, body, False))
    else:  # escalated: an SOS nobody answered
        title = f"SOS still unanswered: {_display(person)} needs someone to come"
        body = (
            f"Nobody has said they are coming to {_display(person)} yet. If you can go, say so "
            "in the app."
        )
        for carer in caregivers:
            notices.append((carer, "alert_escalated", title, body, True))
    ok = True
    for user, kind, title, body, urgent in notices:
        ok &= notifications.deliver(
            user=user,
            kind=kind,
            title=title,
            body=body,
            data=data,
            dedupe_key=f"alert:{alert.id}:{action}:{user.id}",
            urgent=urgent,
        )
    return ok
