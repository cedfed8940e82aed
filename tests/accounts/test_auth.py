"""Every auth path of the contract: register, login, refresh rotation, logout, /me, password."""

from __future__ import annotations

from datetime import timedelta

import jwt as pyjwt
import pytest
import time_machine

from app.accounts.models import AuthSession, User
from tests.factories import PASSWORD, UserFactory

API = "/api/v1"


def login(client, login_name, password=PASSWORD):
    return client.post(f"{API}/auth/login", json={"login": login_name, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_401(response, code: str | None = None) -> None:
    assert response.status_code == 401, response.get_json()
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = response.get_json()["error"]
    assert body["status"] == 401
    if code:
        assert body["code"] == code


class TestRegister:
    def test_register_creates_user_without_password_hash(self, client, db):
        response = client.post(
            f"{API}/auth/register",
            json={
                "username": "maria",
                "email": "Maria@Example.com",
                "password": "long-enough",
                "full_name": "Maria K",
                "phone": "+44 20 7946 0000",
            },
        )
        assert response.status_code == 201
        body = response.get_json()
        assert body["username"] == "maria"
        assert body["email"] == "maria@example.com"
        assert body["role"] == "user"
        assert "password" not in body and "password_hash" not in body
        assert response.headers["Location"].endswith("/api/v1/me")
        stored = db.session.get(User, body["id"])
        assert stored.password_hash.startswith("$argon2id$")

    def test_short_password_is_422_with_fields(self, client, db):
        response = client.post(
            f"{API}/auth/register",
            json={"username": "bob", "email": "b@e.com", "password": "short"},
        )
        assert response.status_code == 422
        assert "password" in response.get_json()["error"]["fields"]

    def test_role_cannot_be_mass_assigned(self, client, db):
        response = client.post(
            f"{API}/auth/register",
            json={
                "username": "eve",
                "email": "e@e.com",
                "password": "long-enough",
                "role": "admin",
            },
        )
        assert response.status_code == 422
        assert response.get_json()["error"]["fields"] == {"role": ["Unknown field."]}
        assert db.session.query(User).filter_by(username="eve").count() == 0

    @pytest.mark.parametrize("field", ["username", "email"])
    def test_duplicates_conflict(self, client, user, field):
        payload = {"username": "fresh", "email": "fresh@example.com", "password": "long-enough"}
        payload[field] = getattr(user, field)
        response = client.post(f"{API}/auth/register", json=payload)
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] in {"username_taken", "email_taken"}


class TestLogin:
    def test_login_by_username_and_by_email(self, client, user):
        for name in (user.username, user.email.upper()):
            response = login(client, name)
            assert response.status_code == 200
            body = response.get_json()
            assert body["token_type"] == "Bearer"
            assert body["expires_in"] == 900
            assert body["user"]["id"] == user.id
            assert body["access_token"] and body["refresh_token"]

    def test_unknown_user_and_wrong_password_look_the_same(self, client, user):
        wrong = login(client, user.username, "not-the-password")
        unknown = login(client, "nobody-at-all", "not-the-password")
        assert_401(wrong, "invalid_credentials")
        assert_401(unknown, "invalid_credentials")
        assert wrong.get_json()["error"]["message"] == unknown.get_json()["error"]["message"]

    def test_deactivated_user_cannot_log_in(self, client, db):
        inactive = UserFactory(is_active=False)
        assert_401(login(client, inactive.username), "invalid_credentials")


class TestTokens:
    def test_missing_and_garbage_tokens_are_401_not_422(self, client, db):
        assert_401(client.get(f"{API}/me"), "token_missing")
        assert_401(client.get(f"{API}/me", headers=bearer("not.a.jwt")), "token_invalid")
        assert_401(client.get(f"{API}/me", headers={"Authorization": "Basic abc"}))

    def test_forged_signature(self, client, app, user):
        token = login(client, user.username).get_json()["access_token"]
        claims = pyjwt.decode(token, options={"verify_signature": False})
        forged = pyjwt.encode(claims, "another-secret-that-is-long-enough-32b", algorithm="HS256")
        assert_401(client.get(f"{API}/me", headers=bearer(forged)), "token_invalid")

    def test_alg_none(self, client, user):
        token = login(client, user.username).get_json()["access_token"]
        claims = pyjwt.decode(token, options={"verify_signature": False})
        unsigned = pyjwt.encode(claims, None, algorithm="none")
        assert_401(client.get(f"{API}/me", headers=bearer(unsigned)), "token_invalid")

    def test_expired_access_token(self, client, user):
        token = login(client, user.username).get_json()["access_token"]
        with time_machine.travel(timedelta(minutes=16)):
            assert_401(client.get(f"{API}/me", headers=bearer(token)), "token_expired")

    def test_a_token_verified_before_it_expired_is_refused_after(self, client, user):
        """The process remembers a verified token, and checks its expiry on every use."""
        token = login(client, user.username).get_json()["access_token"]
        assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
        with time_machine.travel(timedelta(minutes=16)):
            assert_401(client.get(f"{API}/me", headers=bearer(token)), "token_expired")
            assert_401(client.get(f"{API}/me", headers=bearer(token)), "token_expired")

    def test_a_verified_token_is_decoded_once(self, client, user, monkeypatch):
        token = login(client, user.username).get_json()["access_token"]
        decodes = []
        decode = pyjwt.api_jwt.decode_complete

        def counting(*args, **kwargs):
            decodes.append(args[0])
            return decode(*args, **kwargs)

        monkeypatch.setattr(pyjwt.api_jwt, "decode_complete", counting)
        for _ in range(3):
            assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
        assert decodes == [token]
        # A changed byte is another token: decoded, and refused.
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        assert_401(client.get(f"{API}/me", headers=bearer(tampered)), "token_invalid")

    def test_a_token_one_app_verified_is_checked_again_by_an_app_with_another_secret(
        self, client, user, database_url
    ):
        from tests.conftest import make_app

        token = login(client, user.username).get_json()["access_token"]
        assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
        other = make_app(database_url, JWT_SECRET_KEY="another-secret-that-is-long-enough-32b")
        assert_401(other.test_client().get(f"{API}/me", headers=bearer(token)), "token_invalid")

    def test_the_remembered_tokens_are_bounded(self):
        from app.platform.auth import VerifiedTokens

        verified = VerifiedTokens(limit=3)
        for number in range(5):
            verified.put(f"token-{number}", {"payload": {"n": number}})
        assert len(verified) == 3
        assert verified.get("token-0") is None and verified.get("token-1") is None
        assert verified.get("token-4") == {"payload": {"n": 4}}

    def test_refresh_token_is_not_an_access_token_and_vice_versa(self, client, user):
        tokens = login(client, user.username).get_json()
        assert_401(client.get(f"{API}/me", headers=bearer(tokens["refresh_token"])))
        assert_401(client.post(f"{API}/auth/refresh", headers=bearer(tokens["access_token"])))

    def test_refresh_rotates_and_reuse_revokes_the_family(self, client, user):
        first = login(client, user.username).get_json()
        rotated = client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"]))
        assert rotated.status_code == 200
        second = rotated.get_json()
        assert second["refresh_token"] != first["refresh_token"]
        assert client.get(f"{API}/me", headers=bearer(second["access_token"])).status_code == 200
        # Reusing the rotated token is theft: the whole session is revoked, durably.
        reuse = client.post(f"{API}/auth/refresh", headers=bearer(first["refresh_token"]))
        assert_401(reuse, "token_reused")
        assert_401(client.get(f"{API}/me", headers=bearer(second["access_token"])), "token_revoked")
        assert_401(client.post(f"{API}/auth/refresh", headers=bearer(second["refresh_token"])))

    def test_logout_revokes_access_and_refresh(self, client, user):
        tokens = login(client, user.username).get_json()
        response = client.post(
            f"{API}/auth/logout",
            headers=bearer(tokens["access_token"]),
            json={"refresh_token": tokens["refresh_token"]},
        )
        assert response.status_code == 204
        assert_401(client.get(f"{API}/me", headers=bearer(tokens["access_token"])), "token_revoked")
        assert_401(client.post(f"{API}/auth/refresh", headers=bearer(tokens["refresh_token"])))

    def test_logout_without_body(self, client, user):
        tokens = login(client, user.username).get_json()
        response = client.post(f"{API}/auth/logout", headers=bearer(tokens["access_token"]))
        assert response.status_code == 204
        assert_401(client.get(f"{API}/me", headers=bearer(tokens["access_token"])))

    def test_deactivated_user_tokens_stop_working(self, client, db, user):
        token = login(client, user.username).get_json()["access_token"]
        user.is_active = False
        db.session.flush()
        assert_401(client.get(f"{API}/me", headers=bearer(token)), "token_revoked")

    def test_revocation_survives_a_new_app_instance(self, client, app, db, user):
        """Revocation lives in the database, not in process memory or Redis."""
        tokens = login(client, user.username).get_json()
        client.post(f"{API}/auth/logout", headers=bearer(tokens["access_token"]))
        from tests.conftest import make_app

        restarted = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
        from app.platform.extensions import db as _db

        # The restarted app must see this test's (uncommitted) data: share the connection.
        engines = _db._app_engines
        engines[restarted] = {None: engines[app][None]}
        with restarted.test_client() as other:
            assert_401(other.get(f"{API}/me", headers=bearer(tokens["access_token"])))
        assert db.session.query(AuthSession).filter_by(user_id=user.id).one().revoked_at


class TestProfile:
    def test_get_and_patch_me(self, client, user, auth):
        headers = auth(user)
        response = client.patch(
            f"{API}/me",
            headers=headers,
            json={
                "full_name": "New Name",
                "vehicle_number": "KA01XY9999",
                "preferences": {"text_size": "large", "high_contrast": True},
            },
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["full_name"] == "New Name"
        assert body["preferences"]["text_size"] == "large"
        assert body["preferences"]["high_contrast"] is True
        assert body["preferences"]["language"] == "en"
        assert client.get(f"{API}/me", headers=headers).get_json()["vehicle_number"] == "KA01XY9999"

    @pytest.mark.parametrize("field,value", [("role", "admin"), ("is_active", False), ("id", 99)])
    def test_mass_assignment_rejected(self, client, db, user, auth, field, value):
        response = client.patch(f"{API}/me", headers=auth(user), json={field: value})
        assert response.status_code == 422
        assert field in response.get_json()["error"]["fields"]
        db.session.refresh(user)
        assert user.role == "user" and user.is_active

    def test_email_change_to_taken_address_conflicts(self, client, db, user, auth):
        other = UserFactory()
        response = client.patch(f"{API}/me", headers=auth(user), json={"email": other.email})
        assert response.status_code == 409


class TestPassword:
    def test_change_password_revokes_other_sessions_only(self, client, user):
        phone = login(client, user.username).get_json()
        laptop = login(client, user.username).get_json()
        response = client.post(
            f"{API}/me/password",
            headers=bearer(laptop["access_token"]),
            json={"current_password": PASSWORD, "new_password": "a-brand-new-secret"},
        )
        assert response.status_code == 204
        assert client.get(f"{API}/me", headers=bearer(laptop["access_token"])).status_code == 200
        assert_401(client.get(f"{API}/me", headers=bearer(phone["access_token"])), "token_revoked")
        assert_401(login(client, user.username))
        assert login(client, user.username, "a-brand-new-secret").status_code == 200

    def test_wrong_current_password(self, client, user, auth):
        response = client.post(
            f"{API}/me/password",
            headers=auth(user),
            json={"current_password": "wrong-password", "new_password": "a-brand-new-secret"},
        )
        assert response.status_code == 422
        assert "current_password" in response.get_json()["error"]["fields"]


def test_token_without_expiry_is_refused(client, app, user):
    """Even correctly signed, a token with no ``exp`` is not one this app issued."""
    token = login(client, user.username).get_json()["access_token"]
    claims = pyjwt.decode(token, options={"verify_signature": False})
    claims.pop("exp")
    forged = pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")
    assert_401(client.get(f"{API}/me", headers=bearer(forged)))


def test_a_login_spelled_another_way_finds_the_same_account(client, user):
    from tests.factories import PASSWORD

    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in user.email)
    for spelling in (user.email.upper(), full_width, "\u200b" + user.email):
        response = client.post("/api/v1/auth/login", json={"login": spelling, "password": PASSWORD})
        assert response.status_code == 200, (spelling, response.get_json())
