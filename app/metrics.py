"""``/metrics`` in Prometheus text format, served only when ``SHIELD_METRICS`` is on.

Labels are route templates, methods, status codes, record types and outcomes: nothing about a
person. The endpoint has no bearer token (Prometheus scrapers rarely carry one), so it is off by
default and, when on, the deployment must keep ``/metrics`` off the public route (README).
Counters are per process; under several workers each one is scraped as its own target.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.db import Database


class _AuditHead(Collector):
    """The audit chain's last sequence number, read at scrape time so every worker reports the truth."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("shield_audit_chain_head_seq", "Sequence number of the last audit row")
        try:
            with self.db.read_session() as session:
                gauge.add_metric([], session.scalar(select(func.max(AuditEvent.seq))) or 0)
        except Exception:  # noqa: BLE001, S110 - a scrape must not fail because the database is away
            return
        yield gauge


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shield_http_requests", "HTTP requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "shield_http_request_duration_seconds",
            "Time to serve a request",
            ["route", "method", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.ingest = Counter(
            "shield_ingest_records", "Records received, by type and outcome", ["record_type", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.registry.register(_AuditHead(db))

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method, str(status)).observe(seconds)

    def ingested(self, record_type: str, outcome: str) -> None:
        self.ingest.labels(record_type, outcome).inc()


class _Off:
    """Metrics switched off: nothing is counted."""

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        pass

    def ingested(self, record_type: str, outcome: str) -> None:
        pass


OFF = _Off()


def install_metrics(app: FastAPI, enabled: bool) -> Any:
    """Put the app's metrics on ``app.state.metrics`` and, if enabled, serve them at ``/metrics``."""
    if not enabled:
        app.state.metrics = OFF
        return OFF
    metrics = Metrics(app.state.db)
    app.state.metrics = metrics

    # Not part of the API contract, so not in the OpenAPI document.
    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics


def ingested(request: Request, record_type: str, outcome: str) -> None:
    request.app.state.metrics.ingested(record_type, outcome)
