"""The dashboard's totals, kept by the database as rows change: cost of reading them does not
grow with the tables.

``stat_counters`` holds, per name, a few shard rows whose sum is the figure:

- ``users``, ``active_users``: every account; those active.
- ``lots``: lots not deleted. ``spots``, ``occupied_spots``: spots not removed (and occupied)
  of lots not deleted.
- ``active_bookings``: bookings whose status is ``active``.
- ``revenue``: the amount of ``paid`` payments, per 15-minute slot of ``paid_at`` (UTC). Every
  time zone's midnight falls on such a slot, so "today" and "this month" in any zone are sums of
  whole slots.

Triggers on ``users``, ``lots``, ``spots``, ``bookings`` and ``payments`` move the counters in
the same transaction as the change, whoever writes it (the API, a job, an operator's SQL). A
plain counter has :data:`SHARDS` rows, the row picked by the changed row's id, so concurrent
bookings rarely wait on each other's counter row; a trigger touches a counter only when the
figure changes (a login updating ``users`` does not). The migration that adds the triggers fills
the counters from the tables (:func:`recount`); ``flask stats check`` compares them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

SHARDS = 16
REVENUE_SHARDS = 4
SLOT_SECONDS = 900
PLAIN = ("users", "active_users", "lots", "spots", "occupied_spots", "active_bookings")

LIVE_LOT = "(SELECT l.deleted_at FROM lots l WHERE l.id = {r}.lot_id) IS NULL"
# (table, counter, condition on the row ``{r}``): the row counts towards the counter when true.
CONDITIONS = [
    ("users", "users", "1 = 1"),
    ("users", "active_users", "{r}.is_active"),
    ("lots", "lots", "{r}.deleted_at IS NULL"),
    ("spots", "spots", f"{{r}}.status <> 'removed' AND {LIVE_LOT}"),
    ("spots", "occupied_spots", f"{{r}}.status <> 'removed' AND {{r}}.is_occupied AND {LIVE_LOT}"),
    ("bookings", "active_bookings", "{r}.status = 'active'"),
]
# A lot deleted (or restored) takes its spots out of (or back into) the spot counters.
LOT_SPOTS = {
    "spots": "SELECT COUNT(*) FROM spots s WHERE s.lot_id = {r}.id AND s.status <> 'removed'",
    "occupied_spots": (
        "SELECT COUNT(*) FROM spots s WHERE s.lot_id = {r}.id AND s.status <> 'removed' "
        "AND s.is_occupied"
    ),
}
TABLES = ("users", "lots", "spots", "bookings", "payments")
EVENTS = ("insert", "update", "delete")


def slot_of(moment: datetime) -> int:
    """The revenue slot holding ``moment``."""
    return int(moment.timestamp()) // SLOT_SECONDS


def _slot_sql(dialect: str, column: str) -> str:
    """SQL of the slot of the naive-UTC timestamp ``column``."""
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER) / {SLOT_SECONDS}"
    if dialect in ("mysql", "mariadb"):
        return f"TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {column}) DIV {SLOT_SECONDS}"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / {SLOT_SECONDS}) AS BIGINT)"


def _one(cond: str, row: str) -> str:
    return f"(CASE WHEN {cond.format(r=row)} THEN 1 ELSE 0 END)"


def _bump(counter: str, delta: str, shard: str) -> str:
    return (
        f"UPDATE stat_counters SET value = value + {delta} "
        f"WHERE name = '{counter}' AND slot = 0 AND shard = {shard}"
    )


def _revenue(dialect: str, row: str, sign: str) -> tuple[str, str]:
    """(condition, upsert) adding (``sign``) the payment ``row``'s amount to its slot."""
    slot = _slot_sql(dialect, f"{row}.paid_at")
    mod = "MOD" if dialect in ("mysql", "mariadb") else "%"
    shard = f"{row}.id {mod} {REVENUE_SHARDS}"
    values = f"'revenue', {slot}, {shard}, {sign}{row}.amount_cents"
    cond = f"{row}.status = 'paid' AND {row}.paid_at IS NOT NULL"
    if dialect in ("mysql", "mariadb"):
        upsert = (
            f"INSERT INTO stat_counters (name, slot, shard, value) VALUES ({values}) "
            "ON DUPLICATE KEY UPDATE value = value + VALUES(value)"
        )
    else:
        upsert = (
            f"INSERT INTO stat_counters (name, slot, shard, value) SELECT {values} "
            "WHERE 1 = 1 ON CONFLICT (name, slot, shard) DO UPDATE "
            "SET value = stat_counters.value + excluded.value"
        )
    return cond, upsert


