"""Receipts in the payer's language: the PDF download and the e-mail with its PDF, in German for
a German-speaking driver, with German dates and amounts; English for everyone else."""

from __future__ import annotations

import io

from pypdf import PdfReader

from tests.factories import UserFactory
from tests.payments.conftest import API


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def receipt_text(client, headers, payment_id) -> str:
    response = client.get(f"{API}/payments/{payment_id}/receipt", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:200]
    return pdf_text(response.data)


def test_receipt_pdf_is_in_the_payers_language(client, auth, make_lot, park, payment_of):
    lot = make_lot(timezone="Europe/Paris", daily_max_cents=2000)
    german = UserFactory(preferences={"language": "de"})
    english = UserFactory()
    german_payment = payment_of(german, park(german, lot["id"], 61)["id"])
    english_payment = payment_of(english, park(english, lot["id"], 61)["id"])

    text = receipt_text(client, auth(german), german_payment["id"])
    for phrase in (
        "Belegnummer",
        "Leistung Parken",
        "Von 20.11.2026 09:00 CET (Europe/Paris)",
        "Stundentarif 2,50 USD pro Stunde",
        "Tageshöchstbetrag 20,00 USD",
        "Betrag 5,00 USD",
        "Status Offen (zahlbar vor Ort)",
    ):
        assert phrase in text, (phrase, text)
    for english_word in ("Receipt number", "Hourly rate", "per hour", "Amount", "From 2026"):
        assert english_word not in text

    text = receipt_text(client, auth(english), english_payment["id"])
    assert "Amount 5.00 USD" in text and "From 2026-11-20 09:00 CET (Europe/Paris)" in text
    assert "Betrag" not in text


def test_receipt_email_is_in_the_payers_language(
    client, db, auth, smtp, mailing, make_lot, park, payment_of
):
    lot = make_lot(timezone="Europe/Paris")
    driver = UserFactory(preferences={"language": "de", "email_receipts": True})
    payment = payment_of(driver, park(driver, lot["id"], 61)["id"])
    number = f"PM-{payment['id']:06d}"

    [message] = smtp.wait_for(1, timeout=5)
    assert message["Subject"] == f"Ihr Beleg {number} von ParkMind Parking"
    plain = message.get_body(("plain",)).get_content()
    assert f"Ihr Beleg {number} von ParkMind Parking über 5,00 USD ist als PDF angehängt." in plain
    assert "Betrag: 5,00 USD" in plain and "Hello" not in plain
    [attachment] = list(message.iter_attachments())
    text = pdf_text(attachment.get_content())
    assert "Betrag 5,00 USD" in text and "Amount" not in text
