"""Pagination: a SELECT, a page number and a size → the contract's page object; and pages of
long histories whose cost does not grow with the history (keyset cursors, a capped count)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Select, and_, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement

from app.platform.cursors import encode_cursor
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


# A history's total is counted up to this many rows: past it, ``total_exact`` is false. Counting
# a million-row history on every page costs more than the page (120 ms against 1 ms).
TOTAL_CAP = 10_000


def history_page(
    *,
    where: ColumnElement[bool],
    moment: Column,
    row_id: Column,
    rows: Callable[[Sequence[int]], Sequence[Any]],
    page: int,
    per_page: int,
    cursor: tuple[datetime, int] | None = None,
    item_id: Callable[[Any], int] = lambda row: row[0],
) -> dict[str, Any]:
    """One page of a history, newest first, at a cost bounded by the page.

    1. The page's ids come from one table alone (``where`` on ``moment``'s table), in the order of
       an index on (owner, ``moment``, ``row_id``): a range scan of ``per_page + 1`` entries after
       the cursor, or after ``(page - 1) * per_page`` entries without one. No join can make the
       planner start from another table.
    2. ``rows(ids)`` reads those rows (any joins, or ORM objects; ``item_id`` tells an item's
       id), returned here in page order.
    3. The total is counted up to :data:`TOTAL_CAP`.
    """
    keys = select(row_id, moment).where(where)
    if cursor is not None:
        at, after = cursor
        # A range on the index (moment <= at), then the tie on the same instant by id.
        keys = keys.where(moment <= at, or_(moment < at, and_(moment == at, row_id < after)))
    keys = keys.order_by(moment.desc(), row_id.desc()).limit(per_page + 1)
    if cursor is None:
        keys = keys.offset((page - 1) * per_page)
    conn = db.session.connection()
    found = conn.execute(keys).all()
    more, found = len(found) > per_page, found[:per_page]
    ids = [key[0] for key in found]
    by_id = {item_id(row): row for row in rows(ids)} if ids else {}
    capped = select(literal(1)).select_from(moment.table).where(where).limit(TOTAL_CAP + 1)
    total = conn.execute(select(func.count()).select_from(capped.subquery())).scalar() or 0
    exact = total <= TOTAL_CAP
    total = min(total, TOTAL_CAP)
    return {
        "items": [by_id[key] for key in ids if key in by_id],
        "page": None if cursor is not None else page,
        "per_page": per_page,
        "total": total,
        "pages": math.ceil(total / per_page) if total else 0,
        "total_exact": exact,
        "next_cursor": encode_cursor(found[-1][1], found[-1][0]) if more else None,
    }
