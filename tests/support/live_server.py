"""Real gunicorn servers for end-to-end and concurrency tests."""

from __future__ import annotations
