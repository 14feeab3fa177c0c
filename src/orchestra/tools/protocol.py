"""The tool contract shared by built-ins, plugins, MCP servers and the agent loop.

A **tool** is an async function ``async def f(args: ArgsModel, ctx: ToolContext)
-> str | ToolOutput`` plus metadata: a dotted ``name`` (``files.read``,
``http.fetch``, ``<mcp-server>.<tool>``), a ``description`` for the model, a
``version``, the :class:`Permission` it needs and its ``source`` (``builtin``,
``plugin:<dist>``, ``mcp:<server>``). The :func:`tool` decorator builds a
:class:`Tool` from such a function, taking the pydantic args model from its
annotation; the model's JSON schema is what the LLM sees
(:meth:`Tool.schema` returns an :class:`orchestra.llm.types.ToolSchema`).

Tools do not see raw JSON: :meth:`Tool.invoke` receives the decoded arguments
as a mapping and validates them itself (pydantic for typed tools, the server for
MCP tools). Callers never call ``invoke`` directly; they go through a
:class:`~orchestra.tools.registry.ToolRegistry` or its per-agent view, which
enforce the allowlist, catch every error and truncate output.

A :class:`ToolContext` is built by the caller (the agent loop, or ``orchestra
tools call``) once per step and handed to every call in it:

* ``workspace`` — the directory the tool is confined to;
* ``run_id``, ``step_id``, ``agent`` — for correlation in events and logs;
* ``idempotency_key`` — stable across retries of the same step; tools with side
  effects outside the workspace (``http.fetch`` POST) forward it so a retried
  step does not repeat them;
* ``settings`` — :class:`ToolSettings`, the limits every built-in obeys;
* ``emit`` — optional async callback for progress events (``kind``, payload).
  The agent loop itself emits ``tool_call`` / ``tool_result``; tools only emit
  ``log``-style progress through it;
* ``plugins`` / :meth:`ToolContext.plugin_settings` — the plugin's own typed
  ``[plugins.<name>]`` table (:mod:`orchestra.tools.plugin_settings`);
* ``secrets`` / :meth:`ToolContext.secret` — secrets through a
  :class:`~orchestra.tools.secrets.SecretProvider`, never ``os.environ`` directly;
* ``transport`` / :meth:`ToolContext.http_client` — every HTTP call of a tool goes
  through one transport, the network guard by default (:mod:`orchestra.tools.http`);
* ``resources`` — the run's resources, for what should outlive one call (a browser).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestra.definitions.specs import McpServerSpec
from orchestra.llm.types import ChatMessage, ToolSchema
from orchestra.tools.access import ToolAccess
from orchestra.tools.errors import ToolArgumentsError, ToolDefinitionError
from orchestra.tools.netguard import policy_from
from orchestra.tools.plugin_settings import PluginSettings
from orchestra.tools.secrets import EnvSecrets, SecretProvider, require_secret
from orchestra.tools.versions import DEFAULT_VERSION
from orchestra.tools.workspace import Workspace

if TYPE_CHECKING:  # httpx and httpcore cost ~0.3 s to import: only when a tool calls out
    import httpx

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

ToolSource = str
"""``builtin``, ``plugin:<distribution>`` or ``mcp:<server>``."""

EventCallback = Callable[[str, Mapping[str, object]], Awaitable[None]]
"""Receives (event kind, JSON-serialisable payload) while a tool runs."""


class Permission(StrEnum):
    """What a tool may do; shown in ``orchestra tools list`` and used by policy checks."""

    READ = "read"
    """Reads the workspace only."""
    WRITE = "write"
    """Changes files in the workspace."""
    EXECUTE = "execute"
    """Runs programs or code (sandboxed)."""
    NETWORK = "network"
    """Talks to other machines."""


DEFAULT_SHELL_ALLOWLIST: tuple[str, ...] = (
    "ls", "cat", "head", "tail", "wc", "grep", "find", "sort", "uniq", "diff", "cut", "tr",
    "echo", "pwd", "mkdir", "touch", "cp", "mv", "git",
)  # fmt: skip


class ToolSettings(BaseModel):
    """Limits and switches for the built-in tools (the ``[tools]`` and ``[workspaces]`` settings).

    The engine builds one from project settings with :meth:`from_sections`; tests
    and the CLI build their own. Every field has a safe default.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    output_limit_chars: int = Field(default=20_000, ge=200)
    shell_allowlist: tuple[str, ...] = DEFAULT_SHELL_ALLOWLIST
    shell_timeout_s: float = Field(default=30.0, gt=0)
    shell_network: bool = False
    """Let ``shell`` commands reach the network (off: ``git clone`` from the internet fails)."""
    cpu_seconds: int = Field(default=30, ge=1)
    memory_mb: int = Field(default=1024, ge=64)
    file_size_mb: int = Field(default=64, ge=1)
    max_processes: int = Field(default=64, ge=4)
    python_timeout_s: float = Field(default=60.0, gt=0)
    allow_private_network: bool = False
    http_allowed_networks: tuple[str, ...] = ()
    """CIDRs ``http.fetch`` may reach even though they are private (e.g. an intranet wiki)."""
    http_max_bytes: int = Field(default=2_000_000, ge=1024)
    http_timeout_s: float = Field(default=20.0, gt=0)
    http_max_redirects: int = Field(default=5, ge=0, le=20)
    python_packages_allowlist: tuple[str, ...] = ()
    venv_max_mb: float = Field(default=500.0, gt=0)
    """Largest a workspace's virtual environment may grow by ``python.install``."""
    mcp_servers: tuple[McpServerSpec, ...] = ()
    search_min_interval_s: float = Field(default=1.0, ge=0)
    search_cache_ttl_s: float = Field(default=3600.0, ge=0)
    search_rate_limit: str = "30/minute;300/hour"
    """How many searches may reach DuckDuckGo (``limits`` syntax); '' for no cap."""
    sandbox: Literal["auto", "bwrap", "limits"] = "auto"
    """``auto`` uses bubblewrap when it works here, else limits only; ``bwrap`` fails if it cannot."""
    access: ToolAccess = Field(default_factory=ToolAccess)
    """``[tools.access]``: which agents and roles may call which tools (tools/access.py)."""
    workspace_root: Path = Path(".orchestra/workspaces")
    venv: bool = False
    """Give each workspace its own virtualenv (made with ``uv venv``)."""

    @classmethod
    def from_sections(cls, tools: object = None, workspaces: object = None) -> ToolSettings:
        """Build from the ``[tools]`` / ``[workspaces]`` sections of project settings.

        Each section may be a pydantic model, a mapping or ``None``; unknown keys are
        ignored, so the settings model can grow without breaking this one. The
        ``[workspaces]`` keys ``root`` and ``venv`` map to ``workspace_root`` and ``venv``.
        """
        data: dict[str, object] = {}
        data.update(_as_mapping(tools))
        ws = _as_mapping(workspaces)
        if "root" in ws:
            data["workspace_root"] = ws["root"]
        if "venv" in ws:
            data["venv"] = ws["venv"]
        return cls.model_validate(data)


