"""What the notifications domain holds about a person (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.notifications.models import Notification
from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record


@part(
    "notifications",
    about="Your in-app inbox: every notice, and when you read it.",
    models=[Notification],
)
def export_notifications(user_id: int) -> list[dict]:
    """The person's notifications, oldest first."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return [record(notice, exclude=("dedupe_key",)) for notice in rows]


@eraser("notifications", order=50)
def erase_notifications(user_id: int) -> Erased:
    """The person's inbox goes."""
    removed = db.session.execute(
        delete(Notification)
        .where(Notification.user_id == user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"notifications": removed or 0})
