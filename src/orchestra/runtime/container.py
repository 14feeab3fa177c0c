"""The server profile: the worker profile plus the services the adapters call.

:func:`~orchestra.runtime.worker.open_worker_parts` opens database (migrated) →
run store → event bus → model gateway (every call recorded in the usage store)
→ tool registry → step runner → engine; this profile adds the event feed,
run queries, run and key services and the audit log. :meth:`Container.start`
opens them and :meth:`Container.close` closes them in reverse order, so tests,
the server and the CLI build the same object graph and nothing is a global.
Each part comes from a builder in :mod:`orchestra.runtime.builders`.

The container also keeps the project's definitions fresh: every
``refresh_s`` seconds it calls :meth:`Project.refresh`, which re-reads only
files whose size or modification time changed (no restart needed for edits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.config.settings import Settings
from orchestra.engine.events import EventBus
from orchestra.engine.ids import RunId
from orchestra.engine.scheduler import Engine
from orchestra.llm.gateway import Gateway
from orchestra.llm.scripted import ScriptRegistry
from orchestra.messaging import MessageBus
from orchestra.messaging.tools import make_message_tools
from orchestra.runtime.builders import Plugins, engine_settings
from orchestra.runtime.commands import CommandService
from orchestra.runtime.feed import ActiveSteps, EventFeed
from orchestra.runtime.keys import KeyService
from orchestra.runtime.messaging import BusWaiter, MessageTasks, open_bus
from orchestra.runtime.notifications import open_email_notifier
from orchestra.runtime.project_checks import load_project
from orchestra.runtime.relay import CommitRelay
from orchestra.runtime.runs import RunService
from orchestra.runtime.tasks import TaskService
from orchestra.runtime.worker import open_worker_parts
from orchestra.store.auth_repo import AuditRepository, KeyRepository
from orchestra.store.context import ContextRepository
from orchestra.store.database import Database
from orchestra.store.run_queries import RunQueries
from orchestra.store.run_store import SqlRunStore
from orchestra.store.usage_store import SqlUsageStore
from orchestra.tools.registry import ToolRegistry

__all__ = ["Container", "ContainerOptions", "engine_settings"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContainerOptions:
    """Knobs of the process itself (not of the project)."""

    grace_s: float = 10.0
    """How long shutdown waits for runs in flight before cancelling them."""
    refresh_s: float | None = 1.0
    """How often project files are checked for changes; None turns watching off."""
    resume: bool = True
    """Drive the runs a crash interrupted as soon as the container starts."""
    dispatch: bool = False
    """Run the task dispatcher in this process (``orchestra serve`` with ``[tasks] dispatch``)."""
    scripts: ScriptRegistry | None = field(default=None, compare=False)
    """Scripts for ``scripted/...`` models (tests and demos)."""
    plugins: Plugins | None = field(default=None, compare=False)
    """The registries of executors and model providers; None discovers the installed ones."""


class Container:
    """Every component of a server (or CLI) process. Build with :meth:`open`; ``await close()``."""

    def __init__(self, settings: Settings, options: ContainerOptions | None = None) -> None:
        self.settings = settings
        self.options = options or ContainerOptions()
        self.project = load_project(settings)
        self.feed = EventFeed()
        self.active = ActiveSteps()
        self.feed.listen(self.active.observe)
        self._exits = contextlib.AsyncExitStack()
        self._watcher: asyncio.Task[None] | None = None
        # Set by start():
        self.database: Database
        self.store: SqlRunStore
        self.bus: EventBus
        self.relay: CommitRelay
        self.gateway: Gateway
        self.tools: ToolRegistry
        self.engine: Engine
        self.step_runner: GatewayStepRunner
        self.runs: RunService
        self.keys: KeyService
        self.audit: AuditRepository
        self.queries: RunQueries
        self.usage: SqlUsageStore
        self.tasks: TaskService
        self.messages: MessageBus
        self.context: ContextRepository
        self.commands: CommandService

    @classmethod
    async def open(cls, settings: Settings, options: ContainerOptions | None = None) -> Container:
        container = cls(settings, options)
        try:
            await container.start()
        except BaseException:
            await container.close()
            raise
        return container

    async def start(self) -> None:
        worker = await open_worker_parts(
            self.settings,
            self._exits,
            scripts=self.options.scripts,
            sinks=[self.feed],
            plugins=self.options.plugins,
        )
        self.database, self.store, self.bus = worker.database, worker.store, worker.bus
        self.relay = worker.relay
        self.usage, self.gateway, self.tools = worker.usage, worker.gateway, worker.tools
        self.engine, self.step_runner = worker.engine, worker.step_runner
        self.queries = RunQueries(self.database)
        self.keys = KeyService(KeyRepository(self.database))
        self.audit = AuditRepository(self.database)
        self.context = ContextRepository(self.database)
        self.runs = RunService(
            self.engine, self.queries, lambda: self.project, grace_s=self.options.grace_s
        )
        await self.runs.start()
        self._exits.push_async_callback(self.runs.close)
        self.tasks = TaskService.of(self)
        self.messages = await open_bus(self.settings, self.database, self._exits)
        for message_tool in make_message_tools(self.messages):
            self.tools.register(message_tool, replace=True)
        self._wire_wait_steps()
        topic = self.settings.messaging.task_topic
        if self.options.dispatch and topic is not None:
            message_tasks = MessageTasks(self.messages, self.tasks, topic)
            await message_tasks.start()
            self._exits.push_async_callback(message_tasks.close)
        self.commands = CommandService(
            lambda: self.project, self.gateway, self.tools, self.context, self.runs.start_run
        )
        await self.tasks.sync_agents()
        self.notifier = await open_email_notifier(self, self._exits)
        if self.options.dispatch:
            await self.tasks.start()
            self._exits.push_async_callback(self.tasks.close)
        if self.options.refresh_s is not None:
            self._watcher = asyncio.create_task(
                self._watch(self.options.refresh_s), name="orchestra-project-watch"
            )
            self._exits.push_async_callback(self._stop_watcher)
        if self.options.resume:
            await self.runs.resume_interrupted()

    def _wire_wait_steps(self) -> None:
        """Give the agent loop the bus, for ``Wait for:`` steps."""
        store = self.store

        async def run_created(run_id: RunId) -> float:
            return (await store.get_run(run_id)).created_at

        self.step_runner.waiter = BusWaiter(self.messages, run_created)

    async def close(self) -> None:
        """Close in reverse order of opening: runs (phased shutdown), gateway, store, database."""
        await self._exits.aclose()

    async def _watch(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                changed = self.project.refresh()
            except OSError as error:  # a file vanished mid-read: the next tick sees the result
                log.warning("re-reading project files failed (%s); will retry", error)
                continue
            if changed:
                log.info("project definitions changed: %s", ", ".join(sorted(changed)))
                try:
                    await self.tasks.sync_agents()
                except Exception:  # the next change or restart registers them
                    log.exception("registering the changed agents failed")

    async def _stop_watcher(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
