"""The in-app inbox, and delivery of one notice in-app, by e-mail and to the webhook, once each."""

from __future__ import annotations

import html
import logging
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts import service as accounts
from app.accounts.models import User
from app.notifications.models import Notification
from app.platform.errors import NotFound
from app.platform.extensions import db
from app.platform.i18n import gettext, in_language, language_of
from app.platform.mail import send_email
from app.platform.models import OutboundMessage, get_owned_or_404, utcnow
from app.platform.pagination import paginate
from app.platform.queue import enqueue
from app.platform.webhook import post_webhook

log = logging.getLogger(__name__)


def create_notification(
    *,
    user_id: int,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    urgent: bool = False,
) -> tuple[Notification, bool]:
    """Add an inbox entry; with ``dedupe_key`` at most one ever exists. Returns (entry, created).
    A new entry is also pushed to the user's devices (through the outbox, in this transaction)
    unless they turned push off; an ``urgent`` one (an SOS) always is."""
    if dedupe_key is not None:
        existing = _by_key(dedupe_key)
        if existing is not None:
            return existing, False
    notification = Notification(
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=body,
        data=data,
        dedupe_key=dedupe_key,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(notification)
    except IntegrityError:
        # A concurrent delivery of the same alert won the unique key.
        existing = _by_key(dedupe_key) if dedupe_key is not None else None
        if existing is None:
            raise
        return existing, False
    user = db.session.get(User, user_id)
    if user is not None and user.is_active and wants(user, "push", urgent=urgent):
        enqueue("devices.push_notification", notification.id, urgent)
    return notification, True


def wants(user: User, channel: str, *, urgent: bool = False) -> bool:
    """Whether ``user`` takes notices on ``channel`` (``preferences.notify``); an urgent notice
    (an SOS) goes to every channel whatever the preferences say."""
    if urgent:
        return True
    chosen = ((user.settings or {}).get("notify") or {}).get(channel)
    return chosen is not False


def _by_key(dedupe_key: str) -> Notification | None:
    return db.session.scalar(select(Notification).where(Notification.dedupe_key == dedupe_key))


def deliver(
    *,
    user: User,
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any] | None,
    dedupe_key: str,
    email: bool = True,
    urgent: bool = False,
) -> bool:
    """Notify ``user`` in-app, on their devices and by e-mail, each at most once per
    ``dedupe_key`` (push and e-mail as their preferences say, unless ``urgent``).

    ``title`` and ``body`` are already in the recipient's language; the e-mail around them is
    written in it too.

    Returns False when the e-mail could not be sent (the in-app entry stands; a retry with the
    same key sends only what is missing).
    """
    create_notification(
        user_id=user.id,
        kind=kind,
        title=title,
        body=body,
        data=data,
        dedupe_key=dedupe_key,
        urgent=urgent,
    )
    if not email or not user.email or not user.is_active:
        return True
    if not wants(user, "email", urgent=urgent):
        return True

    try:
        with in_language(language_of(user.settings)):
            subject = gettext("ParkMind: %(title)s", title=title)
            text, markup = _email_text(user, body), _email_html(user, body)
        send_email(
            dedupe_key=f"{dedupe_key}:email",
            to=user.email,
            subject=subject,
            text=text,
            html=markup,
            # An SOS goes out whatever the preferences say: it offers no way to turn it off.
            unsubscribe_url=None if urgent else _unsubscribe_url(user),
        )
    except Exception:
        log.exception("e-mail for %s to user %s failed; will retry", dedupe_key, user.id)
        return False
    return True


def post_operator_notice(*, dedupe_key: str, text: str, payload: dict[str, Any]) -> bool:
    """Post a notice to the operators' webhook (when configured), at most once per key."""
    if not current_app.config.get("NOTIFY_WEBHOOK_URL"):
        return True

    try:
        post_webhook(dedupe_key=f"{dedupe_key}:webhook", payload={"text": text, **payload})
    except Exception:
        log.exception("webhook %s failed; will retry", dedupe_key)
        return False
    return True


def _email_text(user: User, body: str) -> str:
    hello = gettext("Hello %(name)s,", name=user.full_name or user.username)
    details = gettext("Open ParkMind to see the details.")
    return f"{hello}\n\n{body}\n\n{details}\n"


def _email_html(user: User, body: str) -> str:
    hello = gettext("Hello %(name)s,", name=html.escape(user.full_name or user.username))
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in body.splitlines() if line)
    details = html.escape(gettext("Open ParkMind to see the details."))
    return f"<p>{hello}</p>{paragraphs}<p>{details}</p>"


def list_notifications(
    *, user_id: int, unread: bool = False, page: int = 1, per_page: int = 20
) -> dict[str, Any]:
    """The user's inbox, newest first, with the number of unread entries."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    result = paginate(stmt.order_by(Notification.id.desc()), page=page, per_page=per_page)
    result["unread_count"] = unread_count(user_id=user_id)
    return result


def unread_count(*, user_id: int) -> int:
    """How many of the user's notifications are unread."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(*, user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (reading twice keeps the first time)."""
    notification = get_owned_or_404(
        Notification,
        notification_id,
        owner_id=user_id,
        error=NotFound("Notification not found.", code="notification_not_found"),
    )
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification


def mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


FORGET_BATCH = 200


def forget_notices(*, key_prefixes: list[str]) -> int:
    """Delete the notices sent to anyone under these dedupe-key prefixes (they speak of a person
    whose account is being erased), and blank their subjects in the mail ledger, whose keys stay
    so nothing is sent twice. Returns how many notices went."""
    removed = 0
    for start in range(0, len(key_prefixes), FORGET_BATCH):
        batch = key_prefixes[start : start + FORGET_BATCH]
        removed += (
            db.session.execute(
                delete(Notification)
                .where(
                    or_(*(Notification.dedupe_key.startswith(p, autoescape=True) for p in batch))
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
        db.session.execute(
            update(OutboundMessage)
            .where(or_(*(OutboundMessage.dedupe_key.startswith(p, autoescape=True) for p in batch)))
            .values(subject=None)
            .execution_options(synchronize_session=False)
        )
    return removed


def email_notice(notification_id: int) -> bool:
    """E-mail an in-app notice to its recipient (as their preferences say), once; True when
    there is nothing (more) to send."""
    row = db.session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(Notification.id == notification_id)
    ).one_or_none()
    if row is None:
        return True
    notice, user = row
    if not user.email or not user.is_active or not wants(user, "email"):
        return True
    with in_language(language_of(user.settings)):
        subject = gettext("ParkMind: %(title)s", title=notice.title)
        text, markup = _email_text(user, notice.body), _email_html(user, notice.body)
    key = f"{notice.dedupe_key or f'notification:{notice.id}'}:email"
    send_email(
        dedupe_key=key,
        to=user.email,
        subject=subject,
        text=text,
        html=markup,
        unsubscribe_url=_unsubscribe_url(user),
    )
    return True


def _unsubscribe_url(user: User) -> str:
    """The one-click link that turns notices by e-mail off (``preferences.notify.email``)."""
    return accounts.unsubscribe_url(user_id=user.id, preference="notify.email")
