"""The driver's payments through the API: list, detail, ownership, filters."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import UserFactory
from tests.payments.conftest import API, START

FIELDS = {
    "id",
    "amount_cents",
    "currency",
    "status",
    "kind",
    "booking_id",
    "reservation_id",
    "lot",
    "created_at",
    "paid_at",
    "refunded_at",
    "receipt_number",
}


def test_released_bookings_are_listed_newest_first_with_the_contract_fields(
    client, auth, make_lot, park
):
    lot = make_lot(billing_increment_minutes=15)
    driver = UserFactory()
    first = park(driver, lot["id"], 61)
    second = park(driver, lot["id"], 30, start=START + timedelta(days=1))

    response = client.get(f"{API}/payments", headers=auth(driver))

    assert response.status_code == 200
    page = response.get_json()
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (1, 20, 2, 1)
    newest, oldest = page["items"]
    assert set(newest) == FIELDS
    assert (newest["booking_id"], oldest["booking_id"]) == (second["id"], first["id"])
    assert newest["amount_cents"] == second["cost_cents"] == 125
    assert oldest["amount_cents"] == first["cost_cents"] == 313
    assert newest["currency"] == "USD"
    assert (newest["status"], newest["kind"]) == ("pending", "parking")
    assert newest["lot"] == {"id": lot["id"], "name": lot["name"]}
    assert newest["reservation_id"] is None and newest["paid_at"] is None
    assert newest["refunded_at"] is None
    assert newest["created_at"] == (START + timedelta(days=1, minutes=30)).isoformat().replace(
        "+00:00", "Z"
    )
    assert newest["receipt_number"] == f"PM-{newest['id']:06d}"


def test_filters_and_pagination(client, auth, admin, make_lot, park):
    lot = make_lot()
    driver = UserFactory()
    stays = [park(driver, lot["id"], 60, start=START + timedelta(days=n)) for n in range(3)]
    headers = auth(driver)
    payments = client.get(f"{API}/payments", headers=headers).get_json()["items"]
    paid = client.post(
        f"{API}/admin/payments/{payments[0]['id']}/mark-paid", json={}, headers=auth(admin)
    )
    assert paid.status_code == 200

    only_paid = client.get(f"{API}/payments?status=paid", headers=headers).get_json()
    pending = client.get(f"{API}/payments?status=pending", headers=headers).get_json()
    fees = client.get(f"{API}/payments?kind=cancellation_fee", headers=headers).get_json()
    parking = client.get(f"{API}/payments?kind=parking", headers=headers).get_json()
    second_page = client.get(f"{API}/payments?per_page=2&page=2", headers=headers).get_json()

    assert [item["id"] for item in only_paid["items"]] == [payments[0]["id"]]
    assert only_paid["items"][0]["paid_at"].endswith("Z")
    assert pending["total"] == 2 and all(i["status"] == "pending" for i in pending["items"])
    assert fees["total"] == 0 and parking["total"] == 3
    assert second_page["pages"] == 2
    assert [item["booking_id"] for item in second_page["items"]] == [stays[0]["id"]]
    bad = client.get(f"{API}/payments?status=lost", headers=headers)
    assert bad.status_code == 422 and "status" in bad.get_json()["error"]["fields"]


def test_only_the_owner_sees_a_payment(client, auth, admin, make_lot, park, payment_of):
    lot = make_lot()
    driver, other = UserFactory(), UserFactory()
    stay = park(driver, lot["id"], 45)
    payment = payment_of(driver, stay["id"])

    mine = client.get(f"{API}/payments/{payment['id']}", headers=auth(driver))
    assert mine.status_code == 200 and mine.get_json() == payment

    for headers in (auth(other), auth(admin)):
        for path in (f"/payments/{payment['id']}", f"/payments/{payment['id']}/receipt"):
            response = client.get(f"{API}{path}", headers=headers)
            assert response.status_code == 404
            assert response.get_json()["error"]["code"] == "payment_not_found"
    assert client.get(f"{API}/payments", headers=auth(other)).get_json()["total"] == 0
    missing = client.get(f"{API}/payments/999999", headers=auth(driver))
    assert missing.get_json()["error"]["code"] == "payment_not_found"
    assert client.get(f"{API}/payments/{payment['id']}").status_code == 401
