"""Mail that arrives: Date, Message-ID in the sender's domain, a text part; one-click unsubscribe
(RFC 8058) on mail a person can turn off, and the public endpoint its link posts to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import time_machine

from app.accounts import service as accounts
from app.notifications.service import deliver
from app.platform.mail import send_email
from app.platform.models import utcnow
from tests.factories import BookingFactory, UserFactory

API = "/api/v1"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def unsubscribe_path(message) -> str:
    """The path of the message's List-Unsubscribe link (checked to be on PUBLIC_BASE_URL)."""
    header = message["List-Unsubscribe"]
    match = re.fullmatch(r"<(https://[^>]+)>", header)
    assert match, header
    url = urlsplit(match.group(1))
    assert url.netloc == "parkmind.example"  # PUBLIC_BASE_URL in the `mailing` fixture
    assert url.path.startswith(f"{API}/unsubscribe/")
    return url.path


def test_every_mail_has_date_message_id_in_sender_domain_and_text(db, smtp, mailing):
    send_email(
        dedupe_key="test:headers", to="ada@example.com", subject="Hi", text="plain", html="<p>x</p>"
    )
    [message] = smtp.wait_for(1, timeout=5)
    sent = parsedate_to_datetime(message["Date"])
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)
    assert re.fullmatch(r"<[0-9a-f]{32}@parkmind\.test>", message["Message-ID"])
    assert message.get_body(("plain",)).get_content().strip() == "plain"
    assert "List-Unsubscribe" not in message  # a plain send is transactional


def test_booking_reminder_unsubscribes_in_one_click(client, db, smtp, mailing, run_job):
    quiet = UserFactory()
    BookingFactory(user=quiet, started_at=utcnow() - timedelta(days=9))
    assert run_job("booking-reminders")["sent"] == 1
    [message] = smtp.wait_for(1, timeout=5)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = unsubscribe_path(message)

    # A GET (a link scanner, a preview) tells what the link does and changes nothing.
    looked = client.get(path)
    assert looked.status_code == 200
    assert looked.get_json() == {"preference": "email_reminders", "subscribed": True}
    db.session.refresh(quiet)
    assert (quiet.preferences or {}).get("email_reminders") is not False

    # What a mail provider posts (RFC 8058 section 3.2): a form body, no Bearer token.
    response = client.post(path, data=ONE_CLICK)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"preference": "email_reminders", "subscribed": False}
    db.session.refresh(quiet)
    assert quiet.preferences["email_reminders"] is False
    assert client.post(path, data=ONE_CLICK).status_code == 200  # twice is fine

    BookingFactory(user=quiet, started_at=utcnow() - timedelta(days=8))  # a new quiet spell
    assert run_job("booking-reminders") == {"sent": 0, "opted_out": 1, "errors": 0}


def test_notice_email_unsubscribes_notify_email_but_an_sos_offers_no_link(
    app, client, db, smtp, mailing
):
    person = UserFactory(preferences={"notify": {"push": False}})
    assert deliver(
        user=person, kind="test", title="Meter", body="Soon", data=None, dedupe_key="t:notice"
    )
    assert deliver(
        user=person,
        kind="test",
        title="SOS",
        body="Help",
        data=None,
        dedupe_key="t:sos",
        urgent=True,
    )
    notice, sos = smtp.wait_for(2, timeout=5)
    assert "List-Unsubscribe" not in sos and "List-Unsubscribe-Post" not in sos
    response = client.post(unsubscribe_path(notice), data=ONE_CLICK)
    assert response.get_json() == {"preference": "notify.email", "subscribed": False}
    db.session.refresh(person)
    assert person.preferences["notify"] == {"push": False, "email": False}


def test_forged_or_expired_links_are_403_in_the_error_shape(client, db, mailing):
    person = UserFactory()
    url = accounts.unsubscribe_url(user_id=person.id, preference="monthly_report")
    path = urlsplit(url).path
    forged = client.post(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert forged.status_code == 403
    assert forged.get_json()["error"]["code"] == "invalid_signature"
    other = accounts.unsubscribe_url(user_id=person.id, preference="email_reminders")
    token = urlsplit(other).path.rsplit("/", 1)[1]
    # Someone else's payload under this signature is refused too.
    _, _, signature = token.rpartition(".")
    spliced = path.rsplit("/", 1)[1].rpartition(".")[0] + "." + signature
    assert client.post(f"{API}/unsubscribe/{spliced}").status_code == 403

    with time_machine.travel(datetime.now(UTC) + timedelta(days=366)):
        expired = client.post(path)
    assert expired.status_code == 403
    assert expired.get_json()["error"]["code"] == "signature_expired"
    db.session.refresh(person)
    assert (person.preferences or {}).get("monthly_report") is not False
