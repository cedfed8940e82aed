"""What a request did to the database: the SQL statements it sent and the ORM objects it built
or loaded, recorded around a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    """Every statement ``engine`` sends inside the block, lower case, whitespace collapsed."""
    found: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        found.append(" ".join(statement.split()).lower())

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@contextmanager
def orm_objects(*models: type, event: str = "load") -> Iterator[list[object]]:
    """Every instance of ``models`` loaded (``event="load"``) or built (``"init"``) inside the
    block."""
    found: list[object] = []

    def record(target, *args):
        found.append(target)

    for model in models:
        sa.event.listen(model, event, record)
    try:
        yield found
    finally:
        for model in models:
            sa.event.remove(model, event, record)
