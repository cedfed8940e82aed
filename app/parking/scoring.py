"""Server-side scoring of a car retrieval: landmark recall, walking time and assistance used."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

# Bump whenever weights, points or the expected-time model change, so stored scores stay
# comparable only with scores of the same version. Version 2: a walk that ends without the car
# scores 0 for time; the learned pace needs three found walks and is held to 0.3-2.0 m/s.
# Scores stored under version 1 keep their parts and version; nothing recomputes them.
SCORE_VERSION = 2

RECALL_POINTS = {"free": 3, "cued": 2, "recognized": 1, "missed": 0}
MAX_ASSIST_LEVEL = 5
DEFAULT_PACE_M_PER_S = 1.0
# Walking paces a person can have: a slow shuffle to a brisk walk. A pace learned from a
# mis-timed walk (a 2-second "walk" of 300 m) must never tell anyone that 300 m is a minute away.
MIN_PACE_M_PER_S = 0.3
MAX_PACE_M_PER_S = 2.0
PACE_MIN_SAMPLES = 3
SECONDS_PER_LEVEL = 60.0
MINIMUM_EXPECTED_SECONDS = 30.0

_HUNDRED = Fraction(100)
_TWO_DECIMALS = Decimal("0.01")
_LEVEL_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class ScoreParts:
    """A retrieval score with the parts it was computed from; scores are 0-100, two decimals."""

    landmark_recall: float | None
    time: float
    assistance: float
    total: float
    expected_seconds: float
    actual_seconds: float
    highest_assist_level: int
    assist_count: int
    score_version: int
    found: bool = True


def _require_finite(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def level_count(level: str | None) -> int:
    """Return how many levels a label like "3", "P3", "-2" or "B2" is away; 1 if unparseable."""
    if level is not None:
        match = _LEVEL_NUMBER.search(level)
        if match is not None:
            # The digits alone give the distance from street level: "-2", "B2" and "P2" are all 2.
            return int(match.group())
    # An indoor spot with an unknown level is still at least one staircase away.
    return 1


def expected_seconds(
    distance_m: float, pace_m_per_s: float | None, *, indoor: bool, level: str | None
) -> float:
    """Return the time a person should need to walk back to the car, at least 30 seconds."""
    distance = _require_finite("distance_m", distance_m)
    if distance < 0:
        raise ValueError(f"distance_m must be >= 0, got {distance_m!r}")
    pace = DEFAULT_PACE_M_PER_S
    if pace_m_per_s is not None:
        candidate = _require_finite("pace_m_per_s", pace_m_per_s)
        if candidate > 0:
            pace = clamp_pace(candidate)
    seconds = distance / pace
    if indoor:
        seconds += SECONDS_PER_LEVEL * level_count(level)
    # Someone standing next to the car must not be judged against an expected time of 0 s.
    return max(MINIMUM_EXPECTED_SECONDS, seconds)


def clamp_pace(pace_m_per_s: float) -> float:
    """A pace held to what people walk (0.3-2.0 m/s)."""
    return min(MAX_PACE_M_PER_S, max(MIN_PACE_M_PER_S, pace_m_per_s))


def personal_pace(
    past_paces_m_per_s: Sequence[float], minimum_samples: int = PACE_MIN_SAMPLES
) -> float:
    """Return the median of the given recent positive paces held to 0.3-2.0 m/s, or 1.0 m/s
    with too few samples."""
    if isinstance(minimum_samples, bool) or not isinstance(minimum_samples, int):
        raise ValueError(f"minimum_samples must be an int, got {minimum_samples!r}")
    if minimum_samples < 1:
        raise ValueError(f"minimum_samples must be >= 1, got {minimum_samples}")
    # Zero or negative paces come from aborted or mis-timed retrievals and say nothing about
    # walking speed; the caller decides how many recent retrievals to pass in.
    usable = [
        float(pace)
        for pace in past_paces_m_per_s
        if not isinstance(pace, bool)
        and isinstance(pace, (int, float))
        and math.isfinite(pace)
        and pace > 0
    ]
    if len(usable) < minimum_samples:
        return DEFAULT_PACE_M_PER_S
    return clamp_pace(float(statistics.median(usable)))


def _to_score(value: Fraction) -> float:
    # Fractions keep the arithmetic exact so half-up rounding is not skewed by binary floats.
    clamped = min(_HUNDRED, max(Fraction(0), value))
    exact = Decimal(clamped.numerator) / Decimal(clamped.denominator)
    return float(exact.quantize(_TWO_DECIMALS, rounding=ROUND_HALF_UP))


def score_retrieval(
    *,
    recall: Sequence[str],
    expected_seconds: float,
    actual_seconds: float,
    highest_assist_level: int,
    assist_count: int = 0,
    found: bool = True,
) -> ScoreParts:
    """Return the versioned score of one retrieval with its recall, time and assistance parts.
    A walk that ended without the car (``found`` false) earns nothing for time."""
    if isinstance(recall, str):
        raise ValueError("recall must be a sequence of answers, not a single string")
    unknown = [a for a in recall if not isinstance(a, str) or a not in RECALL_POINTS]
    if unknown:
        raise ValueError(f"unknown recall values {unknown!r}; expected {sorted(RECALL_POINTS)}")
    if isinstance(highest_assist_level, bool) or not isinstance(highest_assist_level, int):
        raise ValueError(f"highest_assist_level must be an int, got {highest_assist_level!r}")
    if not 0 <= highest_assist_level <= MAX_ASSIST_LEVEL:
        raise ValueError(
            f"highest_assist_level must be within 0..{MAX_ASSIST_LEVEL}, got {highest_assist_level}"
        )
    if isinstance(assist_count, bool) or not isinstance(assist_count, int) or assist_count < 0:
        raise ValueError(f"assist_count must be an int >= 0, got {assist_count!r}")
    expected = _require_finite("expected_seconds", expected_seconds)
    if expected <= 0:
        raise ValueError(f"expected_seconds must be > 0, got {expected_seconds!r}")
    actual = _require_finite("actual_seconds", actual_seconds)

    recall_part: Fraction | None = None
    if recall:
        earned = sum(RECALL_POINTS[answer] for answer in recall)
        recall_part = _HUNDRED * earned / (max(RECALL_POINTS.values()) * len(recall))

    if not isinstance(found, bool):
        raise ValueError(f"found must be a bool, got {found!r}")
    if not found:
        time_part = Fraction(0)
    # A non-positive active time means the client could not measure it; do not penalise that.
    elif actual <= 0:
        time_part = _HUNDRED
    else:
        time_part = _HUNDRED * min(Fraction(1), Fraction(expected) / Fraction(actual))

    assistance_part = _HUNDRED * (1 - Fraction(highest_assist_level, MAX_ASSIST_LEVEL))

    if recall_part is None:
        total = (time_part + assistance_part) / 2
    else:
        total = recall_part / 2 + time_part / 4 + assistance_part / 4

    return ScoreParts(
        landmark_recall=None if recall_part is None else _to_score(recall_part),
        time=_to_score(time_part),
        assistance=_to_score(assistance_part),
        total=_to_score(total),
        expected_seconds=expected,
        actual_seconds=actual,
        highest_assist_level=highest_assist_level,
        assist_count=assist_count,
        score_version=SCORE_VERSION,
        found=found,
    )
