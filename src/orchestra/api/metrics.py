"""Prometheus metrics of one server: runs by state, step latency, tokens and cost.

Each app has its own ``CollectorRegistry`` (no process globals, so tests can
build many apps). Step latency, tokens and cost are observed from committed
events (the :class:`~orchestra.runtime.feed.EventFeed`): ``step_started`` marks
the start of an attempt and ``step_complete`` / ``step_failed`` its end. Runs
by state are counted from the store when ``/metrics`` is scraped, so they are
right across restarts and across processes sharing one database.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.states import RunStatus
from orchestra.store.run_queries import RunQueries

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.runs = Gauge(
            "orchestra_runs", "Runs in the store by state.", ["state"], registry=self.registry
        )
        self.step_latency = Histogram(
            "orchestra_step_duration_seconds",
            "Wall-clock time of step attempts, from claim to final commit.",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "orchestra_tokens",
            "Model tokens used by finished steps.",
            ["kind"],
            registry=self.registry,
        )
        self.cost = Counter(
            "orchestra_cost_usd", "Model cost of finished steps, in USD.", registry=self.registry
        )
        self.events = Counter(
            "orchestra_events", "Events committed, by type.", ["type"], registry=self.registry
        )
        self._started: dict[tuple[str, str | None], float] = {}
        self.tool_calls = Counter(
            "orchestra_tool_calls",
            "Tool calls by tool and status (ok, error, refused).",
            ["tool", "status"],
            registry=self.registry,
        )
        self.tool_latency = Histogram(
            "orchestra_tool_latency_seconds",
            "How long tool calls took, by tool.",
            ["tool"],
            registry=self.registry,
        )

    def observe(self, event: ExecutionEvent) -> None:
        """Feed listener: update step metrics from one committed event."""
        self.events.labels(event.type.value).inc()
        if event.type is EventType.TOOL_RESULT:
            tool = str(event.content.get("tool", "?"))
            self.tool_calls.labels(tool, str(event.content.get("status", "?"))).inc()
            duration = event.content.get("duration_ms")
            if isinstance(duration, int | float):
                self.tool_latency.labels(tool).observe(max(0.0, float(duration) / 1000))
        key = (event.run_id, event.step_id)
        if event.type is EventType.STEP_STARTED:
            self._started[key] = event.timestamp
        elif event.type in (EventType.STEP_COMPLETE, EventType.STEP_FAILED):
            started = self._started.pop(key, None)
            outcome = str(event.content.get("status", event.type.value))
            if started is not None:
                self.step_latency.labels(outcome).observe(max(0.0, event.timestamp - started))
            usage = event.content.get("usage")
            if isinstance(usage, dict):
                self.tokens.labels("prompt").inc(max(0, int(usage.get("prompt_tokens", 0))))
                self.tokens.labels("completion").inc(max(0, int(usage.get("completion_tokens", 0))))
                self.cost.inc(max(0.0, float(usage.get("cost_usd", 0.0))))

    async def render(self, queries: RunQueries) -> bytes:
        counts = await queries.counts_by_status()
        for status in RunStatus:
            self.runs.labels(status.value).set(counts.get(status, 0))
        return generate_latest(self.registry)
