"""The monthly report in its reader's language: subject, HTML, text and PDF in German for a
German-speaking person, with German month names, numbers and amounts."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from app.reports.service import send_monthly_report
from tests.factories import (
    BookingFactory,
    LotFactory,
    RetrievalScoreFactory,
    SpotFactory,
    UserFactory,
)


def test_monthly_report_is_sent_in_german(app, db, smtp, mailing):
    person = UserFactory(full_name="Ada Lovelace", preferences={"language": "de"})
    lot = LotFactory(name="Harbour Lot")
    spot = SpotFactory(lot=lot)
    for day in (3, 12):
        BookingFactory(
            user=person,
            spot=spot,
            lot=lot,
            cost_cents=1125,
            duration_minutes=135,
            started_at=datetime(2026, 10, day, 9, tzinfo=UTC),
            ended_at=datetime(2026, 10, day, 11, 15, tzinfo=UTC),
        )
    RetrievalScoreFactory(
        user_id=person.id,
        event__user=person,
        total=71.25,
        created_at=datetime(2026, 10, 5, 18, tzinfo=UTC),
    )

    assert send_monthly_report(person.id, "2026-10") is True

    [message] = smtp.wait_for(1, timeout=10)
    assert message["Subject"] == "Ihr ParkMind-Bericht für Oktober 2026"
    plain = " ".join(message.get_body(("plain",)).get_content().split())
    for phrase in (
        "Guten Tag Ada Lovelace,",
        "Hier ist Ihr ParkMind-Monat: Oktober 2026.",
        "Parkdauer: 4 Std. 30 Min.",
        "Ausgaben: 22,50 USD",
        "Meistgenutztes Parkhaus: Harbour Lot (2 Besuche)",
        "Mittlere Wiederfinde-Punktzahl: 71,25",
    ):
        assert phrase in plain, (phrase, plain)
    for english in ("Hello", "Time parked", "Spend", "visits", "October", "diagnosis"):
        assert english not in plain
    html = message.get_body(("html",)).get_content()
    assert '<html lang="de">' in html and "Verlauf der Punktzahl" in html
    assert "Score trend" not in html and "Retrieval score by day of month" not in html
    assert (
        'alt="Diagramm des Punktzahl-Verlaufs für Oktober 2026: eine Suche nach dem Auto, '
        'Punktzahl 71,25."' in html
    )
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    text = " ".join(PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text().split())
    assert "ParkMind-Monatsbericht: Oktober 2026" in text and "Erstellt für Ada Lovelace" in text
    assert "22,50 USD" in text
    # The chart is a tagged figure whose alternative text says what it shows, in German.
    from tests.payments.test_receipts import structure

    figures = [alt for kind, alt in structure(pdf.get_content()) if kind == "/Figure"]
    assert figures == [
        "Diagramm des Punktzahl-Verlaufs für Oktober 2026: eine Suche nach dem Auto, "
        "Punktzahl 71,25."
    ]
    assert "Prepared for" not in text and "Figure" not in text
