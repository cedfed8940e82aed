"""Delivering what the care circle is told: invitation notices, assist alerts and event
notices, each once per person and channel (in-app, e-mail, webhook), each in its recipient's
language (a caregiver alerted about a person reads the caregiver's own language)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.circle.models import CircleMembership
from app.circle.service import accepted_caregivers, with_users
from app.notifications import service as notifications
from app.parking.geo import walking_links
from app.parking.models import AssistRequest, ParkingEvent
from app.platform.extensions import db
from app.platform.i18n import (
    N_,
    format_datetime,
    format_time,
    gettext,
    in_language,
    language_of,
)


def _user_ref(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": user.full_name}


def display_name(user: User) -> str:
    return user.full_name or user.username


def say_to(user: User, notice: tuple[str, str], **words: Any) -> tuple[str, str]:
    """``notice`` (title, body message ids) written for ``user``, in their language; a value in
    ``words`` that is a function of nothing is called there (a time, a role's name)."""
    title, body = notice
    with in_language(language_of(user.settings)):
        words = {name: value() if callable(value) else value for name, value in words.items()}
        return gettext(title, **words), gettext(body, **words)


ROLE_WORDS = {"caregiver": N_("caregiver"), "viewer": N_("viewer")}


def _role(role: str):
    return lambda: gettext(ROLE_WORDS[role]) if role in ROLE_WORDS else role


CIRCLE_NOTICES = {
    # action: (recipient side, title, body)
    "invited": (
        "member",
        N_("%(person)s invited you to their care circle"),
        N_(
            "%(person)s would like you to be their %(role)s. Accept or decline the invitation in "
            "ParkMind; it expires in 7 days."
        ),
    ),
    "accepted": (
        "person",
        N_("%(member)s joined your care circle"),
        N_(
            "%(member)s accepted your invitation and is now your %(role)s. You can remove them "
            "at any time."
        ),
    ),
    "declined": (
        "person",
        N_("%(member)s declined your invitation"),
        N_("%(member)s declined your invitation to be your %(role)s."),
    ),
    "revoked": (
        "member",
        N_("%(person)s updated their care circle"),
        N_("%(person)s removed you from their care circle; you no longer have access."),
    ),
    "left": (
        "person",
        N_("%(member)s left your care circle"),
        N_("%(member)s is no longer your %(role)s."),
    ),
    "expired": (
        "person",
        N_("Your invitation to %(member)s expired"),
        N_("%(member)s did not answer your invitation within 7 days. You can invite them again."),
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
    title, body = say_to(
        recipient,
        (title, body),
        person=display_name(membership.person),
        member=display_name(membership.member),
        role=_role(membership.role),
    )
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
        title=title,
        body=body,
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
        N_("%(person)s asks you to call"),
        N_(
            "%(person)s is looking for their car and asked for a call. Their last position and "
            "the car's location are in the app."
        ),
    ),
    5: (
        N_("SOS: %(person)s needs you to come"),
        N_(
            "%(person)s cannot find their car and asked for someone to come to them. Their last "
            "position and walking directions to the car are in the app."
        ),
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
    data = _event_context(event, person)
    data.update(assist_id=assist.id, level=assist.level)
    if assist.latitude is not None and assist.longitude is not None:
        data["last_position"] = _position(assist.latitude, assist.longitude)
        data["last_position_at"] = assist.created_at.isoformat().replace("+00:00", "Z")
    ok = True
    for caregiver in accepted_caregivers(person.id):
        title, body = say_to(caregiver, ASSIST_NOTICES[assist.level], person=display_name(person))
        ok &= notifications.deliver(
            user=caregiver,
            kind=f"assist_level_{assist.level}",
            title=title,
            body=body,
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
            N_("Still looking for your car?"),
            N_(
                "Open ParkMind for directions, photos of your landmarks and more help. Your "
                "caregivers have been told."
            ),
        ),
        "caregiver": (
            N_("%(person)s may need help finding their car"),
            N_(
                "%(person)s has been looking for their car for much longer than expected. Their "
                "last position and the car's location are in the app."
            ),
        ),
        "email_person": False,
    },
    "parking_expiring": {
        "person": (
            N_("Your parking memory expires soon"),
            N_(
                "The saved parking place from %(parked_at)s will expire within 6 hours. If you "
                "still need it, open ParkMind."
            ),
        ),
        "caregiver": (
            N_("%(person)s's saved parking place expires soon"),
            N_("%(person)s's saved parking place from %(parked_at)s will expire within 6 hours."),
        ),
        "email_person": True,
    },
    "moving_away": {
        "person": (
            N_("Your car is the other way"),
            N_(
                "You have been walking away from your car for a few minutes. Open ParkMind for "
                "directions; your caregivers have been told."
            ),
        ),
        "caregiver": (
            N_("%(person)s is walking away from the car"),
            N_(
                "%(person)s has been moving away from their car for several minutes while "
                "looking for it. Their last position and the car's location are in the app."
            ),
        ),
        "email_person": False,
    },
    "meter_expiring": {
        "person": (
            N_("Your parking meter runs out at %(meter_at)s"),
            N_(
                "The paid time for your car runs out at %(meter_at)s. Open ParkMind to find your "
                "way back to it."
            ),
        ),
        "caregiver": (
            N_("%(person)s's parking meter runs out at %(meter_at)s"),
            N_(
                "%(person)s has not started walking back to the car yet; the paid time runs out "
                "at %(meter_at)s."
            ),
        ),
        "email_person": True,
        "caregivers_only_while_parked": True,
    },
    "meter_expired": {
        "person": (
            N_("Your parking meter has run out"),
            N_(
                "The paid time for your car ran out at %(meter_at)s. Open ParkMind to find your "
                "way back to it."
            ),
        ),
        "caregiver": (
            N_("%(person)s's parking meter has run out"),
            N_(
                "The paid time ran out at %(meter_at)s and %(person)s has not started walking "
                "back to the car yet."
            ),
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
    title, body = say_to(person, EVENT_NOTICES[kind]["person"], **_words(event, person))
    _, created = notifications.create_notification(
        user_id=event.user_id,
        kind=kind,
        title=title,
        body=body,
        data={"event_id": event.id},
        dedupe_key=event_notice_key(kind, event.id, event.user_id),
    )
    return created


def _words(event: ParkingEvent, person: User) -> dict[str, Any]:
    """The words of an event notice; times are written when the recipient's language is known."""
    meter = event.meter_expires_at
    return {
        "person": display_name(person),
        "parked_at": lambda: format_datetime(event.parked_at, "UTC", name_zone=False),
        "meter_at": lambda: format_time(meter, "UTC") if meter is not None else "",
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
    title, body = say_to(person, spec["person"], **words)
    ok = notifications.deliver(
        user=person,
        kind=kind,
        title=title,
        body=body,
        data={"event_id": event.id},
        dedupe_key=event_notice_key(kind, event.id, person.id),
        email=spec["email_person"],
    )
    if spec.get("caregivers_only_while_parked") and event.status != "active":
        return ok  # walking back (or found) already: nobody else needs to worry
    for caregiver in accepted_caregivers(person.id):
        title, body = say_to(caregiver, spec["caregiver"], **words)
        ok &= notifications.deliver(
            user=caregiver,
            kind=kind,
            title=title,
            body=body,
            data=data,
            dedupe_key=event_notice_key(kind, event.id, caregiver.id),
        )
    return ok
