"""Background work through a transactional outbox: nothing the API promised is lost.

``enqueue("domain.task_name", *ids)`` writes an :class:`~app.platform.models.OutboxMessage` row in
the **same transaction** as the change that causes it, so the promise and the change commit or
roll back together. Once the transaction has committed, the edge (request, task or CLI command)
calls :func:`send_ready_tasks`: each new row is handed to Celery (a worker on Redis, or
in-process without a broker) and marked ``sent``. A row the broker could not take stays
``pending`` with a later ``due_at``; the ``relay-outbox`` job (every minute) hands it over again
with backoff, and gives up after ``OUTBOX_GIVE_UP_AFTER`` with an error in the log and the row
``failed`` (``/ready`` and ``/metrics`` show the backlog).

A ``sent`` row is a task in flight, not a task done: the task's id names its row, and the task
edge deletes the row in the task's own transaction when it finishes (or marks it ``failed`` when
it fails for good; a retry moves its deadline). A row still ``sent`` past its deadline (the
task's time limit, plus any countdown, plus a minute) lost its message on the way: a worker
killed mid-task, or a broker restarted without its queue. The relay hands it over again. So
delivery is at least once, and every task is safe to run twice. Tasks are named, never imported,
by the code that enqueues them; they get ids, never objects.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from app.platform.db_events import begin_immediate
from app.platform.extensions import db
from app.platform.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

PENDING = "parkmind_pending_tasks"
READY = "parkmind_ready_tasks"
# A row written now is the API's to send right after the commit; the relay job leaves it alone
# for this long, so the two do not race for fresh rows.
RELAY_GRACE = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)
RELAY_BATCH = 500
# How long past its time limit (and countdown) a handed-over task may take to report back.
ACK_SLACK = timedelta(minutes=1)
TASK_ID = re.compile(r"outbox-(\d+)-[0-9a-f]+")


class UnknownTask(LookupError):
    """A task name that no discovered ``tasks.py`` defines: a programming error."""


def enqueue(task_name: str, *args: Any, **options: Any) -> None:
    """Promise the task ``task_name(*args)``: written now, sent once the transaction commits.

    ``options`` go to Celery's ``apply_async`` (``countdown``, ``retries``).
    """
    celery_app = current_app.extensions["celery"]
    if task_name not in celery_app.tasks:
        raise UnknownTask(task_name)
    message = OutboxMessage(
        task=task_name, args=list(args), options=options or None, due_at=utcnow() + RELAY_GRACE
    )
    session = db.session()
    session.add(message)
    session.flush()  # its id, to mark it sent after the commit
    session.info.setdefault(PENDING, []).append((message.id, task_name, list(args), options))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(READY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    # A savepoint rollback keeps the outer work; only a full rollback forgets it.
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=15 * 2 ** max(0, attempts - 1)))


def _hand_over(message_id: int, task_name: str, args: list, options: dict | None) -> str | None:
    """Give one task to Celery; the error's text when the broker would not take it."""
    # This app's Celery (its broker and eager mode), not the process default.
    celery_app = current_app.extensions["celery"]
    try:
        result = celery_app.tasks[task_name].apply_async(
            args=args, task_id=f"outbox-{message_id}-{uuid.uuid4().hex[:12]}", **(options or {})
        )
    except Exception as exc:  # noqa: BLE001 - any failure leaves the promise pending
        log.warning("broker did not take %s: %s", task_name, exc)
        return f"{type(exc).__name__}: {exc}"[:255]
    if celery_app.conf.task_always_eager and result.failed():
        # In-process: the hand-over was the run, and it failed for good.
        log.error("task %s %s failed: %s", task_name, args, result.result)
    return None


def _deadline(now, task_name: str, options: dict | None):
    """When a task handed over now must have reported back: its time limit, its countdown and
    :data:`ACK_SLACK`."""
    celery_app = current_app.extensions["celery"]
    task = celery_app.tasks[task_name]
    limit = task.time_limit or celery_app.conf.task_time_limit or 15 * 60
    countdown = (options or {}).get("countdown") or 0
    return now + timedelta(seconds=limit + countdown) + ACK_SLACK


def _eager() -> bool:
    return bool(current_app.extensions["celery"].conf.task_always_eager)


