"""Rate limit per key (429 + Retry-After), body size cap (413), gzip, CORS off by default."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth


@pytest.fixture
def api_options() -> ApiOptions:
    return ApiOptions(rate_limit="3/minute", max_body_bytes=2048)


async def test_a_key_over_its_rate_gets_429_with_retry_after(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    answers = [await client.get("/api/v1/me", headers=auth(keys.viewer)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Limits are per key: another key is unaffected.
    assert (await client.get("/api/v1/me", headers=auth(keys.admin))).status_code == 200


async def test_a_body_over_the_cap_gets_413(client: httpx.AsyncClient, keys: Keys) -> None:
    big = {"filename": "x.workflow.md", "content": "x" * 4000}
    answer = await client.post("/api/v1/workflows/validate", json=big, headers=auth(keys.viewer))
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000

    streamed = await client.post(
        "/api/v1/workflows/validate",
        content=chunks(),
        headers={**auth(keys.viewer), "content-type": "application/json"},
    )
    assert streamed.status_code == 413


async def test_large_answers_are_gzipped(client: httpx.AsyncClient, keys: Keys) -> None:
    answer = await client.get(
        "/openapi.json", headers={**auth(keys.viewer), "Accept-Encoding": "gzip"}
    )
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.json()["info"]["title"] == "Orchestra API"


async def test_cors_is_off_by_default_and_on_when_configured(
    client: httpx.AsyncClient, container: Container
) -> None:
    preflight = {
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "GET",
    }
    answer = await client.options("/api/v1/me", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    app = create_app(
        container.settings,
        container=container,
        options=ApiOptions(cors_origins=("http://localhost:5173",)),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        allowed = await other.options(
            "/api/v1/me", headers={**preflight, "Origin": "http://localhost:5173"}
        )
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
        denied = await other.options("/api/v1/me", headers=preflight)
        assert "access-control-allow-origin" not in denied.headers
