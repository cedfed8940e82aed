"""End to end on a REAL Celery worker process with Redis (required in CI): export, e-mail."""

from __future__ import annotations

import csv
import io
import re
import time
from urllib.parse import urlsplit

from tests.factories import PASSWORD, BookingFactory, UserFactory


def wait_for_status(client, path, headers, *, timeout=60.0) -> dict:
    deadline = time.monotonic() + timeout
    body = {}
    while time.monotonic() < deadline:
        body = client.get(path, headers=headers).get_json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    return body


def test_export_runs_on_a_real_worker_and_mails_the_link(celery_worker_stack, smtp):
    api = celery_worker_stack.app
    with api.app_context():
        from app.platform.extensions import db

        owner = UserFactory()
        mine = [BookingFactory(user=owner, remarks=f"mine {n}").id for n in range(4)]
        BookingFactory(user=UserFactory(), remarks="not mine")
        db.session.commit()
        login, email = owner.username, owner.email

    client = api.test_client()
    token = client.post("/api/v1/auth/login", json={"login": login, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}

    created = client.post(
        "/api/v1/exports", json={"kind": "bookings", "email": True}, headers=headers
    )
    assert created.status_code == 202, created.get_json()
    export_id = created.get_json()["id"]

    body = wait_for_status(client, created.headers["Location"], headers)
    assert body["status"] == "done", (body, celery_worker_stack.log())
    assert body["row_count"] == 4
    assert "exports.run_export[" in celery_worker_stack.log()  # the worker, not this process

    download = client.get(f"/api/v1/exports/{export_id}/download", headers=headers)
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert sorted(int(row["id"]) for row in rows) == sorted(mine)
    assert "not mine" not in download.get_data(as_text=True)

    messages = smtp.wait_for(1, timeout=30)
    assert [m["To"] for m in messages] == [email], celery_worker_stack.log()
    # The worker signs a link on PUBLIC_BASE_URL that opens without signing in.
    text = messages[0].get_body(("plain",)).get_content()
    link = re.search(r"https://parkmind\.example/api/v1/storage/files/\S+", text).group(0)
    opened = client.get(urlsplit(link).path)
    assert opened.status_code == 200
    assert opened.get_data() == download.get_data()
