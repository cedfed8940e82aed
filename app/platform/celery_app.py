"""Celery configured from the Flask config (the Flask docs' ``celery_init_app`` pattern).

With a broker URL (``REDIS_URL`` or ``CELERY_BROKER_URL``) tasks go to the broker and a worker runs
them; without one they run in-process, so ``make run`` needs no Redis.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from celery import Celery, Task
from celery.exceptions import Ignore, Reject, Retry
from flask import Flask, current_app, has_app_context

from app.platform import queue
from app.platform.extensions import db
from app.platform.scheduling import beat_schedule, domain_packages
from app.platform.transactions import run_in_transaction

log = logging.getLogger(__name__)


def init_celery(app: Flask) -> Celery:
    """Create the Celery app bound to ``app``; every task runs inside an app context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # The task edge: one commit when the task succeeds, with its outbox row deleted in
            # the same transaction; then whatever it enqueued is sent. A task that lost a lock
            # race (a deadlock; on SQLite, a read snapshot another process's commit made stale,
            # refused at once whatever the busy timeout) runs again at once in a fresh
            # transaction, as a write request does: every task is safe to run twice. A task
            # called from inside an app (in-process mode, a CLI job, a test) runs against that
            # app; a worker pushes the app this Celery was configured from.
            target = current_app._get_current_object() if has_app_context() else app
            task_id = None if self.request.is_eager else self.request.id

            def attempt():
                result = self.run(*args, **kwargs)
                queue.acknowledge(task_id)
                return result

            with target.app_context():
                try:
                    result = run_in_transaction(attempt)
                except (Retry, Ignore) as exc:
                    db.session.rollback()
                    _report(functools.partial(_after_retry, self.name, task_id, exc))
                    raise
                except Reject:
                    db.session.rollback()  # back to the broker: still in flight
                    raise
                except Exception as exc:
                    db.session.rollback()
                    _report(functools.partial(queue.abandon, task_id, exc))
                    raise
                except BaseException:
                    db.session.rollback()  # worker shutdown: the message goes back, still due
                    raise
                queue.send_ready_tasks()
                return result

    broker = app.config.get("CELERY_BROKER_URL")
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=broker or "memory://",
        result_backend=app.config.get("CELERY_RESULT_BACKEND") or None,
        task_always_eager=not broker,
        task_eager_propagates=False,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=15 * 60,
        task_soft_time_limit=14 * 60,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},  # sized below
        broker_connection_timeout=2,
        redis_socket_connect_timeout=2,
        redis_socket_timeout=5,
        timezone=app.config.get("TIMEZONE", "UTC"),
        enable_utc=True,
        task_serializer="json",
        accept_content=["json"],
    )
    # Every ``app/<package>/tasks.py`` is found by discovery, never listed by hand; imported now,
    # so the web process can send by name and the worker knows each task when it starts.
    celery_app.autodiscover_tasks(domain_packages(), related_name="tasks", force=True)
    celery_app.conf.broker_transport_options = {
        "visibility_timeout": visibility_timeout(celery_app)
    }
    celery_app.conf.beat_schedule = beat_schedule()
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


# The longest a task may wait in a worker before it runs (a retry's countdown, an ETA): Redis
# counts that wait towards the visibility timeout too.
MAX_COUNTDOWN = 30 * 60
VISIBILITY_SLACK = 5 * 60


def visibility_timeout(celery_app: Celery) -> int:
    """Seconds an unacknowledged message stays with its worker before Redis hands it to another
    (the worker died): longer than any task may wait and then run, so a live task is never run
    twice at once; unbounded waits would make that impossible, so countdowns are capped."""
    default = celery_app.conf.task_time_limit
    longest = max(
        (task.time_limit or default)
        for name, task in celery_app.tasks.items()
        if not name.startswith("celery.")
    )
    return int(longest + MAX_COUNTDOWN + VISIBILITY_SLACK)


def _after_retry(task_name: str, task_id: str | None, exc: Retry | Ignore) -> None:
    if isinstance(exc, Retry):
        when = exc.when
        if isinstance(when, datetime):
            countdown = (when - datetime.now(when.tzinfo or UTC)).total_seconds()
        else:
            countdown = float(when or 0)
        queue.postpone(task_id, task_name, max(0.0, countdown))
    else:
        queue.acknowledge(task_id)


def _report(work) -> None:
    """Record a task's outcome on its outbox row in a transaction of its own; if the database is
    unreachable the row stays ``sent`` and the relay hands the task over again later."""
    try:
        work()
        db.session.commit()
    except Exception:  # the relay is the fallback
        db.session.rollback()
        log.warning("could not record a task's outcome on its outbox row", exc_info=True)
