"""CSV exports of a user's bookings and parking events, produced in the background.

``POST /exports`` records a ``pending`` export and enqueues ``exports.run_export`` after the
commit. The task claims it (``running``, committed so the client and the sweeper can see it),
keeps a heartbeat on it while it works, streams the rows with Core selects and ``yield_per`` into
a temporary file, stores the file under the export's own key (a rerun overwrites it) and marks
the export ``done``. Everything is keyed by the export id and the claim's attempt number, so a
task delivered twice does the work once and mails the link once, and an export whose worker died
is claimed again as soon as its heartbeat stops (by the sweeper within a minute, or at once by
the task's redelivered copy).
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, render_template
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.exports.models import Export
from app.exports.personal import write_personal_zip
from app.exports.rows import (
    Progress,
    Spreadsheet,
    export_count_query,
    export_rows,
    stream_csv,
    write_csv,
)
from app.platform.errors import AppError, Conflict, NotFound, ValidationFailed
from app.platform.extensions import db
from app.platform.heartbeat import Heartbeat
from app.platform.i18n import N_, format_datetime, gettext, in_language, language_of
from app.platform.mail import send_email
from app.platform.models import get_owned_or_404, utcnow
from app.platform.pagination import paginate
from app.platform.queue import enqueue
from app.platform.storage import LocalStorage, get_storage
from app.platform.transactions import begin_write

log = logging.getLogger(__name__)

MAX_RANGE = timedelta(days=366)
# A running export's task stamps ``heartbeat_at`` every HEARTBEAT_SECONDS; one whose stamp is
# older than ABANDONED_AFTER (three missed beats) belongs to a worker that died, and is claimed
# again by the sweeper (every 20 s) or by the task's redelivered copy.
HEARTBEAT_SECONDS = 5.0
ABANDONED_AFTER = timedelta(seconds=15)
DOWNLOAD_URL_SECONDS = 300
PERSONAL_DATA = "personal_data"
# What each kind of export is stored as: (extension, content type).
FILE_TYPES = {PERSONAL_DATA: ("zip", "application/zip")}
CSV_FILE = ("csv", "text/csv")
MAX_ERROR_LENGTH = 255
# What an export is called in the e-mail that announces it.
EXPORT_KIND_WORDS = {
    "bookings": N_("bookings"),
    "parking_events": N_("parking events"),
    PERSONAL_DATA: N_("personal data"),
}


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
    profile: str = "default",
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
        profile=profile,
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
    *, user_id: int, export_id: int, profile: str | None = None
) -> tuple[str | None, Iterator[bytes] | None, str]:
    """Where the owner gets the file: ``(signed_url, None, name)`` or ``(None, chunks, name)``.
    A CSV asked for in the other ``profile`` than it was made in is written afresh from the
    same range, streamed."""

    export = get_export(user_id=user_id, export_id=export_id)
    if export.status == "expired":
        raise ExportExpired()
    if export.status != "done" or not export.storage_key:
        raise ExportNotReady()
    filename = export_filename(export)
    if export.kind != PERSONAL_DATA and profile not in (None, export.profile):
        rows = export_rows(export)
        return None, stream_csv(rows, spreadsheet=spreadsheet_for(export, profile)), filename
    storage = get_storage()
    if isinstance(storage, LocalStorage) and export.kind != PERSONAL_DATA:
        # Served by the app itself: stream it here rather than redirecting back to the app.
        return None, storage.open_stream(export.storage_key), filename
    # Everything about a person leaves only through a signed link that expires in minutes.
    url = storage.signed_get_url(
        export.storage_key,
        DOWNLOAD_URL_SECONDS,
        filename=filename,
        content_type=file_type(export)[1],
    )
    return url, None, filename


def file_type(export: Export) -> tuple[str, str]:
    """The export file's extension and content type."""
    return FILE_TYPES.get(export.kind, CSV_FILE)


def export_filename(export: Export) -> str:
    """The file name offered to the user."""
    return f"parkmind-{export.kind.replace('_', '-')}-{export.id}.{file_type(export)[0]}"


def storage_key(export: Export) -> str:
    """The export's own storage key: a rerun overwrites, never duplicates."""
    return f"exports/{export.user_id}/{export.id}.{file_type(export)[0]}"


def spreadsheet_for(export: Export, profile: str | None = None) -> Spreadsheet | None:
    """The spreadsheet settings of the ``excel`` profile for the export's owner (their
    ``preferences.timezone`` if valid, else ``TIMEZONE``), or None for the default profile."""
    if (profile or export.profile) != "excel":
        return None
    config = current_app.config
    preferences = db.session.scalar(select(User.preferences).where(User.id == export.user_id))
    zone = None
    for name in ((preferences or {}).get("timezone"), config.get("TIMEZONE"), "UTC"):
        try:
            zone = ZoneInfo(name) if isinstance(name, str) and name else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        if zone is not None:
            break
    return Spreadsheet(zone=zone or ZoneInfo("UTC"), currency=config.get("CURRENCY", "USD"))


def signed_link(export_id: int) -> str | None:
    """A signed link to a finished export's file that works without signing in (the signature
    is the authorisation), valid for DATA_EXPORT_LINK_TTL and never past the file's expiry."""
    export = db.session.get(Export, export_id)
    if export is None or export.status != "done" or not export.storage_key:
        return None
    remaining = (export.expires_at - utcnow()).total_seconds() if export.expires_at else 0
    seconds = int(min(current_app.config["DATA_EXPORT_LINK_TTL"].total_seconds(), remaining))
    if seconds <= 0:
        return None
    return get_storage().signed_get_url(
        export.storage_key,
        seconds,
        filename=export_filename(export),
        content_type=file_type(export)[1],
        outside_request=True,
    )


# --- the background task -----------------------------------------------------------------------


