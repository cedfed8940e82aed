"""The benchmark's same-work baseline answers with the app's fields: when the contract grows
(a new field in a lot, a booking, a dashboard), a baseline left behind would do less work than
the app and its ratios would flatter the baseline."""

from __future__ import annotations

import importlib
import sys
import uuid

import pytest


def shape(value):
    """The keys of every object in ``value`` (lists by their first item), recursively."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


@pytest.fixture
def apps(tmp_path, monkeypatch):
    """The app and the same-work baseline on one tiny seeded SQLite database, and tokens."""
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    secret = uuid.uuid4().hex * 2
    for name, value in {
        "DATABASE_URL": url,
        "JWT_SECRET_KEY": secret,
        "SECRET_KEY": secret,
        "APP_ENV": "testing",
        "PARKMIND_INSTANCE_PATH": str(tmp_path),
        "RATELIMIT_ENABLED": "false",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    from flask_jwt_extended import create_access_token

    from app import create_app
    from app.accounts.models import AuthSession
    from app.platform.extensions import db
    from app.platform.models import utcnow
    from bench.seed import seed

    app = create_app(overrides={"SQLALCHEMY_DATABASE_URI": url, "JWT_SECRET_KEY": secret})
    seeded = seed(app, 0.005, clients=2)
    tokens = {}
    with app.app_context():
        for user_id in (seeded.client_ids[0], seeded.admin_id):
            session = AuthSession(
                id=str(uuid.uuid4()),
                user_id=user_id,
                refresh_jti=str(uuid.uuid4()),
                created_at=utcnow(),
                last_used_at=utcnow(),
                expires_at=utcnow() + app.config["JWT_REFRESH_TOKEN_EXPIRES"],
            )
            db.session.add(session)
            role = "admin" if user_id == seeded.admin_id else "user"
            tokens[role] = create_access_token(
                identity=str(user_id), additional_claims={"sid": session.id, "role": role}
            )
        db.session.commit()
    sys.modules.pop("bench.baselines.same_work", None)
    baseline = importlib.import_module("bench.baselines.same_work")
    yield app, baseline.app, tokens, seeded
    sys.modules.pop("bench.baselines.same_work", None)


def test_the_baseline_answers_every_measured_read_with_the_apps_fields(apps):
    app, baseline, tokens, seeded = apps
    paths = {
        "/api/v1/lots": "user",
        f"/api/v1/lots/{seeded.lot_ids_sample[0]}": "user",
        "/api/v1/bookings": "user",
        "/api/v1/parking-events/latest-active": "user",
        "/api/v1/admin/stats": "admin",
    }
    for path, role in paths.items():
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        mine = app.test_client().get(path, headers=headers)
        theirs = baseline.test_client().get(path, headers=headers)
        assert mine.status_code == theirs.status_code == 200, (path, theirs.get_data()[:300])
        assert shape(theirs.get_json()) == shape(mine.get_json()), path


def test_the_seeded_database_keeps_its_dashboard_counters(apps):
    """The seeder loads without the counter triggers, then recounts and restores them: the
    counters equal the tables, and the next booking moves them."""
    app, _baseline, tokens, seeded = apps
    from app.platform import rollups
    from app.platform.extensions import db

    with app.app_context():
        connection = db.session.connection()
        assert rollups.drift(connection) == {}
        before = rollups.kept(connection)
        db.session.rollback()
    assert before["spots"] > 0 and before["occupied_spots"] > 0 and before["users"] > 0
    booked = app.test_client().post(
        "/api/v1/bookings",
        json={"lot_id": seeded.lot_ids_sample[0], "vehicle_number": "KA-9"},
        headers={"Authorization": f"Bearer {tokens['user']}"},
    )
    assert booked.status_code == 201, booked.get_json()
    with app.app_context():
        after = rollups.kept(db.session.connection())
    assert after["active_bookings"] == before["active_bookings"] + 1
    assert after["occupied_spots"] == before["occupied_spots"] + 1


def test_the_baselines_booking_passes_over_a_reserved_spot_as_the_app_does(apps):
    """The app's walk-in never takes a spot reserved within its horizon (a query condition and
    a re-check in the UPDATE); the baseline does the same work, so both book the spot after a
    reserved one, and neither takes the reserved spot."""
    from datetime import timedelta

    from sqlalchemy import select

    from app.lots.models import Spot
    from app.platform.extensions import db
    from app.platform.models import utcnow
    from app.reservations.models import Reservation

    app, baseline, tokens, seeded = apps
    lot_id = seeded.lot_ids_sample[0]
    headers = {"Authorization": f"Bearer {tokens['user']}"}
    with app.app_context():
        free = db.session.scalars(
            select(Spot)
            .where(Spot.lot_id == lot_id, Spot.is_occupied.is_(False), Spot.status == "available")
            .order_by(Spot.number)
            .limit(2)
        ).all()
        reserved, next_free = free[0].id, free[1].id
        start = utcnow() + timedelta(hours=1)
        db.session.add(
            Reservation(
                user_id=seeded.admin_id,
                lot_id=lot_id,
                spot_id=reserved,
                vehicle_number="KA-RES",
                status="confirmed",
                start_at=start,
                end_at=start + timedelta(hours=2),
                hourly_rate_cents=100,
                billing_increment_minutes=15,
                free_minutes=0,
                daily_max_cents=None,
                amount_cents=200,
                currency="USD",
            )
        )
        db.session.commit()
    taken = []
    for client in (app.test_client(), baseline.test_client()):
        booked = client.post(
            "/api/v1/bookings", json={"lot_id": lot_id, "vehicle_number": "KA-9"}, headers=headers
        )
        assert booked.status_code == 201, booked.get_data()[:300]
        taken.append(booked.get_json()["spot"]["id"])
        released = client.post(
            f"/api/v1/bookings/{booked.get_json()['id']}/release", headers=headers
        )
        assert released.status_code == 200, released.get_data()[:300]
    assert taken == [next_free, next_free]
