"""Tests for app.parking.scoring."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.parking.scoring import (
    MAX_PACE_M_PER_S,
    MIN_PACE_M_PER_S,
    RECALL_POINTS,
    SCORE_VERSION,
    ScoreParts,
    expected_seconds,
    level_count,
    personal_pace,
    score_retrieval,
)

RECALL_ORDER = ["missed", "recognized", "cued", "free"]

recall_lists = st.lists(st.sampled_from(RECALL_ORDER), max_size=8)
assist_levels = st.integers(min_value=0, max_value=5)
expected_times = st.floats(min_value=30, max_value=10_000, allow_nan=False)
actual_times = st.floats(min_value=-10, max_value=100_000, allow_nan=False)


# --- worked examples ---------------------------------------------------------------------


def test_worked_example_with_landmarks() -> None:
    parts = score_retrieval(
        recall=["free", "missed"],
        expected_seconds=120.0,
        actual_seconds=120.0,
        highest_assist_level=2,
    )
    assert parts.landmark_recall == 50.0
    assert parts.time == 100.0
    assert parts.assistance == 60.0
    assert parts.total == 65.00


def test_worked_example_without_landmarks() -> None:
    parts = score_retrieval(
        recall=[], expected_seconds=90.0, actual_seconds=180.0, highest_assist_level=0
    )
    assert parts.landmark_recall is None
    assert parts.time == 50.0
    assert parts.assistance == 100.0
    assert parts.total == 75.00


def test_score_parts_carry_inputs_and_version() -> None:
    parts = score_retrieval(
        recall=["cued"],
        expected_seconds=60.0,
        actual_seconds=45.0,
        highest_assist_level=3,
        assist_count=4,
    )
    assert parts == ScoreParts(
        landmark_recall=66.67,
        time=100.0,
        assistance=40.0,
        total=68.33,
        expected_seconds=60.0,
        actual_seconds=45.0,
        highest_assist_level=3,
        assist_count=4,
        score_version=SCORE_VERSION,
    )
    assert SCORE_VERSION == 2


def test_total_uses_unrounded_parts() -> None:
    # time = 100 * 30/46 = 65.2173...; total = 50 + 16.3043... + 25 = 91.3043... -> 91.30,
    # whereas combining the rounded time 65.22 would give 91.305 -> 91.31.
    parts = score_retrieval(
        recall=["free"], expected_seconds=30.0, actual_seconds=46.0, highest_assist_level=0
    )
    assert (parts.landmark_recall, parts.time, parts.assistance) == (100.0, 65.22, 100.0)
    assert parts.total == 91.30


def test_parts_round_half_up_not_half_even() -> None:
    # time = 100 * 97/800 = 12.125 exactly; half-even (Python's round) would give 12.12.
    parts = score_retrieval(
        recall=[], expected_seconds=97.0, actual_seconds=800.0, highest_assist_level=5
    )
    assert parts.time == 12.13
    assert parts.total == 6.06  # 0.5 * 12.125 = 6.0625 -> 6.06
    # time = 100 * 30/64 = 46.875 exactly -> 46.88; total = 23.4375 -> 23.44.
    parts = score_retrieval(
        recall=[], expected_seconds=30.0, actual_seconds=64.0, highest_assist_level=5
    )
    assert parts.time == 46.88
    assert parts.total == 23.44


def test_zero_or_negative_actual_time_scores_full_time() -> None:
    for actual in (0.0, -5.0):
        parts = score_retrieval(
            recall=[], expected_seconds=60.0, actual_seconds=actual, highest_assist_level=0
        )
        assert parts.time == 100.0
        assert parts.total == 100.0


def test_faster_than_expected_is_capped_at_100() -> None:
    parts = score_retrieval(
        recall=["free"], expected_seconds=600.0, actual_seconds=1.0, highest_assist_level=0
    )
    assert parts.time == 100.0
    assert parts.total == 100.0


def test_worst_case_is_zero_landmarks_and_max_assistance() -> None:
    parts = score_retrieval(
        recall=["missed", "missed"],
        expected_seconds=30.0,
        actual_seconds=1e300,
        highest_assist_level=5,
    )
    assert parts.landmark_recall == 0.0
    assert parts.assistance == 0.0
    assert parts.time == 0.0
    assert parts.total == 0.0


@pytest.mark.parametrize("answer", ["FREE", "forgot", "", None, 3])
def test_unknown_recall_value_raises(answer: object) -> None:
    with pytest.raises(ValueError):
        score_retrieval(
            recall=["free", answer],  # type: ignore[list-item]
            expected_seconds=60.0,
            actual_seconds=60.0,
            highest_assist_level=0,
        )


def test_recall_as_bare_string_raises() -> None:
    with pytest.raises(ValueError):
        score_retrieval(
            recall="free", expected_seconds=60.0, actual_seconds=60.0, highest_assist_level=0
        )


@pytest.mark.parametrize("level", [-1, 6, 2.0, True, None])
def test_assist_level_outside_range_raises(level: object) -> None:
    with pytest.raises(ValueError):
        score_retrieval(
            recall=[],
            expected_seconds=60.0,
            actual_seconds=60.0,
            highest_assist_level=level,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("expected", "actual", "count"),
    [(0.0, 60.0, 0), (-1.0, 60.0, 0), (math.nan, 60.0, 0), (60.0, math.nan, 0), (60.0, 60.0, -1)],
)
def test_invalid_numbers_raise(expected: float, actual: float, count: int) -> None:
    with pytest.raises(ValueError):
        score_retrieval(
            recall=[],
            expected_seconds=expected,
            actual_seconds=actual,
            highest_assist_level=0,
            assist_count=count,
        )


# --- expected time -----------------------------------------------------------------------


def test_expected_seconds_outdoor_uses_pace() -> None:
    assert expected_seconds(300.0, 1.5, indoor=False, level=None) == 200.0


def test_expected_seconds_defaults_to_one_metre_per_second() -> None:
    assert expected_seconds(300.0, None, indoor=False, level=None) == 300.0
    assert expected_seconds(300.0, 0.0, indoor=False, level=None) == 300.0
    assert expected_seconds(300.0, -2.0, indoor=False, level=None) == 300.0


def test_expected_seconds_has_a_30_second_floor() -> None:
    assert expected_seconds(0.0, 1.0, indoor=False, level=None) == 30.0
    assert expected_seconds(10.0, 1.0, indoor=False, level="P3") == 30.0


def test_expected_seconds_outdoor_ignores_level() -> None:
    assert expected_seconds(100.0, 1.0, indoor=False, level="5") == 100.0


@pytest.mark.parametrize(
    ("level", "extra_seconds"),
    [
        ("3", 180.0),
        ("P3", 180.0),
        ("-2", 120.0),
        ("B2", 120.0),
        ("Level 4", 240.0),
        ("0", 0.0),
        ("G", 60.0),
        ("", 60.0),
        (None, 60.0),
    ],
)
def test_expected_seconds_indoor_adds_a_minute_per_level(
    level: str | None, extra_seconds: float
) -> None:
    assert expected_seconds(100.0, 1.0, indoor=True, level=level) == 100.0 + extra_seconds


@pytest.mark.parametrize(
    ("label", "count"),
    [("3", 3), ("P3", 3), ("-2", 2), ("B2", 2), ("P-1", 1), ("12", 12), ("roof", 1), (None, 1)],
)
def test_level_count(label: str | None, count: int) -> None:
    assert level_count(label) == count


@pytest.mark.parametrize("distance", [-1.0, math.nan, math.inf])
def test_expected_seconds_rejects_invalid_distance(distance: float) -> None:
    with pytest.raises(ValueError):
        expected_seconds(distance, 1.0, indoor=False, level=None)


@settings(deadline=None)
@given(
    distance=st.floats(min_value=0, max_value=50_000),
    pace=st.one_of(st.none(), st.floats(min_value=-5, max_value=5, allow_nan=False)),
    indoor=st.booleans(),
    level=st.one_of(st.none(), st.text(max_size=5)),
)
def test_expected_seconds_is_at_least_30(
    distance: float, pace: float | None, indoor: bool, level: str | None
) -> None:
    assert expected_seconds(distance, pace, indoor=indoor, level=level) >= 30.0


# --- personal pace -----------------------------------------------------------------------


def test_personal_pace_needs_three_found_walks() -> None:
    assert personal_pace([1.2, 1.4]) == 1.0
    assert personal_pace([1.2, 1.3, 1.4]) == 1.3


def test_personal_pace_is_median() -> None:
    assert personal_pace([0.5, 2.0, 1.1, 1.3, 1.2, 9.0]) == pytest.approx(1.25)


def test_personal_pace_ignores_non_positive_and_non_finite_values() -> None:
    assert personal_pace([1.2, 0.0, -1.0, 1.4, math.nan]) == 1.0
    assert personal_pace([1.2, 1.3, 0.0, -1.0, 1.4, math.inf, 1.5, 1.6]) == 1.4


def test_personal_pace_custom_minimum() -> None:
    assert personal_pace([0.8], minimum_samples=1) == 0.8
    assert personal_pace([]) == 1.0
    with pytest.raises(ValueError):
        personal_pace([1.0], minimum_samples=0)


@given(paces=st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=20))
def test_personal_pace_is_a_walking_pace(paces: list[float]) -> None:
    assert MIN_PACE_M_PER_S <= personal_pace(paces) <= MAX_PACE_M_PER_S


def test_implausibly_fast_walks_do_not_teach_an_implausible_pace() -> None:
    """Three "walks" of 300 m in a fraction of a second: the pace is a brisk walk, not 1,704
    m/s, and the walk back is still several minutes."""
    assert personal_pace([1704.0, 900.0, 1200.0]) == MAX_PACE_M_PER_S
    assert personal_pace([0.01, 0.02, 0.05]) == MIN_PACE_M_PER_S
    assert expected_seconds(300, 1704.0, indoor=False, level=None) == 150.0


@settings(deadline=None)
@given(
    distance=st.floats(min_value=0, max_value=50_000, allow_nan=False),
    pace=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    indoor=st.booleans(),
)
def test_expected_time_never_falls_below_distance_at_two_metres_a_second(
    distance: float, pace: float | None, indoor: bool
) -> None:
    seconds = expected_seconds(distance, pace, indoor=indoor, level="2")
    assert seconds >= distance / MAX_PACE_M_PER_S


@settings(deadline=None)
@given(recall=recall_lists, expected=expected_times, actual=actual_times, level=assist_levels)
def test_a_walk_that_ends_without_the_car_never_scores_above_the_same_walk_found(
    recall: list[str], expected: float, actual: float, level: int
) -> None:
    def score(found: bool):
        return score_retrieval(
            recall=recall,
            expected_seconds=expected,
            actual_seconds=actual,
            highest_assist_level=level,
            found=found,
        )

    lost, found = score(False), score(True)
    assert lost.total <= found.total
    assert lost.time == 0.0 and lost.found is False
    assert (lost.landmark_recall, lost.assistance) == (found.landmark_recall, found.assistance)


def test_not_found_right_after_the_start_is_not_a_perfect_score() -> None:
    """The reported defect: found false a second after the start scored 100, and 45 with every
    landmark missed."""
    quick = score_retrieval(
        recall=[], expected_seconds=300, actual_seconds=1, highest_assist_level=0, found=False
    )
    assert (quick.time, quick.total) == (0.0, 50.0)
    missed = score_retrieval(
        recall=["missed"] * 3,
        expected_seconds=300,
        actual_seconds=1,
        highest_assist_level=0,
        found=False,
    )
    assert (missed.time, missed.total) == (0.0, 25.0)


# --- properties --------------------------------------------------------------------------


def _total(recall: list[str], expected: float, actual: float, level: int) -> float:
    return score_retrieval(
        recall=recall, expected_seconds=expected, actual_seconds=actual, highest_assist_level=level
    ).total


@settings(deadline=None)
@given(recall=recall_lists, expected=expected_times, actual=actual_times, level=assist_levels)
def test_scores_are_within_0_and_100_with_two_decimals(
    recall: list[str], expected: float, actual: float, level: int
) -> None:
    parts = score_retrieval(
        recall=recall, expected_seconds=expected, actual_seconds=actual, highest_assist_level=level
    )
    scores = [parts.time, parts.assistance, parts.total]
    if parts.landmark_recall is not None:
        scores.append(parts.landmark_recall)
    for score in scores:
        assert 0.0 <= score <= 100.0
        assert round(score, 2) == score
    assert (parts.landmark_recall is None) == (not recall)
    assert parts.score_version == SCORE_VERSION


@settings(deadline=None)
@given(
    recall=recall_lists.filter(bool),
    data=st.data(),
    expected=expected_times,
    actual=actual_times,
    level=assist_levels,
)
def test_improving_a_recall_answer_never_lowers_total(
    recall: list[str], data: st.DataObject, expected: float, actual: float, level: int
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(recall) - 1))
    rank = RECALL_ORDER.index(recall[index])
    better_rank = data.draw(st.integers(min_value=rank, max_value=len(RECALL_ORDER) - 1))
    improved = [*recall]
    improved[index] = RECALL_ORDER[better_rank]
    assert RECALL_POINTS[improved[index]] >= RECALL_POINTS[recall[index]]
    assert _total(improved, expected, actual, level) >= _total(recall, expected, actual, level)


@settings(deadline=None)
@given(
    recall=recall_lists,
    expected=expected_times,
    actual=actual_times,
    low=assist_levels,
    high=assist_levels,
)
def test_higher_assist_level_never_raises_total(
    recall: list[str], expected: float, actual: float, low: int, high: int
) -> None:
    low, high = sorted((low, high))
    assert _total(recall, expected, actual, high) <= _total(recall, expected, actual, low)


@settings(deadline=None)
@given(
    recall=recall_lists,
    expected=expected_times,
    first=actual_times,
    second=actual_times,
    level=assist_levels,
)
def test_longer_actual_time_never_raises_total(
    recall: list[str], expected: float, first: float, second: float, level: int
) -> None:
    shorter, longer = sorted((first, second))
    assert _total(recall, expected, longer, level) <= _total(recall, expected, shorter, level)
