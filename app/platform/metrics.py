"""Prometheus metrics at ``/metrics`` (multiprocess-aware under gunicorn).

prometheus-flask-exporter registers the endpoint and handles gunicorn's multiprocess mode; the
request metrics themselves are recorded by :class:`RequestMetrics`, called once per request
from the app's own request hooks, with the label children cached (the same metric names and
labels as the exporter's defaults, at a fraction of the per-request cost). Figures any process
can read (outbox backlog, queue lengths, jobs' last successes) come from
:class:`ScrapeCollector` at scrape time; process figures from the default process collector,
or per gunicorn worker (:class:`WorkerProcessGauges`) in multiprocess mode.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator

import redis
from flask import Flask, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

from app.platform.extensions import db
from app.platform.queue import backlog
from app.platform.scheduling import last_successes

log = logging.getLogger(__name__)

PREFIX = "flask"
UNMATCHED = "unmatched"  # the url_rule label of a request no route matched (404, 405)


class RequestMetrics:
    """Request counts and latencies per method, URL rule and status (bounded cardinality)."""

    def __init__(
        self, registry: CollectorRegistry | None, processes: WorkerProcessGauges | None = None
    ) -> None:
        self.processes = processes
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
        if self.processes is not None:
            self.processes.maybe_refresh()

    def exception(self, method: str) -> None:
        """Count a request that ended in an unhandled exception (answered 500)."""
        self.exceptions.labels(method, 500).inc()


# What every process can tell at scrape time, read when ``/metrics`` is served: each source is one
# cheap query (or one Redis round trip), and a source that is down is reported as down
# (``parkmind_metrics_source_up``) instead of failing the scrape.
SOURCE_TIMEOUT_SECONDS = 1.0
# kombu's Redis transport keeps a queue's prioritised messages in lists named
# "<queue>\x06\x16<step>" next to "<queue>" (steps 3, 6, 9 by default).
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (0, 3, 6, 9)


class ScrapeCollector(Collector):
    """Outbox backlog, broker queue lengths and each job's last success, read at scrape time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._broker: redis.Redis | None = None

    def describe(self) -> list:
        return []  # no reads when the collector is registered

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "parkmind_metrics_source_up",
            "Whether /metrics could read this source (1) or not (0) at this scrape",
            labels=("source",),
        )
        for source, read in (("database", self._database), ("broker", self._queues)):
            try:
                families = read()
            except Exception as exc:  # noqa: BLE001 - report what can be reported
                log.warning("/metrics could not read the %s: %s", source, exc)
                up.add_metric((source,), 0)
                continue
            if families is None:  # not configured (no Redis broker)
                continue
            up.add_metric((source,), 1)
            yield from families
        yield up

    def _database(self) -> list[GaugeMetricFamily]:
        # An app context of its own: a session of its own, closed (rolled back) on leaving.
        with self.app.app_context():
            figures = backlog()
            successes = last_successes(db.session)
        pending = GaugeMetricFamily(
            "parkmind_outbox_pending",
            "Promised background tasks the broker has not taken yet",
            value=figures["pending"],
        )
        oldest = GaugeMetricFamily(
            "parkmind_outbox_oldest_age_seconds",
            "Age of the oldest promised task the broker has not taken yet",
            value=figures["oldest_age_seconds"],
        )
        jobs = GaugeMetricFamily(
            "parkmind_job_last_success_timestamp",
            "Unix time of each scheduled job's last successful run (jobs that never succeeded "
            "are absent)",
            labels=("job",),
        )
        for name, when in sorted(successes.items()):
            jobs.add_metric((name,), when.timestamp())
        return [pending, oldest, jobs]

    def _queues(self) -> list[GaugeMetricFamily] | None:
        broker_url = self.app.config.get("CELERY_BROKER_URL") or ""
        if not broker_url.startswith(("redis://", "rediss://", "unix://")):
            return None
        if self._broker is None:
            self._broker = redis.Redis.from_url(
                broker_url,
                socket_timeout=SOURCE_TIMEOUT_SECONDS,
                socket_connect_timeout=SOURCE_TIMEOUT_SECONDS,
            )
        queues = self._queue_names()
        with self._broker.pipeline(transaction=False) as pipe:
            for queue in queues:
                for step in PRIORITY_STEPS:
                    pipe.llen(queue if step == 0 else f"{queue}{PRIORITY_SEPARATOR}{step}")
            lengths = pipe.execute()
        family = GaugeMetricFamily(
            "parkmind_queue_length",
            "Messages waiting in the broker's queue (not yet taken by a worker)",
            labels=("queue",),
        )
        steps = len(PRIORITY_STEPS)
        for index, queue in enumerate(queues):
            family.add_metric((queue,), sum(lengths[index * steps : (index + 1) * steps]))
        return [family]

    def _queue_names(self) -> list[str]:
        conf = self.app.extensions["celery"].conf
        names = {conf.task_default_queue}
        names.update(queue.name for queue in conf.task_queues or ())
        return sorted(names)


