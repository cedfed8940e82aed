"""CSV exports through the API, run in-process (no broker): request, poll, download, e-mail."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from app.exports.models import Export
from app.platform.models import utcnow
from tests.factories import BookingFactory, ExportFactory, ParkingEventFactory, UserFactory


@pytest.fixture
def mailing(app, mail_config, monkeypatch):
    for key, value in mail_config.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://parkmind.example")


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_export_bookings_end_to_end_in_process(client, auth, user, db, smtp, mailing):
    mine = [BookingFactory(user=user, remarks=f"trip {n}") for n in range(3)]
    BookingFactory(user=UserFactory(), remarks="someone else")
    headers = auth(user)

    response = client.post(
        "/api/v1/exports", json={"kind": "bookings", "email": True}, headers=headers
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/exports/{body['id']}")

    export = client.get(f"/api/v1/exports/{body['id']}", headers=headers).get_json()
    assert export["status"] == "done"
    assert export["row_count"] == 3
    assert export["download_url"].endswith(f"/api/v1/exports/{body['id']}/download")
    assert export["expires_at"].endswith("Z")

    download = client.get(f"/api/v1/exports/{body['id']}/download", headers=headers)
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    rows = read_csv(download)
    assert sorted(int(r["id"]) for r in rows) == sorted(b.id for b in mine)
    assert {r["remarks"] for r in rows} == {"trip 0", "trip 1", "trip 2"}
    assert all(r["started_at"].endswith("Z") for r in rows)

    [message] = smtp.wait_for(1, timeout=5)
    assert message["To"] == user.email
    assert "List-Unsubscribe" not in message  # the link the person asked for: transactional
    text = message.get_body(("plain",)).get_content()
    assert "sign in" not in text and "no sign-in needed" in text
    # The e-mail was sent during the POST, yet the link is on PUBLIC_BASE_URL, not the request's
    # host, and it is signed: a browser opened from a mail client has no Bearer token.
    [link] = re.findall(r"https://parkmind\.example/\S+", text)
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    assert "/exports/" not in link
    opened = client.get(urlsplit(link).path)  # no Authorization header
    assert opened.status_code == 200, opened.get_data(as_text=True)
    assert opened.get_data() == download.get_data()
    assert client.get(urlsplit(link).path[:-3] + "xyz").status_code == 403


def test_parking_events_export_and_formula_cells_are_neutralised(client, auth, user, db):
    ParkingEventFactory(user=user, notes='=HYPERLINK("http://evil")', level="-2")
    ParkingEventFactory(user=user, notes="@SUM(A1)", spot_label="+12")
    ParkingEventFactory(user=UserFactory(), notes="not mine")
    headers = auth(user)
    created = client.post("/api/v1/exports", json={"kind": "parking_events"}, headers=headers)
    assert created.status_code == 202
    download = client.get(f"/api/v1/exports/{created.get_json()['id']}/download", headers=headers)
    rows = read_csv(download)
    assert len(rows) == 2
    assert {r["notes"] for r in rows} == {'\'=HYPERLINK("http://evil")', "'@SUM(A1)"}
    assert {r["level"] for r in rows} == {"'-2", ""}
    assert {r["spot_label"] for r in rows} == {"'+12", ""}
    assert all(r["parked_at"].endswith("Z") for r in rows)


def test_one_export_in_progress_per_user(client, auth, user, db):
    ExportFactory(user=user, status="running", active_user_id=user.id)
    response = client.post("/api/v1/exports", json={"kind": "bookings"}, headers=auth(user))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "export_in_progress"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "payments"},
        {"kind": "bookings", "from": "2025-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"},
        {"kind": "bookings", "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"kind": "bookings", "owner": 3},
    ],
)
def test_invalid_export_requests_are_422(client, auth, user, db, body):
    response = client.post("/api/v1/exports", json=body, headers=auth(user))
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"


def test_range_limits_the_rows(client, auth, user, db):
    now = utcnow()
    old = BookingFactory(user=user, started_at=now - timedelta(days=40))
    BookingFactory(user=user, started_at=now - timedelta(days=400))
    recent = BookingFactory(user=user, started_at=now - timedelta(days=2))
    headers = auth(user)
    body = {
        "kind": "bookings",
        "from": (now - timedelta(days=60)).isoformat(),
        "to": now.isoformat(),
    }
    created = client.post("/api/v1/exports", json=body, headers=headers).get_json()
    rows = read_csv(client.get(f"/api/v1/exports/{created['id']}/download", headers=headers))
    assert sorted(int(r["id"]) for r in rows) == sorted([old.id, recent.id])


def test_other_users_export_is_404_and_pending_download_is_409(client, auth, user, db):
    other = ExportFactory(user=UserFactory(), status="done", storage_key="exports/x/1.csv")
    headers = auth(user)
    assert client.get(f"/api/v1/exports/{other.id}", headers=headers).status_code == 404
    assert client.get(f"/api/v1/exports/{other.id}/download", headers=headers).status_code == 404
    assert client.get(f"/api/v1/exports/{2**40}", headers=headers).status_code == 404
    pending = ExportFactory(user=user, status="pending")
    response = client.get(f"/api/v1/exports/{pending.id}/download", headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "export_not_ready"
    expired = ExportFactory(user=user, status="expired")
    response = client.get(f"/api/v1/exports/{expired.id}/download", headers=headers)
    assert response.status_code == 410


def test_list_exports_is_paginated_and_own_only(client, auth, user, db):
    for _ in range(3):
        ExportFactory(user=user, status="done")
    ExportFactory(user=UserFactory())
    page = client.get("/api/v1/exports?per_page=2", headers=auth(user)).get_json()
    assert page["total"] == 3 and page["pages"] == 2 and len(page["items"]) == 2


def test_exports_require_auth(client, db):
    assert client.post("/api/v1/exports", json={"kind": "bookings"}).status_code == 401
    assert client.get("/api/v1/exports").status_code == 401


def test_running_twice_writes_one_file_and_one_email(app, client, auth, user, db, smtp, mailing):
    from app.exports.tasks import run_export
    from app.platform.storage import get_storage

    BookingFactory(user=user)
    headers = auth(user)
    export_id = client.post(
        "/api/v1/exports", json={"kind": "bookings", "email": True}, headers=headers
    ).get_json()["id"]
    smtp.wait_for(1, timeout=5)
    # A duplicate delivery finds it done; a forced rerun (state reset) overwrites the same key.
    run_export.apply(args=(export_id,))
    export = db.session.get(Export, export_id, populate_existing=True)
    export.status, export.active_user_id = "pending", user.id
    db.session.flush()
    run_export.apply(args=(export_id,))
    export = db.session.get(Export, export_id, populate_existing=True)
    assert export.status == "done" and export.storage_key == f"exports/{user.id}/{export_id}.csv"
    storage = get_storage()
    files = list((storage.root / "exports" / str(user.id)).glob(f"{export_id}.csv"))
    assert len(files) == 1
    assert len(smtp.wait_for(2, timeout=1)) == 1


def test_excel_profile_bom_major_units_local_times_and_default_unchanged(
    app, client, auth, db, monkeypatch
):
    from datetime import UTC, datetime

    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Paris")
    owner = UserFactory(preferences={"timezone": "America/New_York"})
    BookingFactory(
        user=owner,
        started_at=datetime(2026, 10, 3, 15, 0, 0, 123456, tzinfo=UTC),
        ended_at=datetime(2026, 10, 3, 16, 30, tzinfo=UTC),
        cost_cents=1250,
        hourly_rate_cents=500,
        remarks="=1+2",
    )
    headers = auth(owner)
    created = client.post(
        "/api/v1/exports", json={"kind": "bookings", "profile": "excel"}, headers=headers
    )
    assert created.status_code == 202, created.get_json()
    export = client.get(f"/api/v1/exports/{created.get_json()['id']}", headers=headers).get_json()
    assert export["profile"] == "excel" and export["progress"] == 100
    url = f"/api/v1/exports/{export['id']}/download"

    excel = client.get(url, headers=headers).get_data()
    assert excel.startswith(b"\xef\xbb\xbf")
    [row] = list(csv.DictReader(io.StringIO(excel.decode("utf-8-sig"))))
    assert row["cost (USD)"] == "12.50" and row["hourly rate (USD)"] == "5.00"
    assert "cost_cents" not in row
    assert row["started_at"] == "2026-10-03 11:00:00"  # New York, no zone, no microseconds
    assert row["remarks"] == "'=1+2"  # formula injection still neutralised

    # The default profile, asked for on the same export, is the machine CSV byte for byte.
    default = client.get(f"{url}?profile=default", headers=headers).get_data()
    plain = client.post("/api/v1/exports", json={"kind": "bookings"}, headers=headers)
    again = client.get(f"/api/v1/exports/{plain.get_json()['id']}/download", headers=headers)
    assert again.get_data() == default
    assert default.startswith(b"id,lot_id,") and b"\xef\xbb\xbf" not in default
    assert b"2026-10-03T15:00:00.123456Z" in default and b",1250," in default
    # ... and the default export in the excel profile is the excel file.
    converted = client.get(
        f"/api/v1/exports/{plain.get_json()['id']}/download?profile=excel", headers=headers
    )
    assert converted.get_data() == excel
    assert client.get(f"{url}?profile=pdf", headers=headers).status_code == 422
    bad = client.post("/api/v1/exports", json={"kind": "bookings", "profile": "x"}, headers=headers)
    assert bad.status_code == 422


def test_excel_profile_falls_back_to_the_app_time_zone(app, client, auth, db, monkeypatch):
    from datetime import UTC, datetime

    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Berlin")
    owner = UserFactory(preferences={"timezone": "Not/A_Zone"})
    BookingFactory(user=owner, started_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
    headers = auth(owner)
    created = client.post("/api/v1/exports", json={"kind": "bookings"}, headers=headers)
    url = f"/api/v1/exports/{created.get_json()['id']}/download?profile=excel"
    [row] = list(
        csv.DictReader(io.StringIO(client.get(url, headers=headers).get_data().decode("utf-8-sig")))
    )
    assert row["started_at"] == "2026-07-01 10:00:00"


def test_progress_counts_rows_written_and_stays_below_100_until_done():
    from app.exports.rows import Progress

    tracker = Progress(total=4)
    rows = tracker.count(iter([("header",), (1,), (2,), (3,), (4,)]))
    assert tracker.percent == 0
    next(rows), next(rows), next(rows)
    assert tracker.percent == 50
    list(rows)
    assert tracker.percent == 99  # 100 only once the file is stored and the export done
    assert Progress(total=0).percent is None
