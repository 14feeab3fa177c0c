"""Fixtures: a test project, an open container, the app, keys of each role, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import scripts, settings_for, write_project
from tests.llm.fake_openai import FakeOpenAI


@dataclass
class Keys:
    admin: str
    operator: str
    viewer: str

    def of(self, role: str) -> str:
        key: str = getattr(self, role)
        return key


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    """A real OpenAI-compatible server on 127.0.0.1 answering after 0.8 s (tests/api/served.py)."""
    server = FakeOpenAI("slowpoke", default="slow", slow_s=0.8).start()
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


@pytest.fixture
def api_options() -> ApiOptions:
    return ApiOptions(rate_limit="10000/minute", ws_ping_s=0.5)


@pytest.fixture
async def container(project: Path) -> AsyncIterator[Container]:
    opened = await Container.open(
        settings_for(project), ContainerOptions(scripts=scripts(), refresh_s=0.1, grace_s=2)
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def app(project: Path, container: Container, api_options: ApiOptions) -> FastAPI:
    return create_app(container.settings, container=container, options=api_options)


@pytest.fixture
async def keys(container: Container) -> Keys:
    made = {}
    for role in ("admin", "operator", "viewer"):
        _, made[role] = await container.keys.create(f"{role} key", role)
    return Keys(**made)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
