"""Prometheus metrics at ``/metrics`` (multiprocess-aware under gunicorn)."""

from __future__ import annotations

import os

from flask import Flask
from prometheus_client import CollectorRegistry


def init_metrics(app: Flask) -> None:
    """Expose request metrics grouped by URL rule, not raw path (bounded cardinality)."""
    from prometheus_flask_exporter import PrometheusMetrics

    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        # A missing directory would crash every process sharing this environment (the CLI,
        # celery); gunicorn.conf.py empties it at start, so creating it here is safe.
        os.makedirs(multiprocess_dir, exist_ok=True)
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        metrics = GunicornInternalPrometheusMetrics(app, group_by="url_rule")
    else:
        # A registry per app, so tests can build several apps in one process.
        metrics = PrometheusMetrics(
            app, path="/metrics", group_by="url_rule", registry=CollectorRegistry()
        )
    app.extensions["prometheus_metrics"] = metrics
