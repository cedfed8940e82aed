"""Demo data for ``flask seed run --demo``."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.accounts.models import User
from app.accounts.service import create_user
from app.lots.management import seed_demo_lots
from app.platform.extensions import db

DEMO_USERS = ("demo_driver", "demo_carer")


def seed_demo() -> list[str]:
    """Add demo users (and lots once lots exist); return lines describing the credentials."""
    lines: list[str] = []
    for username in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            lines.append(f"demo user {username} already exists (password unchanged)")
            continue
        password = secrets.token_urlsafe(12)
        create_user(username=username, email=f"{username}@example.com", password=password)
        lines.append(f"demo user {username} / {password}")
    lines.extend(seed_demo_lots())
    return lines
