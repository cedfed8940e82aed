"""Every admin change lands in the admin audit log: one row per successful write, with who,
what, which target and the request's fields (never a password); none for a refused one.

The admin write routes come from the URL map, so a new one missing from WRITES fails here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.platform.models import utcnow
from tests import factories

API = "/api/v1"

# (method, rule) -> (body, action, target type, the path argument naming the target)
WRITES = {
    ("POST", f"{API}/admin/lots"): (
        {
            "name": "Harbour",
            "address": "1 Quay",
            "pin_code": "560001",
            "hourly_rate_cents": 300,
            "total_spots": 2,
        },
        "lot.create",
        "lot",
        None,
    ),
    ("PATCH", f"{API}/admin/lots/<id:lot_id>"): (
        {"name": "Renamed"},
        "lot.update",
        "lot",
        "lot_id",
    ),
    ("DELETE", f"{API}/admin/lots/<id:lot_id>"): (None, "lot.delete", "lot", "lot_id"),
    ("PATCH", f"{API}/admin/spots/<id:spot_id>"): (
        {"status": "out_of_service"},
        "spot.update",
        "spot",
        "spot_id",
    ),
    ("PATCH", f"{API}/admin/users/<id:user_id>"): (
        {"is_active": False},
        "user.update",
        "user",
        "user_id",
    ),
    ("DELETE", f"{API}/admin/users/<id:user_id>"): (None, "user.erase", "user", "user_id"),
    ("POST", f"{API}/admin/payments/<id:payment_id>/mark-paid"): (
        {},
        "payment.mark_paid",
        "payment",
        "payment_id",
    ),
    ("POST", f"{API}/admin/payments/<id:payment_id>/refund"): (
        {"reason": "Barrier fault"},
        "payment.refund",
        "payment",
        "payment_id",
    ),
}


def admin_writes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(f"{API}/admin/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS", "GET"}):
                yield method, rule.rule


def test_every_admin_write_route_is_audited_here(app):
    assert sorted(set(admin_writes(app)) - set(WRITES)) == []


@pytest.fixture
def targets(db):
    lot = factories.LotFactory(spots=2)
    spot = factories.SpotFactory(lot=lot, number=9)
    user = factories.UserFactory()
    paid = factories.PaymentFactory(status="paid", paid_at=utcnow())
    pending = factories.PaymentFactory(status="pending")
    return {
        "lot_id": lot.id,
        "spot_id": spot.id,
        "user_id": user.id,
        "payment_id": {"mark-paid": pending.id, "refund": paid.id},
    }


def audit(client, headers, query=""):
    response = client.get(f"{API}/admin/audit{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("key", sorted(WRITES), ids=lambda k: f"{k[0]} {k[1]}")
def test_each_admin_write_leaves_one_row(client, auth, admin, targets, key):
    method, rule = key
    body, action, target_type, argument = WRITES[key]
    headers = auth(admin)
    path = rule
    for name, value in targets.items():
        if f"<id:{name}>" not in rule:
            continue
        if isinstance(value, dict):  # the payment in the state this action needs
            value = next(v for k, v in value.items() if rule.endswith(k))
        path = path.replace(f"<id:{name}>", str(value))
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    response = client.open(path, method=method, **kwargs)
    assert response.status_code < 300, (path, response.get_json())

    log = audit(client, headers)
    assert log["total"] == 1
    [entry] = log["items"]
    assert entry["action"] == action
    assert entry["target_type"] == target_type
    assert entry["actor"]["id"] == admin.id
    expected = int(path.split("/")[5]) if argument else response.get_json()["id"]
    assert entry["target_id"] == expected
    if body:
        for field, value in body.items():
            assert entry["detail"].get(field, entry["detail"].get("reason")) == value


def test_a_refused_write_leaves_no_row_and_filters_work(client, auth, admin, targets):
    headers = auth(admin)
    refused = client.patch(
        f"{API}/admin/users/{admin.id}", json={"is_active": False}, headers=headers
    )
    assert refused.status_code == 409
    assert audit(client, headers)["total"] == 0

    lot = f"{API}/admin/lots/{targets['lot_id']}"
    assert client.patch(lot, json={"name": "A"}, headers=headers).status_code == 200
    other = factories.UserFactory(role="admin")
    assert client.patch(lot, json={"name": "B"}, headers=auth(other)).status_code == 200
    spot = f"{API}/admin/spots/{targets['spot_id']}"
    assert client.patch(spot, json={"status": "out_of_service"}, headers=headers).status_code == 200

    assert audit(client, headers, "?action=lot.update")["total"] == 2
    mine = audit(client, headers, f"?actor_id={admin.id}")
    assert [e["action"] for e in mine["items"]] == ["spot.update", "lot.update"]
    assert [e["detail"] for e in audit(client, headers, f"?actor_id={other.id}")["items"]] == [
        {"name": "B"}
    ]
    soon = (utcnow() + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert audit(client, headers, f"?from={soon}")["total"] == 0
    assert audit(client, headers, f"?to={soon}")["total"] == 3
