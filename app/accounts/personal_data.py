"""What the accounts domain holds about a person: the profile, login sessions, stored request
replies and the ledger of e-mails sent to them (see app.platform.personal_data)."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from app.accounts.models import AuthSession, User
from app.platform.extensions import db
from app.platform.models import IdempotencyKey, OutboundMessage, utcnow
from app.platform.personal_data import Erased, eraser, part, record

# Never exported: the password hash, and the session's current refresh-token id (a credential).
PROFILE_SECRETS = ("password_hash",)
SESSION_SECRETS = ("refresh_jti",)
# An erased account's name and e-mail: unique per account and impossible to register (':' is not
# allowed in either), so the old username and e-mail are free for anyone again.
ERASED_UNUSABLE_HASH = "!erased"


def erased_login(user_id: int) -> str:
    """The username and e-mail an erased account keeps."""
    return f"erased:{user_id}"


@part(
    "profile",
    about="Your account: username, e-mail, name, phone, vehicle, role and preferences.",
    models=[User],
)
def export_profile(user_id: int) -> dict:
    """The account row, without the password hash."""
    user = db.session.get(User, user_id)
    return record(user, exclude=PROFILE_SECRETS) if user is not None else {}


@part(
    "sessions",
    about="Your sign-ins: when, from which app and address, until when, and when revoked.",
    models=[AuthSession],
)
def export_sessions(user_id: int) -> list[dict]:
    """The person's login sessions, oldest first."""
    rows = db.session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id)
        .order_by(AuthSession.created_at, AuthSession.id)
    )
    return [record(session, exclude=SESSION_SECRETS) for session in rows]


@part(
    "stored_replies",
    about=(
        "Replies kept for a day so that a request your phone retried is not done twice "
        "(Idempotency-Key)."
    ),
    models=[IdempotencyKey],
)
def export_stored_replies(user_id: int) -> list[dict]:
    """The person's idempotency records."""
    rows = db.session.scalars(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id).order_by(IdempotencyKey.id)
    )
    return [record(row) for row in rows]


@part(
    "emails",
    about="The e-mails ParkMind sent you: subject, status and when.",
    models=[OutboundMessage],
)
def export_emails(user_id: int) -> list[dict]:
    """The mail ledger's entries addressed to the person."""
    email = db.session.scalar(select(User.email).where(User.id == user_id))
    rows = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.channel == "email", OutboundMessage.recipient == email)
        .order_by(OutboundMessage.id)
    )
    return [record(row, exclude=("dedupe_key", "claimed_at")) for row in rows]


@eraser("accounts", order=100)
def erase_account_row(user_id: int) -> Erased:
    """Sessions and stored replies go, the mail ledger forgets the address (its keys stay, so
    nothing is sent twice), and the account row keeps only its id and role: it is what kept
    financial records still point to."""
    user = db.session.get(User, user_id, with_for_update=True)
    ledger = db.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.recipient == user.email)
        .values(recipient=erased_login(user_id), subject=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    sessions = db.session.execute(
        delete(AuthSession)
        .where(AuthSession.user_id == user_id)
        .execution_options(synchronize_session=False, session_user_id=user_id)
    ).rowcount
    replies = db.session.execute(
        delete(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    user.username = user.email = erased_login(user_id)
    user.password_hash = ERASED_UNUSABLE_HASH
    user.full_name = user.phone = user.vehicle_number = None
    user.preferences = None
    user.avatar_upload_id = None
    user.last_login_at = None
    user.is_active = False
    user.erased_at = utcnow()
    db.session.flush()
    return Erased(
        {"sessions": sessions or 0, "stored_replies": replies or 0, "emails": ledger or 0}
    )
