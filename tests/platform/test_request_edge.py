"""The request edge on a real engine (no test transaction around it): reads end with one
ROLLBACK and no COMMIT, writes are committed, and both leave the pool clean."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, text

from app.platform.extensions import db


@pytest.fixture
def account(app):
    """A committed account (and its sessions), deleted again afterwards."""
    client = app.test_client()
    name = f"edge{uuid.uuid4().hex[:10]}"
    password = "a-long-password-1"
    created = client.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": password},
    )
    assert created.status_code == 201, created.get_json()
    token = client.post("/api/v1/auth/login", json={"login": name, "password": password})
    assert token.status_code == 200
    yield name, {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    with app.app_context(), db.engine.begin() as conn:
        user_id = conn.execute(text("SELECT id FROM users WHERE username = :n"), {"n": name})
        user_id = user_id.scalar()
        conn.execute(text("DELETE FROM auth_sessions WHERE user_id = :u"), {"u": user_id})
        conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user_id})


def _record(engine):
    seen: list[str] = []
    listeners = [
        (engine, "commit", lambda conn: seen.append("commit")),
        (engine, "rollback", lambda conn: seen.append("rollback")),
        (
            engine.pool,
            "reset",
            lambda dbapi, record, state: seen.append(f"reset:{state.transaction_was_reset}"),
        ),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    return seen, listeners


def test_a_read_ends_with_one_rollback_and_no_commit(app, account):
    _, headers = account
    client = app.test_client()
    with app.app_context():
        seen, listeners = _record(db.engine)
    try:
        response = client.get("/api/v1/bookings", headers=headers)
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
    assert response.status_code == 200
    assert "commit" not in seen
    # The transaction's own rollback; the pool's reset is then skipped (already reset).
    assert seen.count("rollback") == 1
    assert "reset:False" not in seen


def test_a_write_is_committed(app, account):
    name, headers = account
    client = app.test_client()
    with app.app_context():
        seen, listeners = _record(db.engine)
    try:
        response = client.patch("/api/v1/me", json={"full_name": "Edge Case"}, headers=headers)
    finally:
        for target, name_, fn in listeners:
            event.remove(target, name_, fn)
    assert response.status_code == 200, response.get_json()
    assert "commit" in seen
    with app.app_context(), db.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT full_name FROM users WHERE username = :n"), {"n": name}
        ).scalar()
    assert stored == "Edge Case"
