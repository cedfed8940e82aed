"""The issue's journey, tried as a driver and an operator would: quote, reserve for tomorrow,
get reminded, check in, extend, release, download the receipt; the operator sees the
reservation, a no-show and paid revenue per lot."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import LotFactory
from tests.payments.test_receipts import pdf_text
from tests.reservations.conftest import API, T0, iso

H = timedelta(hours=1)


def test_quote_reserve_remind_check_in_extend_release_receipt(
    clock, db, driver_for, auth, admin, run_job
):
    lot = LotFactory(
        spots=4, name="Harbour Garage", hourly_rate_cents=400, timezone="Europe/Berlin"
    )
    driver = driver_for(full_name="Ada Driver")
    start, end = T0 + 24 * H, T0 + 26 * H
    quote = driver.quote(lot.id, start, end).get_json()
    assert (quote["available"], quote["amount_cents"]) == (True, 800)
    reservation = driver.reserve(lot.id, start, end).get_json()
    assert reservation["amount_cents"] == quote["amount_cents"]
    no_show = driver_for().reserve(lot.id, start, end).get_json()

    clock.move_to(start - 25 * timedelta(minutes=1))
    assert run_job("reservation-reminders")["starts_soon"] == 2
    inbox = driver.client.get(f"{API}/notifications", headers=driver.headers).get_json()
    assert [item["kind"] for item in inbox["items"]] == ["reservation_starts_soon"]
    assert "Harbour Garage" in inbox["items"][0]["body"]

    clock.move_to(start + 5 * timedelta(minutes=1))
    checked = driver.act(reservation["id"], "check-in").get_json()
    assert checked["status"] == "checked_in"
    extended = driver.act(reservation["id"], "extend", end_at=iso(end + H)).get_json()
    assert (extended["end_at"], extended["amount_cents"]) == (iso(end + H), 1200)

    clock.move_to(end + 30 * timedelta(minutes=1))
    released = driver.act(reservation["id"], "release").get_json()
    assert (released["status"], released["cost_cents"]) == ("completed", 1200)
    payments = driver.client.get(f"{API}/payments", headers=driver.headers).get_json()
    [payment] = payments["items"]
    assert (payment["reservation_id"], payment["amount_cents"], payment["kind"]) == (
        reservation["id"],
        1200,
        "parking",
    )
    pdf = driver.client.get(f"{API}/payments/{payment['id']}/receipt", headers=driver.headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for figure in ("Harbour Garage", "12.00 USD", "4.00", "180", payment["receipt_number"]):
        assert figure in text, figure
    assert "Europe/Berlin" in text

    # The operator: the reservations of the lot, the no-show, and revenue once paid.
    admin_headers = auth(admin)
    assert run_job("expire-reservations") == {"no_shows": 1}
    shown = driver.client.get(
        f"{API}/admin/reservations?lot_id={lot.id}", headers=admin_headers
    ).get_json()
    assert sorted((item["id"], item["status"]) for item in shown["items"]) == sorted(
        [(reservation["id"], "completed"), (no_show["id"], "no_show")]
    )
    paid = driver.client.post(
        f"{API}/admin/payments/{payment['id']}/mark-paid", json={}, headers=admin_headers
    )
    assert paid.status_code == 200, paid.get_json()
    stats = driver.client.get(f"{API}/admin/stats", headers=admin_headers).get_json()
    [row] = [row for row in stats["per_lot"] if row["id"] == lot.id]
    assert row["no_shows_month"] == 1
    assert row["revenue_month_cents"] == 1200
