"""Prometheus metrics (the official client): HTTP requests per route, prediction batches, model
loads, the version that answers requests naming no model, and, read from the database at each
scrape, jobs by status and the running jobs' epoch and throughput.

With several serving processes (app/api_processes.py), each writes its counts to files in
`PROMETHEUS_MULTIPROC_DIR`, and a scrape of any of them adds up all of them.
"""

import os
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api_processes import METRICS_FOLDER
from core.job_store import JobStore
from core.status import JobStatus
from core.tables import TrainedModel

BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """One registry per app, so that several apps (tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "predict_batch_size",
            "Images per batch run through a model.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_load = Histogram(
            "model_load_seconds",
            "Time to load, compile and warm up a model.",
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.serving_model = Gauge(
            "serving_model",
            "1 for the model version this process answers requests naming no model with, 0 for "
            "those it answered with before.",
            ["name", "version", "model_id"],
            multiprocess_mode="liveall",  # one sample per living serving process
            registry=self.registry,
        )
        self._serving: tuple[str, str, str] | None = None
        self._jobs: JobsCollector | None = None

    def serve(self, model: TrainedModel | None) -> None:
        """Show `model` as the one that now serves (None: none does)."""
        # Set to 0 rather than removed: file-backed values (several processes) keep their samples.
        if self._serving is not None:
            self.serving_model.labels(*self._serving).set(0)
        self._serving = None if model is None else (model.name, str(model.version), model.id)
        if self._serving is not None:
            self.serving_model.labels(*self._serving).set(1)

    def watch_jobs(self, jobs: JobStore) -> None:
        """Report jobs from this store at each scrape (once the app has its database)."""
        self._jobs = JobsCollector(jobs)
        self.registry.register(self._jobs)

    def exposition(self) -> bytes:
        if METRICS_FOLDER not in os.environ:
            return generate_latest(self.registry)
        # prometheus_client chose file-backed values at import: read every process's files.
        every_process = CollectorRegistry()
        MultiProcessCollector(every_process)
        if self._jobs is not None:
            every_process.register(self._jobs)
        return generate_latest(every_process)


class JobsCollector(Collector):
    def __init__(self, jobs: JobStore) -> None:
        self._jobs = jobs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self._jobs.count_by_status()
        by_status = GaugeMetricFamily("jobs", "Jobs by status.", labels=["status"])
        for status in JobStatus:
            by_status.add_metric([status.value], counts.get(status, 0))
        yield by_status
        epoch = GaugeMetricFamily(
            "running_job_epoch", "Epoch under way of each running job.", labels=["job_id"]
        )
        speed = GaugeMetricFamily(
            "running_job_images_per_second",
            "Training throughput of each running job.",
            labels=["job_id"],
        )
        running, _ = self._jobs.list_jobs(JobStatus.RUNNING, limit=100)
        for job in running:
            progress = job.progress or {}
            if progress.get("epoch") is not None:
                epoch.add_metric([job.id], progress["epoch"])
            if progress.get("images_per_second") is not None:
                speed.add_metric([job.id], progress["images_per_second"])
        yield epoch
        yield speed


class RequestMetricsMiddleware:
    """Counts and times every request under its route's template (`/jobs/{job_id}`), so ids
    never become label values."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)
