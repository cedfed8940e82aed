"""Messages to people in their own language: Flask-Babel, the shipped languages, and money, numbers
and times written the way the language being rendered writes them.

The API itself speaks codes and stays in English; only what a person reads (e-mails, in-app and
push notices, receipts, reports) is translated, each in its recipient's ``preferences.language``::

    with in_language(language_of_user(user_id)):
        title = gettext("Your car at %(lot)s", lot=lot.name)

Catalogs live in ``app/translations/<code>/LC_MESSAGES/messages.po``; ``make translations``
extracts, updates and compiles them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel import dates, numbers
from flask import Flask
from flask_babel import Babel, force_locale, get_locale, gettext, ngettext

from app.accounts.models import User
from app.platform.extensions import db
from config import LANGUAGES

__all__ = [
    "DEFAULT_LANGUAGE",
    "N_",
    "SUPPORTED_LANGUAGES",
    "current_language",
    "format_datetime",
    "format_decimal",
    "format_money",
    "format_month",
    "format_time",
    "gettext",
    "in_language",
    "init_i18n",
    "language_of",
    "language_of_user",
    "ngettext",
    "supported_language",
]

SUPPORTED_LANGUAGES: tuple[str, ...] = LANGUAGES
DEFAULT_LANGUAGE: str = LANGUAGES[0]

babel = Babel()


def init_i18n(app: Flask) -> None:
    """Bind Flask-Babel (catalogs in ``app/translations``, Jinja's i18n extension) to ``app``.

    No locale selector: a request renders in the default language, and each message to a person
    picks its recipient's language with :func:`in_language`.
    """
    babel.init_app(app)
    app.jinja_env.globals["current_language"] = current_language


def N_(message: str) -> str:  # noqa: N802  (the name gettext tools look for)
    """Mark a message id kept in a table for extraction; translate it where it is used."""
    return message


def supported_language(code: str | None) -> str:
    """``code`` when it is a shipped language, else the default (an old or unknown preference)."""
    return code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def in_language(code: str | None) -> Iterator[str]:
    """Render messages, money and times inside the block in ``code`` (the default if unknown).

    Needs an app context (requests, tasks and jobs have one); yields the language used.
    """
    language = supported_language(code)
    with force_locale(language):
        yield language


def language_of(preferences: dict | None) -> str:
    """The shipped language a user's (already loaded) preferences ask for."""
    return supported_language((preferences or {}).get("language"))


def language_of_user(user_id: int) -> str:
    """The shipped language of user ``user_id`` (one select of their preferences)."""
    preferences = db.session.execute(
        sa.select(User.preferences).where(User.id == user_id)
    ).scalar_one_or_none()
    return language_of(preferences)


def current_language() -> str:
    """The language being rendered now (the default outside an app context)."""
    locale = get_locale()
    return supported_language(locale.language if locale is not None else None)


def format_money(cents: int, currency: str) -> str:
    """Minor units as major units followed by the currency code, in the current language's
    digits: ``1250, "USD"`` → ``12.50 USD`` (en), ``12,50 USD`` (de); ``1250, "JPY"`` →
    ``1250 JPY`` (the currency's own minor units, from CLDR).

    The ISO code rather than a symbol: "$" is also CAD or AUD on a receipt. No digit grouping,
    as receipts have always shown amounts (English receipts read exactly as before).
    """
    code = currency.upper()
    amount = Decimal(cents).scaleb(-numbers.get_currency_precision(code))
    return numbers.format_currency(
        amount, code, format="0.00 ¤¤", locale=current_language(), currency_digits=True
    )


def format_decimal(value: float, places: int = 2) -> str:
    """A number with ``places`` decimals in the current language: ``71.88`` / ``71,88``."""
    pattern = "0." + "0" * places if places else "0"
    return numbers.format_decimal(value, format=pattern, locale=current_language())


def format_datetime(moment: datetime | None, zone: str, *, name_zone: bool = True) -> str:
    """A UTC instant in ``zone``: ``2026-11-20 09:15 CET (Europe/Paris)`` (en),
    ``20.11.2026 09:15 CET (Europe/Paris)`` (de); without ``name_zone`` the IANA name is left
    out. ``-`` for no instant."""
    if moment is None:
        return "-"
    local = moment.astimezone(ZoneInfo(zone))
    # TRANSLATORS: a date and time as a CLDR pattern (yyyy year, MM month, dd day, HH:mm time).
    text = dates.format_datetime(local, gettext("yyyy-MM-dd HH:mm"), locale=current_language())
    text = f"{text} {local.tzname()}"
    return f"{text} ({zone})" if name_zone else text


def format_time(moment: datetime, zone: str, *, with_day: bool = False) -> str:
    """The time of a UTC instant in ``zone`` with its zone abbreviation: ``09:15 CET``; with
    ``with_day`` also the day: ``09:15 CET (20 Nov)`` (en), ``09:15 CET (20. Nov.)`` (de)."""
    local = moment.astimezone(ZoneInfo(zone))
    language = current_language()
    text = f"{dates.format_time(local, 'HH:mm', locale=language)} {local.tzname()}"
    if not with_day:
        return text
    # TRANSLATORS: a day and abbreviated month as a CLDR pattern ("20 Nov").
    day = dates.format_date(local, gettext("dd MMM"), locale=language)
    return f"{text} ({day})"


def format_month(month: str) -> str:
    """``YYYY-MM`` as the month's name and year: ``October 2026`` / ``Oktober 2026``."""
    year, number = (int(part) for part in month.split("-"))
    return dates.format_date(datetime(year, number, 1), "LLLL yyyy", locale=current_language())
