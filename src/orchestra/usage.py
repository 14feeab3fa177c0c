"""What model calls spent: the one totals type the engine, the gateway and the store share.

It lives at the package root (like :mod:`orchestra.errors`) because the engine
and the gateway may not import each other: a step's usage (what the engine
stores per step and sums per run to enforce the workflow's ``budget:``) and a
roll-up of stored calls (per step, agent, model, deployment) are the same sums,
so they are one type. Budgets themselves are part of a definition:
:class:`orchestra.definitions.specs.Budget`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageTotals:
    """Sums over a set of model calls (a step's, a run's, or a roll-up's).

    Immutable so a run's running total can be shared without copies; ``+`` adds.
    The engine fills tokens, cost and calls; roll-ups of stored calls fill the rest.
    A plain dataclass, not a pydantic model: a run adds one per step, on the hot path
    (pydantic models embed it as a field all the same).
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    retries: int = 0
    fallbacks: int = 0
    cached_calls: int = 0
    failed_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: UsageTotals) -> UsageTotals:
        return UsageTotals(
            calls=self.calls + other.calls,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            latency_s=self.latency_s + other.latency_s,
            retries=self.retries + other.retries,
            fallbacks=self.fallbacks + other.fallbacks,
            cached_calls=self.cached_calls + other.cached_calls,
            failed_calls=self.failed_calls + other.failed_calls,
        )

    def model_dump(self) -> dict[str, Any]:
        """Every field, by the name pydantic models use, so a roll-up renders like one."""
        return asdict(self)

    def to_json(self) -> dict[str, Any]:
        """The stored shape of a step's usage (steps table, ``run_finished`` event)."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "calls": self.calls,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> UsageTotals:
        if not data:
            return cls()
        return cls(
            prompt_tokens=int(data.get("prompt_tokens", 0)),
            completion_tokens=int(data.get("completion_tokens", 0)),
            cost_usd=float(data.get("cost_usd", 0.0)),
            calls=int(data.get("calls", 0)),
        )


__all__ = ["UsageTotals"]
