"""Choosing one of several endpoints of the same service: round-robin, least-loaded, weighted.

Used where an agent names several endpoints of one remote service (the endpoints of an
A2A peer in ``a2a: [...]``; the same class serves MCP servers given several URLs). A
:class:`Balancer` is shared by every step of a process; :meth:`Balancer.lease` picks an
endpoint and counts it as in flight until the ``with`` block ends, which is what
``least-loaded`` reads.

* ``round-robin``: each endpoint in turn.
* ``least-loaded``: the endpoint with the fewest calls in flight (ties: the one picked
  least recently, so idle endpoints share the work).
* ``weighted``: smooth weighted round-robin (nginx's algorithm): over any window of
  ``sum(weights)`` picks each endpoint is chosen ``weight`` times, interleaved rather
  than in bursts. Weights need not be integers.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Literal, get_args

Strategy = Literal["round-robin", "least-loaded", "weighted"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)


class Balancer:
    """Picks endpoints by ``strategy``; see the module docstring."""

    def __init__(
        self,
        endpoints: Sequence[str],
        strategy: Strategy = "round-robin",
        weights: Sequence[float] = (),
    ) -> None:
        if not endpoints:
            raise ValueError("a balancer needs at least one endpoint")
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
        if weights and len(weights) != len(endpoints):
            raise ValueError(f"{len(weights)} weights for {len(endpoints)} endpoints")
        if any(w <= 0 for w in weights):
            raise ValueError("weights must be positive")
        self.endpoints = tuple(endpoints)
        self.strategy = strategy
        self.weights = tuple(weights) or (1.0,) * len(endpoints)
        self.in_flight = dict.fromkeys(self.endpoints, 0)
        self._next = itertools.count()
        self._current = [0.0] * len(self.endpoints)
        self._last_pick = dict.fromkeys(self.endpoints, -1)

    def pick(self) -> str:
        """The next endpoint (not counted as in flight: use :meth:`lease` for that)."""
        turn = next(self._next)
        if self.strategy == "round-robin":
            chosen = self.endpoints[turn % len(self.endpoints)]
        elif self.strategy == "least-loaded":
            chosen = min(self.endpoints, key=lambda e: (self.in_flight[e], self._last_pick[e]))
        else:
            total = sum(self.weights)
            for index, weight in enumerate(self.weights):
                self._current[index] += weight
            best = max(range(len(self.endpoints)), key=lambda i: self._current[i])
            self._current[best] -= total
            chosen = self.endpoints[best]
        self._last_pick[chosen] = turn
        return chosen

    @contextlib.contextmanager
    def lease(self) -> Iterator[str]:
        """Pick an endpoint and count it in flight for the duration of the block."""
        chosen = self.pick()
        self.in_flight[chosen] += 1
        try:
            yield chosen
        finally:
            self.in_flight[chosen] -= 1
