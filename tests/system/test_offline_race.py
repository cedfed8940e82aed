"""A phone's retried offline save, sent many times at once to real servers: one event, not many."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import make_app
from tests.support.live_server import live_server, migrated_database

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
COPIES = 12


def seed_user(url: str) -> str:
    """A committed user with an access token."""
    from app.accounts.models import User
    from app.accounts.service import start_session
    from app.platform.extensions import db
    from tests.factories import _password_hash

    app = make_app(url)
    tag = uuid.uuid4().hex[:8]
    with app.test_request_context():
        person = User(
            username=f"offline{tag}",
            email=f"offline{tag}@example.com",
            password_hash=_password_hash(),
            role="user",
            preferences={},
        )
        db.session.add(person)
        db.session.flush()
        token = start_session(person)["access_token"]
        db.session.commit()
        db.engine.dispose()
    return token


@pytest.mark.parametrize("backend", ["sqlite", "mariadb", "postgresql"])
def test_simultaneous_copies_of_one_offline_save(backend, tmp_path):
    with migrated_database(backend, tmp_path) as url:
        token = seed_user(url)
        env = {"DATABASE_URL": url, "PARKMIND_INSTANCE_PATH": str(tmp_path)}
        with live_server(env, workers=3, threads=4, log_path=tmp_path / "gunicorn.log") as base:
            key = str(uuid.uuid4())
            barrier = threading.Barrier(COPIES)

            def send(_):
                with requests.Session() as session:
                    barrier.wait(timeout=60)
                    response = session.post(
                        f"{base}/api/v1/parking-events",
                        json={"latitude": 0, "longitude": 0, "client_uuid": key},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=60,
                    )
                    return response.status_code, response.json()

            with ThreadPoolExecutor(max_workers=COPIES) as pool:
                results = list(pool.map(send, range(COPIES)))
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT id FROM parking_events WHERE client_uuid = :key"), {"key": key}
                ).all()
        finally:
            engine.dispose()
    refused = [(status, body) for status, body in results if status not in (200, 201)]
    assert refused == []
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (COPIES - 1) + [201]
    assert len(rows) == 1
    assert {body["id"] for _, body in results} == {rows[0][0]}
