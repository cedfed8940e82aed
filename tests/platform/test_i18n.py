"""Languages: every message id has a translation in each shipped language, the compiled catalogs
match their sources, and every e-mail template renders without English left in it."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import render_template

from app.payments.receipts import Receipt
from app.platform.i18n import (
    DEFAULT_LANGUAGE,
    SUPPORTED_LANGUAGES,
    format_datetime,
    format_money,
    format_month,
    format_time,
    gettext,
    in_language,
    language_of,
    language_of_user,
)
from app.reports.service import MonthlyReport
from config import LANGUAGES
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"
TRANSLATED = [code for code in SUPPORTED_LANGUAGES if code != DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
MOMENT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # 09:00 in Paris


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the code and templates today, extracted the way ``make translations``
    does (babel's own command line, run in-process)."""
    out = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(out), str(ROOT)]
    )
    with out.open("rb") as handle:
        catalog = read_po(handle)
    return [message for message in catalog if message.id]


def load(code: str):
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_the_extraction_finds_the_messages_people_read(extracted):
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in extracted}
    assert len(ids) > 150
    # One from Python, one from a template, one from a table marked with N_.
    assert "Open ParkMind to see the details." in ids
    assert "Walking directions on the map" in ids
    assert "Your reservation starts soon" in ids


