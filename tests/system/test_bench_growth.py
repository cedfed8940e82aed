"""The growth benchmark end to end on two tiny SQLite databases, and its goal logic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.growth import REQUESTS, check_goals
from bench.seed import heavy_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_growth_runs_end_to_end_on_sqlite(tmp_path):
    """Seed two scales with the heavy user, time every growth request, EXPLAIN its SQL."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--growth",
            "--db",
            "sqlite",
            "--growth-scales",
            "0.005,0.01",
            "--growth-requests",
            "3",
            "--growth-warmup",
            "1",
            "--no-goals",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "latest-growth.json").read_text())
    (sqlite,) = results["databases"]
    small, large = sqlite["scales"]
    assert (small["scale"], large["scale"]) == (0.005, 0.01)
    for scale in (small, large):
        assert scale["seed"]["plan"]["heavy_rows"] == 20_000
        assert scale["same_page_500"] is True
        for request in REQUESTS:
            assert scale["timings"][request]["requests"] == 3
            plans = scale["plans"][request]
            assert plans, request
            assert all(item["plan"] and item["sql"].lstrip().startswith("SELECT") for item in plans)
    page_ids = next(item["sql"] for item in small["plans"]["GET /bookings ?page=500"])
    assert "OFFSET" in page_ids
    text = (tmp_path / "latest-growth.md").read_text()
    assert "| GET /bookings cursor at page 500 |" in text
    assert "ix_bookings_user_started" in text
    assert len(results["goals"]) == len(REQUESTS) + 1


def test_growth_goal_fails_past_one_and_a_half_times():
    """A request 1.6 times slower at the large scale is a failed goal; 1.4 times holds."""

    def scale(value: float, ms: float) -> dict:
        timings = {request: {"median_ms": ms} for request in REQUESTS}
        return {"scale": value, "timings": timings, "same_page_500": True}

    for large_ms, ok in ((14.0, True), (16.0, False)):
        scales = [scale(0.1, 10.0), scale(10, large_ms)]
        results = {"databases": [{"database": "sqlite", "scales": scales}]}
        goals = check_goals(results)
        assert [goal["ok"] for goal in goals[: len(REQUESTS)]] == [ok] * len(REQUESTS)


def test_heavy_user_has_page_500_at_every_scale():
    """100,000 bookings per unit of scale, never fewer than 500 pages of 20."""
    assert heavy_rows(10) == 1_000_000
    assert heavy_rows(0.1) == 20_000
    assert heavy_rows(0.001) >= 500 * 20
