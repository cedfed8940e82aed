"""The access log as part of what ParkMind holds about a person (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record
from app.privacy.models import AccessLogEntry


@part(
    "access_log",
    about="Every time a caregiver, viewer or admin read your data: who, what and when.",
    models=[AccessLogEntry],
)
def export_access_log(user_id: int) -> list[dict]:
    """Reads of the person's data by others, oldest first."""
    rows = db.session.scalars(
        select(AccessLogEntry)
        .where(AccessLogEntry.person_id == user_id)
        .order_by(AccessLogEntry.created_at, AccessLogEntry.id)
    )
    return [record(entry) for entry in rows]


@eraser("access_log", order=70)
def erase_access_log(user_id: int) -> Erased:
    """The record of who read the person's data goes with the person. What the person read of
    others as a caregiver stays in those people's logs (pointing to the anonymised account)."""
    removed = db.session.execute(
        delete(AccessLogEntry)
        .where(AccessLogEntry.person_id == user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"access_log": removed or 0})
