"""``/metrics`` from gunicorn in multiprocess mode: the scrape-time figures are there, and the
process figures come per worker (a ``pid`` label), never from whichever worker served the scrape."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.live_server import migrated_database
from tests.support.processes import start_gunicorn, stop_group, wait_until


def _pids(page: str, name: str) -> set[str]:
    return {
        sample.labels.get("pid", "")
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == name
    }


def test_gunicorn_workers_report_their_own_process_figures(tmp_path):
    with migrated_database("sqlite", tmp_path) as url:
        env = {
            "DATABASE_URL": url,
            "LOCAL_STORAGE_PATH": str(tmp_path / "files"),
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
        process, base = start_gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=1)
        try:
            for _ in range(30):
                requests.get(f"{base}/api/v1/health", timeout=5)
            pages: list[str] = []

            def both_workers_report() -> bool:  # the second may still be booting
                pages.append(requests.get(f"{base}/metrics", timeout=5).text)
                return len(_pids(pages[-1], "process_resident_memory_bytes")) == 2

            wait_until(both_workers_report, 30, interval=0.5, message="one worker reports")
            page = pages[-1]
        finally:
            stop_group(process)

    samples = [
        sample for family in text_string_to_metric_families(page) for sample in family.samples
    ]
    memory = [s for s in samples if s.name == "process_resident_memory_bytes"]
    assert memory and all("pid" in s.labels and s.value > 0 for s in memory)
    assert all(s.labels.get("pid") for s in samples if s.name.startswith("process_"))
    up = {s.labels["source"]: s.value for s in samples if s.name == "parkmind_metrics_source_up"}
    assert up == {"database": 1.0}  # no broker configured: no queue to report
    assert any(s.name == "parkmind_outbox_pending" and s.value == 0 for s in samples)
    health = [
        s
        for s in samples
        if s.name == "flask_http_request_duration_seconds_count"
        and s.labels.get("url_rule") == "/api/v1/health"
    ]
    assert sum(s.value for s in health) >= 30  # every worker's requests, summed by the scrape
