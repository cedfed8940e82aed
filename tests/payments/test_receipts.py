"""Receipts as PDF: every figure of the price breakdown, in the lot's time zone."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from app.payments.models import Payment
from app.payments.receipts import format_money
from app.reservations.models import Reservation
from tests.factories import LotFactory, UserFactory
from tests.payments.conftest import API, START

OPERATOR = {"OPERATOR_NAME": "Parkhaus Nord GmbH", "OPERATOR_ADDRESS": "1 Rue Rivoli, Paris"}


@pytest.fixture
def operator(app, monkeypatch):
    for key, value in OPERATOR.items():
        monkeypatch.setitem(app.config, key, value)


def pdf_text(data: bytes) -> str:
    """The PDF's text with whitespace runs as single spaces (cells may wrap)."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def receipt(client, headers, payment_id):
    response = client.get(f"{API}/payments/{payment_id}/receipt", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    return response


def test_booking_receipt_shows_the_rule_breakdown_and_zone_local_times(
    client, auth, admin, operator, make_lot, park, payment_of
):
    # 26 h 05 min under 2.50/h in 15-min steps, 10 free minutes, 20.00 a day at most:
    # 1575 billable minutes = 1 day (capped at 20.00) + 135 min (5.63) = 25.63.
    lot = make_lot(
        billing_increment_minutes=15,
        free_minutes=10,
        daily_max_cents=2000,
        timezone="Europe/Paris",
    )
    driver = UserFactory()
    stay = park(driver, lot["id"], 26 * 60 + 5)
    payment = payment_of(driver, stay["id"])
    assert payment["amount_cents"] == 2563

    response = receipt(client, auth(driver), payment["id"])

    number = f"PM-{payment['id']:06d}"
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="receipt-{number}.pdf"'
    )
    text = pdf_text(response.data)
    for figure in (
        number,
        "Parkhaus Nord GmbH",
        "1 Rue Rivoli, Paris",
        lot["name"],
        lot["address"],
        "2.50 USD per hour",  # hourly rate
        "Billing increment 15 min",
        "Free minutes 10 min",
        "Daily maximum 20.00 USD",
        "Billable minutes 1575 min",
        "1 x 20.00 USD = 20.00 USD",  # days x day price
        "135 min (2 h 15 min) = 5.63 USD",  # the remainder
        "Amount 25.63 USD",
        "Currency USD",
        "Status Pending",
        # 08:00 UTC is 09:00 in Paris; the stay ended 26 h 05 min later (10:05 UTC).
        "From 2026-11-20 09:00 CET (Europe/Paris)",
        "Until 2026-11-21 11:05 CET (Europe/Paris)",
        f"Booking #{stay['id']}",
    ):
        assert figure in text, (figure, text)
    assert "08:00" not in text  # no UTC time slipped through

    paid = client.post(
        f"{API}/admin/payments/{payment['id']}/mark-paid", json={}, headers=auth(admin)
    )
    assert paid.status_code == 200
    text = pdf_text(receipt(client, auth(driver), payment["id"]).data)
    assert "Status Paid" in text and "Paid 20" in text


def test_lot_without_zone_uses_the_operator_zone(
    app, client, auth, operator, make_lot, park, payment_of, monkeypatch
):
    monkeypatch.setitem(app.config, "TIMEZONE", "America/New_York")
    lot = make_lot()
    driver = UserFactory()
    stay = park(driver, lot["id"], 90)
    text = pdf_text(receipt(client, auth(driver), payment_of(driver, stay["id"])["id"]).data)
    assert "From 2026-11-20 03:00 EST (America/New_York)" in text
    assert "Until 2026-11-20 04:30 EST (America/New_York)" in text
    assert "Billable minutes 120 min (2 h 00 min)" in text
    assert "Amount 5.00 USD" in text


def reservation(db, user, lot, **fields) -> Reservation:
    values = {
        "user_id": user.id,
        "lot_id": lot.id,
        "vehicle_number": "RS-42",
        "status": "completed",
        "start_at": START,
        "end_at": START + timedelta(hours=2),
        "hourly_rate_cents": 300,
        "billing_increment_minutes": 30,
        "free_minutes": 0,
        "daily_max_cents": None,
        "amount_cents": 600,
        "cancellation_fee_cents": 0,
        "currency": "USD",
        **fields,
    }
    row = Reservation(**values)
    db.session.add(row)
    db.session.flush()
    return row


def charge(db, row: Reservation, amount: int, kind: str = "parking") -> Payment:
    payment = Payment(
        user_id=row.user_id,
        lot_id=row.lot_id,
        reservation_id=row.id,
        kind=kind,
        amount_cents=amount,
        currency="USD",
        status="pending",
    )
    db.session.add(payment)
    db.session.commit()
    return payment


