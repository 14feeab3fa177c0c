"""Hostile WebSocket input against a real uvicorn server: every case is answered at once.

Binary frames, lone surrogates, deep nesting and bad fields get an ``error``
message with a stable ``code`` and the connection keeps answering; an
oversized message closes with 1009; a foreign browser ``Origin`` with 4403.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from orchestra.api.deps import ApiOptions
from orchestra.api.websocket import origin_allowed
from tests.api import live
from tests.api.conftest import Keys
from tests.api.test_websocket import recv, url

LIMIT = 4096


@pytest.fixture
def api_options() -> ApiOptions:
    return ApiOptions(
        rate_limit="10000/minute",
        ws_ping_s=30,
        ws_max_message_bytes=LIMIT,
        ws_origins=("https://ops.example.com",),
    )


@pytest.fixture
async def address(app: FastAPI) -> AsyncIterator[str]:
    async with live.serve(app) as where:
        yield where


def _protocols(keys: Keys) -> list[str]:
    return ["orchestra.v1", f"bearer.{keys.viewer}"]


async def _still_answers(ws: ClientConnection) -> None:
    await ws.send(json.dumps({"type": "subscribe", "run_id": "missing"}))
    answer = await recv(ws)
    assert (answer["type"], answer["code"]) == ("error", "not_found")


async def _close_code(ws: ClientConnection) -> int:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await recv(ws)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


async def test_binary_frame_is_answered_and_the_connection_goes_on(
    address: str, keys: Keys
) -> None:
    async with connect(url(address), subprotocols=_protocols(keys)) as ws:  # type: ignore[arg-type]
        await ws.send(b'{"type": "subscribe", "run_id": "*"}')
        answer = await recv(ws)
        assert (answer["type"], answer["code"]) == ("error", "unsupported_frame")
        await _still_answers(ws)


async def test_lone_surrogate_run_id_is_a_validation_error(address: str, keys: Keys) -> None:
    async with connect(url(address), subprotocols=_protocols(keys)) as ws:  # type: ignore[arg-type]
        await ws.send('{"type": "subscribe", "run_id": "\\ud800"}')  # JSON escape: valid UTF-8
        answer = await recv(ws)
        assert (answer["type"], answer["code"]) == ("error", "validation_error")
        await _still_answers(ws)


async def test_invalid_utf8_in_a_text_frame_closes_1007(address: str, keys: Keys) -> None:
    async with connect(url(address), subprotocols=_protocols(keys)) as ws:  # type: ignore[arg-type]
        await ws.send(b'{"run_id": "\xed\xa0\x80"}', text=True)  # a lone surrogate, raw
        assert await _close_code(ws) == 1007


async def test_deeply_nested_json_is_a_validation_error(address: str, keys: Keys) -> None:
    async with connect(url(address), subprotocols=_protocols(keys)) as ws:  # type: ignore[arg-type]
        await ws.send("[" * 2000 + "]" * 2000)
        answer = await recv(ws)
        assert (answer["type"], answer["code"]) == ("error", "validation_error")
        await _still_answers(ws)


async def test_long_values_are_not_echoed_back(address: str, keys: Keys) -> None:
    async with connect(url(address), subprotocols=_protocols(keys)) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "x" * 3000}))
        answer = await recv(ws)
        assert answer["code"] == "validation_error"
        assert len(answer["message"]) < 200
        await ws.send(json.dumps({"type": "subscribe", "run_id": "r" * 3000}))
        answer = await recv(ws)
        assert answer["code"] == "validation_error"
        assert "r" * 100 not in answer["message"]
        await _still_answers(ws)


async def test_oversized_message_closes_1009(address: str, keys: Keys) -> None:
    async with connect(url(address), subprotocols=_protocols(keys)) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "subscribe", "run_id": "r" * 2_000_000}))
        assert await _close_code(ws) == 1009


async def test_oversized_auth_message_closes_1009(address: str) -> None:
    async with connect(url(address), subprotocols=["orchestra.v1"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "auth", "key": "k" * (LIMIT + 1)}))
        assert await _close_code(ws) == 1009


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://evil.example", False),
        ("null", False),
        ("https://ops.example.com", True),
        ("http://localhost:5173", True),
        (None, True),  # not a browser
    ],
)
async def test_origin_is_checked_against_the_allowlist(
    address: str, keys: Keys, origin: str | None, allowed: bool
) -> None:
    async with connect(url(address), subprotocols=_protocols(keys), origin=origin) as ws:  # type: ignore[arg-type]
        if allowed:
            await _still_answers(ws)
        else:
            assert await _close_code(ws) == 4403


async def test_same_origin_is_allowed(address: str, keys: Keys) -> None:
    async with connect(
        url(address), subprotocols=_protocols(keys), origin=f"http://{address}"
    ) as ws:  # type: ignore[arg-type]
        await _still_answers(ws)


def test_origin_rules() -> None:
    assert origin_allowed("https://orchestra.example:8443", "orchestra.example:8443", ())
    assert not origin_allowed("https://orchestra.example", "orchestra.example:8443", ())
    assert not origin_allowed("https://127.0.0.1.evil.example", "127.0.0.1:8765", ())
    assert origin_allowed("https://anything.example", None, ("*",))