def _steps(dialect: str, table: str, event: str) -> list[tuple[str, str]]:
    """The (condition, statement) pairs of one table's trigger for one event."""
    mod = "MOD" if dialect in ("mysql", "mariadb") else "%"
    rows = {"insert": ("NEW",), "delete": ("OLD",), "update": ("NEW", "OLD")}[event]
    steps: list[tuple[str, str]] = []
    for owner, counter, cond in CONDITIONS:
        if owner != table:
            continue
        shard = f"{rows[0]}.id {mod} {SHARDS}"
        if event == "insert":
            steps.append((cond.format(r="NEW"), _bump(counter, "1", shard)))
        elif event == "delete":
            steps.append((cond.format(r="OLD"), _bump(counter, "-1", shard)))
        else:
            new, old = _one(cond, "NEW"), _one(cond, "OLD")
            steps.append((f"{new} <> {old}", _bump(counter, f"{new} - {old}", shard)))
    if table == "lots" and event == "update":
        # Deleted: the lot's spots leave the spot counters (restored: they come back).
        gone = "(OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)"
        back = "(OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)"
        for counter, count in LOT_SPOTS.items():
            delta = f"(CASE WHEN {back} THEN 1 ELSE -1 END) * ({count.format(r='NEW')})"
            steps.append((f"({gone} OR {back})", _bump(counter, delta, f"NEW.id {mod} {SHARDS}")))
    if table == "payments":
        if event in ("update", "delete"):
            steps.append(_revenue(dialect, "OLD", "-"))
        if event in ("update", "insert"):
            steps.append(_revenue(dialect, "NEW", ""))
    return steps


def _name(table: str, event: str) -> str:
    return f"trg_stats_{table}_{event}"


