"""Small builders, one per long-lived component; the process profiles compose them.

Each builder takes what it needs and the profile's :class:`~contextlib.AsyncExitStack`,
opens its component and pushes the matching close, so a profile closes everything in
reverse order of opening. Nothing here is a global: every call builds anew.

Executors and model providers come from their registries
(:func:`~orchestra.engine.executor.executor_registry`,
:func:`~orchestra.llm.providers.model_provider_registry`), tools from the built-ins
plus the ``orchestra.tools`` entry points: no name is hard-wired here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from orchestra.agents.prompt import AgentPromptBuilder
from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.config.settings import Settings
from orchestra.context.enrich import ContextPromptBuilder
from orchestra.context.protocols import ContextSource
from orchestra.context.tools import make_context_tools
from orchestra.engine.events import EventBus
from orchestra.engine.executor import ExecutorFactory, executor_registry
from orchestra.engine.protocols import CommitNotifier, EventSink, StepRunner
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.providers import ModelProvider, model_provider_registry
from orchestra.llm.scripted import ScriptRegistry
from orchestra.llm.usage import RecordingGateway, UsageSink
from orchestra.plugins import Registry
from orchestra.runtime.relay import CommitRelay
from orchestra.store.database import Database, connect
from orchestra.store.notify import InProcessNotifier, PostgresNotifier
from orchestra.store.run_store import SqlRunStore
from orchestra.tools.builtin import register_builtins
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.protocol import ToolServices, ToolSettings
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.secret_store import project_secrets

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Plugins:
    """The registries of one process: discovered once, shared by its builders."""

    executors: Registry[ExecutorFactory] = field(default_factory=executor_registry)
    models: Registry[ModelProvider] = field(default_factory=model_provider_registry)


def engine_settings(settings: Settings) -> EngineSettings:
    """Adapt the ``[engine]`` section to the engine's plain settings."""
    section = settings.engine
    return EngineSettings(
        max_concurrency=section.max_concurrency,
        agent_concurrency=dict(section.agent_concurrency) or None,
        model_concurrency=dict(section.model_concurrency) or None,
        lease_s=section.lease_seconds,
    )


def executor_factory(settings: Settings, plugins: Plugins) -> ExecutorFactory:
    """The executor ``[engine] executor`` names; raises UnknownPlugin listing the registered.

    ``[distributed] broker_url`` set with the default ``local`` executor selects ``celery``
    (steps go to ``orchestra worker`` processes). A factory with a ``from_settings``
    classmethod is bound to the settings through it (the Celery executor needs its broker).
    """
    name = settings.engine.executor
    if settings.distributed.broker_url and name == "local":
        name = "celery"
    factory = plugins.executors.get(name)
    configure = getattr(factory, "from_settings", None)
    if callable(configure):
        configured: ExecutorFactory = configure(settings)
        return configured
    return factory


async def open_database(settings: Settings, exits: contextlib.AsyncExitStack) -> Database:
    database = await connect(settings.database.url)
    exits.push_async_callback(database.aclose)
    return database


def commit_notifier(database: Database, url: str) -> CommitNotifier:
    """PostgreSQL: LISTEN/NOTIFY, so events committed by other processes reach this one live.
    SQLite: in-process only (cross-process live events are not supported there)."""
    if database.dialect == "postgresql":
        return PostgresNotifier(url)
    return InProcessNotifier()


async def open_run_store(
    database: Database,
    url: str,
    sinks: Iterable[EventSink],
    exits: contextlib.AsyncExitStack,
) -> tuple[SqlRunStore, EventBus, CommitRelay]:
    """The run store, its committed events (this process's and, through the commit
    notifier, other processes') delivered in order to an :class:`EventBus` and ``sinks``."""
    store = SqlRunStore(database)
    bus = EventBus(store.read_events)
    notifier = commit_notifier(database, url)
    relay = CommitRelay(store.read_events, (bus, *sinks), notifier)
    store.add_sink(relay)
    await notifier.start()
    exits.push_async_callback(notifier.aclose)
    exits.push_async_callback(relay.aclose)
    await exits.enter_async_context(store)
    return store, bus, relay


def open_gateway(
    settings: Settings,
    plugins: Plugins,
    exits: contextlib.AsyncExitStack,
    *,
    scripts: ScriptRegistry | None = None,
) -> Gateway:
    gateway = build_gateway(
        GatewayConfig.from_settings(settings), scripts=scripts, model_providers=plugins.models
    )
    exits.push_async_callback(gateway.close)
    return gateway


def build_tools(context: ContextSource | None = None) -> ToolRegistry:
    """The built-in tools plus every ``orchestra.tools`` plugin (broken ones are logged);
    with ``context``, ``context.search``/``context.add`` read and write that store."""
    tools = ToolRegistry()
    register_builtins(tools)
    if context is not None:
        for context_tool in make_context_tools(context):
            tools.register(context_tool, replace=True)
    tools.load_plugins()
    for problem in tools.plugin_errors:
        log.warning("tool plugin not loaded: %s", problem)
    return tools


def build_step_runner(
    settings: Settings,
    gateway: Gateway,
    usage: UsageSink,
    tools: ToolRegistry,
    context: ContextSource | None = None,
) -> GatewayStepRunner:
    """The agent loop as the engine's step runner; every model call is recorded in ``usage``.
    With ``context``, agents whose front matter asks for context get it in their prompt."""
    prompts = ContextPromptBuilder(AgentPromptBuilder(), context) if context else None
    return GatewayStepRunner(
        RecordingGateway(gateway, usage),
        prompts=prompts,
        tools=tools,
        tool_settings=ToolSettings.from_sections(settings.tools, settings.workspaces),
        project_dir=settings.project_dir,
        stream=settings.models.stream,
        services=ToolServices(
            plugins=PluginSettings(settings.plugins), secrets=project_secrets(settings.state_dir)
        ),
    )


def build_engine(
    settings: Settings,
    store: SqlRunStore,
    runner: StepRunner,
    executor: ExecutorFactory,
    exits: contextlib.AsyncExitStack | None = None,
) -> Engine:
    """The engine; an executor holding connections (``aclose``) is closed with ``exits``."""
    engine = Engine(store, runner, engine_settings(settings), executor_factory=executor)
    closer = getattr(engine.executor, "aclose", None)
    if exits is not None and callable(closer):
        exits.push_async_callback(closer)
    return engine
