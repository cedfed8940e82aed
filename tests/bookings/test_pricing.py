"""Tests for app.bookings.pricing."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.bookings.pricing import PriceRule, billable_minutes, compute_cost_cents

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Worked examples from the pricing contract; they must hold verbatim.
WORKED_EXAMPLES = [
    pytest.param(PriceRule(hourly_rate_cents=250), 61 * MINUTE, 500, id="increment-60-61min"),
    pytest.param(
        PriceRule(hourly_rate_cents=250, billing_increment_minutes=15),
        61 * MINUTE,
        313,
        id="increment-15-61min-half-up",
    ),
    pytest.param(
        PriceRule(hourly_rate_cents=250, free_minutes=15), 10 * MINUTE, 0, id="free-15-10min"
    ),
    pytest.param(
        PriceRule(hourly_rate_cents=250, billing_increment_minutes=60, daily_max_cents=2000),
        26 * HOUR,
        2500,
        id="daily-cap-26h",
    ),
    pytest.param(PriceRule(hourly_rate_cents=250), 0, 0, id="zero-seconds"),
]

rules = st.builds(
    PriceRule,
    hourly_rate_cents=st.integers(min_value=0, max_value=10_000),
    billing_increment_minutes=st.one_of(
        st.sampled_from([1, 5, 7, 10, 15, 30, 45, 60, 90, 1440]),
        st.integers(min_value=1, max_value=2 * 1440),
    ),
    free_minutes=st.integers(min_value=0, max_value=180),
    daily_max_cents=st.one_of(st.none(), st.integers(min_value=0, max_value=100_000)),
)
capped_rules = rules.filter(lambda rule: rule.daily_max_cents is not None)
durations = st.one_of(
    st.integers(min_value=0, max_value=30 * DAY),
    st.floats(min_value=0, max_value=30 * DAY, allow_nan=False, allow_infinity=False),
)


@pytest.mark.parametrize(("rule", "duration_seconds", "expected_cents"), WORKED_EXAMPLES)
def test_worked_examples(rule: PriceRule, duration_seconds: int, expected_cents: int) -> None:
    assert compute_cost_cents(rule, duration_seconds) == expected_cents


def test_increment_15_rounds_61_minutes_up_to_75() -> None:
    rule = PriceRule(hourly_rate_cents=250, billing_increment_minutes=15)
    assert billable_minutes(rule, 61 * MINUTE) == 75


def test_partial_second_starts_a_new_increment() -> None:
    rule = PriceRule(hourly_rate_cents=250)
    assert billable_minutes(rule, HOUR) == 60
    assert billable_minutes(rule, HOUR + 0.001) == 120
    assert compute_cost_cents(rule, HOUR + 0.001) == 500


def test_one_second_is_billed_as_one_increment() -> None:
    rule = PriceRule(hourly_rate_cents=250, billing_increment_minutes=15)
    assert billable_minutes(rule, 1) == 15
    assert compute_cost_cents(rule, 1) == 63  # 62.5 rounds half up


def test_free_minutes_boundary_is_inclusive_and_then_whole_stay_is_billed() -> None:
    rule = PriceRule(hourly_rate_cents=250, billing_increment_minutes=15, free_minutes=15)
    assert billable_minutes(rule, 15 * MINUTE) == 0
    assert compute_cost_cents(rule, 15 * MINUTE) == 0
    assert billable_minutes(rule, 15 * MINUTE + 1) == 30
    assert compute_cost_cents(rule, 15 * MINUTE + 1) == 125


def test_cap_applies_per_24h_block() -> None:
    rule = PriceRule(hourly_rate_cents=250, daily_max_cents=2000)
    assert compute_cost_cents(rule, 24 * HOUR) == 2000
    assert compute_cost_cents(rule, 48 * HOUR) == 4000
    # The remainder of 23 h (5750) is capped as well.
    assert compute_cost_cents(rule, 47 * HOUR) == 4000
    assert compute_cost_cents(rule, 49 * HOUR) == 4250


def test_cap_above_daily_cost_has_no_effect() -> None:
    rule = PriceRule(hourly_rate_cents=250, daily_max_cents=10_000)
    assert compute_cost_cents(rule, 26 * HOUR) == 26 * 250


def test_zero_rate_and_zero_cap_are_free() -> None:
    assert compute_cost_cents(PriceRule(hourly_rate_cents=0), 5 * HOUR) == 0
    assert compute_cost_cents(PriceRule(hourly_rate_cents=250, daily_max_cents=0), 5 * HOUR) == 0


def test_float_duration_is_accepted() -> None:
    rule = PriceRule(hourly_rate_cents=250, billing_increment_minutes=15)
    assert compute_cost_cents(rule, 3660.5) == 313


@pytest.mark.parametrize("duration", [-1, -0.001, math.nan, math.inf, "60", None, True])
def test_invalid_duration_raises(duration: object) -> None:
    rule = PriceRule(hourly_rate_cents=250)
    with pytest.raises(ValueError):
        compute_cost_cents(rule, duration)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        billable_minutes(rule, duration)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hourly_rate_cents": -1},
        {"hourly_rate_cents": 250, "billing_increment_minutes": 0},
        {"hourly_rate_cents": 250, "billing_increment_minutes": -15},
        {"hourly_rate_cents": 250, "free_minutes": -1},
        {"hourly_rate_cents": 250, "daily_max_cents": -1},
        {"hourly_rate_cents": 2.5},
        {"hourly_rate_cents": 250, "billing_increment_minutes": 1.5},
    ],
)
def test_invalid_rule_raises(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        PriceRule(**kwargs)  # type: ignore[arg-type]


def test_rule_accepts_boundary_values() -> None:
    rule = PriceRule(
        hourly_rate_cents=0, billing_increment_minutes=1, free_minutes=0, daily_max_cents=0
    )
    assert compute_cost_cents(rule, DAY) == 0


def _billed_days(rule: PriceRule, duration: float) -> int:
    return math.ceil(billable_minutes(rule, duration) / (24 * 60))


@settings(deadline=None)
@given(rule=rules, duration=durations)
def test_cost_is_a_non_negative_int(rule: PriceRule, duration: float) -> None:
    cost = compute_cost_cents(rule, duration)
    assert type(cost) is int
    assert cost >= 0


@settings(deadline=None)
@given(rule=rules, duration=durations)
def test_billable_minutes_cover_the_duration_in_whole_increments(
    rule: PriceRule, duration: float
) -> None:
    minutes = billable_minutes(rule, duration)
    assert type(minutes) is int
    assert minutes % rule.billing_increment_minutes == 0
    if duration <= rule.free_minutes * MINUTE:
        assert minutes == 0
    else:
        assert minutes * MINUTE >= duration
        assert (minutes - rule.billing_increment_minutes) * MINUTE < duration


@settings(deadline=None)
@given(rule=rules, first=durations, second=durations)
def test_cost_is_monotonic_in_duration(rule: PriceRule, first: float, second: float) -> None:
    shorter, longer = sorted((first, second))
    assert compute_cost_cents(rule, shorter) <= compute_cost_cents(rule, longer)


@settings(deadline=None)
@given(rule=capped_rules, duration=durations)
def test_cost_never_exceeds_cap_per_started_billed_day(rule: PriceRule, duration: float) -> None:
    assert rule.daily_max_cents is not None
    cost = compute_cost_cents(rule, duration)
    assert cost <= _billed_days(rule, duration) * rule.daily_max_cents


@settings(deadline=None)
@given(
    rule=capped_rules.filter(lambda rule: (24 * 60) % rule.billing_increment_minutes == 0),
    duration=durations,
)
def test_cost_never_exceeds_cap_per_started_real_day(rule: PriceRule, duration: float) -> None:
    # When increments tile a day, rounding up never spills into an extra 24 h block, so the cap
    # bound also holds for the days actually started.
    assert rule.daily_max_cents is not None
    # Fraction avoids float underflow: 5e-324 s is still a started day.
    started_days = math.ceil(Fraction(duration) / DAY)
    assert compute_cost_cents(rule, duration) <= started_days * rule.daily_max_cents


@settings(deadline=None)
@given(rule=rules, duration=durations)
def test_uncapped_cost_is_pro_rata_rounded_half_up(rule: PriceRule, duration: float) -> None:
    uncapped = PriceRule(
        hourly_rate_cents=rule.hourly_rate_cents,
        billing_increment_minutes=rule.billing_increment_minutes,
        free_minutes=rule.free_minutes,
    )
    exact_cents = billable_minutes(uncapped, duration) * uncapped.hourly_rate_cents / 60
    assert abs(compute_cost_cents(uncapped, duration) - exact_cents) <= 0.5 + 1e-9


@settings(deadline=None)
@given(data=st.data())
def test_worked_examples_hold_under_hypothesis(data: st.DataObject) -> None:
    rule, duration, expected = data.draw(
        st.sampled_from([tuple(example.values) for example in WORKED_EXAMPLES])
    )
    assert compute_cost_cents(rule, duration) == expected


def test_a_rule_is_read_from_whatever_froze_it_and_shown_as_plain_values():
    from types import SimpleNamespace

    frozen = SimpleNamespace(
        hourly_rate_cents=250, billing_increment_minutes=15, free_minutes=5, daily_max_cents=None
    )
    rule = PriceRule.of(frozen)
    assert rule == PriceRule(250, 15, 5, None)
    assert rule.as_dict() == vars(frozen)
