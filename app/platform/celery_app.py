"""Celery configured from the Flask config (the Flask docs' ``celery_init_app`` pattern).

With a broker URL (``REDIS_URL`` or ``CELERY_BROKER_URL``) tasks go to the broker and a worker runs
them; without one they run in-process, so ``make run`` needs no Redis.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask, current_app, has_app_context

from app.platform.extensions import db
from app.platform.queue import send_ready_tasks
from app.platform.scheduling import beat_schedule, domain_packages


def init_celery(app: Flask) -> Celery:
    """Create the Celery app bound to ``app``; every task runs inside an app context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            # The task edge: one commit when the task succeeds, then whatever it enqueued is sent.
            # A task called from inside an app (in-process mode, a CLI job, a test) runs against
            # that app; a worker pushes the app this Celery was configured from.
            target = current_app._get_current_object() if has_app_context() else app
            with target.app_context():
                try:
                    result = self.run(*args, **kwargs)
                    db.session.commit()
                except BaseException:
                    db.session.rollback()
                    raise
                send_ready_tasks()
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
        broker_transport_options={"visibility_timeout": 3600},
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
    celery_app.conf.beat_schedule = beat_schedule()
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
