"""Scheduled jobs (see app.jobs)."""

from __future__ import annotations

from app.jobs import job  # noqa: F401
