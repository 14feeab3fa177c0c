"""Fixtures: a throwaway Redis, a fresh PostgreSQL database, a migrated project on both."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.cluster import ORCHESTRA, RedisServer, write_project
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


def migrated(root: Path) -> Path:
    """Migrate the database once, before several workers open it at the same moment."""
    subprocess.run(
        [str(ORCHESTRA), "runs", "list", "--project", str(root)], check=True, capture_output=True
    )
    return root


@pytest.fixture
def project(tmp_path: Path, postgres_url: str, redis: RedisServer) -> Path:
    return migrated(write_project(tmp_path / "project", postgres_url, redis.url))
