"""The ``[distributed]`` settings as the plain values the executor and workers need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from orchestra.config.settings import Settings


@dataclass(frozen=True, slots=True)
class DistributedConfig:
    broker_url: str
    default_queue: str = "orchestra"
    routes: Mapping[str, str] = field(default_factory=dict)
    reconcile_s: float = 2.0
    visibility_timeout_s: float = 3600.0
    lease_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DistributedConfig:
        """Raises ValueError when ``[distributed] broker_url`` is not set."""
        section = settings.distributed
        if not section.broker_url:
            raise ValueError(
                "[distributed] broker_url is not set; set it (or ORCHESTRA_DISTRIBUTED__BROKER_URL) "
                "to the Redis URL the workers use, e.g. redis://127.0.0.1:6379/0"
            )
        return cls(
            broker_url=section.broker_url,
            default_queue=section.default_queue,
            routes=dict(section.routes),
            reconcile_s=section.reconcile_seconds,
            visibility_timeout_s=section.visibility_timeout_seconds,
            lease_s=settings.engine.lease_seconds,
        )
