"""Deleting old rows for retention: a batch at a time, so a purge of a big table never holds
its locks for long, and a purge that stops half-way has done what it did (run it again)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from app.platform.extensions import db

BATCH = 5000


def delete_in_batches(model: Any, *where: Any, batch: int = BATCH) -> int:
    """Delete every row of ``model`` matching ``where``; returns how many went."""
    deleted = 0
    while True:
        ids = db.session.scalars(select(model.id).where(*where).limit(batch)).all()
        if not ids:
            return deleted
        db.session.execute(
            delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
        )
        deleted += len(ids)
