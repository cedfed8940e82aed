"""Background work is sent only after the transaction that asked for it has committed.

``enqueue(task, *ids)`` records the call on the session; once the session commits, the edge
(request, task or CLI command) calls :func:`send_ready_tasks`, which hands them to Celery (a worker
on Redis, or in-process without a broker). A rollback discards them. Tasks get ids, never objects.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)

PENDING = "parkmind_pending_tasks"
READY = "parkmind_ready_tasks"


def enqueue(task: Any, *args: Any, **kwargs: Any) -> None:
    """Run ``task(*args, **kwargs)`` in the background once the current transaction commits."""
    db.session().info.setdefault(PENDING, []).append((task, args, kwargs))


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


def send_ready_tasks() -> int:
    """Hand every committed task to Celery; a broker that is down is logged, not raised."""
    session = db.session()
    ready = session.info.pop(READY, None) or []
    sent = 0
    celery_app = current_app.extensions.get("celery")
    for task, args, kwargs in ready:
        # Send through this app's Celery (its broker and eager mode), not the process default,
        # which is whichever app was built last.
        bound = celery_app.tasks.get(task.name, task) if celery_app is not None else task
        try:
            bound.apply_async(args=args, kwargs=kwargs)
            sent += 1
        except Exception:
            log.exception("could not enqueue %s; a sweeper job will retry", task.name)
    return sent
