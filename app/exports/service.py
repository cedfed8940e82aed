"""CSV exports of a user's bookings and parking events, produced in the background.

``POST /exports`` records a ``pending`` export and enqueues ``exports.run_export`` after the
commit. The task claims it (``running``, committed so the client and the sweeper can see it),
streams the rows with Core selects and ``yield_per`` into a temporary file, stores the file under
the export's own key (a rerun overwrites it) and marks the export ``done``. Everything is keyed by
the export id, so a task delivered twice does the work once and mails the link once.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app, render_template
from sqlalchemy import Select, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.bookings.models import Booking
from app.exports.models import Export
from app.lots.models import Lot, Spot
from app.parking.models import ParkingEvent, RetrievalScore
from app.platform.errors import AppError, Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.mail import send_email
from app.platform.models import get_owned_or_404, utcnow
from app.platform.pagination import paginate
from app.platform.queue import enqueue
from app.platform.storage import LocalStorage, get_storage

log = logging.getLogger(__name__)

MAX_RANGE = timedelta(days=366)
FETCH_ROWS = 1000
# A running export whose worker died is claimed again after this long (the task's hard limit
# is well below it, so a live task is never overtaken).
STUCK_AFTER = timedelta(minutes=20)
DOWNLOAD_URL_SECONDS = 300
MAX_ERROR_LENGTH = 255
# Spreadsheet programs evaluate cells starting with these as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ExportInProgress(Conflict):
    code = "export_in_progress"
    message = "An export is already being prepared; wait for it to finish."


class ExportNotReady(Conflict):
    code = "export_not_ready"
    message = "The export is not ready yet."


class ExportExpired(AppError):
    status, code, message = 410, "export_expired", "The export file has expired; request a new one."


# --- requests from the API ---------------------------------------------------------------------


def request_export(
    *,
    user_id: int,
    kind: str,
    email: bool = False,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
) -> Export:
    """Record a pending export for the user and run it after the commit (one at a time)."""
    date_from, date_to = _export_range(date_from, date_to)
    in_progress = db.session.scalar(
        select(Export.id).where(Export.active_user_id == user_id).limit(1)
    )
    if in_progress is not None:
        raise ExportInProgress()
    export = Export(
        user_id=user_id,
        active_user_id=user_id,
        kind=kind,
        status="pending",
        email=email,
        date_from=date_from,
        date_to=date_to,
        queued_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(export)
    except IntegrityError as exc:  # a concurrent request won the unique active_user_id
        raise ExportInProgress() from exc
    _enqueue_export(export.id)
    return export


def _export_range(
    date_from: datetime | None, date_to: datetime | None
) -> tuple[datetime, datetime]:
    date_to = date_to or utcnow()
    date_from = date_from or (date_to - MAX_RANGE)
    if date_from > date_to:
        raise ValidationFailed(fields={"from": ["Must not be after 'to'."]})
    if date_to - date_from > MAX_RANGE:
        raise ValidationFailed(fields={"to": ["The range may span at most 366 days."]})
    return date_from, date_to


def _enqueue_export(export_id: int) -> None:
    enqueue("exports.run_export", export_id)


def get_export(*, user_id: int, export_id: int) -> Export:
    """The user's own export, or 404."""
    return get_owned_or_404(Export, export_id, owner_id=user_id, error=NotFound("No such export."))


def list_exports(*, user_id: int, page: int, per_page: int) -> dict[str, Any]:
    """The user's exports, newest first."""
    stmt = (
        select(Export)
        .where(Export.user_id == user_id)
        .order_by(Export.created_at.desc(), Export.id.desc())
    )
    return paginate(stmt, page=page, per_page=per_page)


def download_file(
    *, user_id: int, export_id: int
) -> tuple[str | None, Iterator[bytes] | None, str]:
    """Where the owner gets the file: ``(signed_url, None, name)`` or ``(None, chunks, name)``."""

    export = get_export(user_id=user_id, export_id=export_id)
    if export.status == "expired":
        raise ExportExpired()
    if export.status != "done" or not export.storage_key:
        raise ExportNotReady()
    filename = export_filename(export)
    storage = get_storage()
    if isinstance(storage, LocalStorage):
        # Served by the app itself: stream it here rather than redirecting back to the app.
        return None, storage.open_stream(export.storage_key), filename
    url = storage.signed_get_url(
        export.storage_key, DOWNLOAD_URL_SECONDS, filename=filename, content_type="text/csv"
    )
    return url, None, filename


def export_filename(export: Export) -> str:
    """The file name offered to the user."""
    return f"parkmind-{export.kind.replace('_', '-')}-{export.id}.csv"


