"""Prometheus metrics of the bus: messages per topic, deliveries, latency, redeliveries,
dead letters, and (read from the backend at scrape time) queue depth.

The bus owns its own ``CollectorRegistry``; ``/metrics`` appends it to the API's
(``api/metrics.py``), so tests can build many buses and nothing is process-global.
Per-topic labels are capped at ``MAX_TOPICS`` distinct topics (the rest count as
``other``) so a chatty topic scheme cannot blow up the scrape.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MAX_TOPICS = 500
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class MessagingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.published = Counter(
            "orchestra_messages_published",
            "Messages published, by topic ('@agent' for direct, '*' for broadcast).",
            ["topic"],
            registry=self.registry,
        )
        self.deduplicated = Counter(
            "orchestra_messages_deduplicated",
            "Publishes dropped because their dedupe_key was already stored.",
            registry=self.registry,
        )
        self.delivered = Counter(
            "orchestra_messages_delivered",
            "Deliveries handed to consumers, by subscription.",
            ["subscription"],
            registry=self.registry,
        )
        self.redelivered = Counter(
            "orchestra_messages_redelivered",
            "Deliveries that were a second or later attempt.",
            ["subscription"],
            registry=self.registry,
        )
        self.acked = Counter(
            "orchestra_messages_acked", "Deliveries acknowledged.", registry=self.registry
        )
        self.dead_lettered = Counter(
            "orchestra_messages_dead_lettered",
            "Deliveries moved to the dead-letter queue by a negative acknowledgement.",
            registry=self.registry,
        )
        self.latency = Histogram(
            "orchestra_message_delivery_seconds",
            "Time from publish to (first) delivery.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.depth = Gauge(
            "orchestra_message_queue_depth",
            "Unacknowledged deliveries per subscription.",
            ["subscription"],
            registry=self.registry,
        )
        self.dead = Gauge(
            "orchestra_message_dead_letters",
            "Dead letters waiting to be replayed or purged.",
            registry=self.registry,
        )
        self._topics: set[str] = set()

    def topic_label(self, topic: str) -> str:
        if topic in self._topics:
            return topic
        if len(self._topics) < MAX_TOPICS:
            self._topics.add(topic)
            return topic
        return "other"