def create_triggers(dialect: str) -> list[str]:
    """The statements creating every counter trigger on ``dialect``."""
    statements = []
    for table in TABLES:
        for event in EVENTS:
            steps = _steps(dialect, table, event)
            name, when = _name(table, event), event.upper()
            if dialect == "sqlite":
                body = "".join(
                    f"{stmt} AND ({cond});\n" for cond, stmt in steps if stmt.startswith("UPDATE")
                )
                body += "".join(
                    f"{stmt.replace('WHERE 1 = 1', f'WHERE {cond}')};\n"
                    for cond, stmt in steps
                    if stmt.startswith("INSERT")
                )
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {when} ON {table} FOR EACH ROW BEGIN\n{body}END"
                )
            elif dialect in ("mysql", "mariadb"):
                body = "".join(f"IF {cond} THEN {stmt}; END IF;\n" for cond, stmt in steps)
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {when} ON {table} FOR EACH ROW BEGIN\n{body}END"
                )
            else:
                body = "".join(f"IF {cond} THEN {stmt}; END IF;\n" for cond, stmt in steps)
                ret = "NEW" if event != "delete" else "OLD"
                statements.append(
                    f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                    f"BEGIN\n{body}RETURN {ret};\nEND $$"
                )
                statements.append(
                    f"CREATE TRIGGER {name} AFTER {when} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
    return statements


def drop_triggers(dialect: str) -> list[str]:
    """The statements dropping every counter trigger on ``dialect``."""
    statements = []
    for table in TABLES:
        for event in EVENTS:
            name = _name(table, event)
            if dialect == "postgresql":
                statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                statements.append(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                statements.append(f"DROP TRIGGER IF EXISTS {name}")
    return statements


def counted(connection: sa.Connection) -> dict[str, int]:
    """Every plain counter, counted from the tables (what the counters must equal)."""
    live_spots = (
        "FROM spots s JOIN lots l ON l.id = s.lot_id "
        "WHERE l.deleted_at IS NULL AND s.status <> 'removed'"
    )
    queries = {
        "users": "SELECT COUNT(*) FROM users",
        "active_users": "SELECT COUNT(*) FROM users u WHERE u.is_active",
        "lots": "SELECT COUNT(*) FROM lots WHERE deleted_at IS NULL",
        "spots": f"SELECT COUNT(*) {live_spots}",
        "occupied_spots": f"SELECT COUNT(*) {live_spots} AND s.is_occupied",
        "active_bookings": "SELECT COUNT(*) FROM bookings WHERE status = 'active'",
    }
    return {name: int(connection.scalar(sa.text(sql)) or 0) for name, sql in queries.items()}


def counted_revenue(connection: sa.Connection) -> dict[int, int]:
    """Paid amounts per slot, summed from ``payments``."""
    slot = _slot_sql(connection.dialect.name, "paid_at")
    rows = connection.execute(
        sa.text(
            f"SELECT {slot} AS slot, SUM(amount_cents) FROM payments "
            "WHERE status = 'paid' AND paid_at IS NOT NULL GROUP BY slot"
        )
    )
    return {int(slot): int(total) for slot, total in rows if total}


def kept(connection: sa.Connection) -> dict[str, int]:
    """Every plain counter as kept (the sum of its shards)."""
    rows = connection.execute(
        sa.text(
            "SELECT name, SUM(value) FROM stat_counters WHERE name IN :names AND slot = 0 "
            "GROUP BY name"
        ).bindparams(sa.bindparam("names", expanding=True)),
        {"names": list(PLAIN)},
    )
    found = {name: int(total) for name, total in rows}
    return {name: found.get(name, 0) for name in PLAIN}


def kept_revenue(connection: sa.Connection) -> dict[int, int]:
    """Paid amounts per slot as kept."""
    rows = connection.execute(
        sa.text("SELECT slot, SUM(value) FROM stat_counters WHERE name = 'revenue' GROUP BY slot")
    )
    return {int(slot): int(total) for slot, total in rows if total}


def on_slots(*moments: datetime) -> bool:
    """Whether every one of ``moments`` starts a revenue slot."""
    return all(int(moment.timestamp()) % SLOT_SECONDS == 0 for moment in moments)


def revenue_since(connection: sa.Connection, day: datetime, month: datetime) -> tuple[int, int]:
    """Paid amounts since ``day`` and since ``month`` (both on slot boundaries): one range of
    the primary key, at most a month of slots."""
    first, today = slot_of(month), slot_of(day)
    total_today, total_month = connection.execute(
        sa.text(
            "SELECT COALESCE(SUM(CASE WHEN slot >= :today THEN value ELSE 0 END), 0), "
            "COALESCE(SUM(value), 0) FROM stat_counters WHERE name = 'revenue' AND slot >= :first"
        ),
        {"today": today, "first": first},
    ).one()
    return int(total_today), int(total_month)


def revenue_between(connection: sa.Connection, start: datetime, end: datetime) -> int:
    """Paid amount in [start, end), both on slot boundaries."""
    total = connection.scalar(
        sa.text(
            "SELECT COALESCE(SUM(value), 0) FROM stat_counters "
            "WHERE name = 'revenue' AND slot >= :first AND slot < :last"
        ),
        {"first": slot_of(start), "last": slot_of(end)},
    )
    return int(total or 0)


def recount(connection: sa.Connection) -> None:
    """Set every counter from the tables: shard 0 holds the figure, the others zero. Run where
    no other transaction writes the counted tables (the migration; ``flask stats check --fix``
    in a quiet moment): a change committed during the recount could be counted twice or not."""
    figures = counted(connection)
    revenue = counted_revenue(connection)
    connection.execute(sa.text("DELETE FROM stat_counters"))
    rows: list[dict[str, Any]] = [
        {"name": name, "slot": 0, "shard": shard, "value": figures[name] if shard == 0 else 0}
        for name in PLAIN
        for shard in range(SHARDS)
    ]
    rows += [
        {"name": "revenue", "slot": slot, "shard": 0, "value": total}
        for slot, total in revenue.items()
    ]
    insert = sa.text(
        "INSERT INTO stat_counters (name, slot, shard, value) VALUES (:name, :slot, :shard, :value)"
    )
    for start in range(0, len(rows), 1000):
        connection.execute(insert, rows[start : start + 1000])


def drift(connection: sa.Connection) -> dict[str, tuple[int, int]]:
    """Counters that differ from the tables: name (or ``revenue@slot``) → (kept, counted)."""
    found: dict[str, tuple[int, int]] = {}
    for name, (have, want) in _pairs(kept(connection), counted(connection)).items():
        if have != want:
            found[name] = (have, want)
    for slot, (have, want) in _pairs(kept_revenue(connection), counted_revenue(connection)).items():
        if have != want:
            found[f"revenue@{slot}"] = (have, want)
    return found


def _pairs(have: dict, want: dict) -> dict:
    return {key: (have.get(key, 0), want.get(key, 0)) for key in {*have, *want}}
