"""A remote A2A agent built only from the a2a-sdk's own server classes, on 127.0.0.1.

Its executor answers a message with one text artifact ``"<name>: <TEXT UPPERCASED>"``,
after a ``working`` status update; a message containing ``fail`` fails the task. It
refuses requests without ``Authorization: Bearer <token>`` when a token is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from a2a.helpers.proto_helpers import new_task, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    TaskState,
)
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.api.live import serve


class ShoutingExecutor(AgentExecutor):
    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[str] = []

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id, context_id = context.task_id or "", context.context_id or ""
        if context.current_task is None:
            await event_queue.enqueue_event(
                new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED)
            )
        updater = TaskUpdater(event_queue, task_id, context_id)
        text = context.get_user_input()
        self.received.append(text)
        await updater.update_status(
            TaskState.TASK_STATE_WORKING,
            new_text_message(f"{self.name} is shouting", context_id=context_id, task_id=task_id),
        )
        if "fail" in text:
            await updater.failed(
                new_text_message("cannot shout that", context_id=context_id, task_id=task_id)
            )
            return
        await updater.add_artifact([new_text_part(f"{self.name}: {text.upper()}")], name="shout")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id or "", context.context_id or "").cancel()


class _RequireToken(BaseHTTPMiddleware):
    def __init__(self, app: Starlette, token: str) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return await call_next(request)


@asynccontextmanager
async def sdk_peer(
    name: str, token: str | None = None
) -> AsyncIterator[tuple[str, ShoutingExecutor]]:
    """Serve the peer; yields its base URL and executor (to see what it received)."""
    executor = ShoutingExecutor(name)
    holder: dict[str, str] = {}

    def card(url: str) -> AgentCard:
        return AgentCard(
            name=name,
            description="shouts back",
            version="1",
            supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC")],
            capabilities=AgentCapabilities(streaming=True),
            default_input_modes=["text/plain"],
            default_output_modes=["text/plain"],
            skills=[AgentSkill(id="shout", name="shout", description="shouts", tags=["test"])],
        )

    async def modify(existing: AgentCard) -> AgentCard:
        return card(holder["url"])

    placeholder = card("http://127.0.0.1/")
    handler = DefaultRequestHandler(
        agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=placeholder
    )
    app = Starlette(
        routes=[
            *create_agent_card_routes(placeholder, card_modifier=modify),
            *create_jsonrpc_routes(handler, rpc_url="/"),
        ]
    )
    if token is not None:
        app.add_middleware(_RequireToken, token=token)
    async with serve(app) as address:  # type: ignore[arg-type]
        holder["url"] = f"http://{address}/"
        yield holder["url"], executor
