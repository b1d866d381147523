"""Prometheus metrics (prometheus-client), one registry per app so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter("tenure_messages_accepted", "Messages accepted and logged", ["project"], registry=self.registry)
        self.rejected = Counter("tenure_messages_rejected", "Messages quarantined", ["project"], registry=self.registry)
        self.resends = Counter("tenure_messages_resent", "Accepted messages dropped as copies of recent ones", ["project"], registry=self.registry)
        self.requests = Counter("tenure_requests", "Requests answered", ["route", "status"], registry=self.registry)
        self.inserted_rows = Counter("tenure_inserted_rows", "Rows inserted into ClickHouse", registry=self.registry)
        self.insert_failures = Counter("tenure_insert_failures", "Failed insert attempts", registry=self.registry)
        self.insert_seconds = Histogram("tenure_insert_seconds", "Time to insert one segment", registry=self.registry)
        self.backlog = Gauge("tenure_backlog_rows", "Acknowledged rows not yet in ClickHouse", registry=self.registry)
