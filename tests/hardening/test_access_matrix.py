"""Access matrix over every route of the URL map: anonymous, owner, other user, admin, caregiver.

Each route is classified once below; the meta-test fails when a route is added without being
classified, so no route escapes the matrix. For every role the expected outcome is checked:
anonymous 401 on protected routes, 403 for non-admins on admin routes, 404 for another user's
object (never revealing that it exists), and a non-error answer for the owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories

PUBLIC = "public"  # no token needed
USER = "user"  # any authenticated user, no object of someone else's in the path
OBJECT = "object"  # the path names the owner's object: others get 404
ADMIN = "admin"  # role admin only
CAREGIVER = "caregiver"  # only accepted caregivers (and viewers for trends) of the person
TOKEN = "token"  # authenticated by a signed token in the URL, not a Bearer header


@dataclass
class Route:
    kind: str
    body: dict | None = None
    query: str = ""
    owner_ok: tuple[int, ...] = ()  # business answers that are fine for the owner
    extra: dict = field(default_factory=dict)


def _future(hours: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=hours)
    return moment.isoformat().replace("+00:00", "Z")


INTERVAL = {"lot_id": "{lot_id}", "start_at": _future(0), "end_at": _future(2)}

# (method, rule) -> Route. Bodies are valid, so a 404 for "other" cannot hide behind a 422.
MATRIX: dict[tuple[str, str], Route] = {
    ("GET", "/api/v1/health"): Route(PUBLIC),
    ("GET", "/api/v1/ready"): Route(PUBLIC),
    ("POST", "/api/v1/auth/register"): Route(PUBLIC),
    ("POST", "/api/v1/auth/login"): Route(PUBLIC),
    ("POST", "/api/v1/auth/refresh"): Route(USER, owner_ok=(401,)),  # needs a refresh token
    ("POST", "/api/v1/auth/logout"): Route(USER),
    ("GET", "/api/v1/me"): Route(USER),
    ("PATCH", "/api/v1/me"): Route(USER, body={"full_name": "New Name"}),
    ("POST", "/api/v1/me/password"): Route(
        USER, body={"current_password": factories.PASSWORD, "new_password": "another-secret-1"}
    ),
    ("GET", "/api/v1/me/stats"): Route(USER),
    ("DELETE", "/api/v1/me"): Route(
        USER, body={"password": factories.PASSWORD, "confirm": "DELETE MY ACCOUNT"}, owner_ok=(409,)
    ),
    ("POST", "/api/v1/me/data-export"): Route(USER, body={}, owner_ok=(409,)),
    ("GET", "/api/v1/me/access-log"): Route(USER),
    ("GET", "/api/v1/lots"): Route(USER),
    ("GET", "/api/v1/lots/<id:lot_id>"): Route(USER),
    ("GET", "/api/v1/bookings"): Route(USER),
    ("POST", "/api/v1/bookings"): Route(
        USER, body={"lot_id": "{lot_id}", "vehicle_number": "KA01AB1234"}, owner_ok=(409,)
    ),
    ("GET", "/api/v1/bookings/active"): Route(USER, owner_ok=(404,)),
    ("GET", "/api/v1/bookings/<id:booking_id>"): Route(OBJECT),
    ("POST", "/api/v1/bookings/<id:booking_id>/release"): Route(OBJECT),
    ("POST", "/api/v1/reservations/quote"): Route(USER, body=INTERVAL),
    ("GET", "/api/v1/reservations"): Route(USER),
    ("POST", "/api/v1/reservations"): Route(
        USER, body={**INTERVAL, "vehicle_number": "KA01AB1234"}, owner_ok=(409,)
    ),
    ("GET", "/api/v1/reservations/<id:reservation_id>"): Route(OBJECT),
    # Tomorrow's reservation: check-in is not open yet, nor is there a stay to release.
    ("POST", "/api/v1/reservations/<id:reservation_id>/check-in"): Route(OBJECT, owner_ok=(409,)),
    ("POST", "/api/v1/reservations/<id:reservation_id>/extend"): Route(
        OBJECT, body={"end_at": _future(30)}
    ),
    ("POST", "/api/v1/reservations/<id:reservation_id>/cancel"): Route(OBJECT),
    ("POST", "/api/v1/reservations/<id:reservation_id>/release"): Route(OBJECT, owner_ok=(409,)),
    ("GET", "/api/v1/admin/reservations"): Route(ADMIN),
    ("GET", "/api/v1/exports"): Route(USER),
    ("POST", "/api/v1/exports"): Route(USER, body={"kind": "bookings"}, owner_ok=(409,)),
    ("GET", "/api/v1/exports/<id:export_id>"): Route(OBJECT),
    ("GET", "/api/v1/exports/<id:export_id>/download"): Route(OBJECT, owner_ok=(409,)),
    ("GET", "/api/v1/parking-events"): Route(USER),
    ("POST", "/api/v1/parking-events"): Route(
        USER, body={"latitude": 0, "longitude": 0, "location_type": "outdoor"}
    ),
    ("GET", "/api/v1/parking-events/latest-active"): Route(USER, owner_ok=(404,)),
    ("GET", "/api/v1/parking-events/<id:event_id>"): Route(OBJECT),
    ("PATCH", "/api/v1/parking-events/<id:event_id>"): Route(OBJECT, body={"notes": "by the lift"}),
    ("DELETE", "/api/v1/parking-events/<id:event_id>"): Route(OBJECT),
    ("GET", "/api/v1/parking-events/<id:event_id>/landmarks"): Route(OBJECT),
    ("POST", "/api/v1/parking-events/<id:event_id>/landmarks"): Route(
        OBJECT, body={"name": "Blue door"}
    ),
    ("GET", "/api/v1/parking-events/<id:event_id>/directions"): Route(
        OBJECT, query="?from=48.8580,2.2940"
    ),
    ("POST", "/api/v1/parking-events/<id:event_id>/retrieval/start"): Route(OBJECT, body={}),
    ("POST", "/api/v1/parking-events/<id:event_id>/retrieval/pause"): Route(
        OBJECT, body={}, owner_ok=(409,)
    ),
    ("POST", "/api/v1/parking-events/<id:event_id>/retrieval/resume"): Route(
        OBJECT, body={}, owner_ok=(409,)
    ),
    ("POST", "/api/v1/parking-events/<id:event_id>/retrieval/complete"): Route(
        OBJECT, body={"found": True, "recall": []}, owner_ok=(409,)
    ),
    ("POST", "/api/v1/parking-events/<id:event_id>/assist"): Route(OBJECT, body={"level": 1}),
    ("GET", "/api/v1/parking-events/<id:event_id>/score"): Route(OBJECT, owner_ok=(409,)),
    ("PATCH", "/api/v1/landmarks/<id:landmark_id>"): Route(OBJECT, body={"name": "Red door"}),
    ("DELETE", "/api/v1/landmarks/<id:landmark_id>"): Route(OBJECT),
    ("GET", "/api/v1/scores"): Route(USER),
    ("GET", "/api/v1/scores/trend"): Route(USER, query="?period=week"),
    ("POST", "/api/v1/uploads"): Route(
        USER, body={"purpose": "avatar", "content_type": "image/png", "size_bytes": 100}
    ),
    ("GET", "/api/v1/uploads/<id:upload_id>"): Route(OBJECT),
    ("POST", "/api/v1/uploads/<id:upload_id>/complete"): Route(OBJECT, owner_ok=(409, 422)),
    ("POST", "/api/v1/storage/uploads"): Route(TOKEN),
    ("GET", "/api/v1/storage/files/<path:token>"): Route(TOKEN),
    ("GET", "/api/v1/unsubscribe/<token>"): Route(TOKEN),
    ("POST", "/api/v1/unsubscribe/<token>"): Route(TOKEN),
    ("GET", "/api/v1/circle"): Route(USER),
    ("POST", "/api/v1/circle/invitations"): Route(
        USER, body={"login": "{stranger_username}", "role": "viewer"}
    ),
    ("GET", "/api/v1/invitations/<id:invitation_id>"): Route(OBJECT),
    ("POST", "/api/v1/invitations/<id:invitation_id>/accept"): Route(OBJECT),
    ("POST", "/api/v1/invitations/<id:invitation_id>/decline"): Route(OBJECT),
    ("DELETE", "/api/v1/circle/members/<id:user_id>"): Route(OBJECT),
    ("GET", "/api/v1/people/<id:user_id>/parking-events/latest-active"): Route(CAREGIVER),
    ("GET", "/api/v1/people/<id:user_id>/scores/trend"): Route(CAREGIVER, query="?period=week"),
    ("GET", "/api/v1/people/<id:user_id>/retrieval"): Route(CAREGIVER, owner_ok=(404,)),
    ("GET", "/api/v1/alerts"): Route(USER),
    ("GET", "/api/v1/alerts/<id:alert_id>"): Route(OBJECT),
    ("POST", "/api/v1/alerts/<id:alert_id>/acknowledge"): Route(OBJECT, body={}, owner_ok=(403,)),
    ("POST", "/api/v1/alerts/<id:alert_id>/resolve"): Route(OBJECT, body={}),
    ("GET", "/api/v1/parking-events/<id:event_id>/retrieval"): Route(OBJECT, owner_ok=(404,)),
    ("POST", "/api/v1/parking-events/<id:event_id>/retrieval/positions"): Route(
        OBJECT,
        body={
            "positions": [{"latitude": 1, "longitude": 1, "recorded_at": "2026-01-01T00:00:00Z"}]
        },
        owner_ok=(409,),
    ),
    ("GET", "/api/v1/notifications"): Route(USER),
    ("POST", "/api/v1/notifications/<id:notification_id>/read"): Route(OBJECT),
    ("POST", "/api/v1/notifications/read-all"): Route(USER),
    ("GET", "/api/v1/me/devices"): Route(USER),
    ("POST", "/api/v1/me/devices"): Route(USER, body={"kind": "fcm", "token": "fcm-new-token-1"}),
    ("DELETE", "/api/v1/me/devices/<id:device_id>"): Route(OBJECT),
    ("GET", "/api/v1/push/vapid-public-key"): Route(PUBLIC),
    ("GET", "/api/v1/admin/lots"): Route(ADMIN),
    ("POST", "/api/v1/admin/lots"): Route(
        ADMIN,
        body={
            "name": "New lot",
            "address": "1 Main St",
            "pin_code": "560001",
            "hourly_rate_cents": 250,
            "total_spots": 3,
        },
    ),
    ("GET", "/api/v1/admin/lots/<id:lot_id>"): Route(ADMIN),
    ("PATCH", "/api/v1/admin/lots/<id:lot_id>"): Route(ADMIN, body={"name": "Renamed"}),
    ("DELETE", "/api/v1/admin/lots/<id:lot_id>"): Route(ADMIN, owner_ok=(409,)),
    ("GET", "/api/v1/admin/lots/<id:lot_id>/spots"): Route(ADMIN),
    ("PATCH", "/api/v1/admin/spots/<id:spot_id>"): Route(ADMIN, body={"status": "out_of_service"}),
    ("GET", "/api/v1/admin/stats"): Route(ADMIN),
    ("GET", "/api/v1/admin/activity"): Route(ADMIN),
    ("GET", "/api/v1/admin/users"): Route(ADMIN),
    ("GET", "/api/v1/admin/users/<id:user_id>"): Route(ADMIN),
    ("PATCH", "/api/v1/admin/users/<id:user_id>"): Route(ADMIN, body={"is_active": True}),
    ("DELETE", "/api/v1/admin/users/<id:user_id>"): Route(ADMIN, owner_ok=(409,)),
    ("GET", "/api/v1/admin/bookings"): Route(ADMIN),
    ("GET", "/api/v1/payments"): Route(USER),
    ("GET", "/api/v1/payments/<id:payment_id>"): Route(OBJECT),
    ("GET", "/api/v1/payments/<id:payment_id>/receipt"): Route(OBJECT),
    ("GET", "/api/v1/admin/payments"): Route(ADMIN),
    ("POST", "/api/v1/admin/payments/<id:payment_id>/mark-paid"): Route(
        ADMIN, body={}, owner_ok=(409,)
    ),
    ("POST", "/api/v1/admin/payments/<id:payment_id>/refund"): Route(
        ADMIN, body={"reason": "Barrier fault at the exit"}, owner_ok=(409,)
    ),
    ("GET", "/api/v1/admin/audit"): Route(ADMIN),
}


def api_rules(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def test_every_route_is_in_the_matrix(app):
    missing = sorted(key for key in api_rules(app) if key not in MATRIX)
    assert not missing, f"classify these routes in MATRIX: {missing}"
    stale = sorted(key for key in MATRIX if key not in set(api_rules(app)))
    assert not stale, f"routes no longer exist: {stale}"


def build(rule: str, route: Route, ids: dict, kind_user_id: int) -> tuple[str, dict | None]:
    path = rule
    for name, value in ids.items():
        path = path.replace(f"<id:{name}>", str(value))
    path = path.replace("<id:user_id>", str(kind_user_id))
    path = path.replace("<path:token>", "not-a-valid-token").replace("<token>", "not-a-token")
    body = None
    if route.body is not None:
        body = {
            key: (int(ids[value[1:-1]]) if value[1:-1].endswith("_id") else ids[value[1:-1]])
            if isinstance(value, str) and value.startswith("{")
            else value
            for key, value in route.body.items()
        }
    return path + route.query, body


def call(client, method, path, body, headers):
    kwargs = {"headers": headers}
    if body is not None or method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = body if body is not None else {}
    return client.open(path, method=method, **kwargs)


def owner_accepts(response, route: Route) -> bool:
    if response.status_code >= 500:
        return False
    if response.status_code < 400 or response.status_code in route.owner_ok:
        return True
    return response.status_code == 422 and route.kind == ADMIN


@pytest.mark.parametrize("key", sorted(MATRIX), ids=lambda k: f"{k[0]} {k[1]}")
def test_access(client, auth, world, key):
    method, rule = key
    route = MATRIX[key]
    ids = world["ids"]
    owner, other, admin = world["owner"], world["other"], world["admin"]
    # For /people/<user_id>/... and /circle/members/<user_id> the id is the person (owner)
    # or, for the member route, the caregiver the owner removes.
    user_id = world["caregiver"].id if "circle/members" in rule else owner.id
    if rule.startswith("/api/v1/admin/users"):
        user_id = other.id
    path, body = build(rule, route, ids, user_id)

    anonymous = call(client, method, path, body, {})
    if route.kind in (PUBLIC, TOKEN):
        assert anonymous.status_code != 401 or rule.endswith("/login"), anonymous.get_json()
        assert anonymous.status_code < 500
        return
    assert anonymous.status_code == 401, (path, anonymous.get_json())
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"

    if route.kind == ADMIN:
        for user in (owner, other):
            response = call(client, method, path, body, auth(user))
            assert response.status_code == 403, (path, response.get_json())
        response = call(client, method, path, body, auth(admin))
        assert owner_accepts(response, route), (path, response.status_code, response.get_json())
        return

    if route.kind == CAREGIVER:
        for user in (other, world["stranger"]):
            response = call(client, method, path, body, auth(user))
            assert response.status_code == 404, (path, response.get_json())
        response = call(client, method, path, body, auth(world["caregiver"]))
        assert response.status_code in (200, 404), (path, response.get_json())
        if response.status_code == 404:  # nothing going on is a business 404, not "not yours"
            code = response.get_json()["error"]["code"]
            assert code in ("no_active_event", "no_active_retrieval"), (path, code)
        return

    if route.kind == OBJECT:
        for user in (other, admin):
            response = call(client, method, path, body, auth(user))
            assert response.status_code == 404, (user.role, path, response.get_json())

    response = call(client, method, path, body, auth(owner))
    assert owner_accepts(response, route), (path, response.status_code, response.get_json())
