"""``GET /metrics``: the key server's counters in Prometheus' text format (prometheus-client).

Each server has its own registry (no process-wide state), so tests and several apps in one
process do not mix their figures.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

UPSTREAM_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters, gauges and histograms the server updates."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.keys_minted = Counter(
            "appliance_keyserver_keys_minted",
            "Ephemeral keys handed to devices.",
            ["group"],
            registry=r,
        )
        self.refusals = Counter(
            "appliance_keyserver_refusals",
            "Requests refused, by reason (the error code of the 401 or 429).",
            ["reason"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "appliance_keyserver_upstream_seconds",
            "Time the upstream took to mint a key.",
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "appliance_keyserver_upstream_errors",
            "Mint requests that failed upstream (upstream_error: 502, upstream_timeout: 504).",
            ["code"],
            registry=r,
        )
        self.usage_reports = Counter(
            "appliance_keyserver_usage_reports",
            "Usage reports, by result (stored, duplicate, bad, refused).",
            ["result"],
            registry=r,
        )
        self.usage_tokens = Counter(
            "appliance_keyserver_usage_tokens",
            "Tokens the devices reported, by kind.",
            ["kind"],
            registry=r,
        )
        self.usage_seconds = Counter(
            "appliance_keyserver_usage_session_seconds", "Session seconds reported.", registry=r
        )
        self.database_errors = Counter(
            "appliance_keyserver_database_errors",
            "Requests that failed because the database was unavailable.",
            registry=r,
        )
        self.in_flight = Gauge(
            "appliance_keyserver_requests_in_flight", "Requests being handled.", registry=r
        )

    def render(self) -> bytes:
        """The text exposition of every metric."""
        return generate_latest(self.registry)
