"""Prometheus metrics at ``/metrics`` (multiprocess-aware under gunicorn).

prometheus-flask-exporter serves the endpoint and handles gunicorn's multiprocess mode; the
request metrics themselves are recorded by :class:`RequestMetrics`, called once per request
from the app's own request hooks, with the label children cached (the same metric names and
labels as the exporter's defaults, at a fraction of the per-request cost).
"""

from __future__ import annotations

import logging
import os

from flask import Flask
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from app.platform.extensions import db
from app.platform.queue import backlog

log = logging.getLogger(__name__)

PREFIX = "flask"
UNMATCHED = "unmatched"  # the url_rule label of a request no route matched (404, 405)


class RequestMetrics:
    """Request counts and latencies per method, URL rule and status (bounded cardinality)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Flask HTTP request duration in seconds",
            ("method", "url_rule", "status"),
            registry=registry,
        )
        self.total = Counter(
            f"{PREFIX}_http_request_total",
            "Total number of HTTP requests",
            ("method", "status"),
            registry=registry,
        )
        self.exceptions = Counter(
            f"{PREFIX}_http_request_exceptions_total",
            "Total number of HTTP requests which resulted in an exception",
            ("method", "status"),
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple] = {}

    def observe(self, method: str, rule: str | None, status: int, seconds: float) -> None:
        """Count one finished request and its duration."""
        key = (method, rule or UNMATCHED, status)
        children = self._children.get(key)
        if children is None:
            children = (self.duration.labels(*key), self.total.labels(method, status))
            self._children[key] = children
        children[0].observe(max(seconds, 0.0))
        children[1].inc()

    def exception(self, method: str) -> None:
        """Count a request that ended in an unhandled exception (answered 500)."""
        self.exceptions.labels(method, 500).inc()


class OutboxGauges:
    """The outbox backlog, read from the database when ``/metrics`` is scraped."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.pending = Gauge(
            "parkmind_outbox_pending",
            "Promised background tasks the broker has not taken yet",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.oldest_age = Gauge(
            "parkmind_outbox_oldest_age_seconds",
            "Age of the oldest promised task the broker has not taken yet",
            registry=registry,
            multiprocess_mode="livemax",
        )

    def refresh(self) -> None:
        try:
            figures = backlog()
            db.session.rollback()
        except Exception as exc:  # noqa: BLE001 - metrics answer even without a database
            log.warning("outbox backlog unavailable for /metrics: %s", exc)
            return
        self.pending.set(figures["pending"])
        self.oldest_age.set(figures["oldest_age_seconds"])


def _refresh_before_scrape(app: Flask, gauges: OutboxGauges) -> None:
    """Read the outbox backlog each time ``/metrics`` is served (no cost to other requests)."""
    endpoint = next(rule.endpoint for rule in app.url_map.iter_rules() if rule.rule == "/metrics")
    serve = app.view_functions[endpoint]

    def metrics_view(*args, **kwargs):
        gauges.refresh()
        return serve(*args, **kwargs)

    app.view_functions[endpoint] = metrics_view


def init_metrics(app: Flask) -> None:
    """Expose ``/metrics``; the request hooks record into ``app.extensions["request_metrics"]``."""

    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        # A missing directory would crash every process sharing this environment (the CLI,
        # celery); gunicorn.conf.py empties it at start, so creating it here is safe.
        os.makedirs(multiprocess_dir, exist_ok=True)

        exporter = GunicornInternalPrometheusMetrics(app, export_defaults=False)
        # Values go to the shared files; the endpoint's MultiProcessCollector reads them all.
        request_metrics = RequestMetrics(registry=None)
        gauges = OutboxGauges(registry=None)
    else:
        # A registry per app, so tests can build several apps in one process.
        exporter = PrometheusMetrics(
            app, path="/metrics", export_defaults=False, registry=CollectorRegistry()
        )
        request_metrics = RequestMetrics(registry=exporter.registry)
        gauges = OutboxGauges(registry=exporter.registry)
    _refresh_before_scrape(app, gauges)
    app.extensions["prometheus_metrics"] = exporter
    app.extensions["request_metrics"] = request_metrics
