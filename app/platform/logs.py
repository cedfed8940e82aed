"""Structured logs: JSON in production, readable in development, request id on every line."""

from __future__ import annotations

import logging
import sys

import structlog
from flask import Flask

_configured = False


def configure_logging(app: Flask) -> None:
    """Route stdlib logging through structlog's formatter (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if app.config.get("LOG_JSON")
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.name = "parkmind"
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if h.name != "parkmind"] + [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
