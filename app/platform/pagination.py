"""Pagination: a SELECT, a page number and a size → the contract's page object; and pages of
long histories whose cost does not grow with the history (keyset cursors, a capped count)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, Select, and_, bindparam, func, literal, or_, select

from app.platform.cursors import encode_cursor
from app.platform.extensions import db


def paginate(
    stmt: Select, *, page: int, per_page: int, scalars: bool = True, total: int | None = None
) -> dict[str, Any]:
    """Run ``stmt`` for one page and count the whole result in one extra query (unless the
    caller knows the ``total``)."""
    if total is None:
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


@dataclass(frozen=True)
class History:
    """The statements of one kind of history, built once with bind parameters (``:limit``,
    ``:offset``, ``:at``, ``:after``, ``:ids`` and one per filter column), so a request only
    binds values: building and compiling a SELECT costs more than running it on an index."""

    first: Select  # a page by number: LIMIT/OFFSET over the index
    after: Select  # the page after a cursor: a range of the index
    count: Select  # the total, counted up to TOTAL_CAP
    rows: Select  # the page's rows (``:ids``, expanding)


@cache
def history(rows: Select, id_column: Column, moment: Column, filters: tuple[str, ...]) -> History:
    """The statements of the history of ``moment``'s table filtered on ``filters`` (columns equal
    to bind parameters of the same names), newest first, whose rows are ``rows`` by id. Cached:
    ``rows`` must be one statement built once (a memoized function's), not a new one per call."""
    table = moment.table
    where = and_(*(table.c[name] == bindparam(name) for name in filters))
    keys = select(id_column, moment).where(where)
    newest = (moment.desc(), id_column.desc())
    at, after = bindparam("at", type_=moment.type), bindparam("after", type_=id_column.type)
    return History(
        first=keys.order_by(*newest).limit(bindparam("limit")).offset(bindparam("offset")),
        # A range on the index (moment <= at), then the tie on the same instant by id.
        after=keys.where(moment <= at, or_(moment < at, and_(moment == at, id_column < after)))
        .order_by(*newest)
        .limit(bindparam("limit")),
        count=select(func.count()).select_from(
            select(literal(1)).select_from(table).where(where).limit(bindparam("cap")).subquery()
        ),
        rows=rows.where(id_column.in_(bindparam("ids", expanding=True))),
    )


def history_page(
    statements: History,
    filters: dict[str, Any],
    *,
    page: int,
    per_page: int,
    cursor: tuple[datetime, int] | None = None,
    item_id: Callable[[Any], int] = lambda row: row[0],
    rows: Callable[[Sequence[int]], Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """One page of a history, newest first, at a cost bounded by the page.

    1. The page's ids come from one table alone, in the order of an index on (owner, time, id): a
       range scan of ``per_page + 1`` entries after the cursor, or after ``(page - 1) *
       per_page`` entries without one. No join can make the planner start from another table.
    2. Those rows are read (``statements.rows``, or ``rows(ids)`` for ORM objects; ``item_id``
       tells an item's id) and returned in page order.
    3. The total is counted up to :data:`TOTAL_CAP`.
    """
    conn = db.session.connection()
    if cursor is None:
        keys = statements.first
        params = {**filters, "limit": per_page + 1, "offset": (page - 1) * per_page}
    else:
        keys = statements.after
        params = {**filters, "limit": per_page + 1, "at": cursor[0], "after": cursor[1]}
    found = conn.execute(keys, params).all()
    more, found = len(found) > per_page, found[:per_page]
    ids = [key[0] for key in found]
    by_id: dict[int, Any] = {}
    if ids:
        items = rows(ids) if rows is not None else conn.execute(statements.rows, {"ids": ids}).all()
        by_id = {item_id(item): item for item in items}
    total = conn.execute(statements.count, {**filters, "cap": TOTAL_CAP + 1}).scalar() or 0
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