def test_shipped_languages_are_the_configured_ones_and_the_default_is_english():
    assert SUPPORTED_LANGUAGES == LANGUAGES and DEFAULT_LANGUAGE == "en"
    assert "de" in SUPPORTED_LANGUAGES


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_has_a_finished_translation(extracted, code):
    catalog = load(code)
    problems = []
    for message in extracted:
        found = catalog.get(message.id)
        if found is None:
            problems.append(f"missing: {message.id!r}")
            continue
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        if found.fuzzy or not all(strings):
            problems.append(f"unfinished: {message.id!r}")
            continue
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(" ".join(source))) - {"%(num)d", "%(count)s"}
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - {"%(num)d", "%(count)s"} != wanted:
                problems.append(f"placeholders differ: {message.id!r} -> {string!r}")
    assert problems == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_compiled_catalog_matches_its_source(code):
    buffer = io.BytesIO()
    write_mo(buffer, load(code))
    compiled = (TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled == buffer.getvalue(), "run `make translations` and commit the .mo"


# --- the mechanism ------------------------------------------------------------------------------


def test_in_language_switches_and_falls_back_to_english(app):
    with app.app_context():
        with in_language("de") as used:
            assert used == "de"
            assert gettext("Your car is still parked") == "Ihr Auto parkt noch"
        assert gettext("Your car is still parked") == "Your car is still parked"
        for unknown in ("xx", None, "", "de-AT"):
            with in_language(unknown) as used:
                assert used == "en"
                assert gettext("Your car is still parked") == "Your car is still parked"


def test_a_users_language_comes_from_their_preferences(app, db):
    assert language_of({"language": "de"}) == "de"
    assert language_of({"language": "xx"}) == "en" and language_of(None) == "en"
    german, plain = UserFactory(preferences={"language": "de"}), UserFactory(preferences=None)
    db.session.flush()
    assert language_of_user(german.id) == "de"
    assert language_of_user(plain.id) == "en"
    assert language_of_user(10**9) == "en"


@pytest.mark.parametrize(
    ("code", "money", "big", "when", "clock", "month"),
    [
        (
            "en",
            "12.50 USD",
            "1250 JPY",
            "2026-11-20 09:00 CET (Europe/Paris)",
            "09:00 CET (20 Nov)",
            "October 2026",
        ),
        (
            "de",
            "12,50 USD",
            "1250 JPY",
            "20.11.2026 09:00 CET (Europe/Paris)",
            "09:00 CET (20. Nov.)",
            "Oktober 2026",
        ),
    ],
)
def test_money_and_times_are_written_for_the_language(app, code, money, big, when, clock, month):
    with app.app_context(), in_language(code):
        assert format_money(1250, "USD") == money
        assert format_money(1250, "JPY") == big
        assert format_money(5, "eur").endswith("05 EUR")
        assert format_datetime(MOMENT, "Europe/Paris") == when
        assert format_time(MOMENT, "Europe/Paris", with_day=True) == clock
        assert format_month("2026-10") == month


# --- every template in every language -----------------------------------------------------------


def receipt() -> Receipt:
    return Receipt(
        payment_id=42,
        kind="parking",
        status="paid",
        amount_cents=1250,
        currency="EUR",
        operator_name="Parkhaus Nord GmbH",
        operator_address="",
        lot_name="Harbour Lot",
        lot_address="1 Quay",
        zone="Europe/Berlin",
        created_at=MOMENT,
        paid_at=MOMENT,
        period_start=MOMENT,
        period_end=MOMENT,
    )


def report() -> MonthlyReport:
    return MonthlyReport(
        user_name="Ada",
        month="2026-10",
        bookings=3,
        minutes_parked=270,
        spend_cents=2250,
        currency="EUR",
        most_used_lot="Harbour Lot",
        most_used_lot_visits=2,
        retrievals=2,
        found=1,
    )


def contexts() -> dict[str, dict]:
    from app.payments.receipts import receipt_rows
    from app.reports.service import figure_rows

    return {
        "booking_reminder": {"name": "Ada", "link": "https://parkmind.example/"},
        "export_ready": {
            "name": "Ada",
            "kind": gettext("bookings"),  # the service names the kind in the language
            "row_count": 3,
            "expires_at": "2026-11-27 09:00 UTC",
            "link": "https://parkmind.example/x",
        },
        "data_export_ready": {
            "name": "Ada",
            "row_count": 41,
            "link": "https://parkmind.example/api/v1/storage/files/signed",
            "link_expires_at": "2026-11-27 09:00 UTC",
        },
        "monthly_report": {"report": report(), "report_rows": figure_rows(report()), "chart": ""},
        "parking_reminder": {
            "name": "Ada",
            "where": "Harbour Lot",
            "notes": "near the lift",
            "hours": 12,
            "map_link": "https://maps.example/",
        },
        "receipt": {"name": "Ada", "receipt": receipt(), "rows": receipt_rows(receipt())},
    }


def english_fragments(extracted, code) -> set[str]:
    """Stretches of English message text (between placeholders) that no translation in ``code``
    contains: finding one in a rendered text means a message went out untranslated."""
    catalog = load(code)
    translated = " ".join(
        " ".join(m.string) if isinstance(m.string, tuple) else m.string for m in catalog if m.id
    )
    fragments = set()
    for message in extracted:
        for source in message.id if isinstance(message.id, tuple) else (message.id,):
            for piece in PLACEHOLDER.split(source):
                piece = re.sub(r"<[^>]+>", "", piece).strip(" .,:;()")
                if len(piece) >= 8 and piece not in translated:
                    fragments.add(piece)
    return fragments


TEMPLATES = [
    "booking_reminder",
    "data_export_ready",
    "export_ready",
    "monthly_report",
    "parking_reminder",
    "receipt",
]
GERMAN = {
    "data_export_ready": "eine ZIP-Datei mit Ihren Einträgen (insgesamt 41)",
    "booking_reminder": "Ihre letzte ParkMind-Buchung ist eine Woche her",
    "export_ready": "Ihr ParkMind-Export (Buchungen) ist fertig (3 Zeilen).",
    "monthly_report": "ParkMind-Monat: Oktober 2026",
    "parking_reminder": "Ihr Auto parkt seit mehr als 12 Stunden.",
    "receipt": "über 12,50 EUR ist als PDF angehängt.",
}
ENGLISH = {
    "data_export_ready": "one ZIP file with your records (41 in all)",
    "booking_reminder": "It has been a week since your last ParkMind booking",
    "export_ready": "Your ParkMind bookings export is ready (3 rows).",
    "monthly_report": "ParkMind month: October 2026",
    "parking_reminder": "Your car has been parked for more than 12 hours.",
    "receipt": "for 12.50 EUR is attached as a PDF.",
}


def test_every_email_template_of_the_app_is_checked_here(app):
    folder = Path(app.root_path) / "templates" / "email"
    assert sorted({path.stem for path in folder.iterdir()}) == sorted(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("suffix", ["txt", "html"])
def test_every_email_template_renders_in_german_without_english(app, extracted, name, suffix):
    leftovers = english_fragments(extracted, "de")
    with app.test_request_context(), in_language("de"):
        text = " ".join(render_template(f"email/{name}.{suffix}", **contexts()[name]).split())
    assert GERMAN[name] in text.replace("&#34;", '"')
    assert "Guten Tag Ada," in text
    assert [piece for piece in leftovers if piece in text] == []
    if suffix == "html":
        assert '<html lang="de">' in text


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize("suffix", ["txt", "html"])
def test_every_email_template_still_renders_in_english(app, name, suffix):
    with app.test_request_context(), in_language("en"):
        text = " ".join(render_template(f"email/{name}.{suffix}", **contexts()[name]).split())
    assert ENGLISH[name] in text and "Hello Ada," in text
    assert "Guten Tag" not in text
