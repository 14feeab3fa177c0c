"""The worker profile: store + engine + executor + gateway + tools, and no HTTP.

A worker drives steps and runs: what a Celery worker process will run, and the core
the server profile (:class:`~orchestra.runtime.container.Container`) adds its
services and HTTP-facing feeds to. :func:`open_worker_parts` builds the parts into a
caller's exit stack (so a bigger profile closes them in order with its own);
:class:`Worker` owns its stack::

    async with await Worker.open(settings) as worker:
        run_id, status = await worker.engine.run(spec, inputs)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.config.settings import Settings
from orchestra.context.enrich import RememberingRunner
from orchestra.engine.events import EventBus
from orchestra.engine.protocols import EventSink
from orchestra.engine.scheduler import Engine
from orchestra.llm.gateway import Gateway
from orchestra.llm.scripted import ScriptRegistry
from orchestra.runtime import builders
from orchestra.runtime.builders import Plugins
from orchestra.runtime.relay import CommitRelay
from orchestra.store.context import ContextRepository
from orchestra.store.database import Database
from orchestra.store.run_store import SqlRunStore
from orchestra.store.usage_store import SqlUsageStore
from orchestra.tools.registry import ToolRegistry


@dataclass(frozen=True, slots=True)
class WorkerParts:
    """What the worker profile builds, in the order it opens them."""

    database: Database
    store: SqlRunStore
    bus: EventBus
    relay: CommitRelay
    usage: SqlUsageStore
    gateway: Gateway
    tools: ToolRegistry
    engine: Engine
    step_runner: GatewayStepRunner
    """The agent loop inside the engine's runner (which wraps it for ``Remember:`` steps):
    what the server profile gives the message bus and what tests inspect."""


async def open_worker_parts(
    settings: Settings,
    exits: contextlib.AsyncExitStack,
    *,
    scripts: ScriptRegistry | None = None,
    sinks: Iterable[EventSink] = (),
    plugins: Plugins | None = None,
) -> WorkerParts:
    """Open the worker's parts into ``exits``; ``sinks`` also hear every committed event.

    The executor is looked up first, so an unknown ``[engine] executor`` fails before
    anything is opened (:class:`~orchestra.plugins.UnknownPlugin` lists the registered).
    """
    plugins = plugins or Plugins()
    executor = builders.executor_factory(settings, plugins)
    database = await builders.open_database(settings, exits)
    store, bus, relay = await builders.open_run_store(database, settings.database.url, sinks, exits)
    usage = SqlUsageStore(database)
    gateway = builders.open_gateway(settings, plugins, exits, scripts=scripts)
    context = ContextRepository(database)
    tools = builders.build_tools(context)
    runner = builders.build_step_runner(settings, gateway, usage, tools, context)
    # A step with "Remember:" stores its outputs in the context store once it succeeds.
    engine = builders.build_engine(
        settings, store, RememberingRunner(runner, context), executor, exits
    )
    return WorkerParts(database, store, bus, relay, usage, gateway, tools, engine, runner)


class Worker:
    """The worker profile as one object. Build with :meth:`open`; ``await close()``."""

    def __init__(
        self, settings: Settings, parts: WorkerParts, exits: contextlib.AsyncExitStack
    ) -> None:
        self.settings = settings
        self.parts = parts
        self.engine = parts.engine
        self.store = parts.store
        self._exits = exits

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        scripts: ScriptRegistry | None = None,
        plugins: Plugins | None = None,
    ) -> Worker:
        exits = contextlib.AsyncExitStack()
        try:
            parts = await open_worker_parts(settings, exits, scripts=scripts, plugins=plugins)
        except BaseException:
            await exits.aclose()
            raise
        return cls(settings, parts, exits)

    async def close(self) -> None:
        """Close in reverse order of opening: gateway, store, database."""
        await self._exits.aclose()

    async def __aenter__(self) -> Worker:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
