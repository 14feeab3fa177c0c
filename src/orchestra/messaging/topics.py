"""Dotted topics, wildcard patterns, and the index that routes a topic to subscriptions.

A **topic** is 1–16 words joined by dots (``research.results.berlin``); a word is
letters, digits, ``_`` or ``-``. A **pattern** may also use the AMQP wildcards:
``*`` stands for exactly one word, ``#`` for any number of words, none included
(``research.#`` matches ``research`` and ``research.results.berlin``).

:func:`matches` answers one pattern against one topic; :func:`covers` whether every
topic one pattern matches is matched by another (permissions: an agent allowed
``review.#`` may subscribe to ``review.*.done``); :class:`PatternIndex` is a word
trie over many patterns, so routing a message costs its number of words, not the
number of subscriptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from orchestra.messaging.errors import InvalidTopic

MAX_WORDS = 16
MAX_LENGTH = 200
_WORD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ONE = "*"
ANY = "#"


def _words(value: str, *, wildcards: bool) -> tuple[str, ...]:
    if not isinstance(value, str) or not value:
        raise InvalidTopic(str(value), "it is empty")
    if len(value) > MAX_LENGTH:
        raise InvalidTopic(value, f"it is longer than {MAX_LENGTH} characters")
    words = tuple(value.split("."))
    if len(words) > MAX_WORDS:
        raise InvalidTopic(value, f"it has more than {MAX_WORDS} words")
    for word in words:
        if wildcards and word in (ONE, ANY):
            continue
        if not word:
            raise InvalidTopic(value, "it has an empty word (two dots, or a dot at an end)")
        if not _WORD.match(word):
            hint = (
                "wildcards belong in subscriptions, not in a published topic"
                if (ONE in word or ANY in word)
                else "a word is letters, digits, '_' or '-'"
            )
            raise InvalidTopic(value, f"word {word!r} is not allowed ({hint})")
    return words


@lru_cache(maxsize=4096)
def topic_words(topic: str) -> tuple[str, ...]:
    """The words of a valid topic; raises :class:`InvalidTopic` otherwise."""
    return _words(topic, wildcards=False)


@lru_cache(maxsize=4096)
def pattern_words(pattern: str) -> tuple[str, ...]:
    """The words of a valid pattern (``*`` and ``#`` allowed); raises :class:`InvalidTopic`."""
    return _words(pattern, wildcards=True)


def matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` is one of the topics ``pattern`` stands for."""
    return _match(pattern_words(pattern), topic_words(topic))


@lru_cache(maxsize=65536)
def _match(pattern: tuple[str, ...], topic: tuple[str, ...]) -> bool:
    if not pattern:
        return not topic
    head, rest = pattern[0], pattern[1:]
    if head == ANY:
        return any(_match(rest, topic[i:]) for i in range(len(topic) + 1))
    if not topic:
        return False
    return (head == ONE or head == topic[0]) and _match(rest, topic[1:])


def covers(allowed: str, pattern: str) -> bool:
    """Whether every topic ``pattern`` matches is also matched by ``allowed``.

    Conservative: it may answer False for a pair that covers in fact (``*.#`` over
    ``#``), never True for one that does not, so a permission check built on it never
    lets more through than was granted.
    """
    return _covers(pattern_words(allowed), pattern_words(pattern))


@lru_cache(maxsize=65536)
def _covers(allowed: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    if not allowed:
        return not pattern
    head = allowed[0]
    if head == ANY:
        return _covers(allowed[1:], pattern) or (bool(pattern) and _covers(allowed, pattern[1:]))
    if not pattern or pattern[0] == ANY:
        return False  # a fixed word (or '*') cannot stand for a variable number of words
    if head == ONE or head == pattern[0]:
        return _covers(allowed[1:], pattern[1:])
    return False


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: set[str] = field(default_factory=set)


class PatternIndex:
    """Patterns → the keys (subscription names) that registered them, as a word trie."""

    def __init__(self, entries: Iterable[tuple[str, str]] = ()) -> None:
        self._root = _Node()
        self._size = 0
        for pattern, key in entries:
            self.add(pattern, key)

    def __len__(self) -> int:
        return self._size

    def add(self, pattern: str, key: str) -> None:
        node = self._root
        for word in pattern_words(pattern):
            node = node.children.setdefault(word, _Node())
        if key not in node.ends:
            node.ends.add(key)
            self._size += 1

    def match(self, topic: str) -> set[str]:
        """Every key with a pattern that matches ``topic``."""
        words = topic_words(topic)
        found: set[str] = set()
        seen: set[tuple[int, int]] = set()

        def walk(node: _Node, i: int) -> None:
            if (id(node), i) in seen:
                return
            seen.add((id(node), i))
            hash_child = node.children.get(ANY)
            if hash_child is not None:
                for j in range(i, len(words) + 1):
                    walk(hash_child, j)
            if i == len(words):
                found.update(node.ends)
                return
            exact = node.children.get(words[i])
            if exact is not None:
                walk(exact, i + 1)
            one = node.children.get(ONE)
            if one is not None:
                walk(one, i + 1)

        walk(self._root, 0)
        return found