def _as_mapping(section: object) -> dict[str, object]:
    if section is None:
        return {}
    if isinstance(section, BaseModel):
        return dict(section.model_dump())
    if isinstance(section, Mapping):
        return dict(section)
    raise TypeError(f"expected a settings section (model or mapping), got {type(section).__name__}")


@dataclass(frozen=True)
class ToolServices:
    """What a process hands every tool call besides the step's ids: the plugins' tables,
    the secret provider and the HTTP transport (see :class:`ToolContext`)."""

    plugins: PluginSettings = field(default_factory=PluginSettings)
    secrets: SecretProvider = field(default_factory=EnvSecrets)
    transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool call may use besides its arguments; see the module docstring."""

    workspace: Workspace
    settings: ToolSettings = field(default_factory=ToolSettings)
    run_id: str = "adhoc"
    step_id: str = "adhoc"
    agent: str = "cli"
    idempotency_key: str = ""
    emit: EventCallback | None = None
    plugins: PluginSettings = field(default_factory=PluginSettings)
    """The project's ``[plugins.<name>]`` tables; read one with :meth:`plugin_settings`."""
    secrets: SecretProvider = field(default_factory=EnvSecrets)
    """Where :meth:`secret` looks secrets up (environment variables by default)."""
    transport: httpx.AsyncBaseTransport | None = None
    """What :meth:`http_client` sends through; None: a :class:`GuardedTransport` for the
    ``[tools]`` network policy. Tests pass ``httpx.MockTransport`` or a respx router."""
    resources: ResourceScope | None = None
    """The run's resources (kept open until the run ends); None outside a run."""

    async def event(self, kind: str, payload: Mapping[str, object]) -> None:
        """Send a progress event if the caller asked for them."""
        if self.emit is not None:
            await self.emit(kind, payload)

    def plugin_settings(self, name: str, model: type[M]) -> M:
        """``[plugins.<name>]`` validated against ``model`` (``PluginSettingsError`` if not)."""
        return self.plugins.section(name, model, self.secrets)

    def secret(self, name: str) -> str:
        """The secret ``name`` from :attr:`secrets` (``MissingSecretError`` says how to set it)."""
        return require_secret(self.secrets, name, needed_by=f"a tool of agent {self.agent!r}")

    def http_client(self, **options: Any) -> httpx.AsyncClient:
        """An httpx client for one tool call, through :attr:`transport` (see
        :mod:`orchestra.tools.http`); ``options`` go to ``httpx.AsyncClient``. Timeout and
        redirect limit default to ``tools.http_timeout_s`` and ``tools.http_max_redirects``."""
        import httpx

        from orchestra.tools.http import GuardedTransport

        transport = self.transport or GuardedTransport(
            policy_from(self.settings.allow_private_network, self.settings.http_allowed_networks)
        )
        options.setdefault("timeout", self.settings.http_timeout_s)
        options.setdefault("max_redirects", self.settings.http_max_redirects)
        return httpx.AsyncClient(transport=transport, **options)


