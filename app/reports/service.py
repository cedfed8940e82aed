"""The monthly report: a user's month of parking in figures, as an HTML e-mail with a PDF.

Figures: bookings, time parked, spend, the most used lot, retrievals (and how many found the car
unaided) and the retrieval score trend, drawn as a PNG with an alt text saying what it shows:
inline (``cid:``) in the HTML, since Gmail and Outlook strip inline SVG, and as a figure of the
tagged PDF. Everything is written in the person's language; the PDF embeds its fonts
(``app/platform/pdf.py``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.models import User
from app.bookings.models import Booking
from app.lots.models import Lot
from app.parking.models import RetrievalScore
from app.platform.extensions import db
from app.platform.i18n import (
    current_language,
    format_decimal,
    format_money,
    format_month,
    gettext,
    in_language,
    language_of,
    ngettext,
)
from app.platform.mail import InlineImage, message_status, send_email
from app.platform.pdf import render_pdf
from app.reports.charts import score_chart_png


@dataclass
class MonthlyReport:
    """One user's figures for one calendar month (in the configured time zone)."""

    user_name: str
    month: str  # YYYY-MM
    bookings: int
    minutes_parked: int
    spend_cents: int
    currency: str
    most_used_lot: str | None
    most_used_lot_visits: int
    retrievals: int
    found: int
    scores: list[tuple[datetime, float]] = field(default_factory=list)
    previous_mean_score: float | None = None

    @property
    def month_label(self) -> str:
        """The month as words in the current language: "October 2026"."""
        return format_month(self.month)

    @property
    def time_parked(self) -> str:
        hours, minutes = divmod(self.minutes_parked, 60)
        return gettext("%(hours)d h %(minutes)02d min", hours=hours, minutes=minutes)

    @property
    def spend(self) -> str:
        return format_money(self.spend_cents, self.currency)

    @property
    def mean_score(self) -> float | None:
        if not self.scores:
            return None
        return round(sum(total for _, total in self.scores) / len(self.scores), 2)

    @property
    def has_activity(self) -> bool:
        return bool(self.bookings or self.retrievals)


def month_bounds(month: str, tz_name: str) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of ``YYYY-MM`` in the zone ``tz_name``."""
    year, mon = (int(part) for part in month.split("-"))
    zone = ZoneInfo(tz_name)
    start = datetime(year, mon, 1, tzinfo=zone)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def previous_month(today: date) -> str:
    """``YYYY-MM`` of the month before ``today``."""
    return month_before(f"{today.year:04d}-{today.month:02d}")


def month_before(month: str) -> str:
    """``YYYY-MM`` of the month before ``month``."""
    year, mon = (int(part) for part in month.split("-"))
    year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return f"{year:04d}-{mon:02d}"


def build_monthly_report(user: User, month: str) -> MonthlyReport:
    """Gather ``user``'s figures for ``month`` (``YYYY-MM``)."""
    config = current_app.config
    start, end = month_bounds(month, config.get("TIMEZONE") or "UTC")
    in_month = (Booking.user_id == user.id, Booking.started_at >= start, Booking.started_at < end)
    bookings, minutes, spend = db.session.execute(
        select(
            func.count(Booking.id),
            func.coalesce(func.sum(Booking.duration_minutes), 0),
            func.coalesce(func.sum(Booking.cost_cents), 0),
        ).where(*in_month, Booking.status != "cancelled")
    ).one()
    top = db.session.execute(
        select(Lot.name, func.count(Booking.id).label("visits"))
        .join(Lot, Lot.id == Booking.lot_id)
        .where(*in_month, Booking.status != "cancelled")
        .group_by(Lot.id, Lot.name)
        .order_by(func.count(Booking.id).desc(), Lot.name)
        .limit(1)
    ).first()
    scores = db.session.execute(
        select(RetrievalScore.created_at, RetrievalScore.total, RetrievalScore.found)
        .where(
            RetrievalScore.user_id == user.id,
            RetrievalScore.created_at >= start,
            RetrievalScore.created_at < end,
        )
        .order_by(RetrievalScore.created_at, RetrievalScore.id)
    ).all()
    previous_start, _ = month_bounds(month_before(month), config.get("TIMEZONE") or "UTC")
    previous_mean = db.session.scalar(
        select(func.avg(RetrievalScore.total)).where(
            RetrievalScore.user_id == user.id,
            RetrievalScore.created_at >= previous_start,
            RetrievalScore.created_at < start,
        )
    )
    return MonthlyReport(
        user_name=user.full_name or user.username,
        month=month,
        bookings=int(bookings or 0),
        minutes_parked=int(minutes or 0),
        spend_cents=int(spend or 0),
        currency=config.get("CURRENCY", "USD"),
        most_used_lot=top.name if top else None,
        most_used_lot_visits=int(top.visits) if top else 0,
        retrievals=len(scores),
        found=sum(1 for row in scores if row.found),
        scores=[(row.created_at, float(row.total)) for row in scores],
        previous_mean_score=(
            round(float(previous_mean), 2) if isinstance(previous_mean, float | Decimal) else None
        ),
    )


# --- rendering -----------------------------------------------------------------------------------


