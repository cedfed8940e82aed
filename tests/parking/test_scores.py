"""Score history and weekly/monthly trends (grouped in Python: same on SQLite and MariaDB)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.factories import RetrievalScoreFactory
from tests.parking.conftest import API


def score(user, when, total, actual, expected, level):
    return RetrievalScoreFactory(
        event__user=user,
        user_id=user.id,
        created_at=when,
        total=total,
        actual_seconds=actual,
        expected_seconds=expected,
        highest_assist_level=level,
    )


@pytest.fixture
def history(user, stranger):
    return [
        score(user, datetime(2026, 11, 2, 8, tzinfo=UTC), 80, 100, 100, 0),  # Mon, week 45
        score(user, datetime(2026, 11, 8, 23, 59, tzinfo=UTC), 60, 300, 100, 3),  # Sun, week 45
        score(user, datetime(2026, 11, 9, 0, 0, tzinfo=UTC), 70, 150, 100, 1),  # Mon, week 46
        score(user, datetime(2026, 10, 31, 12, tzinfo=UTC), 50.5, 200, 100, 2),  # Sat, October
        score(stranger, datetime(2026, 11, 3, tzinfo=UTC), 1, 1000, 100, 5),
    ]


def test_weekly_trend(client, headers, history):
    response = client.get(f"{API}/scores/trend?period=week", headers=headers)
    assert response.status_code == 200
    assert response.get_json() == [
        {
            "period_start": "2026-10-26",
            "count": 1,
            "mean_score": 50.5,
            "mean_time_ratio": 2.0,
            "mean_assist_level": 2.0,
        },
        {
            "period_start": "2026-11-02",
            "count": 2,
            "mean_score": 70.0,
            "mean_time_ratio": 2.0,
            "mean_assist_level": 1.5,
        },
        {
            "period_start": "2026-11-09",
            "count": 1,
            "mean_score": 70.0,
            "mean_time_ratio": 1.5,
            "mean_assist_level": 1.0,
        },
    ]


def test_monthly_trend_is_the_default_shape_with_period_month(client, headers, history):
    body = client.get(f"{API}/scores/trend?period=month", headers=headers).get_json()
    assert [(row["period_start"], row["count"]) for row in body] == [
        ("2026-10-01", 1),
        ("2026-11-01", 3),
    ]
    november = body[1]
    assert november["mean_score"] == pytest.approx(70.0)
    assert november["mean_time_ratio"] == pytest.approx(round((1 + 3 + 1.5) / 3, 2))
    assert november["mean_assist_level"] == pytest.approx(round(4 / 3, 2))


def test_trend_period_is_validated(client, headers):
    assert client.get(f"{API}/scores/trend?period=year", headers=headers).status_code == 422
    assert client.get(f"{API}/scores/trend", headers=headers).status_code == 200


def test_score_trend_service_for_the_care_circle(app, user, history):
    from app.parking.scores import score_trend

    with app.test_request_context():
        assert [row["count"] for row in score_trend(user_id=user.id, period="month")] == [1, 3]
        with pytest.raises(ValueError):
            score_trend(user_id=user.id, period="decade")


def test_history_newest_first_with_from_and_to(client, headers, history):
    body = client.get(f"{API}/scores", headers=headers).get_json()
    assert body["total"] == 4
    assert [item["total"] for item in body["items"]] == [70.0, 60.0, 80.0, 50.5]
    first = body["items"][0]
    assert {"time", "assistance", "landmark_recall", "score_version", "expected_seconds"} <= set(
        first
    )

    body = client.get(
        f"{API}/scores?from=2026-11-02T00:00:00Z&to=2026-11-09T00:00:00Z", headers=headers
    ).get_json()
    assert [item["total"] for item in body["items"]] == [60.0, 80.0]

    body = client.get(f"{API}/scores?per_page=1&page=2", headers=headers).get_json()
    assert body["pages"] == 4 and [item["total"] for item in body["items"]] == [60.0]


@pytest.mark.parametrize(
    "query", ["from=yesterday", "from=2026-11-09T00:00:00Z&to=2026-11-01T00:00:00Z", "per_page=0"]
)
def test_history_query_is_validated(client, headers, query):
    assert client.get(f"{API}/scores?{query}", headers=headers).status_code == 422


def test_not_found_right_after_the_start_scores_nothing_for_time(client, headers, user):
    """Score version 2 through the API: giving up at once is not a perfect walk."""
    from tests.factories import ParkingEventFactory

    event = ParkingEventFactory(user=user)
    assert (
        client.post(
            f"{API}/parking-events/{event.id}/retrieval/start", json={}, headers=headers
        ).status_code
        == 200
    )
    done = client.post(
        f"{API}/parking-events/{event.id}/retrieval/complete",
        json={"found": False},
        headers=headers,
    )
    assert done.status_code == 200, done.get_json()
    score = client.get(f"{API}/parking-events/{event.id}/score", headers=headers).get_json()
    assert (score["score_version"], score["found"], score["time"]) == (2, False, 0.0)
    assert score["total"] == 50.0  # no landmarks: half time (0), half assistance (100)


def test_scores_made_under_version_1_keep_their_parts_and_version(client, headers, user):
    old = RetrievalScoreFactory(
        event__user=user,
        user_id=user.id,
        score_version=1,
        found=False,
        time_score=100,
        total=100,
        actual_seconds=1,
        expected_seconds=300,
        highest_assist_level=0,
    )
    score = client.get(f"{API}/parking-events/{old.event_id}/score", headers=headers).get_json()
    assert (score["score_version"], score["time"], score["total"]) == (1, 100.0, 100.0)


def test_a_few_implausibly_fast_walks_never_promise_a_one_minute_walk_for_300_m(
    client, headers, user
):
    """The reported defect: after fast "found" walks the pace was 1,704 m/s and assist level 3
    said 300 m was a 1-minute walk. Now the learned pace stops at 2 m/s: 300 m is 150 s."""
    from tests.factories import ParkingEventFactory

    for _ in range(3):
        RetrievalScoreFactory(
            event__user=user, user_id=user.id, found=True, distance_m=300, actual_seconds=0.17
        )
    event = ParkingEventFactory(user=user, latitude=48.8584, longitude=2.2945)
    here = {"latitude": 48.8584 + 300 / 111_195, "longitude": 2.2945}
    started = client.post(
        f"{API}/parking-events/{event.id}/retrieval/start", json=here, headers=headers
    )
    assert started.status_code == 200, started.get_json()
    assert started.get_json()["expected_seconds"] >= 300 / 2.0 - 1
    help_ = client.post(
        f"{API}/parking-events/{event.id}/assist", json={"level": 3, **here}, headers=headers
    ).get_json()
    assert "1-minute" not in json.dumps(help_)
    assert "3-minute" in json.dumps(help_), help_
