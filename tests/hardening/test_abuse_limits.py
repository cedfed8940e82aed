"""Abuse limits: rate limits, capped sizes and ranges, bounded ids, safe CSV cells, headers.

Each limit is checked the way an abuser meets it: through the HTTP API, and answered in the one
error shape with the documented status (429 with ``Retry-After``, 413, 422, 409, 404).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests.factories import PASSWORD, BookingFactory, ExportFactory, LotFactory, UserFactory

API = "/api/v1"
HUGE_ID = "99999999999999999999"


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    assert response.mimetype == "application/json", response.get_data()[:300]
    error = response.get_json()["error"]
    assert error["status"] == status
    if code is not None:
        assert error["code"] == code, error
    return error


# --- rate limits --------------------------------------------------------------------------------


@pytest.fixture
def limited(tmp_path):
    """``limited(**limits)`` → a client of an app with rate limits on, on a database of its own."""
    from tests.conftest import make_app
    from tests.support.celery_worker import _restore_celery_current_app
    from tests.support.live_server import migrated_database

    with migrated_database("sqlite", tmp_path) as url, _restore_celery_current_app():
        apps = []

        def build(**limits):
            app = make_app(
                url,
                RATELIMIT_ENABLED=True,
                RATELIMIT_STORAGE_URI="memory://",
                RATELIMIT_KEY_PREFIX=f"abuse-{uuid.uuid4().hex[:8]}",
                **limits,
            )
            apps.append(app)
            return app

        yield build
        for app in apps:
            with app.app_context():
                from app.platform.extensions import db

                db.session.remove()
                db.engine.dispose()


def assert_rate_limited(response) -> None:
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_login_is_rate_limited_per_address(limited):
    app = limited(LOGIN_RATE_LIMIT="3 per minute", LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
    client = app.test_client()
    guesses = [
        client.post(f"{API}/auth/login", json={"login": f"victim{n}", "password": "guess-1234"})
        for n in range(4)
    ]
    assert [r.status_code for r in guesses[:3]] == [401, 401, 401]
    assert_rate_limited(guesses[3])


def test_login_is_rate_limited_per_account_across_addresses(limited):
    app = limited(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    client = app.test_client()
    guesses = [
        client.post(
            f"{API}/auth/login",
            json={"login": "Victim", "password": "guess-1234"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        )
        for n in range(3)
    ]
    assert [r.status_code for r in guesses[:2]] == [401, 401]
    assert_rate_limited(guesses[2])


def test_registration_is_rate_limited(limited):
    client = limited(REGISTER_RATE_LIMIT="2 per minute").test_client()

    def register(n: int):
        return client.post(
            f"{API}/auth/register",
            json={"username": f"flood{n}", "email": f"flood{n}@example.com", "password": "p" * 12},
        )

    assert [register(n).status_code for n in range(2)] == [201, 201]
    assert_rate_limited(register(2))


def test_booking_is_rate_limited(limited):
    app = limited(BOOKING_RATE_LIMIT="2 per minute")
    with app.app_context():
        from app.platform.extensions import db

        driver = UserFactory()
        lot_id = LotFactory(spots=2).id
        db.session.commit()
        username = driver.username
    client = app.test_client()
    token = client.post(f"{API}/auth/login", json={"login": username, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    body = {"lot_id": lot_id, "vehicle_number": "KA01RL0001"}
    first = client.post(f"{API}/bookings", json=body, headers=headers)
    second = client.post(f"{API}/bookings", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 409)
    assert_rate_limited(client.post(f"{API}/bookings", json=body, headers=headers))


# --- sizes, pages and ranges --------------------------------------------------------------------

LISTS = (
    "/lots",
    "/bookings",
    "/exports",
    "/notifications",
    "/parking-events",
    "/scores",
    "/admin/users",
    "/admin/bookings",
    "/admin/lots",
)


@pytest.mark.parametrize("path", LISTS)
def test_per_page_is_capped_at_100(client, auth, admin, path):
    headers = auth(admin)
    error = assert_error(client.get(f"{API}{path}?per_page=1000", headers=headers), 422)
    assert "per_page" in error["fields"]
    assert client.get(f"{API}{path}?per_page=100", headers=headers).status_code == 200


def test_request_body_is_capped_with_413_json(client, auth, user):
    big = {"login": "x" * (2 * 1024 * 1024), "password": "whatever-password"}
    assert_error(client.post(f"{API}/auth/login", json=big), 413, "payload_too_large")
    headers = auth(user)
    booking = {"lot_id": 1, "vehicle_number": "KA01", "remarks": "r" * (2 * 1024 * 1024)}
    assert_error(client.post(f"{API}/bookings", json=booking, headers=headers), 413)


def test_export_range_is_capped_at_366_days(client, auth, user):
    now = utcnow()
    body = {
        "kind": "bookings",
        "from": (now - timedelta(days=400)).isoformat().replace("+00:00", "Z"),
        "to": now.isoformat().replace("+00:00", "Z"),
    }
    response = client.post(f"{API}/exports", json=body, headers=auth(user))
    assert_error(response, 422, "validation_error")


def test_second_export_while_one_is_pending_is_409(client, auth, user):
    ExportFactory(user=user, status="pending", active_user_id=user.id)
    response = client.post(f"{API}/exports", json={"kind": "bookings"}, headers=auth(user))
    assert_error(response, 409, "export_in_progress")


def test_upload_size_is_capped_at_10_mb(client, auth, user):
    headers = auth(user)
    body = {"purpose": "avatar", "content_type": "image/png", "size_bytes": 10 * 1024 * 1024 + 1}
    error = assert_error(client.post(f"{API}/uploads", json=body, headers=headers), 422)
    assert "size_bytes" in error.get("fields", {}), error
    body["size_bytes"] = 10 * 1024 * 1024
    assert client.post(f"{API}/uploads", json=body, headers=headers).status_code == 201


# --- ids ----------------------------------------------------------------------------------------


def int_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) of the URL map with an ``<id:...>`` part, filled with a huge id."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API) or "<id:" not in rule.rule:
            continue
        path = re.sub(r"<id:[^>]+>", HUGE_ID, rule.rule)
        assert "<" not in path, rule.rule  # only int parts; another converter needs a value here
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_int_routes_are_found(app):
    assert len(int_routes(app)) >= 20


def test_huge_ids_are_404_json_on_every_int_route(app, client, auth, admin, user):
    """Ids beyond the database's integer range are not found, never a 500 (owner and admin)."""
    failures = []
    for role, headers in (("user", auth(user)), ("admin", auth(admin))):
        for method, path in int_routes(app):
            response = client.open(path, method=method, json={}, headers=headers)
            # A write's body is validated before its id is looked up: 422 is as good as 404.
            allowed = {404} if method in ("GET", "DELETE") else {404, 422}
            if role == "user" and path.startswith(f"{API}/admin/"):
                allowed = allowed | {403}
            ok = response.status_code in allowed and response.mimetype == "application/json"
            if not ok:
                failures.append((role, method, path, response.status_code))
    assert not failures, failures


