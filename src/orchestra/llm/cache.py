"""Response cache for requests that opt in (``ChatRequest.cache``).

The key is a hash of the whole request (model, messages, tools, sampling
parameters, response schema), minus what does not change the answer:
correlation metadata, streaming, the timeout and the cache flag itself. A hit
comes back with ``usage.cached = True`` and zero cost and latency.

Backends: in memory (per gateway), on disk (one JSON file per entry, written
atomically; survives restarts; the default) or Redis (shared by workers).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

from orchestra.llm.config import CacheMode, user_cache_dir
from orchestra.llm.errors import ModelConfigError
from orchestra.llm.types import ChatRequest, ChatResponse

_KEY_VERSION = "v1"


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
    """Entries in Redis under ``orchestra:llm:<key>``, expiring after ``ttl_s``."""

    def __init__(self, url: str, ttl_s: int = 7 * 24 * 3600) -> None:
        try:
            import redis.asyncio as redis_asyncio
        except ImportError as exc:
            raise ModelConfigError(
                "[models].cache = 'redis' needs the redis package: `uv sync --extra distributed`."
            ) from exc
        self._client: Any = redis_asyncio.Redis.from_url(url)
        self._ttl = ttl_s

    async def get(self, key: str) -> ChatResponse | None:
        raw = await self._client.get(f"orchestra:llm:{key}")
        return None if raw is None else ChatResponse.model_validate_json(raw)

    async def set(self, key: str, response: ChatResponse) -> None:
        await self._client.set(f"orchestra:llm:{key}", response.model_dump_json(), ex=self._ttl)

    async def close(self) -> None:
        await self._client.aclose()


def build_cache(
    mode: CacheMode, *, directory: Path | None = None, redis_url: str | None = None
) -> ResponseCache | None:
    """The backend for ``mode``; None when caching is off."""
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
    return RedisCache(redis_url)
