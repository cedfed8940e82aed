"""What the admin domain holds about a person: the actions they took as an admin (see
app.platform.personal_data). Those stay after an erasure: they are the operator's record of who
changed what, and point to the anonymised account only."""

from __future__ import annotations

from sqlalchemy import select

from app.admin.models import AdminAudit
from app.platform.extensions import db
from app.platform.personal_data import part, record


@part(
    "admin_actions",
    about="Actions you took as an administrator (empty unless you are one).",
    models=[AdminAudit],
)
def export_admin_actions(user_id: int) -> list[dict]:
    """The admin's own audit entries, oldest first."""
    rows = db.session.scalars(
        select(AdminAudit).where(AdminAudit.actor_id == user_id).order_by(AdminAudit.id)
    )
    return [record(entry) for entry in rows]
