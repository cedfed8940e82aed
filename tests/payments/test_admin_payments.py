"""The operator's payments: listing, mark-paid and refund with their audit rows and 409s."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.admin.models import AdminAudit
from app.payments.providers import ManualProvider, UnknownProvider, provider_named
from tests.conftest import make_app
from tests.factories import UserFactory
from tests.payments.conftest import API, START


@pytest.fixture
def two_drivers(make_lot, park, payment_of):
    """Two lots; ``ann`` parked in the first twice, ``bob`` once in the second."""
    first, second = make_lot(), make_lot(name="Gare Sud")
    ann, bob = UserFactory(), UserFactory()
    stays = [
        park(ann, first["id"], 60),
        park(ann, first["id"], 120, start=START + timedelta(days=2)),
        park(bob, second["id"], 30, start=START + timedelta(days=1)),
    ]
    owners = (ann, ann, bob)
    payments = [payment_of(who, stay["id"]) for who, stay in zip(owners, stays, strict=True)]
    return {"lots": (first, second), "users": (ann, bob), "payments": payments}


def test_admin_lists_every_payment_newest_first_with_filters(client, auth, admin, two_drivers):
    headers = auth(admin)
    ann, _bob = two_drivers["users"]
    first, second = two_drivers["lots"]
    old, newest, middle = two_drivers["payments"]

    everything = client.get(f"{API}/admin/payments", headers=headers).get_json()
    assert [item["id"] for item in everything["items"]] == [newest["id"], middle["id"], old["id"]]
    top = everything["items"][0]
    assert top["user"] == {"id": ann.id, "username": ann.username}
    assert (top["provider"], top["refund_reason"]) == ("manual", None)
    assert top["receipt_number"] == f"PM-{newest['id']:06d}"

    def ids(query: str) -> list[int]:
        response = client.get(f"{API}/admin/payments?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(f"lot_id={second['id']}") == [middle["id"]]
    assert ids(f"lot_id={first['id']}&status=pending") == [newest["id"], old["id"]]
    assert ids("status=paid") == [] and ids("kind=cancellation_fee") == []
    day_two = (START + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    day_three = (START + timedelta(days=2)).isoformat().replace("+00:00", "Z")
    assert ids(f"from={day_two}&to={day_three}") == [middle["id"]]
    assert ids(f"from={day_three}") == [newest["id"]]
    backwards = client.get(f"{API}/admin/payments?from={day_three}&to={day_two}", headers=headers)
    assert backwards.status_code == 422 and "to" in backwards.get_json()["error"]["fields"]


def audit_rows(client, headers, query: str = "") -> list[dict]:
    response = client.get(f"{API}/admin/audit?{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_mark_paid_then_refund_are_audited_and_wrong_moves_are_409(
    client, db, auth, admin, two_drivers
):
    headers = auth(admin)
    payment = two_drivers["payments"][0]
    base = f"{API}/admin/payments/{payment['id']}"

    paid = client.post(f"{base}/mark-paid", json={"reason": "Cash at the desk"}, headers=headers)
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["status"] == "paid" and paid.get_json()["paid_at"].endswith("Z")
    again = client.post(f"{base}/mark-paid", json={}, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_transition"

    no_reason = client.post(f"{base}/refund", json={}, headers=headers)
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    refunded = client.post(f"{base}/refund", json={"reason": "Barrier broken"}, headers=headers)
    assert refunded.status_code == 200, refunded.get_json()
    body = refunded.get_json()
    assert (body["status"], body["refund_reason"]) == ("refunded", "Barrier broken")
    assert body["refunded_at"].endswith("Z") and body["paid_at"] is not None

    for path, payload in (("refund", {"reason": "Twice"}), ("mark-paid", {})):
        response = client.post(f"{base}/{path}", json=payload, headers=headers)
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "invalid_transition"

    driver_view = client.get(
        f"{API}/payments/{payment['id']}", headers=auth(two_drivers["users"][0])
    ).get_json()
    assert driver_view["status"] == "refunded"

    # The lots the drivers used were created through the admin API: their rows are there too.
    entries = audit_rows(client, headers, "target_type=payment")
    assert [entry["action"] for entry in entries] == ["payment.refund", "payment.mark_paid"]
    refund, mark = entries
    assert refund["actor"] == {"id": admin.id, "username": admin.username}
    assert (refund["target_type"], refund["target_id"]) == ("payment", payment["id"])
    assert refund["detail"]["from"] == "paid" and refund["detail"]["to"] == "refunded"
    assert refund["detail"]["reason"] == "Barrier broken"
    assert mark["detail"]["reason"] == "Cash at the desk"
    assert mark["detail"]["amount_cents"] == payment["amount_cents"]
    assert refund["created_at"].endswith("Z")
    stored = db.session.scalars(
        db.select(AdminAudit).where(AdminAudit.target_type == "payment").order_by(AdminAudit.id)
    ).all()
    assert [row.action for row in stored] == ["payment.mark_paid", "payment.refund"]
    assert audit_rows(client, headers, "action=payment.refund") == [refund]
    assert audit_rows(client, headers, f"target_type=payment&actor_id={admin.id}") == entries
    assert audit_rows(client, headers, "target_type=user") == []


def test_a_pending_payment_can_be_waived_and_unknown_ones_are_404(client, auth, admin, two_drivers):
    headers = auth(admin)
    payment = two_drivers["payments"][2]
    waived = client.post(
        f"{API}/admin/payments/{payment['id']}/refund",
        json={"reason": "Goodwill"},
        headers=headers,
    )
    assert waived.status_code == 200 and waived.get_json()["status"] == "refunded"
    assert waived.get_json()["paid_at"] is None
    assert audit_rows(client, headers, "target_type=payment")[0]["detail"]["from"] == "pending"
    for path in ("mark-paid", "refund"):
        missing = client.post(
            f"{API}/admin/payments/999999/{path}", json={"reason": "x"}, headers=headers
        )
        assert missing.status_code == 404
        assert missing.get_json()["error"]["code"] == "payment_not_found"
    unknown_field = client.post(
        f"{API}/admin/payments/{payment['id']}/mark-paid", json={"amount": 1}, headers=headers
    )
    assert unknown_field.status_code == 422


def test_drivers_cannot_use_the_admin_routes(client, auth, two_drivers):
    ann = two_drivers["users"][0]
    payment = two_drivers["payments"][0]
    for method, path, body in (
        ("GET", "/admin/payments", None),
        ("GET", "/admin/audit", None),
        ("POST", f"/admin/payments/{payment['id']}/mark-paid", {}),
        ("POST", f"/admin/payments/{payment['id']}/refund", {"reason": "mine"}),
    ):
        response = client.open(f"{API}{path}", method=method, json=body, headers=auth(ann))
        assert response.status_code == 403, path


def test_manual_provider_leaves_charges_pending_and_records_refunds():
    provider = provider_named("manual")
    assert isinstance(provider, ManualProvider) and provider.name == "manual"
    assert provider.charge(payment_id=1, amount_cents=500, currency="USD").status == "pending"
    refund = provider.refund(
        payment_id=1, reference=None, amount_cents=500, currency="USD", reason="x"
    )
    assert refund.reference is None
    with pytest.raises(UnknownProvider):
        provider_named("stripe")


def test_an_unknown_provider_stops_the_app_at_creation():
    from config import ConfigError

    with pytest.raises(ConfigError, match="PAYMENT_PROVIDER"):
        make_app("sqlite://", PAYMENT_PROVIDER="cardz")