class ResourceScope(Protocol):
    """One run's resources (``orchestra.agents.resources.RunScope``): a tool opens what
    should live as long as the run (a browser) under a key, and gets the same object on
    every later call of the run; it is closed when the run ends."""

    async def enter(self, key: str, opener: Callable[[], AbstractAsyncContextManager[T]]) -> T: ...


class ToolOutput(BaseModel):
    """What a tool function may return instead of plain text."""

    text: str
    data: dict[str, Any] | None = None
    """Structured result, kept beside the text for events and the UI."""
    is_error: bool = False


ResultStatus = Literal["ok", "error", "refused"]


class ToolResult(BaseModel):
    """The outcome of one call, as the agent loop receives it. Never an exception.

    ``status`` is ``refused`` when policy stopped the call before it ran (unknown
    or forbidden tool), ``error`` when the arguments were bad or the tool failed,
    ``ok`` otherwise. ``content`` is what the model reads (already truncated).
    """

    name: str
    status: ResultStatus
    content: str
    data: dict[str, Any] | None = None
    error_type: str | None = None
    retryable: bool = False
    truncated: bool = False
    source: ToolSource = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_message(self, tool_call_id: str) -> ChatMessage:
        """The ``tool`` message to append to the conversation for this call."""
        return ChatMessage(
            role="tool", content=self.content, tool_call_id=tool_call_id, name=self.name
        )


ArgsT = TypeVar("ArgsT", bound=BaseModel)
ToolFunction = Callable[[ArgsT, ToolContext], Awaitable[str | ToolOutput]]
Invoker = Callable[[Mapping[str, Any], ToolContext], Awaitable[str | ToolOutput]]


@dataclass(frozen=True)
class Tool:
    """A registered tool. Build typed ones with :func:`tool`; MCP tools are built by the pool."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""
    invoke: Invoker
    """Validates the decoded arguments and runs the tool; raise ``ToolError`` on failure."""
    permission: Permission = Permission.READ
    version: str = DEFAULT_VERSION
    """Semver of the tool (built-ins ``1.0.0``; MCP tools their server's version)."""
    source: ToolSource = "builtin"

    def schema(self) -> ToolSchema:
        return ToolSchema(name=self.name, description=self.description, parameters=self.parameters)

    def with_source(self, source: ToolSource) -> Tool:
        return Tool(
            name=self.name,
            description=self.description,
            parameters=self.parameters,
            invoke=self.invoke,
            permission=self.permission,
            version=self.version,
            source=source,
        )

    def with_version(self, version: str) -> Tool:
        """The same tool under another version (MCP tools take their server's)."""
        return dataclasses.replace(self, version=version)


def tool(
    name: str,
    *,
    permission: Permission,
    description: str | None = None,
    version: str = DEFAULT_VERSION,
    source: ToolSource = "builtin",
    args_model: type[BaseModel] | None = None,
) -> Callable[[ToolFunction[ArgsT]], Tool]:
    """Decorator: turn ``async def f(args: Model, ctx: ToolContext)`` into a :class:`Tool`.

    The description defaults to the function's docstring; field descriptions in the
    model become part of the schema the model reads, so write them for the model.
    Pass ``args_model`` when the annotation cannot be resolved (a model defined
    inside a function in a module using ``from __future__ import annotations``).
    """

    def build(fn: ToolFunction[ArgsT]) -> Tool:
        model: object = args_model
        if model is None:
            params = list(inspect.signature(fn).parameters)
            try:
                model = get_type_hints(fn).get(params[0]) if params else None
            except NameError as exc:
                raise ToolDefinitionError(
                    f"tool {name!r}: cannot resolve the annotation of {fn.__qualname__} ({exc}); "
                    "define the args model at module level or pass args_model="
                ) from exc
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ToolDefinitionError(
                f"tool {name!r}: the first parameter of {fn.__qualname__} must be annotated "
                "with a pydantic model class (the tool's arguments)"
            )
        schema_model: type[BaseModel] = model

        async def invoke(raw: Mapping[str, Any], ctx: ToolContext) -> str | ToolOutput:
            try:
                args = schema_model.model_validate(dict(raw))
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                    for err in exc.errors()
                )
                raise ToolArgumentsError(
                    f"invalid arguments for {name}: {problems}. "
                    f"Expected an object matching the schema of {name}."
                ) from exc
            return await fn(args, ctx)  # type: ignore[arg-type]

        doc = description if description is not None else inspect.getdoc(fn) or ""
        return Tool(
            name=name,
            description=doc.strip(),
            parameters=schema_model.model_json_schema(),
            invoke=invoke,
            permission=permission,
            version=version,
            source=source,
        )

    return build