def test_huge_ids_in_query_and_body_are_422_not_500(client, auth, admin):
    headers = auth(admin)
    for path in ("/admin/bookings?lot_id=", "/admin/bookings?user_id="):
        assert_error(client.get(f"{API}{path}{HUGE_ID}", headers=headers), 422)
    body = {"lot_id": int(HUGE_ID), "vehicle_number": "KA01HG0001"}
    assert_error(client.post(f"{API}/bookings", json=body, headers=headers), 422)


# --- CSV cells ----------------------------------------------------------------------------------

FORMULAS = ("=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1:A9)")


def test_csv_cells_that_look_like_formulas_are_neutralised(client, auth, user):
    for n, formula in enumerate(FORMULAS):
        BookingFactory(
            user=user,
            vehicle_number=formula,
            remarks=FORMULAS[(n + 1) % len(FORMULAS)],
            started_at=utcnow() - timedelta(hours=3 + n),
        )
    headers = auth(user)
    created = client.post(f"{API}/exports", json={"kind": "bookings"}, headers=headers)
    assert created.status_code == 202, created.get_json()
    download = client.get(f"{API}/exports/{created.get_json()['id']}/download", headers=headers)
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert len(rows) == len(FORMULAS)
    cells = sorted(row["vehicle_number"] for row in rows)
    assert cells == sorted("'" + formula for formula in FORMULAS)
    assert sorted(row["remarks"] for row in rows) == cells
    for row in rows:  # numbers stay numbers (a cost is not text)
        assert not row["cost_cents"].startswith("'")


# --- headers ------------------------------------------------------------------------------------


def test_private_responses_are_not_stored_by_caches(client, auth, user):
    headers = auth(user)
    for path in ("/me", "/bookings", "/lots", "/exports", "/notifications", "/me/stats"):
        response = client.get(f"{API}{path}", headers=headers)
        assert response.status_code == 200, path
        assert "no-store" in response.headers.get("Cache-Control", ""), path
    login = client.post(f"{API}/auth/login", json={"login": user.username, "password": PASSWORD})
    assert login.headers["Cache-Control"] == "no-store"  # tokens
    assert client.get(f"{API}/me").headers["Cache-Control"] == "no-store"  # errors too


def test_every_response_says_nosniff(client, auth, user):
    headers = auth(user)
    responses = {
        "health": client.get(f"{API}/health"),
        "json": client.get(f"{API}/me", headers=headers),
        "401": client.get(f"{API}/me"),
        "404 api": client.get(f"{API}/no-such-thing"),
        "404 outside api": client.get("/no-such-thing"),
        "405": client.delete(f"{API}/health"),
        "413": client.post(f"{API}/auth/login", data="x" * (2 * 1024 * 1024)),
        "400": client.post(f"{API}/auth/login", data="{not json", content_type="application/json"),
        "openapi": client.get("/api/openapi.json"),
        "docs": client.get("/api/docs"),
    }
    missing = [
        name
        for name, response in responses.items()
        if response.headers.get("X-Content-Type-Options") != "nosniff"
    ]
    assert not missing, missing
    assert all(r.status_code < 500 for r in responses.values())


def test_the_per_account_limit_counts_the_account_not_the_spelling(limited):
    app = limited(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
    client = app.test_client()

    def guess(login: str, n: int):
        return client.post(
            f"{API}/auth/login",
            json={"login": login, "password": "guess-1234"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        )

    assert [guess("Victim", n).status_code for n in range(2)] == [401, 401]
    full_width = "".join(chr(ord(char) + 0xFEE0) for char in "VICTIM")  # U+FF36 ...
    for n, spelling in enumerate((full_width, "vic\u200btim", " victim ", "VICTIM")):
        assert_rate_limited(guess(spelling, 10 + n))