def _chart_points(report: MonthlyReport) -> list[tuple[float, float]]:
    """(day of month with the hour as a fraction, score) in the configured zone."""
    zone = ZoneInfo(current_app.config.get("TIMEZONE") or "UTC")
    return [
        (moment.astimezone(zone).day + moment.astimezone(zone).hour / 24, total)
        for moment, total in report.scores
    ]


CHART_CID = "score-chart@parkmind"


def chart_png(report: MonthlyReport) -> bytes:
    """The score chart as a PNG for the HTML e-mail, in the current language."""
    return score_chart_png(
        _chart_points(report),
        caption=gettext("Retrieval score by day of month"),
        empty=gettext("No retrievals this month."),
    )


def chart_alt(report: MonthlyReport) -> str:
    """What the chart shows, in words, for anyone who cannot see the image."""
    scores = [total for _, total in report.scores]
    if not scores:
        return gettext("Score trend chart: no retrievals this month.")
    if len(scores) == 1:
        return gettext(
            "Score trend chart for %(month)s: one retrieval, score %(score)s.",
            month=report.month_label,
            score=format_decimal(scores[0]),
        )
    return gettext(
        "Score trend chart for %(month)s: %(count)d retrievals, scores from %(low)s to "
        "%(high)s, mean %(mean)s; the first %(first)s, the last %(last)s.",
        month=report.month_label,
        count=len(scores),
        low=format_decimal(min(scores)),
        high=format_decimal(max(scores)),
        mean=format_decimal(report.mean_score),
        first=format_decimal(scores[0]),
        last=format_decimal(scores[-1]),
    )


def render_report_html(report: MonthlyReport) -> str:
    """The HTML body of the monthly report e-mail; the chart is the inline image
    ``CHART_CID`` (:func:`chart_png`)."""
    return render_template(
        "email/monthly_report.html",
        report=report,
        report_rows=figure_rows(report),
        chart_cid=CHART_CID,
        chart_alt=chart_alt(report),
    )


def render_report_text(report: MonthlyReport) -> str:
    """The plain-text body of the monthly report e-mail."""
    return render_template(
        "email/monthly_report.txt", report=report, report_rows=figure_rows(report)
    )


def render_report_pdf(report: MonthlyReport) -> bytes:
    """The monthly report as a tagged PDF (``templates/pdf/monthly_report.html``); the score
    chart is the e-mail's PNG, with the same alternative text."""
    chart = base64.b64encode(chart_png(report)).decode("ascii")
    return render_pdf(
        "monthly_report.html",
        title=gettext("ParkMind monthly report %(month)s", month=report.month),
        author="ParkMind",
        subject=gettext("Prepared for %(name)s", name=report.user_name),
        language=current_language(),
        report=report,
        report_rows=figure_rows(report),
        chart_src=f"data:image/png;base64,{chart}",
        chart_alt=chart_alt(report),
    )


def figure_rows(report: MonthlyReport) -> list[list[str]]:
    """The report's figures as label/value pairs (shared by the PDF, HTML and text), in the
    current language."""
    lot = (
        ngettext(
            "%(lot)s (%(num)d visit)",
            "%(lot)s (%(num)d visits)",
            report.most_used_lot_visits,
            lot=report.most_used_lot,
        )
        if report.most_used_lot
        else gettext("none")
    )
    mean = (
        format_decimal(report.mean_score)
        if report.mean_score is not None
        else gettext("no retrievals")
    )
    previous = (
        format_decimal(report.previous_mean_score)
        if report.previous_mean_score is not None
        else gettext("n/a")
    )
    retrievals = gettext(
        "%(retrievals)d (%(found)d found)", retrievals=report.retrievals, found=report.found
    )
    return [
        [gettext("Bookings"), str(report.bookings)],
        [gettext("Time parked"), report.time_parked],
        [gettext("Spend"), report.spend],
        [gettext("Most used lot"), lot],
        [gettext("Retrievals"), retrievals],
        [gettext("Mean retrieval score"), mean],
        [gettext("Previous month's mean score"), previous],
    ]


# --- sending -------------------------------------------------------------------------------------


def report_key(user_id: int, month: str) -> str:
    """The outbound ledger key of one user's report for one month."""
    return f"monthly-report:{user_id}:{month}"


def send_monthly_report(user_id: int, month: str) -> bool:
    """Build and e-mail ``user_id``'s report for ``month`` once; False when already sent."""
    key = report_key(user_id, month)
    if message_status(key) == "sent":
        return False
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or not user.settings.get("monthly_report", True):
        return False
    report = build_monthly_report(user, month)
    if not report.has_activity:
        return False
    with in_language(language_of(user.settings)):
        subject = gettext("Your ParkMind report for %(month)s", month=report.month_label)
        text, html = render_report_text(report), render_report_html(report)
        pdf, chart = render_report_pdf(report), chart_png(report)
    return send_email(
        dedupe_key=key,
        to=user.email,
        subject=subject,
        text=text,
        html=html,
        inline_images=[InlineImage(CHART_CID, chart, "image/png")],
        attachments=[(f"parkmind-report-{month}.pdf", pdf, "application/pdf")],
        unsubscribe_url=accounts.unsubscribe_url(user_id=user.id, preference="monthly_report"),
    )
