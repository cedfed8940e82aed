"""Caching of the lot list and admin stats: in Redis, invalidated by writes, harmless when down."""

from __future__ import annotations

import pickle
import threading
import time
import uuid

import flask_migrate
import pytest
import sqlalchemy as sa

from tests.conftest import MIGRATIONS, make_app, require
from tests.factories import LotFactory, UserFactory
from tests.support.net import free_port


def redis_app(tmp_path, redis_url):
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    app = make_app(
        url,
        REDIS_URL=redis_url,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=f"parkmind-test-{uuid.uuid4().hex[:12]}:",
    )
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS)
    return app


@pytest.fixture
def session_client(request, tmp_path):
    """A client of an app whose cache is ``request.param`` (a Redis URL)."""

    def build(redis_url):
        app = redis_app(tmp_path, redis_url)
        ctx = app.app_context()
        ctx.push()
        request.addfinalizer(ctx.pop)
        return app, app.test_client()

    return build


def login(client, user):
    from tests.factories import PASSWORD

    response = client.post(
        "/api/v1/auth/login", json={"login": user.username, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_redis_cache_serves_and_is_invalidated_by_booking(request, session_client):
    require("redis")
    flask_app, client = session_client("redis://127.0.0.1:6379/15")
    from app.platform import cache as cache_service
    from app.platform.extensions import db

    redis = cache_service.redis_client()
    pattern = f"{flask_app.config['CACHE_KEY_PREFIX']}*"
    request.addfinalizer(lambda: [redis.delete(key) for key in redis.keys(pattern)])

    lot = LotFactory(spots=2)
    driver, admin = UserFactory(), UserFactory(role="admin")
    db.session.commit()
    headers, admin_headers = login(client, driver), login(client, admin)

    first = client.get("/api/v1/lots", headers=headers).get_json()
    assert first["items"][0]["free_spots"] == 2
    keys = redis.keys(f"{flask_app.config['CACHE_KEY_PREFIX']}lots:*")
    assert len(keys) >= 2  # the version token and the page

    stats = client.get("/api/v1/admin/stats", headers=admin_headers).get_json()
    assert stats["occupied_spots"] == 0

    booked = client.post(
        "/api/v1/bookings", json={"lot_id": lot.id, "vehicle_number": "C1"}, headers=headers
    )
    assert booked.status_code == 201
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"][0]["free_spots"] == 1
    stats = client.get("/api/v1/admin/stats", headers=admin_headers).get_json()
    assert stats["occupied_spots"] == 1 and stats["active_bookings"] == 1

    client.post(f"/api/v1/bookings/{booked.get_json()['id']}/release", headers=headers)
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"][0]["free_spots"] == 2
    client.patch(f"/api/v1/admin/lots/{lot.id}", json={"total_spots": 5}, headers=admin_headers)
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"][0]["total_spots"] == 5


def test_redis_down_means_served_from_database(session_client):
    _app, client = session_client(f"redis://127.0.0.1:{free_port()}/0")
    from app.platform.extensions import db

    lot = LotFactory(spots=3)
    driver, admin = UserFactory(), UserFactory(role="admin")
    db.session.commit()
    headers = login(client, driver)

    listing = client.get("/api/v1/lots", headers=headers)
    booked = client.post(
        "/api/v1/bookings", json={"lot_id": lot.id, "vehicle_number": "C2"}, headers=headers
    )
    after = client.get("/api/v1/lots", headers=headers)
    stats = client.get("/api/v1/admin/stats", headers=login(client, admin))

    assert listing.status_code == 200 and listing.get_json()["items"][0]["free_spots"] == 3
    assert booked.status_code == 201
    assert after.get_json()["items"][0]["free_spots"] == 2
    assert stats.status_code == 200 and stats.get_json()["occupied_spots"] == 1


def _redis_only_app(request, tmp_path, **overrides):
    """An app context on a fresh key prefix in Redis, removed afterwards."""
    require("redis")
    app = redis_app(tmp_path, "redis://127.0.0.1:6379/15")
    app.config.update(overrides)
    from app.platform import cache as cache_service

    with app.app_context():
        redis = cache_service.redis_client()
    pattern = f"{app.config['CACHE_KEY_PREFIX']}*"
    request.addfinalizer(lambda: [redis.delete(key) for key in redis.keys(pattern)])
    return app


def test_a_miss_is_computed_once_while_concurrent_callers_wait(request, tmp_path):
    app = _redis_only_app(request, tmp_path)
    from app.platform import cache as cache_service

    callers = 8
    computed: list[int] = []
    results: list[dict] = []
    errors: list[BaseException] = []
    ready = threading.Barrier(callers)

    def compute() -> dict:
        computed.append(1)
        time.sleep(0.3)  # slow enough that every other caller misses meanwhile
        return {"computed": len(computed)}

    def caller() -> None:
        try:
            with app.app_context():
                ready.wait()
                results.append(cache_service.cached(cache_service.LOTS, {"page": 1}, compute))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(computed) == 1
    assert results == [{"computed": 1}] * callers


def test_a_missing_value_is_computed_when_the_filling_caller_never_delivers(request, tmp_path):
    app = _redis_only_app(request, tmp_path, CACHE_FILL_WAIT_SECONDS=0.3)
    from app.platform import cache as cache_service

    version = "0" * 32
    with app.app_context():
        lock = f"lots:abandoned:{version}:filling"
        redis, prefix = cache_service.redis_client(), app.config["CACHE_KEY_PREFIX"]
        assert redis.set(prefix + lock, 1, nx=True, ex=30)  # a holder that died mid-compute
        started = time.monotonic()
        value = cache_service._fill("lots", "abandoned", version, lambda: {"fresh": True}, 30)
        waited = time.monotonic() - started
        assert value == {"fresh": True}
        assert 0.3 <= waited < 2
        # The holder's lock is not this caller's to release or replace.
        assert redis.get(prefix + lock) == b"1"
        assert cache_service._read("lots", "abandoned", version) is None


def test_the_filling_lock_is_released_when_the_computation_fails(request, tmp_path):
    app = _redis_only_app(request, tmp_path)
    from app.platform import cache as cache_service

    def broken() -> dict:
        raise RuntimeError("database went away")

    version = "1" * 32
    lock = f"lots:broken:{version}:filling"
    with app.app_context():
        redis, prefix = cache_service.redis_client(), app.config["CACHE_KEY_PREFIX"]
        with pytest.raises(RuntimeError):
            cache_service._fill("lots", "broken", version, broken, 30)
        assert not redis.exists(prefix + lock)
        assert cache_service._fill("lots", "broken", version, lambda: {"ok": 1}, 30) == {"ok": 1}
        assert cache_service._read("lots", "broken", version) == {"ok": 1}
        assert cache_service._read("lots", "broken", "2" * 32) is None  # another version
        assert not redis.exists(prefix + lock)


def test_the_filling_lock_expires_on_its_own(request, tmp_path):
    app = _redis_only_app(request, tmp_path, CACHE_FILL_WAIT_SECONDS=1)
    from app.platform import cache as cache_service

    with app.app_context():
        lock = "lots:test-version:expiring:filling"
        assert cache_service._try_lock(lock, 2)
        assert not cache_service._try_lock(lock, 2)  # held
        redis = cache_service.redis_client()
        ttl = redis.ttl(f"{app.config['CACHE_KEY_PREFIX']}{lock}")
        assert 0 < ttl <= 2


def test_a_cached_read_is_one_round_trip_to_redis(request, tmp_path, monkeypatch):
    app = _redis_only_app(request, tmp_path)
    from app.platform import cache as cache_service

    with app.app_context():
        assert cache_service.cached(cache_service.LOTS, {"page": 1}, lambda: {"n": 1}) == {"n": 1}
        client = cache_service.redis_client()
        commands: list[str] = []
        real = client.execute_command

        def counting(*args, **kwargs):
            commands.append(str(args[0]))
            return real(*args, **kwargs)

        monkeypatch.setattr(client, "execute_command", counting)
        value = cache_service.cached(cache_service.LOTS, {"page": 1}, lambda: {"n": 2})
        assert value == {"n": 1}
        assert commands == ["MGET"]


def test_a_version_in_another_format_is_replaced(request, tmp_path):
    app = _redis_only_app(request, tmp_path)
    from app.platform import cache as cache_service

    with app.app_context():
        # As an earlier release stored it: pickled by cachelib ("!" and a pickle).
        old = b"!" + pickle.dumps("an-old-token")
        cache_service.redis_client().set(f"{app.config['CACHE_KEY_PREFIX']}lots:version", old)
        assert cache_service.cached(cache_service.LOTS, {"page": 1}, lambda: {"n": 1}) == {"n": 1}
        assert cache_service.cached(cache_service.LOTS, {"page": 1}, lambda: {"n": 2}) == {"n": 1}
        redis = cache_service.redis_client()
        stored = redis.get(f"{app.config['CACHE_KEY_PREFIX']}lots:version")
        assert cache_service._token(stored) is not None
        from app.platform.extensions import db

        cache_service.invalidate(cache_service.LOTS)
        db.session.commit()  # invalidation happens when the writer commits
        assert cache_service.cached(cache_service.LOTS, {"page": 1}, lambda: {"n": 3}) == {"n": 3}


@pytest.mark.parametrize(
    "value", [b'{"lots": []}', b"!starts like a pickle", {"n": 1}, [1, "a"], "text", b""]
)
def test_values_come_back_as_stored(value):
    from app.platform.cache import _dumps, _loads

    stored = _dumps(value)
    assert _loads(stored) == value
    assert type(_loads(stored)) is type(value)
    if isinstance(value, bytes) and value and not value.startswith(b"!"):
        assert stored == value  # a rendered body is stored as it is


def test_unreadable_values_are_misses():
    from app.platform.cache import _loads

    assert _loads(None) is None
    assert _loads(b"!not a pickle") is None


def test_a_write_invalidates_in_one_round_trip_after_its_commit(
    request, session_client, monkeypatch
):
    require("redis")
    flask_app, client = session_client("redis://127.0.0.1:6379/15")
    from app.platform import cache as cache_service
    from app.platform.extensions import db

    redis = cache_service.redis_client()
    pattern = f"{flask_app.config['CACHE_KEY_PREFIX']}*"
    request.addfinalizer(lambda: [redis.delete(key) for key in redis.keys(pattern)])
    lot = LotFactory(spots=2)
    driver = UserFactory()
    db.session.commit()
    headers = login(client, driver)
    assert client.get("/api/v1/lots", headers=headers).status_code == 200  # cached
    events: list[str] = []
    real = redis.execute_command

    def counting(*args, **kwargs):
        events.append(str(args[0]))
        return real(*args, **kwargs)

    def committed(connection):
        events.append("COMMIT")

    monkeypatch.setattr(redis, "execute_command", counting)
    sa.event.listen(db.engine, "commit", committed)
    try:
        booked = client.post(
            "/api/v1/bookings", json={"lot_id": lot.id, "vehicle_number": "C1"}, headers=headers
        )
    finally:
        sa.event.remove(db.engine, "commit", committed)
    assert booked.status_code == 201
    # Both namespaces the booking touches (lots, admin stats), in one MSET, after the commit.
    assert [event for event in events if event != "COMMIT"] == ["MSET"], events
    assert events.index("MSET") > events.index("COMMIT"), events
    monkeypatch.setattr(redis, "execute_command", real)
    assert client.get("/api/v1/lots", headers=headers).get_json()["items"][0]["free_spots"] == 1
