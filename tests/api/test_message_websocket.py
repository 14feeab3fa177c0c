"""The WebSocket ``messages`` channel on a real uvicorn server: a message published over
real HTTP reaches the subscribers whose pattern matches, live; bad patterns get an
error with a stable code; unsubscribing stops the traffic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from tests.api import live
from tests.api.conftest import Keys, auth


@pytest.fixture
async def address(app: FastAPI) -> AsyncIterator[str]:
    async with live.serve(app) as where:
        yield where


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next message that is not a ping (answered)."""
    while True:
        async with asyncio.timeout(30):
            message: dict[str, Any] = json.loads(await ws.recv())
        if message["type"] != "ping":
            return message
        await ws.send(json.dumps({"type": "pong"}))


async def publish(address: str, key: str, draft: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=f"http://{address}") as http:
        sent = await http.post("/api/v1/messages", json=draft, headers=auth(key))
    assert sent.status_code == 201, sent.text
    message_id: str = sent.json()["message"]["id"]
    return message_id


def opened(address: str, key: str) -> Any:
    return connect(
        f"ws://{address}/api/v1/ws",
        subprotocols=["orchestra.v1", f"bearer.{key}"],  # type: ignore[list-item]
    )


async def test_published_message_reaches_matching_subscribers_live(
    address: str, keys: Keys
) -> None:
    async with opened(address, keys.viewer) as review, opened(address, keys.viewer) as every:
        await review.send(
            json.dumps({"type": "subscribe", "channel": "messages", "topic": "review.#"})
        )
        assert await recv(review) == {
            "type": "subscribed",
            "channel": "messages",
            "topic": "review.#",
        }
        await every.send(json.dumps({"type": "subscribe", "channel": "messages"}))
        assert (await recv(every))["topic"] is None

        other = await publish(address, keys.operator, {"topic": "research.berlin", "body": 1})
        direct = await publish(address, keys.operator, {"to": "reviewer", "body": "hi"})
        done = await publish(
            address, keys.operator, {"topic": "review.done", "body": {"verdict": "ok"}}
        )

        got = await recv(review)
        assert got["type"] == "message" and got["message"]["id"] == done
        assert got["message"]["body"] == {"verdict": "ok"}
        assert got["message"]["sender"] == "operator"
        assert [(await recv(every))["message"]["id"] for _ in range(3)] == [other, direct, done]

        await review.send(json.dumps({"type": "unsubscribe", "channel": "messages"}))
        await publish(address, keys.operator, {"topic": "review.again", "body": 2})
        await review.send(
            json.dumps({"type": "subscribe", "channel": "messages", "topic": "late.*"})
        )
        assert (await recv(review))["type"] == "subscribed"
        late = await publish(address, keys.operator, {"topic": "late.news", "body": 3})
        # review.again came while unsubscribed: the next message is the late one.
        assert (await recv(review))["message"]["id"] == late


async def test_bad_pattern_is_answered_with_an_error(address: str, keys: Keys) -> None:
    async with opened(address, keys.viewer) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": "messages", "topic": "a..b"}))
        error = await recv(ws)
        assert error["type"] == "error" and error["code"] == "validation_error"
        assert "not a valid topic" in error["message"]
        await ws.send(json.dumps({"type": "subscribe", "channel": "messages", "topic": 5}))
        assert (await recv(ws))["code"] == "validation_error"
        await ws.send(json.dumps({"type": "subscribe", "channel": "messages", "topic": "a.#"}))
        assert (await recv(ws))["type"] == "subscribed"
