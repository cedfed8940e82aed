"""The monthly report: figures, HTML naming the most used lot, a PDF that parses, sent once."""

from __future__ import annotations

import html as html_lib
import io
import json
import re
from datetime import UTC, datetime

import pytest
import time_machine
from PIL import Image
from pypdf import PdfReader

from app.reports.service import build_monthly_report, render_report_pdf
from tests.factories import (
    BookingFactory,
    LotFactory,
    RetrievalScoreFactory,
    SpotFactory,
    UserFactory,
)

OCTOBER = datetime(2026, 10, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def october(db):
    """A driver with three bookings (two at Harbour Lot) and two retrievals in October 2026."""
    person = UserFactory(full_name="Ada Lovelace")
    # The lots are kept here: a spot's ``lot`` is not loaded lazily (``raise_on_sql``).
    harbour_lot, station_lot = LotFactory(name="Harbour Lot"), LotFactory(name="Station Lot")
    harbour, station = SpotFactory(lot=harbour_lot), SpotFactory(lot=station_lot)
    for day, spot, lot, cost in (
        (3, harbour, harbour_lot, 750),
        (12, harbour, harbour_lot, 500),
        (20, station, station_lot, 1000),
    ):
        BookingFactory(
            user=person,
            spot=spot,
            lot=lot,
            cost_cents=cost,
            duration_minutes=90,
            started_at=datetime(2026, 10, day, 9, tzinfo=UTC),
            ended_at=datetime(2026, 10, day, 10, 30, tzinfo=UTC),
        )
    BookingFactory(user=person, started_at=datetime(2026, 9, 28, 9, tzinfo=UTC))  # September
    for day, total in ((5, 62.5), (25, 81.25)):
        RetrievalScoreFactory(
            user_id=person.id,
            event__user=person,
            total=total,
            created_at=datetime(2026, 10, day, 18, tzinfo=UTC),
        )
    return person


def test_report_figures(app, october):
    with app.app_context():
        report = build_monthly_report(october, "2026-10")
    assert report.bookings == 3
    assert report.minutes_parked == 270 and report.time_parked == "4 h 30 min"
    assert report.spend_cents == 2250
    assert report.most_used_lot == "Harbour Lot" and report.most_used_lot_visits == 2
    assert report.retrievals == 2 and report.mean_score == pytest.approx(71.88, abs=0.01)


def test_pdf_parses_and_contains_the_figures(app, october):
    report = build_monthly_report(october, "2026-10")
    reader = PdfReader(io.BytesIO(render_report_pdf(report)))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "October 2026" in text and "Ada Lovelace" in text
    for figure in ("Harbour Lot", "4 h 30 min", "22.50 USD", "71.88"):
        assert figure in text


def test_monthly_reports_sent_once_with_html_and_pdf(app, db, october, smtp, mailing, run_job):
    UserFactory()  # no activity: no report
    with time_machine.travel(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), tick=False):
        first = run_job("monthly-reports")
        second = run_job("monthly-reports")
    # From the command line the reports go now, and the result says how many went or failed.
    assert first == {"month": "2026-10", "sent": 1, "errors": 0}
    assert second == {"month": "2026-10", "sent": 0, "errors": 0}
    messages = smtp.wait_for(1, timeout=10)
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == october.email
    assert message["Subject"] == "Your ParkMind report for October 2026"
    html = message.get_body(("html",)).get_content()
    assert "Harbour Lot" in html and "<svg" not in html  # Gmail and Outlook strip inline SVG
    # The chart is a PNG sent inline with the HTML, and says in words what it shows.
    [img] = re.findall(r"<img [^>]*>", html)
    cid = re.search(r'src="cid:([^"]+)"', img).group(1)
    alt = html_lib.unescape(re.search(r'alt="([^"]+)"', img).group(1))
    assert alt == (
        "Score trend chart for October 2026: 2 retrievals, scores from 62.50 to 81.25, "
        "mean 71.88; the first 62.50, the last 81.25."
    )
    [png] = [part for part in message.walk() if part["Content-ID"] == f"<{cid}>"]
    assert png.get_content_type() == "image/png"
    assert png.get_content_disposition() == "inline"
    image = Image.open(io.BytesIO(png.get_content()))
    assert image.format == "PNG" and image.size == (880, 360)
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]
    assert message.get_body(("plain",)) is not None
    # A report one can turn off: one-click unsubscribe (RFC 8058) from the monthly report only.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith("<https://parkmind.example/api/v1/unsubscribe/")
    [pdf] = [
        part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"
    ]
    text = PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text()
    assert "Harbour Lot" in text and "22.50 USD" in text