@pytest.mark.parametrize(
    ("left_after", "until", "billable", "amount"),
    [
        (timedelta(minutes=75), "11:00", "120 min (2 h 00 min)", "6.00 USD"),  # left early
        (timedelta(minutes=150), "11:30", "150 min (2 h 30 min)", "7.50 USD"),  # overstayed
    ],
)
def test_reservation_is_billed_from_its_start_to_the_later_of_end_and_departure(
    client, db, auth, operator, left_after, until, billable, amount
):
    lot = LotFactory(spots=1, timezone="Europe/Paris")
    driver = UserFactory()
    row = reservation(
        db, driver, lot, checked_in_at=START + timedelta(minutes=20), ended_at=START + left_after
    )
    payment = charge(db, row, 600 if left_after < timedelta(hours=2) else 750)

    text = pdf_text(receipt(client, auth(driver), payment.id).data)

    assert f"Reservation #{row.id}" in text
    assert "From 2026-11-20 09:00 CET (Europe/Paris)" in text
    assert f"Until 2026-11-20 {until} CET (Europe/Paris)" in text
    assert "3.00 USD per hour" in text and "Billing increment 30 min" in text
    assert f"Billable minutes {billable}" in text
    assert f"Price {amount}" in text and f"Amount {amount}" in text
    assert "Vehicle RS-42" in text


def test_cancellation_fee_receipt_shows_the_reservation_and_the_fee(client, db, auth, operator):
    lot = LotFactory(spots=1, timezone="Europe/Paris")
    driver = UserFactory()
    row = reservation(
        db,
        driver,
        lot,
        status="cancelled",
        cancelled_at=START - timedelta(minutes=30),
        cancellation_fee_cents=450,
    )
    payment = charge(db, row, 450, kind="cancellation_fee")

    text = pdf_text(receipt(client, auth(driver), payment.id).data)

    assert "Late cancellation fee" in text
    assert "Reserved from 2026-11-20 09:00 CET (Europe/Paris)" in text
    assert "Reserved until 2026-11-20 11:00 CET (Europe/Paris)" in text
    assert "Cancelled 2026-11-20 08:30 CET (Europe/Paris)" in text
    assert "Cancellation fee 4.50 USD" in text and "Amount 4.50 USD" in text
    assert "Billable minutes" not in text


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (1250, "USD", "12.50 USD"),
        (5, "eur", "0.05 EUR"),
        (1250, "JPY", "1250 JPY"),
        (0, "USD", "0.00 USD"),
    ],
)
def test_money_is_shown_in_major_units_with_the_code(cents, currency, shown):
    assert format_money(cents, currency) == shown


def embedded_fonts(data: bytes) -> dict[str, bool]:
    """Every font the PDF's pages use: base name → whether its glyphs are in the file."""
    fonts: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            fonts[str(font["/BaseFont"])] = any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
    return fonts


def structure(data: bytes) -> list[tuple[str, str | None]]:
    """A tagged PDF's structure tree, depth first: (structure type, alternative text)."""
    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    found: list[tuple[str, str | None]] = []

    def walk(node) -> None:
        node = node.get_object()
        if not hasattr(node, "get"):
            return  # a marked-content id
        if "/S" in node:
            alt = node.get("/Alt")
            found.append((str(node["/S"]), str(alt) if alt is not None else None))
        kids = node.get("/K")
        if kids is None:
            return
        kids = kids.get_object()
        for kid in kids if isinstance(kids, list) else [kids]:
            walk(kid)

    walk(root["/StructTreeRoot"])
    return found


def test_receipt_names_anyone_in_embedded_fonts_with_metadata(
    client, auth, operator, make_lot, park, payment_of
):
    lot = make_lot(name="Ωmega Parkplatz", address="ул. Ленина 5")
    driver = UserFactory(full_name="Zoë Łukasiewicz 李雷", preferences={"language": "de"})
    stay = park(driver, lot["id"], 61)
    payment = payment_of(driver, stay["id"])

    data = receipt(client, auth(driver), payment["id"]).data

    text = pdf_text(data)
    for words in ("Ausgestellt für Zoë Łukasiewicz 李雷", "Ωmega Parkplatz", "ул. Ленина 5"):
        assert words in text
    fonts = embedded_fonts(data)
    # DejaVu Sans regular and bold, and Noto Sans CJK for 李雷, each embedded as a subset
    # (FontFile2: TrueType in the file); nothing left to the viewer, no Helvetica.
    assert all(fonts.values()), fonts
    # ParkMind Sans is the shipped DejaVu Sans, ParkMind CJK the shipped Noto Sans CJK subset:
    # names no system font has, so no glyph comes from whatever the machine has installed.
    assert {name.split("+")[-1] for name in fonts} == {
        "ParkMind-Sans",
        "ParkMind-Sans-Bold",
        "ParkMind-CJK",
    }, fonts
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata.title == f"Beleg PM-{payment['id']:06d}"
    assert reader.metadata.author == "Parkhaus Nord GmbH"
    assert reader.trailer["/Root"]["/Lang"] == "de"
    # Tagged PDF (PDF/UA-1): a structure tree a screen reader follows, the title shown.
    root = reader.trailer["/Root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data().replace(b" ", b"")
    types = [kind for kind, _ in structure(data)]
    assert types.index("/H1") < types.index("/H2") < types.index("/H3")
    assert types.count("/Table") == 3 and "/TH" in types and "/TD" in types
