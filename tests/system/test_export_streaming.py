"""An export downloaded in the other CSV profile is written afresh while the response streams:
on a real gunicorn server (where the request's transaction ends before the body is sent) it
must stream whole. Starts real processes: marked ``system``."""

from __future__ import annotations

import csv
import io

import pytest
import requests

from tests.support.live_server import live_server, migrated_database, server_env

pytestmark = pytest.mark.system
PASSWORD = "streaming-password-1"


@pytest.mark.parametrize("backend", ["sqlite", "mariadb", "postgresql"])
def test_a_csv_written_afresh_streams_whole_from_a_real_server(tmp_path, backend):
    with migrated_database(backend, tmp_path) as url:
        from app.accounts.service import create_user
        from app.platform.extensions import db
        from tests.conftest import make_app
        from tests.factories import BookingFactory

        app = make_app(url)
        with app.app_context():
            user = create_user(username="streamer", email="s@example.com", password=PASSWORD)
            db.session.flush()
            for n in range(30):
                BookingFactory(user=user, remarks=f"trip {n}")
            db.session.commit()
            db.engine.dispose()
        env = server_env(url, tmp_path)
        with live_server(env, workers=1, threads=2, log_path=tmp_path / "gunicorn.log") as base:
            token = requests.post(
                f"{base}/api/v1/auth/login",
                json={"login": "streamer", "password": PASSWORD},
                timeout=10,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            created = requests.post(
                f"{base}/api/v1/exports",
                json={"kind": "bookings", "profile": "excel"},
                headers=headers,
                timeout=10,
            )
            assert created.status_code == 202, created.text
            url_ = f"{base}/api/v1/exports/{created.json()['id']}/download"
            stored = requests.get(url_, headers=headers, timeout=30)
            afresh = requests.get(f"{url_}?profile=default", headers=headers, timeout=30)
    assert stored.status_code == 200 and stored.content.startswith(b"\xef\xbb\xbf")
    assert afresh.status_code == 200, afresh.text[:500]
    assert afresh.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(afresh.text)))
    assert sorted(row["remarks"] for row in rows) == sorted(f"trip {n}" for n in range(30))
