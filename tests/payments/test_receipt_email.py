"""The receipt by e-mail: only to drivers who opted in, once, with the PDF attached."""

from __future__ import annotations

import io

from pypdf import PdfReader

from app.payments import service as payments
from app.platform.models import OutboundMessage
from tests.factories import UserFactory
from tests.payments.conftest import API


def opt_in(client, auth, driver, on: bool = True) -> None:
    response = client.patch(
        f"{API}/me", json={"preferences": {"email_receipts": on}}, headers=auth(driver)
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["preferences"]["email_receipts"] is on


def test_opted_in_driver_gets_the_receipt_pdf_once(
    app, client, db, auth, smtp, mailing, make_lot, park, payment_of
):
    lot = make_lot(timezone="Europe/Paris")
    driver = UserFactory()
    opt_in(client, auth, driver)

    stay = park(driver, lot["id"], 61)
    payment = payment_of(driver, stay["id"])

    [message] = smtp.wait_for(1, timeout=5)
    number = f"PM-{payment['id']:06d}"
    assert message["To"] == driver.email
    assert number in message["Subject"]
    assert number in message.get_body(("plain",)).get_content()
    assert "5.00 USD" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"receipt-{number}.pdf"
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    text = " ".join(reader.pages[0].extract_text().split())
    assert number in text and "Amount 5.00 USD" in text and "(Europe/Paris)" in text

    # The task runs again (a redelivery): the ledger sends nothing twice.
    with app.test_request_context():
        assert payments.send_receipt_email(payment_id=payment["id"]) is False
    assert len(smtp.wait_for(2, timeout=1)) == 1


def test_no_receipt_mail_without_opting_in(client, db, auth, smtp, mailing, make_lot, park):
    lot = make_lot()
    driver, changed_mind = UserFactory(), UserFactory()
    opt_in(client, auth, changed_mind)
    opt_in(client, auth, changed_mind, on=False)

    park(driver, lot["id"], 30)
    park(changed_mind, lot["id"], 30)

    assert smtp.wait_for(1, timeout=1) == []
    ledger = db.session.scalars(
        db.select(OutboundMessage.dedupe_key).where(
            OutboundMessage.dedupe_key.like("payment-receipt:%")
        )
    ).all()
    assert ledger == []