def storage_key(export: Export) -> str:
    """The export's own storage key: a rerun overwrites, never duplicates."""
    return f"exports/{export.user_id}/{export.id}.csv"


def download_link(export_id: int) -> str:
    """The public link to the download endpoint (it asks the owner to sign in)."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return f"{base}/api/v1/exports/{export_id}/download"


# --- the background task -----------------------------------------------------------------------


def claim_export(export_id: int) -> bool:
    """Move a pending (or abandoned running) export to running; False when nothing to do."""
    now = utcnow()
    result = db.session.execute(
        update(Export)
        .where(
            Export.id == export_id,
            or_(
                Export.status == "pending",
                and_(Export.status == "running", Export.started_at < now - STUCK_AFTER),
            ),
        )
        .values(status="running", started_at=now, attempts=Export.attempts + 1, error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def produce_export(export_id: int) -> int:
    """Write the CSV of a running export to storage and mark it done; returns the row count."""
    export = db.session.get(Export, export_id, populate_existing=True)
    if export is None or export.status != "running":
        return 0
    fd, path = tempfile.mkstemp(prefix="parkmind-export-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            count = write_csv(handle, export_rows(export))
        key = storage_key(export)
        get_storage().put_file(key, path, "text/csv")
    finally:
        os.unlink(path)
    now = utcnow()
    export.status = "done"
    export.active_user_id = None
    export.row_count = count
    export.storage_key = key
    export.error = None
    export.finished_at = now
    export.expires_at = now + current_app.config["EXPORT_FILE_TTL"]
    db.session.flush()
    if export.email:
        enqueue("mail.send_export_email", export.id)
    log.info("export %s done: %s rows", export.id, count)
    return count


def requeue_export(export_id: int, error: str) -> None:
    """Put a running export back to pending after a transient failure (a retry follows)."""
    db.session.execute(
        update(Export)
        .where(Export.id == export_id, Export.status == "running")
        .values(status="pending", error=error[:MAX_ERROR_LENGTH], queued_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def fail_export(export_id: int, error: str) -> None:
    """Mark an export failed with a short reason; the user may request a new one."""
    db.session.execute(
        update(Export)
        .where(Export.id == export_id, Export.status.in_(("pending", "running")))
        .values(
            status="failed",
            active_user_id=None,
            error=error[:MAX_ERROR_LENGTH],
            finished_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def send_export_email(export_id: int) -> bool:
    """E-mail the owner the download link of a finished export, once."""

    row = db.session.execute(
        select(Export.id, Export.kind, Export.status, Export.row_count, Export.expires_at)
        .add_columns(User.email, User.full_name, User.username)
        .join(User, User.id == Export.user_id)
        .where(Export.id == export_id)
    ).one_or_none()
    if row is None or row.status != "done":
        return False
    context = {
        "name": row.full_name or row.username,
        "kind": row.kind.replace("_", " "),
        "row_count": row.row_count,
        "expires_at": row.expires_at,
        "link": download_link(export_id),
    }
    return send_email(
        dedupe_key=f"export:{export_id}:email",
        to=row.email,
        subject=f"Your ParkMind {context['kind']} export is ready",
        text=render_template("email/export_ready.txt", **context),
        html=render_template("email/export_ready.html", **context),
    )


# --- rows and cells ------------------------------------------------------------------------------

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
            .where(Booking.user_id == export.user_id)
            .order_by(Booking.started_at, Booking.id)
        )
        return BOOKING_COLUMNS, _within_range(stmt, Booking.started_at, export)
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
        .where(ParkingEvent.user_id == export.user_id)
        .order_by(ParkingEvent.parked_at, ParkingEvent.id)
    )
    return PARKING_EVENT_COLUMNS, _within_range(stmt, ParkingEvent.parked_at, export)


def _within_range(stmt: Select, column, export: Export) -> Select:
    """Only rows whose ``column`` lies in the export's date range (both ends included)."""
    if export.date_from is not None:
        stmt = stmt.where(column >= export.date_from)
    if export.date_to is not None:
        stmt = stmt.where(column <= export.date_to)
    return stmt


def export_rows(export: Export) -> Iterator[tuple]:
    """The header, then every row, fetched ``FETCH_ROWS`` at a time (constant memory)."""
    header, stmt = export_query(export)
    yield header
    result = db.session.execute(stmt.execution_options(yield_per=FETCH_ROWS))
    try:
        yield from result
    finally:
        result.close()


def write_csv(handle, rows: Iterable[Iterable[Any]]) -> int:
    """Write ``rows`` (a header first) as CSV with safe cells; returns the data row count."""
    writer = csv.writer(handle)
    count = -1
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
        count += 1
    return max(count, 0)


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
