"""``messages.send``, ``messages.publish``, ``messages.read``: the bus as agent tools.

The agent is the sender (its permissions apply). ``messages.read`` waits up to
``timeout_s`` for a message on a topic pattern through the durable subscription
``<agent>.<pattern>`` (created on first use, with the retained messages of the last
hour so a message published just before the reader started is not missed), and
acknowledges what it returns. Built without a bus (a process that has none), each
tool answers with an error the model can read.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, Field, JsonValue

from orchestra.messaging.bus import MessageBus
from orchestra.messaging.errors import MessagingError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

REPLAY_S = 3600.0


class SendArgs(BaseModel):
    to: str = Field(min_length=1, max_length=100, description="The agent to send to.")
    body: JsonValue = Field(default=None, description="Any JSON value.")
    priority: int = Field(default=4, ge=0, le=9)
    headers: dict[str, str] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, max_length=200)


class PublishArgs(BaseModel):
    topic: str = Field(min_length=1, max_length=200, description="Dotted, e.g. review.done.")
    body: JsonValue = Field(default=None, description="Any JSON value.")
    priority: int = Field(default=4, ge=0, le=9)
    headers: dict[str, str] = Field(default_factory=dict)
    dedupe_key: str | None = Field(default=None, max_length=200)
    ttl_s: float | None = Field(default=None, gt=0)


class ReadArgs(BaseModel):
    topic: str | None = Field(
        default=None,
        max_length=200,
        description="Topic pattern ('review.*', 'review.#'); omit to read your inbox.",
    )
    timeout_s: float = Field(default=30.0, ge=0, le=600, description="Seconds to wait.")
    max_messages: int = Field(default=1, ge=1, le=50)


def _unavailable() -> ToolOutput:
    return ToolOutput(text="this process has no message bus", is_error=True)


def _shown(message: Any) -> dict[str, Any]:
    return {
        "id": message.id,
        "from": message.sender,
        "topic": message.topic,
        "priority": message.priority,
        "headers": message.headers,
        "body": message.body,
    }


def make_message_tools(bus: MessageBus | None) -> list[Tool]:
    @tool("messages.send", permission=Permission.NETWORK)
    async def send(args: SendArgs, ctx: ToolContext) -> ToolOutput:
        """Send a message to one agent's inbox."""
        if bus is None:
            return _unavailable()
        try:
            sent = await bus.publish(
                {**args.model_dump(), "dedupe_key": args.dedupe_key}, sender=ctx.agent
            )
        except MessagingError as error:
            return ToolOutput(text=f"not sent: {error}", is_error=True)
        return ToolOutput(text=f"sent {sent.message.id} to {args.to}", data={"id": sent.message.id})

    @tool("messages.publish", permission=Permission.NETWORK)
    async def publish(args: PublishArgs, ctx: ToolContext) -> ToolOutput:
        """Publish a message on a dotted topic; every subscriber of a matching pattern gets it."""
        if bus is None:
            return _unavailable()
        try:
            sent = await bus.publish(args.model_dump(), sender=ctx.agent)
        except MessagingError as error:
            return ToolOutput(text=f"not published: {error}", is_error=True)
        return ToolOutput(
            text=f"published {sent.message.id} on {args.topic} to {sent.routed} subscriber(s)",
            data={"id": sent.message.id, "routed": sent.routed, "created": sent.created},
        )

    @tool("messages.read", permission=Permission.NETWORK)
    async def read(args: ReadArgs, ctx: ToolContext) -> ToolOutput:
        """Wait for messages on a topic pattern (or your inbox) and return them."""
        if bus is None:
            return _unavailable()
        try:
            if args.topic is None:
                name = await bus.ensure_inbox(ctx.agent)
            else:
                name = f"{ctx.agent}.{args.topic}".replace("*", "_star_").replace("#", "_hash_")
                await bus.subscribe(
                    name,
                    agent=ctx.agent,
                    patterns=[args.topic],
                    replay_since=time.time() - REPLAY_S,
                )
            got = await bus.fetch([name], limit=args.max_messages, wait_s=args.timeout_s)
            await bus.ack(got)
        except MessagingError as error:
            return ToolOutput(text=f"cannot read: {error}", is_error=True)
        if not got:
            return ToolOutput(
                text=f"no message on {args.topic or 'your inbox'} within {args.timeout_s:g}s",
                data={"messages": []},
            )
        shown = [_shown(d.message) for d in got]
        import json

        return ToolOutput(text=json.dumps(shown, ensure_ascii=False), data={"messages": shown})

    return [send, publish, read]
