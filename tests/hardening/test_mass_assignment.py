"""Mass-assignment probes on every write route: privileged fields never take effect.

Every POST/PATCH/PUT route of the access matrix is called by its legitimate caller with its valid
body plus fields a client must never set (role, user_id, status, cost, score parts). Routes that
take a JSON body reject the probe with 422 naming those fields; routes that take no body ignore it,
and nothing in the database takes a probed value.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.bookings.models import Booking
from app.parking.models import ParkingEvent, RetrievalScore
from app.payments.models import Payment
from tests.hardening.test_access_matrix import ADMIN, MATRIX, OBJECT, USER, build

PROBE = {
    "role": "admin",
    "is_active": False,
    "user_id": 999_999,
    "status": "completed",
    "cost_cents": 1,
    "amount_cents": 1,
    "total": 100,
    "score_version": 99,
    "landmark_recall": 100,
}

WRITE_ROUTES = sorted(
    key
    for key, route in MATRIX.items()
    if key[0] in ("POST", "PATCH", "PUT")
    and route.kind in (USER, OBJECT, ADMIN)
    and key[1] not in ("/api/v1/auth/refresh", "/api/v1/auth/logout")
)


def snapshot(db) -> dict:
    """What a successful mass assignment would change."""
    return {
        "admins": sorted(db.session.scalars(select(User.id).where(User.role == "admin"))),
        "inactive": sorted(db.session.scalars(select(User.id).where(User.is_active.is_(False)))),
        "cheap_bookings": db.session.scalars(
            select(Booking.id).where(Booking.cost_cents == 1)
        ).all(),
        "cheap_payments": db.session.scalars(
            select(Payment.id).where(Payment.amount_cents == 1)
        ).all(),
        "foreign_events": db.session.scalars(
            select(ParkingEvent.id).where(ParkingEvent.user_id == 999_999)
        ).all(),
        "forged_scores": db.session.scalars(
            select(RetrievalScore.id).where(RetrievalScore.score_version == 99)
        ).all(),
    }


# Fields a route legitimately accepts are not probes there.
LEGITIMATE = {("PATCH", "/api/v1/admin/users/<id:user_id>"): {"role", "is_active"}}


@pytest.fixture(scope="module")
def operations_with_body(app):
    spec = app.test_client().get("/api/openapi.json").get_json()
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }


def openapi_path(rule: str) -> str:
    import re

    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


@pytest.mark.parametrize("key", WRITE_ROUTES, ids=lambda k: f"{k[0]} {k[1]}")
def test_privileged_fields_never_take_effect(client, auth, world, db, key, operations_with_body):
    method, rule = key
    route = MATRIX[key]
    caller = world["admin"] if route.kind == ADMIN else world["owner"]
    user_id = world["caregiver"].id if "circle/members" in rule else world["other"].id
    path, body = build(rule, route, world["ids"], user_id)
    before = snapshot(db)
    response = client.open(
        path, method=method, headers=auth(caller), json={**(body or {}), **PROBE}
    )
    assert response.status_code < 500, response.get_json()
    if (method, openapi_path(rule)) in operations_with_body:
        assert response.status_code == 422, (path, response.get_json())
        fields = response.get_json()["error"]["fields"]
        assert set(PROBE) - LEGITIMATE.get(key, set()) <= set(fields), fields
    db.session.expire_all()
    assert snapshot(db) == before
