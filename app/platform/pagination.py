"""The one pagination helper: a SELECT, a page number and a size → the contract's page object."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, select

from app.platform.extensions import db


def paginate(stmt: Select, *, page: int, per_page: int, scalars: bool = True) -> dict[str, Any]:
    """Run ``stmt`` for one page and count the whole result in one extra query."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page_stmt = stmt.limit(per_page).offset((page - 1) * per_page)
    result = db.session.execute(page_stmt)
    items = list(result.scalars().unique() if scalars else result.all())
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total or 0,
        "pages": math.ceil((total or 0) / per_page) if total else 0,
    }


def newest_in_window(
    stmt: Select, created_at: Any, tiebreak: Any, *, start: Any = None, end: Any = None
) -> Select:
    """``stmt`` limited to ``start <= created_at < end`` (either bound optional), newest first
    (``tiebreak``, the id, orders rows created in the same instant)."""
    if start is not None:
        stmt = stmt.where(created_at >= start)
    if end is not None:
        stmt = stmt.where(created_at < end)
    return stmt.order_by(created_at.desc(), tiebreak.desc())
