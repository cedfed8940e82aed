"""A real Celery worker process on Redis."""

from __future__ import annotations
