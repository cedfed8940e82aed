"""The personal-data export as the person gets it: POST /me/data-export, a ZIP with a JSON file
per domain, a README and the photos, compared with what the API shows them; another person's
data never in it; the e-mailed link works without signing in and expires."""

from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import parse_qs, urlsplit

import requests
import time_machine

from app.platform.personal_data import discover_parts
from tests.privacy.conftest import API, later


def fetch(client, backend: str, url: str):
    """GET a signed link the way a browser would: no Authorization header."""
    if backend == "s3":
        response = requests.get(url, timeout=10)
        return response.status_code, response.content
    response = client.get(urlsplit(url).path)
    return response.status_code, response.get_data()


def request_export(client, person) -> dict:
    response = client.post(f"{API}/me/data-export", json={}, headers=person.headers)
    assert response.status_code == 202, response.get_json()
    export = response.get_json()
    assert export["kind"] == "personal_data"
    assert response.headers["Location"].endswith(f"/api/v1/exports/{export['id']}")
    return client.get(f"{API}/exports/{export['id']}", headers=person.headers).get_json()


def download_zip(client, person, storage_backend, export_id: int) -> zipfile.ZipFile:
    response = client.get(f"{API}/exports/{export_id}/download", headers=person.headers)
    # Everything about a person leaves only through a short-lived signed link.
    assert response.status_code == 302
    status, data = fetch(client, storage_backend, response.headers["Location"])
    assert status == 200
    return zipfile.ZipFile(io.BytesIO(data))


def api_ids(client, person, path: str) -> set[int]:
    body = client.get(f"{API}{path}", headers=person.headers).get_json()
    return {item["id"] for item in body["items"]}


def test_export_holds_every_part_and_matches_what_the_api_shows(
    app, client, person, storage_backend, smtp, mailing
):
    export = request_export(client, person)
    assert export["status"] == "done", export
    archive = download_zip(client, person, storage_backend, export["id"])
    names = set(archive.namelist())
    with app.app_context():
        parts, _ = discover_parts()
    assert {f"{name}.json" for name in parts} | {"README.txt"} <= names
    files = {name: json.loads(archive.read(f"{name}.json")) for name in parts}

    readme = archive.read("README.txt").decode()
    for name, part in parts.items():
        assert f"{name}.json" in readme and part.about.split(":")[0] in readme

    profile = files["profile"]
    assert profile["email"] == "ada.lovelace@example.com"
    assert profile["phone"] == "+44 20 7946 0001"
    assert "password_hash" not in profile
    assert {s["id"] for s in files["sessions"]} and all(
        "refresh_jti" not in s for s in files["sessions"]
    )

    assert {b["id"] for b in files["bookings"]} == api_ids(client, person, "/bookings?per_page=100")
    assert {r["id"] for r in files["reservations"]} == api_ids(client, person, "/reservations")
    assert {p["id"] for p in files["payments"]} == api_ids(client, person, "/payments")
    events = client.get(f"{API}/parking-events", headers=person.headers).get_json()["items"]
    assert [(e["id"], e["notes"]) for e in files["parking_events"]] == [
        (e["id"], e["notes"]) for e in events
    ]
    assert [lm["name"] for lm in files["parking_events"][0]["landmarks"]] == ["Ada's green door"]
    assert len(files["retrieval_positions"]) == 1
    assert len(files["assistance_steps"]) == 1 and len(files["scores"]) == 1
    assert files["alerts"][0]["message"] == "Ada needs help"
    assert {n["id"] for n in files["notifications"]} == api_ids(client, person, "/notifications")
    assert [d["name"] for d in files["devices"]] == ["Ada's phone"]
    assert all("token" not in d and "auth" not in d for d in files["devices"])
    circle = files["circle"]
    assert [m["member_name"] for m in circle["my_circle"]] == ["Carl Carer"]
    assert [m["person_name"] for m in circle["circles_i_am_in"]] == ["Grace Hopper"]
    log = client.get(f"{API}/me/access-log", headers=person.headers).get_json()["items"]
    assert [e["id"] for e in files["access_log"]] == [e["id"] for e in log]
    assert [m["subject"] for m in files["emails"] if m["subject"] == "Hello Ada"] == ["Hello Ada"]
    assert len(files["stored_replies"]) == 1
    assert [e["kind"] for e in files["exports"]] == ["personal_data"]

    photos = {n: archive.read(n) for n in names if n.startswith("photos/")}
    assert sorted(photos.values()) == sorted(person.photos.values())
    for upload_id, data in person.photos.items():
        assert next(n for n, d in photos.items() if d == data).startswith(f"photos/{upload_id}-")

    text = b"".join(archive.read(n) for n in names if not n.startswith("photos/")).decode()
    for theirs in (
        "Someone Else",
        "NOT-MINE",
        "stranger's trip",
        "stranger parked by the river",
        person.stranger.email,
    ):
        assert theirs not in text

    [message] = smtp.wait_for(1, timeout=5)
    assert message["To"] == "ada.lovelace@example.com"
    assert message["Subject"] == "Your ParkMind data is ready to download"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+", body).group(0)
    assert link in message.get_body(("html",)).get_content().replace("&amp;", "&")
    status, data = fetch(client, storage_backend, link)
    assert status == 200
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == archive.namelist()
    if storage_backend == "s3":
        # moto does not enforce expiry (tests/support/s3.py): the signature carries it.
        assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == ["86400"]
    else:
        assert link.startswith("https://parkmind.example/api/v1/storage/files/")
        with time_machine.travel(later(24.1)):
            expired = client.get(urlsplit(link).path)
        assert expired.status_code == 403
        assert expired.get_json()["error"]["code"] == "signature_expired"


def test_one_export_at_a_time_and_another_user_cannot_read_it(
    client, auth, person, storage_backend
):
    export = request_export(client, person)
    again = client.post(f"{API}/me/data-export", json={"email": False}, headers=person.headers)
    assert again.status_code == 202  # the first one is done already
    other = auth(person.stranger)
    assert client.get(f"{API}/exports/{export['id']}", headers=other).status_code == 404
    assert client.get(f"{API}/exports/{export['id']}/download", headers=other).status_code == 404
    bad = client.post(f"{API}/me/data-export", json={"kind": "bookings"}, headers=person.headers)
    assert bad.status_code == 422
