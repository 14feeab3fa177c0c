"""405 names the methods each path allows; HEAD works wherever GET does; a body that is
not UTF-8 JSON is a documented 400 (issue 13, point 12). Run with and without a built
web UI, since the UI is mounted at ``/`` and so matches every path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth
from tests.api.live import serve


@pytest.fixture(params=["web built", "web not built"])
async def http(
    request: pytest.FixtureRequest, container: Container, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    web = tmp_path / "web"
    web.mkdir()
    if request.param == "web built":
        (web / "index.html").write_text("<!doctype html><title>UI</title>")
    app = create_app(container.settings, container=container, options=ApiOptions(), web_dir=web)
    async with serve(app) as address, httpx.AsyncClient(base_url=f"http://{address}") as client:
        yield client


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api/v1/keys", "GET, HEAD, POST"),
        ("POST", "/api/v1/keys/abc", "DELETE"),
        ("GET", "/api/v1/runs/abc/cancel", "POST"),
        ("DELETE", "/api/v1/runs", "GET, HEAD, POST"),
        ("POST", "/healthz", "GET, HEAD"),
    ],
)
async def test_405_answers_the_real_allow_set(
    http: httpx.AsyncClient, keys: Keys, method: str, path: str, allow: str
) -> None:
    answer = await http.request(method, path, headers=auth(keys.admin))
    assert answer.status_code == 405, answer.text
    assert answer.headers["Allow"] == allow
    assert answer.json()["error"]["code"] == "method_not_allowed"


async def test_head_works_where_get_does(http: httpx.AsyncClient, keys: Keys) -> None:
    for path in ("/api/v1/runs", "/api/v1/workflows", "/api/v1/me", "/healthz"):
        got = await http.get(path, headers=auth(keys.viewer))
        head = await http.head(path, headers=auth(keys.viewer))
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
    assert (await http.head("/api/v1/runs")).status_code == 401
    assert (await http.head("/api/v1/nowhere", headers=auth(keys.viewer))).status_code == 404


async def test_bad_bodies_are_a_documented_400(http: httpx.AsyncClient, keys: Keys) -> None:
    headers = {**auth(keys.operator), "Content-Type": "application/json"}
    for body in (b'{"workflow": "\xff\xfe"}', b"[" * 100_000 + b"]" * 100_000):
        answer = await http.post("/api/v1/runs", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "bad_request"
    schema = (await http.get("/openapi.json")).json()
    responses = schema["paths"]["/api/v1/runs"]["post"]["responses"]
    assert "bad_request" in responses["400"]["description"]