def claim_export(export_id: int) -> int | None:
    """Move a pending (or abandoned running) export to running; returns the claim's attempt
    number, or None when there is nothing to do."""
    now = utcnow()
    result = db.session.execute(
        update(Export)
        .where(Export.id == export_id, _claimable(now))
        .values(
            status="running",
            started_at=now,
            heartbeat_at=now,
            attempts=Export.attempts + 1,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return db.session.scalar(select(Export.attempts).where(Export.id == export_id))


def _claimable(now: datetime):
    """Pending, or running with a heartbeat that stopped (its worker died)."""
    return or_(
        Export.status == "pending",
        and_(Export.status == "running", abandoned(now)),
    )


def abandoned(now: datetime):
    """A running export's heartbeat stopped more than ABANDONED_AFTER ago."""
    return or_(Export.heartbeat_at.is_(None), Export.heartbeat_at < now - ABANDONED_AFTER)


def is_running(export_id: int) -> bool:
    """True while the export is running (after :func:`claim_export` refused it: its heartbeat
    is recent, so another worker is on it or has only just died)."""
    status = db.session.scalar(select(Export.status).where(Export.id == export_id))
    return status == "running"


def produce_export(export_id: int, attempt: int) -> int:
    """Write the CSV of the export claimed as ``attempt`` to storage and mark it done; returns
    the row count. While it works, a heartbeat shows the claim is alive; if another worker took
    the export over meanwhile, this attempt's result is dropped (that worker finishes it)."""
    export = db.session.get(Export, export_id, populate_existing=True)
    if export is None or export.status != "running" or export.attempts != attempt:
        return 0
    extension, content_type = file_type(export)
    counting = None if export.kind == PERSONAL_DATA else export_count_query(export)
    tracker = Progress(counting=counting)
    fd, path = tempfile.mkstemp(prefix="parkmind-export-", suffix=f".{extension}")
    try:
        with Heartbeat(
            db.engine,
            functools.partial(_beat, export_id, attempt, tracker),
            interval=HEARTBEAT_SECONDS,
            name=f"export-{export_id}",
        ):
            if export.kind == PERSONAL_DATA:
                os.close(fd)
                count = write_personal_zip(path, user_id=export.user_id)
            else:
                with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
                    count = write_csv(
                        handle,
                        tracker.count(export_rows(export)),
                        spreadsheet=spreadsheet_for(export),
                    )
            key = storage_key(export)
            get_storage().put_file(key, path, content_type)
    finally:
        os.unlink(path)
    wants_email = export.email
    # The reads above began a transaction that the heartbeat's commits have since passed: the
    # last write runs in a fresh one (SQLite cannot turn such a stale read into a write: it
    # answers "database is locked" at once, so an export longer than a beat never finished).
    begin_write()
    now = utcnow()
    finished = db.session.execute(
        update(Export)
        .where(Export.id == export_id, Export.status == "running", Export.attempts == attempt)
        .values(
            status="done",
            active_user_id=None,
            row_count=count,
            progress=100,
            storage_key=key,
            error=None,
            finished_at=now,
            expires_at=now + current_app.config["EXPORT_FILE_TTL"],
        )
        .execution_options(synchronize_session=False)
    )
    if finished.rowcount != 1:
        if db.session.scalar(select(Export.id).where(Export.id == export_id)) is None:
            # The account was erased while the file was being written: it must not stay.
            get_storage().delete(key)
            log.info("export %s was erased with its account; file removed", export_id)
            return 0
        log.warning("export %s attempt %s was taken over; result dropped", export_id, attempt)
        return 0
    if wants_email:
        enqueue("mail.send_export_email", export_id)
    log.info("export %s done: %s rows", export_id, count)
    return count


def _beat(export_id: int, attempt: int, tracker: Progress, connection: Connection) -> bool:
    """Stamp the export's heartbeat and progress; False once the claim is no longer this
    attempt's."""
    tracker.measure(connection)
    result = connection.execute(
        update(Export)
        .where(Export.id == export_id, Export.status == "running", Export.attempts == attempt)
        .values(heartbeat_at=utcnow(), progress=tracker.percent)
    )
    return result.rowcount == 1


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
        .add_columns(User.email, User.full_name, User.username, User.preferences)
        .join(User, User.id == Export.user_id)
        .where(Export.id == export_id)
    ).one_or_none()
    if row is None or row.status != "done":
        return False
    template = "data_export_ready" if row.kind == PERSONAL_DATA else "export_ready"
    # A mail client opens links in a browser, which has no Bearer token: the link is signed,
    # and the signature is the authorisation (like the personal-data export's).
    link = signed_link(export_id)
    if link is None:
        return False  # expired before the mail could go: nothing to send
    link_expires_at = min(utcnow() + current_app.config["DATA_EXPORT_LINK_TTL"], row.expires_at)
    with in_language(language_of(row.preferences)):
        kind = gettext(EXPORT_KIND_WORDS.get(row.kind, row.kind))
        context = {
            "name": row.full_name or row.username,
            "kind": kind,
            "row_count": row.row_count,
            "expires_at": format_datetime(row.expires_at, "UTC", name_zone=False)
            if row.expires_at
            else None,
            "link": link,
            "link_expires_at": format_datetime(link_expires_at, "UTC", name_zone=False)
            if link_expires_at
            else None,
        }
        if row.kind == PERSONAL_DATA:
            subject = gettext("Your ParkMind data is ready to download")
        else:
            subject = gettext("Your ParkMind %(kind)s export is ready", kind=kind)
        text = render_template(f"email/{template}.txt", **context)
        markup = render_template(f"email/{template}.html", **context)
    key = f"export:{export_id}:email"
    return send_email(dedupe_key=key, to=row.email, subject=subject, text=text, html=markup)
