"""Demo data for ``flask seed run --demo``."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services.users import create_user

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
    try:
        from app.services.lots import seed_demo_lots
    except ImportError:
        return lines
    lines.extend(seed_demo_lots())
    return lines
