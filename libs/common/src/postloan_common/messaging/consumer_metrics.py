"""Prometheus metrics of the consumer loop, shared by the loop and the dead-letter path."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "consumer_events_total",
    "Consumed events by outcome (handled, duplicate, ignored, dead_lettered)",
    ["consumer", "topic", "outcome"],
)
FAILURES = Counter("consumer_batch_failures_total", "Batches rolled back for a transient error", ["consumer"])
LAG = Gauge("consumer_lag", "Records behind the partition high-water mark", ["consumer", "topic", "partition"])
BATCH_SECONDS = Histogram(
    "consumer_batch_duration_seconds",
    "Time to apply and commit one polled batch",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
