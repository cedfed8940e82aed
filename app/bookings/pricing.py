"""Parking price calculation: increments, free minutes and per-24 h caps, in integer cents."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

SECONDS_PER_MINUTE = 60
MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR
# The four fields of a price rule, as lots carry it and bookings and reservations freeze it.
RULE_FIELDS = ("hourly_rate_cents", "billing_increment_minutes", "free_minutes", "daily_max_cents")


@dataclass(frozen=True, slots=True)
class PriceRule:
    """Tariff of a parking spot; rates and caps in cents."""

    hourly_rate_cents: int
    billing_increment_minutes: int = 60
    free_minutes: int = 0
    daily_max_cents: int | None = None

    @classmethod
    def of(cls, source: object) -> PriceRule:
        """The rule ``source`` carries in its ``RULE_FIELDS`` (a lot, or what froze its rule)."""
        return cls(**{name: getattr(source, name) for name in RULE_FIELDS})

    def as_dict(self) -> dict[str, int | None]:
        """The rule as plain values."""
        return {name: getattr(self, name) for name in RULE_FIELDS}

    def __post_init__(self) -> None:
        """Reject tariffs that could produce negative or undefined prices."""
        _require_int("hourly_rate_cents", self.hourly_rate_cents, minimum=0)
        _require_int("billing_increment_minutes", self.billing_increment_minutes, minimum=1)
        _require_int("free_minutes", self.free_minutes, minimum=0)
        if self.daily_max_cents is not None:
            _require_int("daily_max_cents", self.daily_max_cents, minimum=0)


def _require_int(name: str, value: object, *, minimum: int) -> None:
    # bool is an int subclass; True as a rate is almost certainly a bug upstream.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _exact_duration(duration_seconds: float | int) -> Fraction:
    # Fraction keeps float inputs exact, so rounding up never depends on binary noise.
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, (int, float)):
        raise ValueError(f"duration_seconds must be a number, got {duration_seconds!r}")
    if isinstance(duration_seconds, float) and not math.isfinite(duration_seconds):
        raise ValueError(f"duration_seconds must be finite, got {duration_seconds!r}")
    if duration_seconds < 0:
        raise ValueError(f"duration_seconds must be >= 0, got {duration_seconds!r}")
    return Fraction(duration_seconds)


def billable_minutes(rule: PriceRule, duration_seconds: float | int) -> int:
    """Return the duration rounded up to whole billing increments, or 0 within the free minutes."""
    duration = _exact_duration(duration_seconds)
    # The free period is a grace period, not a deduction: once exceeded, the whole stay is billed.
    if duration <= rule.free_minutes * SECONDS_PER_MINUTE:
        return 0
    increment_seconds = rule.billing_increment_minutes * SECONDS_PER_MINUTE
    increments = math.ceil(duration / increment_seconds)
    return increments * rule.billing_increment_minutes


def _pro_rata_cents(rule: PriceRule, minutes: int) -> int:
    # Integer half-up rounding of minutes * rate / 60 (all operands are non-negative).
    numerator = minutes * rule.hourly_rate_cents
    return (2 * numerator + MINUTES_PER_HOUR) // (2 * MINUTES_PER_HOUR)


def _capped(rule: PriceRule, cents: int) -> int:
    if rule.daily_max_cents is None:
        return cents
    return min(cents, rule.daily_max_cents)


@dataclass(frozen=True, slots=True)
class PriceBreakdown:
    """How a price came about: billed minutes, whole 24 h blocks (each capped) and the rest."""

    billable_minutes: int
    full_days: int
    day_cents: int
    remainder_minutes: int
    remainder_cents: int
    total_cents: int

    def as_dict(self) -> dict[str, int]:
        """The breakdown as plain values (for quotes and receipts)."""
        return {
            "billable_minutes": self.billable_minutes,
            "full_days": self.full_days,
            "day_cents": self.day_cents,
            "remainder_minutes": self.remainder_minutes,
            "remainder_cents": self.remainder_cents,
            "total_cents": self.total_cents,
        }


def price_breakdown(rule: PriceRule, duration_seconds: float | int) -> PriceBreakdown:
    """Return how parking for duration_seconds under rule is priced, total included."""
    minutes = billable_minutes(rule, duration_seconds)
    full_days, remainder_minutes = divmod(minutes, MINUTES_PER_DAY)
    # The cap applies per 24 h block of the billed duration, so a long stay stays proportional.
    day_cost = _capped(rule, _pro_rata_cents(rule, MINUTES_PER_DAY))
    remainder_cost = _capped(rule, _pro_rata_cents(rule, remainder_minutes))
    return PriceBreakdown(
        billable_minutes=minutes,
        full_days=full_days,
        day_cents=day_cost,
        remainder_minutes=remainder_minutes,
        remainder_cents=remainder_cost,
        total_cents=full_days * day_cost + remainder_cost,
    )


def compute_cost_cents(rule: PriceRule, duration_seconds: float | int) -> int:
    """Return the price in cents of parking for duration_seconds under rule."""
    return price_breakdown(rule, duration_seconds).total_cents