class WorkerProcessGauges:
    """Under gunicorn's multiprocess mode, each worker's own process figures (memory, CPU, open
    files), labelled with its pid.

    The default process collector reports the process that serves the scrape, a different worker
    each time, so its figures would jump between workers (and its CPU counter would seem to
    reset). Instead each worker copies its figures into the shared files at most every
    ``every`` seconds, from its request hook (a clock read per request); a worker that exits is
    dropped by gunicorn.conf.py's ``child_exit``.
    """

    NAMES = (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
    )

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self._next = 0.0
        self._source = ProcessCollector(registry=None)
        self._gauges = {
            # No registry: the values go to the shared files, which the scrape reads.
            name: Gauge(
                name, f"{name} of each gunicorn worker", registry=None, multiprocess_mode="liveall"
            )
            for name in self.NAMES
        }
        self.maybe_refresh()  # a worker that has served nothing yet still shows real figures

    def maybe_refresh(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every
        for family in self._source.collect():
            for sample in family.samples:
                gauge = self._gauges.get(sample.name)
                if gauge is not None:
                    gauge.set(sample.value)


def _serve_scrape_registry(app: Flask, registry_for_scrape: Callable[[], CollectorRegistry]):
    """Serve ``/metrics`` from the registry built for each scrape (the exporter's route, our
    registry: its own view would leave the scrape-time collector out in multiprocess mode)."""
    endpoint = next(rule.endpoint for rule in app.url_map.iter_rules() if rule.rule == "/metrics")

    def metrics_view():
        encode, content_type = choose_encoder(request.headers.get("Accept"))
        return encode(registry_for_scrape()), 200, {"Content-Type": content_type}

    app.view_functions[endpoint] = metrics_view


def init_metrics(app: Flask) -> None:
    """Expose ``/metrics``; the request hooks record into ``app.extensions["request_metrics"]``."""

    scrape = ScrapeCollector(app)
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        # A missing directory would crash every process sharing this environment (the CLI,
        # celery); gunicorn.conf.py empties it at start, so creating it here is safe.
        os.makedirs(multiprocess_dir, exist_ok=True)

        exporter = GunicornInternalPrometheusMetrics(app, export_defaults=False)
        # Values go to the shared files; each scrape reads them all, plus what it reads itself.
        request_metrics = RequestMetrics(registry=None, processes=WorkerProcessGauges())

        def registry_for_scrape() -> CollectorRegistry:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            registry.register(scrape)
            return registry

    else:
        # A registry per app, so tests can build several apps in one process.
        exporter = PrometheusMetrics(
            app, path="/metrics", export_defaults=False, registry=CollectorRegistry()
        )
        request_metrics = RequestMetrics(registry=exporter.registry)
        ProcessCollector(registry=exporter.registry)
        exporter.registry.register(scrape)

        def registry_for_scrape() -> CollectorRegistry:
            return exporter.registry

    _serve_scrape_registry(app, registry_for_scrape)
    app.extensions["prometheus_metrics"] = exporter
    app.extensions["request_metrics"] = request_metrics