def send_ready_tasks() -> int:
    """Hand the tasks of the transaction that just committed to Celery and mark them; a broker
    that is down leaves them pending for the relay job. Never raises."""
    session = db.session()
    ready = session.info.pop(READY, None) or []
    if not ready:
        return 0
    sent: list[int] = []
    refused: list[tuple[int, str]] = []
    for message_id, task_name, args, options in ready:
        error = _hand_over(message_id, task_name, args, options)
        if error is None:
            sent.append((message_id, task_name, options))
        else:
            refused.append((message_id, error))
    try:
        now = utcnow()
        if sent and _eager():
            # Run in-process already: nothing is in flight.
            session.execute(
                delete(OutboxMessage).where(OutboxMessage.id.in_([m for m, _, _ in sent]))
            )
        for message_id, task_name, options in [] if _eager() else sent:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
                .values(
                    status="sent",
                    sent_at=now,
                    attempts=OutboxMessage.attempts + 1,
                    due_at=_deadline(now, task_name, options),
                )
            )
        for message_id, error in refused:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    attempts=OutboxMessage.attempts + 1, due_at=now + _backoff(1), last_error=error
                )
            )
        session.commit()
    except Exception:
        log.exception("could not mark %d outbox rows; the relay job will resend them", len(ready))
        session.rollback()
    return len(sent)


def relay_due_messages(*, now=None) -> dict[str, int]:
    """Hand every due pending row to Celery again (backoff on failure), and every sent row whose
    task never reported back by its deadline; give up on rows older than
    ``OUTBOX_GIVE_UP_AFTER``. Runs inside the caller's transaction (the job edge commits)."""
    now = now or utcnow()
    give_up_before = now - current_app.config["OUTBOX_GIVE_UP_AFTER"]
    # A worker may finish a task handed over below (and delete its row) before this commits. On
    # SQLite this transaction must hold the write lock from the start, or its own writes would
    # find their snapshot stale and fail at once ("database is locked"); on MariaDB the rows'
    # locks make the worker wait for this commit.
    begin_immediate(db.session)
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(("pending", "sent")), OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.id)
        .limit(RELAY_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    counts = {"sent": 0, "retrying": 0, "given_up": 0, "lost": 0}
    for row in rows:
        if row.created_at < give_up_before:
            row.status = "failed"
            counts["given_up"] += 1
            log.error(
                "outbox %s (%s %s) given up after %s attempts: %s",
                row.id,
                row.task,
                row.args,
                row.attempts,
                row.last_error,
            )
            continue
        if row.status == "sent":
            counts["lost"] += 1
            log.warning(
                "outbox %s (%s %s) not done by its deadline (worker or broker lost it); "
                "handing it over again",
                row.id,
                row.task,
                row.args,
            )
        error = _hand_over(row.id, row.task, row.args, row.options)
        row.attempts += 1
        if error is None and _eager():
            db.session.delete(row)
            counts["sent"] += 1
        elif error is None:
            row.status, row.sent_at = "sent", now
            row.due_at = _deadline(now, row.task, row.options)
            counts["sent"] += 1
        else:
            row.status = "pending"
            row.due_at, row.last_error = now + _backoff(row.attempts), error
            counts["retrying"] += 1
    db.session.flush()
    return counts


def backlog() -> dict[str, Any]:
    """Pending outbox rows and the age of the oldest, in seconds (0 when none)."""
    count, oldest = db.session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == "pending"
        )
    ).one()
    age = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    return {"pending": int(count or 0), "oldest_age_seconds": round(age, 1)}


# --- the task's side: report back -----------------------------------------------------------------


def message_id(task_id: str | None) -> int | None:
    """The outbox row a task was handed over for, from its task id (None for other tasks)."""
    match = TASK_ID.fullmatch(task_id or "")
    return int(match.group(1)) if match else None


def acknowledge(task_id: str | None) -> None:
    """The task is done: delete its row, in the task's own transaction (committed with it)."""
    found = message_id(task_id)
    if found is not None:
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id == found))


def postpone(task_id: str | None, task_name: str, countdown: float) -> None:
    """The task will retry in ``countdown`` seconds: move its row's deadline past that."""
    found = message_id(task_id)
    if found is not None:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == found, OutboxMessage.status == "sent")
            .values(due_at=_deadline(utcnow(), task_name, {"countdown": countdown}))
        )


def abandon(task_id: str | None, error: BaseException) -> None:
    """The task failed for good: its row becomes ``failed`` (the error kept for the operator)."""
    found = message_id(task_id)
    if found is not None:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == found, OutboxMessage.status == "sent")
            .values(status="failed", last_error=f"{type(error).__name__}: {error}"[:255])
        )
