"""The rows of an export and their CSV cells: Core selects streamed ``FETCH_ROWS`` at a time, and
cells safe to open in a spreadsheet.

Two profiles: ``default`` for programs (ISO 8601 UTC times with ``Z``, money in integer cents,
no byte-order mark) and ``excel`` for people (a UTF-8 BOM so spreadsheet programs read the text as
UTF-8, money in major units under a header naming the currency, ``cost (USD)`` ``12.50``, times in
the person's zone without zone or microseconds). Formula injection is neutralised in both.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from app.bookings.models import Booking
from app.exports.models import Export
from app.lots.models import Lot, Spot
from app.parking.models import ParkingEvent, RetrievalScore
from app.platform.extensions import db

FETCH_ROWS = 1000
BOM = "\ufeff"
# Spreadsheet programs evaluate cells starting with these as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

BOOKING_COLUMNS = (
    "id",
    "lot_id",
    "lot_name",
    "spot_number",
    "spot_level",
    "vehicle_number",
    "status",
    "started_at",
    "ended_at",
    "duration_minutes",
    "hourly_rate_cents",
    "cost_cents",
    "currency",
    "remarks",
)
PARKING_EVENT_COLUMNS = (
    "id",
    "status",
    "parked_at",
    "latitude",
    "longitude",
    "accuracy_m",
    "address",
    "location_type",
    "level",
    "spot_label",
    "notes",
    "lot_id",
    "lot_name",
    "booking_id",
    "retrieval_started_at",
    "retrieval_completed_at",
    "found",
    "score_total",
    "expired_at",
)
# The time each kind of export is ranged and ordered by; its table is the export's own.
EXPORT_TIMES = {"bookings": Booking.started_at, "parking_events": ParkingEvent.parked_at}


def export_query(export: Export) -> tuple[tuple[str, ...], Select]:
    """The header and the Core SELECT of one export (columns only, never ORM objects)."""
    if export.kind == "bookings":
        stmt = (
            select(
                Booking.id,
                Booking.lot_id,
                Lot.name,
                Spot.number,
                Spot.level,
                Booking.vehicle_number,
                Booking.status,
                Booking.started_at,
                Booking.ended_at,
                Booking.duration_minutes,
                Booking.hourly_rate_cents,
                Booking.cost_cents,
                Booking.currency,
                Booking.remarks,
            )
            .join(Lot, Lot.id == Booking.lot_id)
            .join(Spot, Spot.id == Booking.spot_id)
            .order_by(Booking.started_at, Booking.id)
        )
        return BOOKING_COLUMNS, _own_rows(stmt, export)
    stmt = (
        select(
            ParkingEvent.id,
            ParkingEvent.status,
            ParkingEvent.parked_at,
            ParkingEvent.latitude,
            ParkingEvent.longitude,
            ParkingEvent.accuracy_m,
            ParkingEvent.address,
            ParkingEvent.location_type,
            ParkingEvent.level,
            ParkingEvent.spot_label,
            ParkingEvent.notes,
            ParkingEvent.lot_id,
            Lot.name,
            ParkingEvent.booking_id,
            ParkingEvent.retrieval_started_at,
            ParkingEvent.retrieval_completed_at,
            ParkingEvent.found,
            RetrievalScore.total,
            ParkingEvent.expired_at,
        )
        .outerjoin(Lot, Lot.id == ParkingEvent.lot_id)
        .outerjoin(RetrievalScore, RetrievalScore.event_id == ParkingEvent.id)
        .order_by(ParkingEvent.parked_at, ParkingEvent.id)
    )
    return PARKING_EVENT_COLUMNS, _own_rows(stmt, export)


class Progress:
    """Rows written of rows to write, read by the heartbeat to show ``progress`` (0-100).

    The total is counted by the heartbeat, on its own connection, at its first beat: the first
    row is written without waiting for a count (on a heavy history that count took longer than
    all the rest of the first row's work)."""

    def __init__(self, total: int | None = None, counting: Select | None = None) -> None:
        self.total, self.counting, self.done = total, counting, 0

    def count(self, rows: Iterator[tuple]) -> Iterator[tuple]:
        for index, row in enumerate(rows):
            self.done = max(index, 0)  # the first row is the header
            yield row

    def measure(self, connection: Connection) -> None:
        """Count the rows to write, once, when a total is wanted and not yet known."""
        if self.total is None and self.counting is not None:
            self.total = connection.scalar(self.counting) or 0

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(99, self.done * 100 // self.total)


def export_count_query(export: Export) -> Select:
    """How many rows :func:`export_query` gives, read from the export's own table alone.

    Every join there adds at most one row and drops none (inner joins on required keys, outer
    joins on unique ones), so the count is the same, and it is an index range count: on a
    heavy history the joined count read 200,000 bookings, their lots and spots first."""
    return _own_rows(select(func.count()).select_from(EXPORT_TIMES[export.kind].class_), export)


def _own_rows(stmt: Select, export: Export) -> Select:
    """Only the owner's rows of the export's table whose time lies in the export's date range
    (both ends included)."""
    column = EXPORT_TIMES[export.kind]
    stmt = stmt.where(column.class_.user_id == export.user_id)
    if export.date_from is not None:
        stmt = stmt.where(column >= export.date_from)
    if export.date_to is not None:
        stmt = stmt.where(column <= export.date_to)
    return stmt


def export_rows(export: Export) -> Iterator[tuple]:
    """The header, then every row, fetched ``FETCH_ROWS`` at a time (constant memory). The
    export is read now, not when the rows are: a download streams them after the request's
    transaction has ended, when the export object is no longer bound to a session."""
    header, stmt = export_query(export)
    return _fetched(header, stmt)


def _fetched(header: tuple, stmt: Any) -> Iterator[tuple]:
    yield header
    result = db.session.execute(stmt.execution_options(yield_per=FETCH_ROWS))
    try:
        yield from result
    finally:
        result.close()


@dataclass(frozen=True)
class Spreadsheet:
    """The ``excel`` profile: times in ``zone``, money in major units of ``currency``."""

    zone: ZoneInfo
    currency: str

    def header(self, columns: Iterable[str]) -> list[str]:
        return [
            f"{name.removesuffix('_cents').replace('_', ' ')} ({self.currency})"
            if name.endswith("_cents")
            else name
            for name in columns
        ]

    def cells(self, header: tuple[str, ...], row: Iterable[Any]) -> list[Any]:
        out = []
        for name, value in zip(header, row, strict=True):
            if isinstance(value, datetime):
                local = value.astimezone(self.zone).replace(tzinfo=None, microsecond=0)
                out.append(local.isoformat(sep=" "))
            elif name.endswith("_cents") and isinstance(value, int) and not isinstance(value, bool):
                out.append(f"{Decimal(value) / 100:.2f}")
            else:
                out.append(csv_cell(value))
        return out


def csv_records(
    rows: Iterable[Iterable[Any]], *, spreadsheet: Spreadsheet | None = None
) -> Iterator[list[Any]]:
    """The cells of ``rows`` (a header first) in the default profile or for a ``spreadsheet``."""
    header: tuple[str, ...] | None = None
    for row in rows:
        if header is None:
            header = tuple(row)
            yield spreadsheet.header(header) if spreadsheet else list(header)
        elif spreadsheet is not None:
            yield spreadsheet.cells(header, row)
        else:
            yield [csv_cell(value) for value in row]


def write_csv(
    handle, rows: Iterable[Iterable[Any]], *, spreadsheet: Spreadsheet | None = None
) -> int:
    """Write ``rows`` (a header first) as CSV with safe cells; returns the data row count."""
    if spreadsheet is not None:
        handle.write(BOM)
    writer = csv.writer(handle)
    count = -1
    for record in csv_records(rows, spreadsheet=spreadsheet):
        writer.writerow(record)
        count += 1
    return max(count, 0)


def stream_csv(
    rows: Iterable[Iterable[Any]], *, spreadsheet: Spreadsheet | None = None
) -> Iterator[bytes]:
    """The same CSV as :func:`write_csv`, as UTF-8 chunks of ``FETCH_ROWS`` rows."""
    buffer = io.StringIO()
    if spreadsheet is not None:
        buffer.write(BOM)
    writer = csv.writer(buffer)
    for count, record in enumerate(csv_records(rows, spreadsheet=spreadsheet), start=1):
        writer.writerow(record)
        if count % FETCH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_cell(value: Any) -> Any:
    """One cell: ISO UTC times with ``Z``, numbers as numbers, text safe from formula injection."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text
