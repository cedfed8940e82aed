"""Background work is sent only after the transaction that asked for it has committed.

``enqueue("domain.task_name", *ids)`` records the call on the session; once the session commits,
the edge (request, task or CLI command) calls :func:`send_ready_tasks`, which hands them to Celery
(a worker on Redis, or in-process without a broker). A rollback discards them. Tasks are named,
never imported, by the code that enqueues them; they get ids, never objects.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.platform.extensions import db

log = logging.getLogger(__name__)

PENDING = "parkmind_pending_tasks"
READY = "parkmind_ready_tasks"


class UnknownTask(LookupError):
    """A task name that no discovered ``tasks.py`` defines: a programming error."""


def enqueue(task_name: str, *args: Any, **options: Any) -> None:
    """Run the task ``task_name(*args)`` in the background once the current transaction commits.

    ``options`` go to Celery's ``apply_async`` (``countdown``, ``retries``).
    """
    celery_app = current_app.extensions["celery"]
    if task_name not in celery_app.tasks:
        raise UnknownTask(task_name)
    db.session().info.setdefault(PENDING, []).append((task_name, args, options))


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
    # This app's Celery (its broker and eager mode), not the process default, which is whichever
    # app was built last.
    tasks = current_app.extensions["celery"].tasks
    for task_name, args, options in ready:
        try:
            tasks[task_name].apply_async(args=args, **options)
            sent += 1
        except Exception:
            log.exception("could not enqueue %s; a sweeper job will retry", task_name)
    return sent
