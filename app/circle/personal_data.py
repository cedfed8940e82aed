"""What the care circle holds about a person: their circle both ways, its audit trail and their
alerts (see app.platform.personal_data). An erasure tells the other side, once."""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update

from app.accounts.models import User
from app.circle.delivery import EVENT_NOTICES, ROLE_WORDS
from app.circle.models import Alert, CircleAudit, CircleMembership
from app.notifications import service as notifications
from app.parking.models import AssistRequest, ParkingEvent
from app.platform.extensions import db
from app.platform.i18n import gettext, in_language, language_of_user
from app.platform.models import utcnow
from app.platform.personal_data import Erased, eraser, part, record
from app.platform.queue import enqueue


def _names(user_ids: set[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(User.id, User.username, User.full_name).where(User.id.in_(user_ids))
    )
    return {row.id: row.full_name or row.username for row in rows}


@part(
    "circle",
    about=(
        "Your care circle both ways: the caregivers and viewers you invited, the people who "
        "invited you, each with role and status, and the history of changes to your circle."
    ),
    models=[CircleMembership, CircleAudit],
)
def export_circle(user_id: int) -> dict:
    """Memberships where the person is the person or the member, and their circle's audit."""
    memberships = list(
        db.session.scalars(
            select(CircleMembership)
            .where(
                or_(CircleMembership.person_id == user_id, CircleMembership.member_id == user_id)
            )
            .order_by(CircleMembership.invited_at, CircleMembership.id)
        )
    )
    names = _names({m.person_id for m in memberships} | {m.member_id for m in memberships})
    audit = db.session.scalars(
        select(CircleAudit).where(CircleAudit.person_id == user_id).order_by(CircleAudit.id)
    )

    def membership(row: CircleMembership) -> dict:
        return {
            **record(row, exclude=("open_key",)),
            "person_name": names.get(row.person_id),
            "member_name": names.get(row.member_id),
        }

    return {
        "my_circle": [membership(m) for m in memberships if m.person_id == user_id],
        "circles_i_am_in": [membership(m) for m in memberships if m.member_id == user_id],
        "history": [record(entry) for entry in audit],
    }


@part(
    "alerts",
    about="Alerts raised about you (help asked, a long walk back, a meter) and who handled them.",
    models=[Alert],
)
def export_alerts(user_id: int) -> list[dict]:
    """The person's alerts, oldest first."""
    rows = db.session.scalars(
        select(Alert).where(Alert.person_id == user_id).order_by(Alert.raised_at, Alert.id)
    )
    return [record(alert) for alert in rows]


def _notice_prefixes(user_id: int, membership_ids: list[int]) -> list[str]:
    """Dedupe-key prefixes of the notices others received about the person."""
    alert_ids = db.session.scalars(select(Alert.id).where(Alert.person_id == user_id)).all()
    assist_ids = db.session.scalars(
        select(AssistRequest.id).where(AssistRequest.user_id == user_id)
    ).all()
    event_ids = db.session.scalars(
        select(ParkingEvent.id).where(ParkingEvent.user_id == user_id)
    ).all()
    return [
        *(f"alert:{i}:" for i in alert_ids),
        *(f"assist:{i}:" for i in assist_ids),
        *(f"{kind}:{i}:" for kind in EVENT_NOTICES for i in event_ids),
        *(f"circle:{i}:" for i in membership_ids),
    ]


@eraser("circle", order=10)
def erase_circle(user_id: int) -> Erased:
    """The person's circle and alerts go; the people on the other side of each accepted
    membership are told the person left, and what others were told about the person goes."""
    memberships = list(
        db.session.scalars(
            select(CircleMembership)
            .where(
                or_(CircleMembership.person_id == user_id, CircleMembership.member_id == user_id)
            )
            .with_for_update()
        )
    )
    name = _names({user_id}).get(user_id, "")
    told = 0
    for membership in memberships:
        if membership.status != "accepted":
            continue
        if membership.person_id == user_id:
            recipient, relation = membership.member_id, "person"
        else:
            recipient, relation = membership.person_id, membership.role
        with in_language(language_of_user(recipient)):
            title = gettext("%(name)s left ParkMind", name=name)
            if relation == "person":
                body = gettext(
                    "%(name)s closed their ParkMind account; you no longer see their data.",
                    name=name,
                )
            else:
                body = gettext(
                    "%(name)s closed their ParkMind account and is no longer your %(role)s.",
                    name=name,
                    role=gettext(ROLE_WORDS.get(relation, relation)),
                )
        notice, created = notifications.create_notification(
            user_id=recipient,
            kind="circle_account_closed",
            title=title,
            body=body,
            data={"action": "account_closed", "role": membership.role},
            dedupe_key=f"account-closed:{user_id}:{recipient}",
        )
        if created:
            enqueue("notifications.email_notice", notice.id)
            told += 1

    forgotten = notifications.forget_notices(
        key_prefixes=_notice_prefixes(user_id, [m.id for m in memberships])
    )
    own = [m.id for m in memberships if m.person_id == user_id]
    now = utcnow()
    db.session.execute(
        update(Alert)
        .where(Alert.acknowledged_by_id == user_id)
        .values(acknowledged_by_id=None, message=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(Alert)
        .where(Alert.resolved_by_id == user_id)
        .values(resolved_by_id=None, resolution=None)
        .execution_options(synchronize_session=False)
    )
    alerts = db.session.execute(
        delete(Alert).where(Alert.person_id == user_id).execution_options(synchronize_session=False)
    ).rowcount
    audit = db.session.execute(
        delete(CircleAudit)
        .where(or_(CircleAudit.person_id == user_id, CircleAudit.membership_id.in_(own)))
        .execution_options(synchronize_session=False)
    ).rowcount
    removed = db.session.execute(
        delete(CircleMembership)
        .where(CircleMembership.id.in_(own))
        .execution_options(synchronize_session=False)
    ).rowcount
    # Their place in other people's circles ends; those people keep the record that it existed.
    for membership in memberships:
        if membership.member_id == user_id and membership.status in ("pending", "accepted"):
            membership.status = "left" if membership.status == "accepted" else "declined"
            membership.open_key, membership.ended_at = None, now
    return Erased(
        {
            "alerts": alerts or 0,
            "circle_audit": audit or 0,
            "memberships": removed or 0,
            "caregivers_told": told,
            "notices_forgotten": forgotten,
        }
    )