def test_monthly_report_task_twice_sends_once(app, db, october, smtp, mailing):
    from app.reports.service import send_monthly_report

    assert send_monthly_report(october.id, "2026-10") is True
    assert send_monthly_report(october.id, "2026-10") is False
    assert len(smtp.wait_for(2, timeout=1)) == 1


def test_report_pdf_embeds_its_fonts_and_names_anyone(app, october):
    from tests.payments.test_receipts import embedded_fonts

    october.full_name = "Zoë Łukasiewicz 李雷"
    report = build_monthly_report(october, "2026-10")
    data = render_report_pdf(report)
    reader = PdfReader(io.BytesIO(data))
    assert "Prepared for Zoë Łukasiewicz 李雷" in reader.pages[0].extract_text()
    fonts = embedded_fonts(data)
    assert all(fonts.values()), fonts
    # ParkMind Sans is the shipped DejaVu Sans, ParkMind CJK the shipped Noto Sans CJK subset:
    # names no system font has, so no glyph comes from whatever the machine has installed.
    assert {name.split("+")[-1] for name in fonts} == {
        "ParkMind-Sans",
        "ParkMind-Sans-Bold",
        "ParkMind-CJK",
    }, fonts
    assert not any(name.startswith("/Helvetica") for name in fonts), fonts
    assert reader.metadata.title == "ParkMind monthly report 2026-10"
    assert reader.trailer["/Root"]["/Lang"] == "en"
    from tests.payments.test_receipts import structure

    tags = structure(data)
    assert [kind for kind, _ in tags][:2] == ["/Document", "/H1"], tags
    assert "/Table" in [kind for kind, _ in tags]
    [(_, alt)] = [tag for tag in tags if tag[0] == "/Figure"]
    assert alt.startswith("Score trend chart")


def test_opted_out_user_gets_no_report(app, db, october, smtp, mailing, run_job):
    october.preferences = {"monthly_report": False}
    db.session.flush()
    with time_machine.travel(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), tick=False):
        assert run_job("monthly-reports")["sent"] == 0


def test_beat_queues_the_reports_for_workers(app, db, october):
    from app.reports.jobs import monthly_reports

    with time_machine.travel(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), tick=False):
        assert monthly_reports() == {"month": "2026-10", "queued": 1}


def test_jobs_run_takes_the_month_and_refuses_what_it_does_not_know(
    app, db, october, smtp, mailing
):
    runner = app.test_cli_runner()
    ran = runner.invoke(args=["jobs", "run", "monthly-reports", "--month", "2026-10"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout.strip().splitlines()[-1])["result"] == {
        "month": "2026-10",
        "sent": 1,
        "errors": 0,
    }
    again = runner.invoke(args=["jobs", "run", "monthly-reports", "--month=2026-10"])
    assert again.exit_code == 0 and '"sent": 0' in again.stdout
    for wrong in (["--month", "2026-13"], ["--month", "October"], ["--year", "2026"], ["--month"]):
        refused = runner.invoke(args=["jobs", "run", "monthly-reports", *wrong])
        assert refused.exit_code == 2, (wrong, refused.output)
    assert runner.invoke(args=["jobs", "run", "purge-outbox", "--month", "2026-10"]).exit_code == 2
    listed = runner.invoke(args=["jobs", "list"]).output
    assert "monthly-reports" in listed and "[--month ...]" in listed


def test_jobs_run_exits_1_when_a_report_could_not_be_sent(
    app, db, october, smtp, mailing, monkeypatch
):
    from tests.support.net import free_port

    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    ran = app.test_cli_runner().invoke(
        args=["jobs", "run", "monthly-reports", "--month", "2026-10"]
    )
    assert ran.exit_code == 1, ran.output
    assert json.loads(ran.stdout.strip().splitlines()[-1])["result"] == {
        "month": "2026-10",
        "sent": 0,
        "errors": 1,
    }
    assert "1 failed" in ran.stderr
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)  # the server is back: a rerun sends it
    retried = app.test_cli_runner().invoke(
        args=["jobs", "run", "monthly-reports", "--month", "2026-10"]
    )
    assert retried.exit_code == 0, retried.output
    assert len(smtp.wait_for(1, timeout=5)) == 1
