"""Celery tasks: jobs."""

from __future__ import annotations

from celery import shared_task  # noqa: F401
