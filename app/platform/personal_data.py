"""What ParkMind holds about a person, domain by domain: the registry behind the data export and
the erasure of an account.

Each domain package answers for its own tables in ``app/<domain>/personal_data.py`` (the shape of
indico's ``users/export.py``): ``@part`` registers a function returning the JSON-ready records of
one file in the export, with the models it covers, and ``@eraser`` one that erases or detaches
them. Nothing is listed by hand: :func:`discover_parts` imports every such module, and
``tests/privacy/test_coverage.py`` fails when a model that holds a person's data is in no part.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from app.platform.scheduling import discover

MODULE = "personal_data"


@dataclass(frozen=True)
class Part:
    """One file of the export: ``<name>.json`` with the person's records of ``models``."""

    name: str
    about: str
    models: tuple[type, ...]
    export: Callable[[int], Any]


@dataclass(frozen=True)
class Eraser:
    """One domain's share of an erasure; ``order`` keeps foreign keys satisfied (low first)."""

    name: str
    order: int
    erase: Callable[[int], Erased]


@dataclass
class Erased:
    """What an eraser did: rows removed or anonymised per table, and objects to delete from
    storage once the erasure has committed."""

    counts: dict[str, int] = field(default_factory=dict)
    storage_keys: list[str] = field(default_factory=list)


PARTS: dict[str, Part] = {}
ERASERS: dict[str, Eraser] = {}


def part(name: str, *, about: str, models: Iterable[type]) -> Callable:
    """Register ``func(user_id)`` as the export file ``<name>.json`` covering ``models``."""

    def decorator(func: Callable[[int], Any]) -> Callable[[int], Any]:
        PARTS[name] = Part(name, about, tuple(models), func)
        return func

    return decorator


def eraser(name: str, *, order: int) -> Callable:
    """Register ``func(user_id) -> Erased`` as one step of an account's erasure."""

    def decorator(func: Callable[[int], Erased]) -> Callable[[int], Erased]:
        ERASERS[name] = Eraser(name, order, func)
        return func

    return decorator


def discover_parts() -> tuple[dict[str, Part], list[Eraser]]:
    """Import every ``app/<package>/personal_data.py``: the parts by name, the erasers in order."""
    discover(MODULE)
    return dict(sorted(PARTS.items())), sorted(ERASERS.values(), key=lambda e: (e.order, e.name))


def record(obj: Any, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """Every mapped column of ``obj`` as JSON-ready values (UTC times with ``Z``), minus secrets."""
    skipped = set(exclude)
    values = {}
    for column in obj.__table__.columns:
        if column.key in skipped:
            continue
        values[column.key] = json_value(getattr(obj, column.key))
    return values


def json_value(value: Any) -> Any:
    """A value as the export writes it."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def to_json(data: Any) -> str:
    """One export file's text: readable (indented, sorted keys, UTF-8 as is)."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True, default=json_value)
