"""The token check without SQL when Redis is there, and every revocation still refused at once.

Two apps share one database file and one Redis (one key prefix): two server processes. Tokens are
issued and revoked through one, and presented to the other.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import flask_migrate
import pytest
import redis as redis_lib
from sqlalchemy import event

from app.platform import session_cache
from app.privacy.service import CONFIRM_PHRASE
from tests.conftest import MIGRATIONS, make_app, require
from tests.factories import PASSWORD, UserFactory
from tests.support.net import free_port

API = "/api/v1"
REDIS_URL = "redis://127.0.0.1:6379/15"
ROUTE = f"{API}/parking-events"  # reads only parking events: no user or session row of its own


def _app(database_url: str, redis_url: str | None, prefix: str):
    # Two apps on one SQLite file stand for two processes on one database server: token checks
    # are remembered as they are on MariaDB and PostgreSQL (``auto`` leaves SQLite to itself).
    overrides = {"CACHE_KEY_PREFIX": prefix, "SESSION_CHECK_CACHE": "on"}
    if redis_url is not None:
        overrides.update(REDIS_URL=redis_url, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url)
    return make_app(database_url, **overrides)


class Process:
    """One app (a server process) with its test client, counting its SQL statements."""

    def __init__(self, app) -> None:
        self.app, self.client, self.statements = app, app.test_client(), []
        from app.platform.extensions import db

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def auth_queries(self, headers: dict) -> tuple[int, list[str]]:
        """The status of an authenticated GET and the session or user reads it ran."""
        self.statements.clear()
        status = self.client.get(ROUTE, headers=headers).status_code
        reads = [
            sql
            for sql in self.statements
            if "auth_sessions" in sql or "FROM users" in sql or "JOIN users" in sql
        ]
        return status, reads

    def login(self, user, password: str = PASSWORD) -> dict:
        response = self.client.post(
            f"{API}/auth/login", json={"login": user.username, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def processes(request, tmp_path):
    """``processes(redis_url)`` → two apps on one SQLite file sharing Redis (or not)."""

    def build(redis_url: str | None = REDIS_URL) -> tuple[Process, Process]:
        if redis_url == REDIS_URL:
            require("redis")
        database_url = f"sqlite:///{tmp_path / 'shared.db'}"
        prefix = f"parkmind-test-{uuid.uuid4().hex[:12]}:"
        first = _app(database_url, redis_url, prefix)
        with first.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS)
        second = _app(database_url, redis_url, prefix)
        if redis_url == REDIS_URL:
            client = redis_lib.Redis.from_url(REDIS_URL)
            request.addfinalizer(
                lambda: [client.delete(key) for key in client.keys(f"{prefix}*")] and None
            )
        return Process(first), Process(second)

    return build


def make_user(process: Process, **kwargs):
    from app.platform.extensions import db

    with process.app.app_context():
        user = UserFactory(**kwargs)
        db.session.commit()
        return SimpleNamespace(id=user.id, username=user.username)


def warm(process: Process, headers: dict) -> None:
    """The first request checks SQL and remembers; the next one reads no session or user row."""
    assert process.auth_queries(headers)[0] == 200
    status, reads = process.auth_queries(headers)
    assert status == 200
    assert reads == [], reads


def refused(process: Process, headers: dict) -> None:
    response = process.client.get(ROUTE, headers=headers)
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "token_revoked"


# --- (a) no SQL on the hot path ----------------------------------------------------------------


def test_an_authenticated_request_reads_no_session_or_user_row_with_redis(processes):
    one, two = processes()
    user = make_user(one)
    headers = bearer(one.login(user)["access_token"])
    warm(one, headers)
    warm(two, headers)
    # The statements left are the route's own.
    status, _ = two.auth_queries(headers)
    assert status == 200
    assert two.statements and not any("auth_sessions" in sql for sql in two.statements)


def test_the_role_comes_from_the_remembered_check(processes):
    one, two = processes()
    admin = make_user(one, role="admin")
    user = make_user(one)
    admin_headers = bearer(one.login(admin)["access_token"])
    user_headers = bearer(one.login(user)["access_token"])
    for _ in range(2):
        assert two.client.get(f"{API}/admin/users", headers=admin_headers).status_code == 200
        assert two.client.get(f"{API}/admin/users", headers=user_headers).status_code == 403


# --- (b) every revocation is refused on the next request, on every process ---------------------


def test_logout(processes):
    one, two = processes()
    user = make_user(one)
    tokens = one.login(user)
    other = one.login(user)  # a second device, logged out by its refresh token
    headers, other_headers = bearer(tokens["access_token"]), bearer(other["access_token"])
    for process in (one, two):
        warm(process, headers)
        warm(process, other_headers)
    response = one.client.post(
        f"{API}/auth/logout", headers=headers, json={"refresh_token": other["refresh_token"]}
    )
    assert response.status_code == 204
    for process in (two, one):
        refused(process, headers)
        refused(process, other_headers)
    assert (
        two.client.post(f"{API}/auth/refresh", headers=bearer(tokens["refresh_token"])).status_code
        == 401
    )


def test_refresh_token_reuse(processes):
    one, two = processes()
    user = make_user(one)
    first = one.login(user)
    rotated = one.client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"]))
    assert rotated.status_code == 200
    headers = bearer(rotated.get_json()["access_token"])
    warm(two, headers)
    warm(one, headers)
    reuse = two.client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"]))
    assert reuse.status_code == 401
    refused(one, headers)
    refused(two, headers)


def test_password_change_revokes_the_other_sessions(processes):
    one, two = processes()
    user = make_user(one)
    phone, laptop = one.login(user), one.login(user)
    phone_headers, laptop_headers = bearer(phone["access_token"]), bearer(laptop["access_token"])
    for process in (one, two):
        warm(process, phone_headers)
        warm(process, laptop_headers)
    response = one.client.post(
        f"{API}/me/password",
        headers=laptop_headers,
        json={"current_password": PASSWORD, "new_password": "a-brand-new-secret"},
    )
    assert response.status_code == 204
    refused(two, phone_headers)
    refused(one, phone_headers)
    assert two.client.get(ROUTE, headers=laptop_headers).status_code == 200
    warm(two, laptop_headers)


def test_erasing_my_account(processes):
    one, two = processes()
    user = make_user(one)
    headers = bearer(one.login(user)["access_token"])
    warm(one, headers)
    warm(two, headers)
    response = one.client.delete(
        f"{API}/me", headers=headers, json={"password": PASSWORD, "confirm": CONFIRM_PHRASE}
    )
    assert response.status_code == 204, response.get_json()
    refused(two, headers)
    refused(one, headers)


@pytest.mark.parametrize("how", ["deactivate", "erase"])
def test_an_admin_deactivating_or_erasing_a_user(processes, how):
    one, two = processes()
    admin, user = make_user(one, role="admin"), make_user(one)
    admin_headers = bearer(one.login(admin)["access_token"])
    headers = bearer(one.login(user)["access_token"])
    warm(one, headers)
    warm(two, headers)
    if how == "deactivate":
        response = one.client.patch(
            f"{API}/admin/users/{user.id}", headers=admin_headers, json={"is_active": False}
        )
        assert response.status_code == 200
    else:
        response = one.client.delete(f"{API}/admin/users/{user.id}", headers=admin_headers)
        assert response.status_code == 204
    refused(two, headers)
    refused(one, headers)


def test_a_role_change_applies_on_the_next_request(processes):
    one, two = processes()
    admin, other = make_user(one, role="admin"), make_user(one)
    admin_headers = bearer(one.login(admin)["access_token"])
    other_headers = bearer(one.login(other)["access_token"])
    assert two.client.get(f"{API}/admin/users", headers=other_headers).status_code == 403
    assert two.client.get(f"{API}/admin/users", headers=admin_headers).status_code == 200
    promoted = one.client.patch(
        f"{API}/admin/users/{other.id}", headers=admin_headers, json={"role": "admin"}
    )
    assert promoted.status_code == 200
    assert two.client.get(f"{API}/admin/users", headers=other_headers).status_code == 200
    demoted = two.client.patch(
        f"{API}/admin/users/{admin.id}", headers=other_headers, json={"role": "user"}
    )
    assert demoted.status_code == 200
    assert one.client.get(f"{API}/admin/users", headers=admin_headers).status_code == 403
    assert two.client.get(f"{API}/admin/users", headers=admin_headers).status_code == 403


def test_a_change_made_outside_a_request_is_seen(processes):
    """A script or CLI (another process) deactivating a user in the database directly."""
    one, two = processes()
    user = make_user(one)
    headers = bearer(one.login(user)["access_token"])
    warm(two, headers)
    from app.accounts.models import User
    from app.platform.extensions import db

    with one.app.app_context():
        db.session.get(User, user.id).is_active = False
        db.session.commit()
    refused(two, headers)


@pytest.mark.parametrize("known", [False, True], ids=["first-check", "user-known"])
def test_a_check_filled_from_data_older_than_a_revocation_never_counts(processes, known):
    """The fill race: a request reads the versions, checks SQL, and a logout commits before it
    stores its answer. That answer must not make the revoked token work, whether the versions
    existed at the read or the fill has to create them."""
    one, two = processes()
    user = make_user(one)
    if known:
        warm(two, bearer(one.login(user)["access_token"]))  # another session of the same user
    tokens = one.login(user)
    headers = bearer(tokens["access_token"])
    from flask_jwt_extended import decode_token

    with two.app.app_context():
        sid = decode_token(tokens["access_token"])["sid"]
        before = session_cache.read(sid, user.id)  # versions read, then the SQL said "live"
    assert one.client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    with two.app.app_context():
        session_cache.store(sid, user.id, "user", before)  # the late fill
    refused(two, headers)
    refused(one, headers)


def test_a_check_read_while_a_revocation_commits_never_counts(processes):
    """The other fill race: a request reads the versions after the revocation was written but
    before it committed, so its SQL still says "live". The replacement after the commit voids
    that answer."""
    one, two = processes()
    user = make_user(one)
    tokens = one.login(user)
    headers = bearer(tokens["access_token"])
    warm(two, bearer(one.login(user)["access_token"]))  # the user's version exists
    from flask_jwt_extended import decode_token

    from app.accounts.models import AuthSession
    from app.platform.extensions import db
    from app.platform.models import utcnow

    with one.app.app_context():
        sid = decode_token(tokens["access_token"])["sid"]
        db.session.get(AuthSession, sid).revoked_at = utcnow()
        db.session.flush()  # written, not committed
        with two.app.app_context():
            during = session_cache.read(sid, user.id)
        db.session.commit()
    with two.app.app_context():
        session_cache.store(sid, user.id, "user", during)  # the SQL answer from before the commit
    refused(two, headers)


# --- (c) Redis down: the database decides ------------------------------------------------------


def test_without_a_reachable_redis_every_revocation_is_still_refused(processes):
    one, two = processes(f"redis://127.0.0.1:{free_port()}/0")
    user = make_user(one)
    tokens, phone = one.login(user), one.login(user)
    headers, phone_headers = bearer(tokens["access_token"]), bearer(phone["access_token"])
    status, reads = two.auth_queries(headers)
    assert status == 200 and reads  # checked in SQL
    response = one.client.post(
        f"{API}/me/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "a-brand-new-secret"},
    )
    assert response.status_code == 204
    refused(two, phone_headers)
    assert one.client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    refused(two, headers)
    refused(one, headers)


def test_redis_failing_after_the_check_was_remembered(processes):
    """Redis goes away on one process after it remembered a check: it asks the database."""
    one, two = processes()
    user = make_user(one)
    headers = bearer(one.login(user)["access_token"])
    warm(two, headers)
    with two.app.app_context():
        dead = redis_lib.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
        session_cache._state().client = dead
    assert one.client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    refused(two, headers)


def test_a_revocation_redis_missed_voids_every_remembered_check(processes):
    """Redis did not answer while a process wrote a revocation, then answers again: before that
    process trusts Redis again it voids every remembered check, for every process."""
    one, two = processes()
    user = make_user(one)
    headers = bearer(one.login(user)["access_token"])
    warm(one, headers)
    with one.app.app_context():
        state = session_cache._state()
        live = state.client
        state.client = redis_lib.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    assert one.client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    with one.app.app_context():
        state.client = live
        state.retry_at = 0.0  # Redis is back
    refused(one, headers)
    refused(two, headers)  # the epoch was replaced before `one` trusted Redis again


@pytest.mark.parametrize(
    ("database", "setting", "remembered"),
    [
        ("sqlite:///:memory:", "auto", None),
        ("sqlite:///:memory:", "on", "all"),
        ("mysql+pymysql://root@127.0.0.1:3306/parkmind", "auto", "all"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/parkmind", "auto", "all"),
        ("mysql+pymysql://root@127.0.0.1:3306/parkmind", "off", None),
    ],
)
def test_token_checks_are_remembered_on_database_servers_by_default(database, setting, remembered):
    """On SQLite the check is an in-process query, cheaper than a Redis round trip."""
    from app.platform import session_cache

    app = make_app(
        database,
        REDIS_URL="redis://127.0.0.1:6379/0",
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL="redis://127.0.0.1:6379/0",
        SESSION_CHECK_CACHE=setting,
    )
    with app.app_context():
        assert session_cache.mode() == remembered
        assert session_cache.enabled() is (remembered is not None)
    without_redis = make_app(database, SESSION_CHECK_CACHE="on")
    with without_redis.app_context():
        assert session_cache.enabled() is False


def test_on_sqlite_a_write_views_token_check_is_one_query_before_its_transaction(
    request, tmp_path, monkeypatch
):
    """``auto`` on SQLite: the token check is a query (no Redis read), sent before the write
    view's transaction begins; that transaction is the request's only one (no read transaction
    opened and rolled back before ``BEGIN IMMEDIATE``). A revoked session is refused at once."""
    require("redis")
    database_url = f"sqlite:///{tmp_path / 'writes.db'}"
    prefix = f"parkmind-test-{uuid.uuid4().hex[:12]}:"
    app = make_app(
        database_url,
        CACHE_KEY_PREFIX=prefix,
        REDIS_URL=REDIS_URL,
        CACHE_TYPE="RedisCache",
        CACHE_REDIS_URL=REDIS_URL,
    )
    client = redis_lib.Redis.from_url(REDIS_URL)
    request.addfinalizer(lambda: [client.delete(key) for key in client.keys(f"{prefix}*")] and None)
    with app.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS)
    process = Process(app)
    user = make_user(process)
    tokens = process.login(user)
    headers = bearer(tokens["access_token"])
    body = {"latitude": 12.97, "longitude": 77.59, "notes": "Level 2"}

    def session_reads(method: str) -> tuple[int, list[str]]:
        process.statements.clear()
        if method == "POST":
            status = process.client.post(ROUTE, json=body, headers=headers).status_code
        else:
            status = process.client.get(ROUTE, headers=headers).status_code
        return status, [sql for sql in process.statements if "auth_sessions" in sql]

    redis_reads = []
    mget = redis_lib.Redis.mget

    def counting(self, *args, **kwargs):
        redis_reads.append(args)
        return mget(self, *args, **kwargs)

    monkeypatch.setattr(redis_lib.Redis, "mget", counting)
    for _ in range(2):
        status, reads = session_reads("POST")
        assert (status, len(reads)) == (201, 1)
        begins = [sql for sql in process.statements if sql.startswith(("BEGIN", "ROLLBACK"))]
        assert process.statements[0] == reads[0], process.statements[:3]
        assert process.statements[1] == "BEGIN IMMEDIATE"
        assert begins == ["BEGIN IMMEDIATE"]
    status, reads = session_reads("GET")
    assert status == 200 and len(reads) == 1
    assert redis_reads == []
    logout = process.client.post(
        f"{API}/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert logout.status_code == 204
    assert session_reads("POST")[0] == 401
