"""Wildcard matching, pattern coverage and the routing index, checked with hypothesis
against a regular-expression oracle."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestra.messaging.errors import InvalidTopic
from orchestra.messaging.topics import PatternIndex, covers, matches

WORDS = st.sampled_from(["a", "b", "c", "research", "x-1"])
TOPICS = st.lists(WORDS, min_size=1, max_size=6).map(".".join)
PATTERNS = st.lists(st.one_of(WORDS, st.just("*"), st.just("#")), min_size=1, max_size=6).map(
    ".".join
)


def oracle(pattern: str, topic: str) -> bool:
    """AMQP semantics as a regex over '.'-terminated words: '*' one word, '#' zero or more."""
    parts = []
    for word in pattern.split("."):
        if word == "*":
            parts.append(r"[^.]+\.")
        elif word == "#":
            parts.append(r"(?:[^.]+\.)*")
        else:
            parts.append(re.escape(word) + r"\.")
    return re.fullmatch("".join(parts), topic + ".") is not None


def test_examples() -> None:
    assert matches("research.*", "research.results")
    assert not matches("research.*", "research.results.berlin")
    assert matches("research.#", "research.results.berlin")
    assert matches("research.#", "research")
    assert matches("#", "anything.at.all")
    assert matches("*.done", "review.done") and not matches("*.done", "done")
    assert covers("review.#", "review.*.done") and not covers("review.*", "review.#")
    for bad in ("", "a..b", ".a", "a b", "a.b*"):
        with pytest.raises(InvalidTopic):
            matches(bad, "a")


@given(PATTERNS, TOPICS)
@settings(max_examples=500)
def test_matches_agrees_with_the_oracle(pattern: str, topic: str) -> None:
    assert matches(pattern, topic) == oracle(pattern, topic)


@given(st.lists(PATTERNS, min_size=1, max_size=12), TOPICS)
@settings(max_examples=300)
def test_index_finds_exactly_the_matching_patterns(patterns: list[str], topic: str) -> None:
    index = PatternIndex((p, f"s{i}") for i, p in enumerate(patterns))
    expected = {f"s{i}" for i, p in enumerate(patterns) if oracle(p, topic)}
    assert index.match(topic) == expected


@given(PATTERNS, PATTERNS, TOPICS)
@settings(max_examples=500)
def test_covers_never_grants_more_than_allowed(allowed: str, pattern: str, topic: str) -> None:
    if covers(allowed, pattern) and matches(pattern, topic):
        assert matches(allowed, topic)


@given(PATTERNS)
def test_every_pattern_covers_itself_and_hash_covers_all(pattern: str) -> None:
    assert covers(pattern, pattern)
    assert covers("#", pattern)
