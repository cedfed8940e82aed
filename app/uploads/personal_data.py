"""What the uploads domain holds about a person: their photos (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, select

from app.platform.extensions import db
from app.platform.personal_data import Erased, eraser, part, record
from app.uploads.models import Upload
from app.uploads.service import incoming_key


@part(
    "uploads",
    about=(
        "Every photo you uploaded (car, landmarks, avatar): purpose, type, size, times. The "
        "photos themselves are in the photos/ folder, named by upload id."
    ),
    models=[Upload],
)
def export_uploads(user_id: int) -> list[dict]:
    """The person's uploads, oldest first (without storage keys, which are ours)."""
    rows = db.session.scalars(
        select(Upload).where(Upload.user_id == user_id).order_by(Upload.created_at, Upload.id)
    )
    return [record(upload, exclude=("storage_key",)) for upload in rows]


@eraser("uploads", order=60)
def erase_uploads(user_id: int) -> Erased:
    """Every upload row goes, and its objects (served and incoming) are deleted from storage
    after the commit, retried until storage answers."""
    keys = []
    for key in db.session.scalars(select(Upload.storage_key).where(Upload.user_id == user_id)):
        keys += [key, incoming_key(key)]
    removed = db.session.execute(
        delete(Upload).where(Upload.user_id == user_id).execution_options(synchronize_session=False)
    ).rowcount
    return Erased({"uploads": removed or 0}, storage_keys=keys)
