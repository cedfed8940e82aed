"""What an alert's life tells people: acknowledged ("I am coming, about 10 minutes"), resolved,
or escalated (an SOS nobody answered), told once to each person concerned, in their language."""

from __future__ import annotations

from app.accounts.models import User
from app.circle.delivery import display_name
from app.circle.models import Alert
from app.circle.service import accepted_caregivers
from app.notifications import service as notifications
from app.platform.extensions import db
from app.platform.i18n import N_, gettext, in_language, language_of, ngettext

ALERT_WORDS = {
    "call_me": N_("call request"),
    "sos": N_("SOS"),
    "stalled": N_("long walk back"),
    "moving_away": N_("walk away from the car"),
    "event_expiring": N_("parking reminder"),
    "meter_expiring": N_("parking meter"),
}
# Resolutions ParkMind writes itself; a person's own words are shown as they wrote them.
RESOLUTION_WORDS = {
    "found the car": N_("found the car"),
    "stopped looking for the car": N_("stopped looking for the car"),
    "the parking place was deleted": N_("the parking place was deleted"),
}


def _handled_title(alert: Alert, helper: str) -> str:
    minutes = alert.eta_minutes
    if alert.kind == "sos":
        if minutes is None:
            return gettext("%(helper)s is coming", helper=helper)
        return ngettext(
            "%(helper)s is coming, about %(num)d minute",
            "%(helper)s is coming, about %(num)d minutes",
            minutes,
            helper=helper,
        )
    if alert.kind == "call_me":
        if minutes is None:
            return gettext("%(helper)s will call you", helper=helper)
        return ngettext(
            "%(helper)s will call you, about %(num)d minute",
            "%(helper)s will call you, about %(num)d minutes",
            minutes,
            helper=helper,
        )
    if minutes is None:
        return gettext("%(helper)s is looking after it", helper=helper)
    return ngettext(
        "%(helper)s is looking after it, about %(num)d minute",
        "%(helper)s is looking after it, about %(num)d minutes",
        minutes,
        helper=helper,
    )


def _alert_update_texts(alert: Alert, action: str, person: str, helper: str | None) -> dict:
    """Title and body for each audience of an alert update, in the current language."""
    words = gettext(ALERT_WORDS[alert.kind])
    if action == "acknowledged":
        help_coming = gettext("You asked for help; help is on the way.")
        return {
            "person": (_handled_title(alert, helper), alert.message or help_coming),
            "others": (
                gettext(
                    "%(helper)s is handling %(person)s's %(alert)s",
                    helper=helper,
                    person=person,
                    alert=words,
                ),
                gettext(
                    "%(helper)s answered and is handling it. You do not need to go as well.",
                    helper=helper,
                ),
            ),
        }
    if action == "resolved":
        if alert.resolution == "found the car":
            title = gettext("%(person)s found the car", person=person)
        else:
            title = gettext("%(person)s's %(alert)s is over", person=person, alert=words)
        body = gettext("The alert is closed.")
        if alert.resolution:
            note = RESOLUTION_WORDS.get(alert.resolution)
            note = gettext(note) if note else alert.resolution
            body = gettext("The alert is closed. Note: %(note)s", note=note)
        return {"everyone": (title, body)}
    title = gettext("SOS still unanswered: %(person)s needs someone to come", person=person)
    body = gettext(
        "Nobody has said they are coming to %(person)s yet. If you can go, say so in the app.",
        person=person,
    )
    return {"caregivers": (title, body)}


def deliver_alert_update(alert_id: int, action: str) -> bool:
    """Tell everyone concerned what happened to an alert, once each, in their language."""
    alert = db.session.get(Alert, alert_id)
    if alert is None or action not in ("acknowledged", "resolved", "escalated"):
        return True
    person = db.session.get(User, alert.person_id)
    caregivers = accepted_caregivers(person.id)
    data = {"alert_id": alert.id, "kind": alert.kind, "state": alert.state, "action": action}
    if alert.event_id is not None:
        data["event_id"] = alert.event_id
    helper = None
    # (recipient, kind, audience, urgent)
    notices: list[tuple[User, str, str, bool]] = []
    if action == "acknowledged":
        helper = db.session.get(User, alert.acknowledged_by_id)
        notices.append((person, "alert_acknowledged", "person", alert.kind == "sos"))
        notices += [(c, "alert_handled", "others", False) for c in caregivers if c.id != helper.id]
    elif action == "resolved":
        notices += [
            (user, "alert_resolved", "everyone", False)
            for user in [person, *caregivers]
            if user.id != alert.resolved_by_id
        ]
    else:  # escalated: an SOS nobody answered
        notices += [(carer, "alert_escalated", "caregivers", True) for carer in caregivers]
    helper_name = display_name(helper) if helper is not None else None
    ok = True
    for user, kind, audience, urgent in notices:
        with in_language(language_of(user.settings)):
            texts = _alert_update_texts(alert, action, display_name(person), helper_name)
        title, body = texts[audience]
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
