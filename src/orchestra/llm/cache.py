"""Response cache for requests that opt in (``ChatRequest.cache``).

The key is a hash of the whole request (model, messages, tools, sampling
parameters, response schema), minus what does not change the answer:
correlation metadata, streaming, the timeout and the cache flag itself. A hit
comes back with ``usage.cached = True`` and zero cost and latency.

Backends: in memory (per gateway), on disk (one JSON file per entry, written
atomically; survives restarts; the default) or Redis (shared by workers).

A cache only saves calls, so it never fails one: a Redis server that does not
answer at start is reported once and the gateway goes on without a cache, and
one that stops answering later turns lookups into misses (warned once).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from orchestra.llm.config import CacheMode, user_cache_dir
from orchestra.llm.errors import ModelConfigError
from orchestra.llm.types import ChatRequest, ChatResponse

_KEY_VERSION = "v1"
_REDIS_CONNECT_S = 2.0
"""How long the start-up check (and each later command) waits for Redis to connect."""

log = logging.getLogger(__name__)


def cache_key(request: ChatRequest) -> str:
    """Stable hash of everything in ``request`` that can change the answer."""
    payload = request.model_dump_json(exclude={"metadata", "stream", "timeout_s", "cache"})
    return hashlib.sha256(f"{_KEY_VERSION}:{payload}".encode()).hexdigest()


class ResponseCache(Protocol):
    async def get(self, key: str) -> ChatResponse | None: ...

    async def set(self, key: str, response: ChatResponse) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """Least-recently-used entries of this process."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._max = max_entries

    async def get(self, key: str) -> ChatResponse | None:
        raw = self._entries.get(key)
        if raw is None:
            return None
        self._entries.move_to_end(key)
        return ChatResponse.model_validate_json(raw)

    async def set(self, key: str, response: ChatResponse) -> None:
        self._entries[key] = response.model_dump_json()
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()


class DiskCache:
    """One JSON file per entry under ``directory``; a torn write is never visible."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    async def get(self, key: str) -> ChatResponse | None:
        try:
            raw = self._path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return ChatResponse.model_validate_json(raw)

    async def set(self, key: str, response: ChatResponse) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(response.model_dump_json())
        os.replace(tmp, path)

    async def close(self) -> None:
        return None


class RedisCache:
    """Entries in Redis under ``orchestra:llm:<key>``, expiring after ``ttl_s``.

    Errors talking to Redis are misses (the first one is logged): the call is made.
    """

    def __init__(self, url: str, ttl_s: int = 7 * 24 * 3600) -> None:
        import redis.asyncio as redis_asyncio

        self._client: Any = redis_asyncio.Redis.from_url(
            url, socket_connect_timeout=_REDIS_CONNECT_S, retry_on_timeout=False
        )
        self._url = url
        self._ttl = ttl_s
        self._warned = False

    def _unavailable(self, exc: Exception) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "Redis response cache at %s failed (%s: %s); calls go on uncached",
                self._url,
                type(exc).__name__,
                exc,
            )

    async def get(self, key: str) -> ChatResponse | None:
        from redis.exceptions import RedisError

        try:
            raw = await self._client.get(f"orchestra:llm:{key}")
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return None
        return None if raw is None else ChatResponse.model_validate_json(raw)

    async def set(self, key: str, response: ChatResponse) -> None:
        from redis.exceptions import RedisError

        try:
            await self._client.set(f"orchestra:llm:{key}", response.model_dump_json(), ex=self._ttl)
        except (RedisError, OSError) as exc:
            self._unavailable(exc)

    async def close(self) -> None:
        await self._client.aclose()


def _redis_answers(url: str) -> bool:
    """Whether the Redis server at ``url`` answers a PING now (warns once when not)."""
    import redis
    from redis.exceptions import RedisError

    client = redis.Redis.from_url(url, socket_connect_timeout=_REDIS_CONNECT_S)
    try:
        client.ping()
    except (RedisError, OSError) as exc:
        log.warning(
            "[models].cache is 'redis' but Redis at %s does not answer (%s); going on "
            "without a response cache. Start Redis (scripts/services.sh) or set "
            "[models].cache = 'disk'.",
            url,
            exc,
        )
        return False
    finally:
        client.close()
    return True


def build_cache(
    mode: CacheMode, *, directory: Path | None = None, redis_url: str | None = None
) -> ResponseCache | None:
    """The backend for ``mode``; None when caching is off, or Redis does not answer."""
    if mode == "off":
        return None
    if mode == "memory":
        return MemoryCache()
    if mode == "disk":
        return DiskCache(directory or user_cache_dir() / "responses")
    if not redis_url:
        raise ModelConfigError(
            "[models].cache is 'redis' but no redis_url is set; set [models].redis_url "
            "(e.g. redis://localhost:6379/0) or choose cache = 'disk'."
        )
    try:
        import redis  # noqa: F401
    except ImportError as exc:
        raise ModelConfigError(
            "[models].cache = 'redis' needs the redis package: `uv sync --extra distributed`."
        ) from exc
    return RedisCache(redis_url) if _redis_answers(redis_url) else None
