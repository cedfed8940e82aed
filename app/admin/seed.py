"""Demo data for ``flask seed run --demo``."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable

from sqlalchemy import select

from app.accounts.models import User
from app.accounts.service import create_user
from app.lots.management import seed_demo_lots
from app.platform.extensions import db

DEMO_USERS = ("demo_driver", "demo_carer")


def demo_steps() -> list[Callable[[], list[str]]]:
    """The steps of seeding demo data (each user, then the lots), each returning lines that
    describe what it did; separate so the command can show its progress (hashing a password
    takes about half a second)."""
    return [*(functools.partial(_demo_user, username) for username in DEMO_USERS), seed_demo_lots]


def _demo_user(username: str) -> list[str]:
    if db.session.scalar(select(User.id).where(User.username == username)):
        return [f"demo user {username} already exists (password unchanged)"]
    password = secrets.token_urlsafe(12)
    create_user(username=username, email=f"{username}@example.com", password=password)
    return [f"demo user {username} / {password}"]
