"""What the exports domain holds about a person: their export requests and files (see
app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.exports.models import Export
from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record


@part("exports", about="The exports you asked for and when they ran.", models=[Export])
def export_exports(user_id: int) -> list[dict]:
    """The person's exports, oldest first."""
    rows = db.session.scalars(
        select(Export).where(Export.user_id == user_id).order_by(Export.created_at, Export.id)
    )
    return [record(export, exclude=("storage_key", "active_user_id")) for export in rows]


@eraser("exports", order=60)
def erase_exports(user_id: int) -> Erased:
    """Every export goes, with its file in storage."""
    keys = [
        key
        for key in db.session.scalars(select(Export.storage_key).where(Export.user_id == user_id))
        if key
    ]
    removed = db.session.execute(
        delete(Export).where(Export.user_id == user_id).execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"exports": removed or 0}, storage_keys=keys)
