"""The endpoint balancer's three strategies."""

from __future__ import annotations

from collections import Counter

import pytest

from orchestra.tools.balancing import Balancer


def test_round_robin_takes_each_endpoint_in_turn() -> None:
    balancer = Balancer(["a", "b", "c"])
    assert [balancer.pick() for _ in range(6)] == ["a", "b", "c", "a", "b", "c"]


def test_least_loaded_avoids_endpoints_with_calls_in_flight() -> None:
    balancer = Balancer(["a", "b"], "least-loaded")
    with balancer.lease() as first, balancer.lease() as second:
        assert {first, second} == {"a", "b"}
        with balancer.lease() as third:  # both busy once: the least recently picked
            assert third == first
            assert balancer.in_flight[first] == 2
            assert balancer.pick() == second  # now the other has fewer in flight
    assert balancer.in_flight == {"a": 0, "b": 0}


def test_weighted_picks_in_proportion_and_interleaves() -> None:
    balancer = Balancer(["big", "small"], "weighted", [3, 1])
    picks = [balancer.pick() for _ in range(8)]
    assert Counter(picks) == {"big": 6, "small": 2}
    assert picks[:4] != ["big", "big", "big", "small"] or picks[4:] == picks[:4]
    assert "small" in picks[:4]  # smooth: the light endpoint is not starved to the end


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], "round-robin", ()), "at least one endpoint"),
        ((["a"], "random", ()), "unknown strategy"),
        ((["a", "b"], "weighted", [1]), "1 weights for 2 endpoints"),
        ((["a"], "weighted", [0]), "positive"),
    ],
)
def test_bad_configuration_says_what_is_wrong(args: tuple, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        Balancer(*args)
