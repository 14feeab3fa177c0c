"""Rate limits for the protocol endpoints: per protocol and key, and per exposed agent.

Both use the ``limits`` package's moving window over in-memory storage (one server
process), like the REST API's per-key limit. A caller over its limit is answered
429 with ``Retry-After`` and the API's error envelope, code ``rate_limited``, naming
which limit it hit and the setting that raises it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call was refused: the limit's name and the seconds until a slot frees."""

    limit: str
    retry_after_s: float


class ProtocolLimits:
    """``check(protocol, key_id, target)``: None, or the :class:`Refusal`."""

    def __init__(self, per_key: str = "600/minute", per_target: str = "300/minute") -> None:
        self.per_key = _rate(per_key, "per_key")
        self.per_target = _rate(per_target, "per_target")
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, protocol: str, key_id: str, target: str | None = None) -> Refusal | None:
        checks: list[tuple[RateLimitItem, str, tuple[str, ...]]] = [
            (self.per_key, f"{protocol} calls per key", (protocol, "key", key_id))
        ]
        if target is not None:
            checks.append((self.per_target, f"{protocol} calls to {target}", (protocol, target)))
        for item, name, keys in checks:
            if not self._limiter.hit(item, "orchestra-protocols", *keys):
                stats = self._limiter.get_window_stats(item, "orchestra-protocols", *keys)
                return Refusal(name, max(0.0, stats.reset_time - time.time()))
        return None


def _rate(text: str, name: str) -> RateLimitItem:
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(
            f"protocols rate limit {name} {text!r} is not a rate; write e.g. '600/minute'"
        ) from exc
