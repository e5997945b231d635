"""Prometheus metrics (``prometheus-client``), one registry per app so tests can run
several daemons in one process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages = Counter(
            "lalert_messages", "Messages received, by source, format and journal outcome",
            ["source", "format", "outcome"], registry=self.registry)
        self.stages = Histogram(
            "lalert_stage_seconds", "Time spent per pipeline stage",
            ["stage"], buckets=STAGE_BUCKETS, registry=self.registry)
        self.active = Gauge("lalert_active_alerts", "Active alerts", ["set"],
                            registry=self.registry)
        self.feed_success = Gauge(
            "lalert_feed_last_success_timestamp_seconds",
            "Unix time of the last successful fetch of each feed", ["feed"],
            registry=self.registry)
        self.feed_silent = Gauge("lalert_feed_silent", "1 when a feed is silent past its bound",
                                 ["feed"], registry=self.registry)
        self._backlog: Callable[[], dict[str, int]] | None = None
        self._skipped: Callable[[], dict[str, int]] | None = None
        self._alarms: Callable[[], list[str]] | None = None
        self._refused: Callable[[], dict[str, int]] | None = None
        self.registry.register(_BacklogCollector(self))

    def message(self, source: str, fmt: str, outcome: str) -> None:
        self.messages.labels(source, fmt, outcome).inc()

    def stage(self, stage: str, seconds: float) -> None:
        self.stages.labels(stage).observe(seconds)

    def active_set(self, counts: dict[str, int]) -> None:
        for k, v in counts.items():
            self.active.labels(k).set(v)

    def backlog_from(self, fn: Callable[[], dict[str, int]]) -> None:
        self._backlog = fn

    def alarms_from(self, skipped: Callable[[], dict[str, int]],
                    alarms: Callable[[], list[str]]) -> None:
        """Changes each output skipped, and the number of alarms ``/healthz`` shows."""
        self._skipped, self._alarms = skipped, alarms

    def refused_from(self, fn: Callable[[], dict[str, int]]) -> None:
        """Stored / streamed entries kept but unreadable, by place."""
        self._refused = fn

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _BacklogCollector:
    """Outbox backlog per output, read at scrape time from the bus cursors."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self):
        fam = GaugeMetricFamily("lalert_outbox_backlog",
                                "Changes published but not yet handled, per output",
                                labels=["output"])
        if self.metrics._backlog is not None:
            for name, n in self.metrics._backlog().items():
                fam.add_metric([name], n)
        yield fam
        skipped = CounterMetricFamily(
            "lalert_output_skipped_changes",
            "Changes an output could not process and skipped (each is an alarm)",
            labels=["output"])
        if self.metrics._skipped is not None:
            for name, n in self.metrics._skipped().items():
                skipped.add_metric([name], n)
        yield skipped
        refused = CounterMetricFamily(
            "lalert_refused_entries",
            "Stream entries and stored rows lalert keeps but cannot read (foreign bytes or "
            "another schema version; each is an alarm), by place",
            labels=["where"])
        if self.metrics._refused is not None:
            for where, n in self.metrics._refused().items():
                refused.add_metric([where], n)
        yield refused
        if self.metrics._alarms is not None:
            yield GaugeMetricFamily("lalert_alarms", "Alarms /healthz shows now (0 = ok)",
                                    value=len(self.metrics._alarms()))
