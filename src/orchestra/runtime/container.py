"""The composition root: builds every long-lived component of a process, in order.

Settings → database (migrated) → run store → commit notifier + relay → event bus +
feed → model gateway
(every call recorded in the usage store) → tool registry → step runner →
engine → run and key services. :meth:`start`
opens them and :meth:`close` closes them in reverse order, so tests, the
server and the CLI build the same object graph and nothing is a global.

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
from orchestra.engine.protocols import CommitNotifier
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.scripted import ScriptRegistry
from orchestra.llm.usage import RecordingGateway
from orchestra.runtime.feed import ActiveSteps, EventFeed
from orchestra.runtime.keys import KeyService
from orchestra.runtime.project_checks import load_project
from orchestra.runtime.relay import CommitRelay
from orchestra.runtime.runs import RunService
from orchestra.runtime.tasks import TaskService
from orchestra.store.auth_repo import AuditRepository, KeyRepository
from orchestra.store.database import Database, connect
from orchestra.store.notify import InProcessNotifier, PostgresNotifier
from orchestra.store.run_queries import RunQueries
from orchestra.store.run_store import SqlRunStore
from orchestra.store.usage_store import SqlUsageStore
from orchestra.tools.builtin import register_builtins
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolServices, ToolSettings
from orchestra.tools.registry import ToolRegistry

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


def engine_settings(settings: Settings) -> EngineSettings:
    """Adapt the ``[engine]`` section to the engine's plain settings."""
    section = settings.engine
    return EngineSettings(
        max_concurrency=section.max_concurrency,
        agent_concurrency=dict(section.agent_concurrency) or None,
        model_concurrency=dict(section.model_concurrency) or None,
        lease_s=section.lease_seconds,
    )


def commit_notifier(database: Database, url: str) -> CommitNotifier:
    """PostgreSQL: LISTEN/NOTIFY, so events committed by other processes reach this one live.
    SQLite: in-process only (cross-process live events are not supported there)."""
    if database.dialect == "postgresql":
        return PostgresNotifier(url)
    return InProcessNotifier()


class Container:
    """Every component of one Orchestra process. Build with :meth:`open`; ``await close()``."""

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
        self.notifier: CommitNotifier
        self.relay: CommitRelay
        self.gateway: Gateway
        self.tools: ToolRegistry
        self.engine: Engine
        self.runs: RunService
        self.keys: KeyService
        self.audit: AuditRepository
        self.queries: RunQueries
        self.usage: SqlUsageStore
        self.tasks: TaskService

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
        self.database = await connect(self.settings.database.url)
        self._exits.push_async_callback(self.database.aclose)
        self.store = SqlRunStore(self.database)
        self.bus = EventBus(self.store.read_events)
        self.notifier = commit_notifier(self.database, self.settings.database.url)
        self.relay = CommitRelay(self.store.read_events, (self.bus, self.feed), self.notifier)
        self.store.add_sink(self.relay)
        await self.notifier.start()
        self._exits.push_async_callback(self.notifier.aclose)
        self._exits.push_async_callback(self.relay.aclose)
        await self._exits.enter_async_context(self.store)
        self.queries = RunQueries(self.database)
        self.usage = SqlUsageStore(self.database)
        self.keys = KeyService(KeyRepository(self.database))
        self.audit = AuditRepository(self.database)
        self.gateway = build_gateway(
            GatewayConfig.from_settings(self.settings), scripts=self.options.scripts
        )
        self._exits.push_async_callback(self.gateway.close)
        self.tools = ToolRegistry()
        register_builtins(self.tools)
        self.tools.load_plugins()
        for problem in self.tools.plugin_errors:
            log.warning("tool plugin not loaded: %s", problem)
        runner = GatewayStepRunner(
            RecordingGateway(self.gateway, self.usage),
            tools=self.tools,
            tool_settings=ToolSettings.from_sections(self.settings.tools, self.settings.workspaces),
            project_dir=self.settings.project_dir,
            stream=self.settings.models.stream,
            services=ToolServices(plugins=PluginSettings(self.settings.plugins)),
        )
        self.engine = Engine(self.store, runner, engine_settings(self.settings))
        self.runs = RunService(
            self.engine, self.queries, lambda: self.project, grace_s=self.options.grace_s
        )
        await self.runs.start()
        self._exits.push_async_callback(self.runs.close)
        self.tasks = TaskService.of(self)
        await self.tasks.sync_agents()
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
