"""Structured logs: JSON in production, readable in development, request id on every line.

The web app, the Celery worker and beat share one formatter. Celery would replace the root
logger's handlers with its own plain-text ones when a worker or beat starts
(``worker_hijack_root_logger``); :func:`keep_celery_from_logging` answers Celery's
``setup_logging`` signal instead, which tells Celery that logging is configured already, so it
touches no handler (neither ``after_setup_logger`` nor ``after_setup_task_logger`` is needed).
A line logged while a task runs carries the task's name and id.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, Any

import structlog
from celery import current_task, signals
from flask import Flask

HANDLER_NAME = "parkmind"
_configured = False


def add_task_context(logger: Any, method: str, event: dict) -> dict:
    """Name and id of the Celery task running in this thread, if any."""
    if current_task:  # a proxy: false outside a task
        task_id = current_task.request.id
        if task_id:
            event.setdefault("task_name", current_task.name)
            event.setdefault("task_id", task_id)
    return event


SHARED_PROCESSORS = (
    structlog.contextvars.merge_contextvars,
    add_task_context,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)


def build_handler(*, json: bool, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing every stdlib record through structlog: one JSON object per line, or
    readable text."""
    renderer = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=list(SHARED_PROCESSORS),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.name = HANDLER_NAME
    return handler


def configure_logging(app: Flask) -> None:
    """Route stdlib logging through structlog's formatter (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    handler = build_handler(json=bool(app.config.get("LOG_JSON")))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.name != HANDLER_NAME] + [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Warnings (Celery's "running as root", deprecations) as log lines, not bare stderr text.
    logging.captureWarnings(True)
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


@signals.setup_logging.connect(weak=False)
def keep_celery_from_logging(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Celery worker and beat: keep the app's handler (a receiver here means Celery leaves the
    root logger alone); ``--loglevel`` still sets the level, as Celery would."""
    root = logging.getLogger()
    if not any(h.name == HANDLER_NAME for h in root.handlers):
        # A Celery app made without create_app (never in ParkMind): plain text to stderr.
        root.addHandler(build_handler(json=False))
    if loglevel:
        root.setLevel(loglevel)
    # Celery's task logger stops at its own (absent) handlers unless it propagates to root.
    logging.getLogger("celery.task").propagate = True
